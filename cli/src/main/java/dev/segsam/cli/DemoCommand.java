package dev.segsam.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.segsam.io.image.ImageFiles;
import dev.segsam.io.safetensors.SafeTensorsFile;
import dev.segsam.model.train.Metrics;
import dev.segsam.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code segsam demo}: runs the embedded SEG-SAM model (trained in Java on synthetic abdominal CT phantoms, see
 * docs/TRAINING.md) on its embedded sample slice, offline. Writes what {@code segsam predict} writes and prints, per
 * prompted organ, the predicted class with its probability and the Dice of the binary and semantic masks against the
 * sample's ground truth.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Run the embedded SEG-SAM model on the embedded sample CT slice (offline, a few seconds).",
            "Writes masks, semantic label maps, an overlay and result.json into --out."})
final class DemoCommand implements Callable<Integer> {
    static final String RES = "/dev/segsam/cli/demo/";

    @Option(names = "--out", paramLabel = "DIR", description = "output folder (default: a new segsam-demo[-N] folder here)")
    Path out;

    @Option(names = "--force", description = "write into a non-empty --out")
    boolean force;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter o = spec.commandLine().getOut();
        Path dir = Files.createTempDirectory("segsam-demo");
        try {
            Path model = extract("segsam-demo.safetensors", dir), image = extract("sample.png", dir), prompts = extract("prompts.json", dir);
            JsonNode truth = new ObjectMapper().readTree(DemoCommand.class.getResourceAsStream(RES + "truth.json"));
            if (out == null) out = freshFolder();
            long t0 = System.nanoTime();
            List<String> args = new ArrayList<>(List.of("predict", "--model", model.toString(), "--image", image.toString(),
                    "--prompts", prompts.toString(), "--out", out.toString(), "--device", "cpu", "--quiet"));
            if (force) args.add("--force");
            CommandLine cl = spec.root().commandLine();
            int code = cl.execute(args.toArray(String[]::new));
            if (code != 0) return code;
            double sec = (System.nanoTime() - t0) / 1e9;
            ObjectMapper json = new ObjectMapper();
            JsonNode res = json.readTree(out.resolve("result.json").toFile());
            int w = res.get("width").asInt(), h = res.get("height").asInt();
            o.println();
            o.printf(Locale.ROOT, "segsam demo: %s, %dx%d CT phantom slice (abdomen window), %d prompts, %.1f s%n",
                    truth.get("model").asText(), w, h, res.get("prompts").size(), sec);
            com.fasterxml.jackson.databind.node.ObjectNode summary = json.createObjectNode();
            summary.put("model", truth.get("model").asText()).put("sample", truth.get("sample").asText()).put("seconds", sec);
            com.fasterxml.jackson.databind.node.ArrayNode rows = summary.putArray("prompts");
            try (SafeTensorsFile outputs = SafeTensorsFile.open(out.resolve("outputs.safetensors"))) {
                for (JsonNode p : res.get("prompts")) {
                    int i = p.get("index").asInt();
                    String want = truth.get("targets").get(i).get("class").asText();
                    boolean[] gt = mask(ImageFiles.read(extract("truth_" + i + ".png", dir)).image(), w, h);
                    boolean[] bin = mask(ImageFiles.read(out.resolve("mask_" + i + ".png")).image(), w, h);
                    JsonNode sem = p.get("semantic");
                    String cls = sem == null || sem.get("predicted_class").isNull() ? "none" : sem.get("predicted_class").asText();
                    double prob = sem == null ? Double.NaN : sem.get("probability").asDouble();
                    double semDice = sem == null ? Double.NaN
                            : Metrics.dice(semanticMask(outputs.get("semantic_logits." + i), classIndex(sem, want)), gt);
                    double binDice = Metrics.dice(bin, gt);
                    o.printf(Locale.ROOT, "  prompt %d (%s box): predicted %s (p = %.2f) %s; Dice vs ground truth: binary %.3f, semantic %.3f%n",
                            i, want, cls, prob, cls.equals(want) ? "correct" : "WRONG", binDice, semDice);
                    rows.addObject().put("index", i).put("true_class", want).put("predicted_class", cls).put("probability", prob)
                            .put("binary_dice", binDice).put("semantic_dice", semDice);
                }
            }
            json.writerWithDefaultPrettyPrinter().writeValue(out.resolve("demo.json").toFile(), summary);
            o.println("  outputs: " + out.toAbsolutePath() + " (overlay.png, semantic_*.png, mask_*.png, result.json, demo.json)");
            return 0;
        } finally {
            try (var s = Files.list(dir)) {
                for (Path p : s.toList()) Files.deleteIfExists(p);
            }
            Files.deleteIfExists(dir);
        }
    }

    /** Foreground of a mask PNG: any non-zero value (predict writes 0/255, the truth files hold labels 0/1). */
    static boolean[] mask(dev.segsam.tensor.image.RgbImage img, int w, int h) {
        if (img.width() != w || img.height() != h) {
            throw new IllegalStateException("mask is " + img.width() + "x" + img.height() + ", expected " + w + "x" + h);
        }
        boolean[] m = new boolean[w * h];
        for (int i = 0; i < m.length; i++) m[i] = img.get(i % w, i / w, 0) > 0;
        return m;
    }

    /** 1-based channel of {@code cls} in M̂_s (channel 0 is background), from result.json's class order. */
    private static int classIndex(JsonNode sem, String cls) {
        int k = 1;
        for (var it = sem.get("class_probabilities").fieldNames(); it.hasNext(); k++) if (it.next().equals(cls)) return k;
        throw new IllegalStateException("the demo model has no class " + cls);
    }

    /** Pixels whose argmax over M̂_s ({@code [1, K+1, H, W]}) is channel {@code k}. */
    private static boolean[] semanticMask(Tensor logits, int k) {
        int channels = logits.size(1), hw = logits.size(2) * logits.size(3);
        float[] v = logits.toArray();
        boolean[] m = new boolean[hw];
        for (int i = 0; i < hw; i++) {
            int arg = 0;
            for (int c = 1; c < channels; c++) if (v[c * hw + i] > v[arg * hw + i]) arg = c;
            m[i] = arg == k;
        }
        return m;
    }

    private Path freshFolder() {
        Path base = Path.of("segsam-demo");
        for (int i = 1; ; i++) {
            Path p = i == 1 ? base : Path.of("segsam-demo-" + i);
            if (!Files.exists(p)) return p;
        }
    }

    static Path extract(String name, Path dir) throws IOException {
        Path p = dir.resolve(name);
        if (Files.exists(p)) return p;
        try (InputStream in = DemoCommand.class.getResourceAsStream(RES + name)) {
            if (in == null) throw new IOException("this build has no embedded demo file " + name + " (see docs/TRAINING.md to make one)");
            Files.copy(in, p, StandardCopyOption.REPLACE_EXISTING);
        }
        return p;
    }

}
