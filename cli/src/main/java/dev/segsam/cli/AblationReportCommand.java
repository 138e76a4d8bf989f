package dev.segsam.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code segsam ablation-report DIR}: the markdown table of the paper-style ablation from the runs' eval.json files. */
@Command(name = "ablation-report", hidden = true, mixinStandardHelpOptions = true,
        description = "Print the ablation table (test DSC / mDSC per run) from DIR/{baseline,so,co,t2vse,full}/eval.json.")
final class AblationReportCommand implements Callable<Integer> {
    @Parameters(paramLabel = "DIR", description = "the folder holding the ablation runs (one sub-folder per variant)") Path dir;
    @Option(names = "--split", paramLabel = "train|val|test", defaultValue = "test", description = "the split whose eval results are tabulated (default ${DEFAULT-VALUE})") String split;
    @Spec CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter o = spec.commandLine().getOut();
        ObjectMapper m = new ObjectMapper();
        String[][] rows = {{"baseline", "baseline: SAM decoder only"}, {"so", "+ SO-token"}, {"co", "+ CO-tokens"},
            {"t2vse", "+ T2VSE"}, {"full", "+ cross-mask alignment"}};
        o.println("| model | " + split + " DSC | " + split + " mDSC | class accuracy | presence AUROC | targets | train time |");
        o.println("|---|---|---|---|---|---|---|");
        for (String[] r : rows) {
            Path e = dir.resolve(r[0]).resolve("eval.json"), t = dir.resolve(r[0]).resolve("train.json");
            if (!Files.exists(e)) {
                o.println("| " + r[1] + " | (no run) | | | | | |");
                continue;
            }
            JsonNode s = m.readTree(e.toFile()).get(split);
            JsonNode tr = Files.exists(t) ? m.readTree(t.toFile()) : null;
            String time = tr != null && tr.has("seconds") ? String.format(Locale.ROOT, "%.1f min", tr.get("seconds").asDouble() / 60) : "";
            o.printf(Locale.ROOT, "| %s | %.2f | %s | %s | %s | %d | %s |%n", r[1], 100 * s.get("dsc").asDouble(), pct(s.get("mdsc")),
                    pct(s.get("class_accuracy")), num(s.get("presence_auroc")), s.get("targets").asInt(), time);
        }
        return 0;
    }

    static String pct(JsonNode n) {
        return n == null || n.isNull() ? "–" : String.format(Locale.ROOT, "%.2f", 100 * n.asDouble());
    }

    static String num(JsonNode n) {
        return n == null || n.isNull() ? "–" : String.format(Locale.ROOT, "%.3f", n.asDouble());
    }

}
