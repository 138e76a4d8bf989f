package dev.segsam.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code segsam ablation-report DIR...}: the markdown table of the paper-style ablation from the runs' eval.json files,
 * {@code DIR/{encoder,baseline,so,co,t2vse,full}/}. With several DIRs (one per seed), each cell is the mean ± sample
 * standard deviation over them; times are means (wall and CPU minutes of the stage's training).
 */
@Command(name = "ablation-report", hidden = true, mixinStandardHelpOptions = true,
        description = "Print the ablation table (DSC, mDSC, class accuracy, presence AUROC; mean ± sd over the DIRs) from DIR/{encoder,baseline,so,co,t2vse,full}/eval.json.")
final class AblationReportCommand implements Callable<Integer> {
    @Parameters(paramLabel = "DIR", arity = "1..*", description = "run folders, one per seed, each holding one sub-folder per variant") List<Path> dirs;
    @Option(names = "--split", paramLabel = "test|val|both", defaultValue = "test", description = "the split(s) whose eval results are tabulated (default ${DEFAULT-VALUE})") String split;
    @Spec CommandSpec spec;

    private static final String[][] ROWS = {{"encoder", "stage encoder: SAM from scratch (binary)"}, {"baseline", "baseline: SAM decoder only"},
        {"so", "+ SO-token"}, {"co", "+ CO-tokens (+ prior fusion)"}, {"t2vse", "+ T2VSE"}, {"full", "+ cross-mask alignment (full SEG-SAM)"}};

    @Override
    public Integer call() throws Exception {
        PrintWriter o = spec.commandLine().getOut();
        if (!List.of("test", "val", "both").contains(split)) throw new IllegalArgumentException("--split must be test, val or both");
        List<String> splits = split.equals("both") ? List.of("val", "test") : List.of(split);
        ObjectMapper m = new ObjectMapper();
        StringBuilder head = new StringBuilder("| model |"), rule = new StringBuilder("|---|");
        for (String sp : splits) {
            for (String c : new String[] {"DSC", "mDSC", "class acc.", "AUROC"}) {
                head.append(' ').append(sp).append(' ').append(c).append(" |");
                rule.append("---|");
            }
        }
        head.append(" runs | train time (wall / CPU) |");
        rule.append("---|---|");
        o.println(head);
        o.println(rule);
        for (String[] r : ROWS) {
            List<JsonNode> evals = new ArrayList<>(), trains = new ArrayList<>();
            for (Path d : dirs) {
                Path e = d.resolve(r[0]).resolve("eval.json"), t = d.resolve(r[0]).resolve("train.json");
                if (!Files.exists(e)) continue;
                evals.add(m.readTree(e.toFile()));
                trains.add(Files.exists(t) ? m.readTree(t.toFile()) : m.createObjectNode());
            }
            if (evals.isEmpty()) continue;
            StringBuilder row = new StringBuilder("| " + r[1] + " |");
            for (String sp : splits) {
                for (String k : new String[] {"dsc", "mdsc", "class_accuracy", "presence_auroc"}) {
                    List<Double> v = new ArrayList<>();
                    for (JsonNode e : evals) {
                        JsonNode x = e.path(sp).path(k);
                        if (x.isNumber()) v.add(x.asDouble());
                    }
                    row.append(' ').append(cell(v, !k.equals("presence_auroc"))).append(" |");
                }
            }
            double wall = 0, cpu = 0;
            int nc = 0;
            for (JsonNode t : trains) {
                wall += t.path("seconds").asDouble(0) / trains.size();
                if (t.has("cpu_seconds")) {
                    cpu += t.get("cpu_seconds").asDouble();
                    nc++;
                }
            }
            row.append(' ').append(evals.size()).append(" | ").append(String.format(Locale.ROOT, "%.1f", wall / 60))
                    .append(nc > 0 ? String.format(Locale.ROOT, " / %.1f", cpu / nc / 60) : "").append(" min |");
            o.println(row);
        }
        return 0;
    }

    /** mean ± sample sd, as percent or as a plain number (3 decimals); "–" without values. */
    static String cell(List<Double> v, boolean percent) {
        if (v.isEmpty()) return "–";
        double f = percent ? 100 : 1, mean = 0, ss = 0;
        for (double x : v) mean += x * f / v.size();
        for (double x : v) ss += (x * f - mean) * (x * f - mean);
        String fmt = percent ? "%.1f" : "%.3f";
        if (v.size() == 1) return String.format(Locale.ROOT, fmt, mean);
        return String.format(Locale.ROOT, fmt + " ± " + fmt, mean, Math.sqrt(ss / (v.size() - 1)));
    }
}
