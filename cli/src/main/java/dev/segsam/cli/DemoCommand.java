package dev.segsam.cli;

import dev.segsam.io.IoLimits;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.segsam.cli.predict.Conventions;
import dev.segsam.cli.predict.PredictionOutput;
import dev.segsam.cli.predict.PromptParser;
import dev.segsam.io.Checkpoint;
import dev.segsam.io.image.ImageFiles;
import dev.segsam.model.Predictor;
import dev.segsam.model.Prompt;
import dev.segsam.model.preprocess.Preprocessor.Convention;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.model.train.Metrics;
import dev.segsam.tensor.Backends;
import dev.segsam.tensor.Device;
import dev.segsam.tensor.Options;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.image.RgbImage;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code segsam demo}: runs an embedded SEG-SAM model on its embedded sample slice, offline, through the library API
 * ({@link Checkpoint}, {@link SegSam}, {@link Predictor}): by default the model trained in Java on synthetic abdominal
 * CT phantoms, with {@code --mri} the one trained on real brain MRI (Colin27 T1 + AAL, a slice of its test split; see
 * docs/TRAINING.md). Writes and prints what {@code segsam predict} would ({@link PredictionOutput}),
 * then, per prompted organ, the predicted class with its probability and the Dice of the binary and semantic masks
 * against the sample's ground truth (also in {@code demo.json}).
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Run the embedded SEG-SAM model on its embedded sample slice (offline, a few seconds).",
            "Default: the CT phantom model; --mri: the brain MRI model (16 structures) on a real T1 slice of its test split.",
            "Writes masks, semantic label maps, an overlay and result.json into --out."})
final class DemoCommand implements Callable<Integer> {
    static final String RES = "/dev/segsam/cli/demo/";
    static final String RES_MRI = "/dev/segsam/cli/demo-mri/";

    @Option(names = "--mri", description = "the brain MRI model (Colin27 T1 + AAL) on a real T1 slice instead of the CT phantom demo")
    boolean mri;

    @Option(names = "--out", paramLabel = "DIR", description = "output folder (default: a new segsam-demo[-N] folder here)")
    Path out;

