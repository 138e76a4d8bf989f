package dev.segsam.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.segsam.io.image.ImageFiles;
import dev.segsam.model.train.Metrics;
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
            JsonNode res = new ObjectMapper().readTree(out.resolve("result.json").toFile());
            int w = res.get("width").asInt(), h = res.get("height").asInt();
            o.println();
            o.printf(Locale.ROOT, "segsam demo: %s, %dx%d CT phantom slice (abdomen window), %d prompts, %.1f s%n",
                    truth.get("model").asText(), w, h, res.get("prompts").size(), sec);
            for (JsonNode p : res.get("prompts")) {
                int i = p.get("index").asInt();
                JsonNode t = truth.get("targets").get(i);
                boolean[] gt = mask(ImageFiles.read(dir.resolve(extract("truth_" + i + ".png", dir).getFileName())).image(), w, h);
                boolean[] bin = mask(ImageFiles.read(out.resolve("mask_" + i + ".png")).image(), w, h);
                JsonNode sem = p.get("semantic");
                String cls = sem == null || sem.get("predicted_class").isNull() ? "none" : sem.get("predicted_class").asText();
                double prob = sem == null ? Double.NaN : sem.get("probability").asDouble();
                o.printf(Locale.ROOT, "  prompt %d (%s box): predicted %s (p = %.2f) %s; binary Dice %.3f%n", i, t.get("class").asText(), cls, prob,
                        cls.equals(t.get("class").asText()) ? "correct" : "WRONG", Metrics.dice(bin, gt));
            }
            o.println("  outputs: " + out.toAbsolutePath() + " (overlay.png, semantic_*.png, mask_*.png, result.json)");
            return 0;
        } finally {
            try (var s = Files.list(dir)) {
                for (Path p : s.toList()) Files.deleteIfExists(p);
            }
            Files.deleteIfExists(dir);
        }
    }

    static boolean[] mask(dev.segsam.tensor.image.RgbImage img, int w, int h) {
        boolean[] m = new boolean[w * h];
        for (int i = 0; i < m.length; i++) m[i] = img.get(i % w, i / w, 0) > 127;
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