    @Option(names = "--force", description = "write into a non-empty --out")
    boolean force;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter screen = spec.commandLine().getOut();
        if (out == null) out = freshFolder();
        Path dir = null;
        try (OutputFolder folder = OutputFolder.prepare(out, force, "use --force to replace it")) {
            dir = Files.createTempDirectory("segsam-demo");
            String res = mri ? RES_MRI : RES;
            Path model = extract(res, mri ? "segsam-mri.safetensors" : "segsam-demo.safetensors", dir), image = extract(res, "sample.png", dir);
            List<Prompt> prompts = PromptParser.readJson(extract(res, "prompts.json", dir));
            JsonNode truth = new ObjectMapper().readTree(extract(res, "truth.json", dir).toFile());
            long t0 = System.nanoTime();
            // what segsam predict does, through the library: load, encode once, one prediction per prompt, write
            RgbImage img = ImageFiles.read(image).image();
            int w = img.width(), h = img.height();
            for (int i = 0; i < prompts.size(); i++) PromptParser.requireInside(prompts.get(i), w, h, "prompt " + i);
            List<Predictor.Result> results = new ArrayList<>();
            List<String> names;
            PredictionOutput output;
            try (Checkpoint weights = Checkpoint.open(model, IoLimits.fromSystemProperties())) {
                Options options = Main.options(null, null).withDevice(Device.CPU); // -Dsegsam.cpu/threads
                SegSam segsam = SegSam.load(weights, Backends.select(options));
                if (!segsam.hasSemantics()) throw new IllegalStateException(model.getFileName() + " has no SEG-SAM parts");
                names = segsam.config().classNames();
                Convention conv = Conventions.choose(null, segsam);
                Predictor predictor = new Predictor(segsam, conv, options);
                try (Predictor.Encoded enc = predictor.encode(img, null)) {
                    for (Prompt p : prompts) results.add(predictor.predict(enc, p));
                    output = new PredictionOutput(model, image, segsam, conv, img, enc, prompts, results)
                            .names((mri ? "segsam-mri" : "segsam-demo") + ".safetensors (embedded)", "sample.png (embedded)");
                    output.write(folder.dir());
                }
            }
            double sec = (System.nanoTime() - t0) / 1e9;
            StringWriter report = new StringWriter();
            PrintWriter o = new PrintWriter(report);
            output.printSummary(o, out);
            o.println();
            String sample = mri ? truth.get("sample").asText() : String.format(Locale.ROOT, "%dx%d CT phantom slice (abdomen window)", w, h);
            o.printf(Locale.ROOT, "segsam demo: %s, %s, %d prompts, %.1f s%n", truth.get("model").asText(), sample, prompts.size(), sec);
            ObjectMapper json = new ObjectMapper();
            ObjectNode summary = json.createObjectNode();
            summary.put("model", truth.get("model").asText()).put("sample", truth.get("sample").asText()).put("seconds", sec);
            ArrayNode rows = summary.putArray("prompts");
            for (int i = 0; i < results.size(); i++) {
                Predictor.Semantic sem = results.get(i).semantic();
                String want = truth.get("targets").get(i).get("class").asText();
                boolean[] gt = mask(ImageFiles.read(extract(res, "truth_" + i + ".png", dir)).image(), w, h);
                String cls = sem.predictedClass() > 0 ? names.get(sem.predictedClass() - 1) : "none";
                // as result.json holds it: the float's shortest decimal form
                double prob = Double.parseDouble(Float.toString(sem.classProbability()));
                int k = names.indexOf(want) + 1; // channel of the true class in M̂_s (0 is background)
                if (k == 0) throw new IllegalStateException("the demo model has no class " + want);
                double semDice = Metrics.dice(semanticMask(sem.logits(), k), gt);
                double binDice = Metrics.dice(results.get(i).mask(), gt);
                o.printf(Locale.ROOT, "  prompt %d (%s box): predicted %s (p = %.2f) %s; Dice vs ground truth: binary %.3f, semantic %.3f%n",
                        i, want, cls, prob, cls.equals(want) ? "correct" : "WRONG", binDice, semDice);
                rows.addObject().put("index", i).put("true_class", want).put("predicted_class", cls).put("probability", prob)
                        .put("binary_dice", binDice).put("semantic_dice", semDice);
            }
            json.writerWithDefaultPrettyPrinter().writeValue(folder.dir().resolve("demo.json").toFile(), summary);
            folder.commit();
            o.println("  outputs: " + out.toAbsolutePath() + " (overlay.png, labels.png, semantic_*.png, labels_*.png, mask_*.png, result.json, demo.json)");
            o.flush();
            screen.print(report);
            screen.flush();
            return 0;
        } finally {
            if (dir != null) OutputFolder.deleteTree(dir);
        }
    }

    /** Foreground of a mask PNG: any non-zero value (the truth files hold labels 0/1). */
    static boolean[] mask(RgbImage img, int w, int h) {
        if (img.width() != w || img.height() != h) {
            throw new IllegalStateException("mask is " + img.width() + "x" + img.height() + ", expected " + w + "x" + h);
        }
        boolean[] m = new boolean[w * h];
        for (int i = 0; i < m.length; i++) m[i] = img.get(i % w, i / w, 0) > 0;
        return m;
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

    /** A file of the phantom demo ({@link #RES}), copied into {@code dir}. */
    static Path extract(String name, Path dir) throws IOException {
        return extract(RES, name, dir);
    }

    /** A file of the demo resources {@code res} ({@link #RES} or {@link #RES_MRI}), copied into {@code dir}. */
    static Path extract(String res, String name, Path dir) throws IOException {
        Path p = dir.resolve(name);
        if (Files.exists(p)) return p;
        try (InputStream in = DemoCommand.class.getResourceAsStream(res + name)) {
            if (in == null) throw new IOException("this build has no embedded demo file " + name + " (see docs/TRAINING.md to make one)");
            Files.copy(in, p, StandardCopyOption.REPLACE_EXISTING);
        }
        return p;
    }

}
