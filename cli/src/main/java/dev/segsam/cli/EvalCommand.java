package dev.segsam.cli;

import dev.segsam.io.IoLimits;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.segsam.cli.predict.LabelMapImage;
import dev.segsam.cli.predict.Overlay;
import com.fasterxml.jackson.databind.JsonNode;
import dev.segsam.cli.train.DataOptions;
import dev.segsam.cli.train.DataSources;
import dev.segsam.cli.train.Plots;
import dev.segsam.io.AtomicFiles;
import dev.segsam.io.Checkpoint;
import dev.segsam.io.image.ImageFiles;
import dev.segsam.model.Masks;
import dev.segsam.model.Predictor;
import dev.segsam.model.Prompt;
import dev.segsam.model.preprocess.Preprocessor;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.model.train.Evaluation;
import dev.segsam.model.train.TrainSample;
import dev.segsam.tensor.Backends;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.image.RgbImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code segsam eval}: binary DSC, per-class Dice, mDSC and class-presence accuracy/AUROC of a model on a data set
 * split (each target prompted by its tight box), as {@code eval.json}, a per-class Dice bar chart and overlays of a few
 * predictions.
 */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Evaluate a SAM/SEG-SAM model on a data set split (box prompts): DSC, per-class Dice, mDSC, class presence.")
final class EvalCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "FILE", description = "the weights to evaluate: SAM/MedSAM/SEG-SAM (.safetensors or .pth)") Path model;
    @Mixin DataOptions dataOptions;
    @Mixin ComputeOptions compute; // --device (default cpu here), --threads
    @Option(names = "--split", paramLabel = "train|val|test|all", defaultValue = "test", description = {"train, val, test or all (default ${DEFAULT-VALUE}); a model trained by segsam train",
        "records its data set and split, which are used when --data is that data set (or left out)"}) String split;
    @Option(names = "--overlays", paramLabel = "N", defaultValue = "6", description = "sample overlays to write (default ${DEFAULT-VALUE})") int overlays;
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output folder for eval.json and the overlays (new or empty unless --force)") Path out;
    @Option(names = "--force", description = "replace a non-empty --out (as a whole, once the new output is complete)") boolean force;
    @Spec CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter o = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        if (!List.of("train", "val", "test", "all").contains(split)) throw new IllegalArgumentException("--split must be train, val, test or all, got " + split);
        Ranges.check(spec, "--phantoms", dataOptions.phantoms, 1, 20000);
        Ranges.check(spec, "--overlays", overlays, 0, 1000);
        if (!Files.exists(model)) throw new java.nio.file.NoSuchFileException(model.toString());
        Path dataPath = dataOptions.data.equals("colin27") || dataOptions.data.equals("phantom") ? null : Path.of(dataOptions.data);
        try (OutputFolder folder = OutputFolder.prepare(out, force, "use --force to replace it", model, dataOptions.dataDir, dataPath)) {
            return run(folder, o, err);
        }
    }

    private int run(OutputFolder folder, PrintWriter o, PrintWriter err) throws Exception {
        Path out = folder.dir();
        try (Checkpoint f = Checkpoint.open(model, IoLimits.fromSystemProperties())) {
            SegSam m = SegSam.load(f, Backends.select(compute.cpuUnlessAsked())); // the CPU (-Dsegsam.cpu/threads) unless --device cuda
            // the data set and split the model was trained on, when it records them
            JsonNode rec = null;
            String recText = f.metadata().get(DataSources.META_KEY);
            if (recText != null) rec = new ObjectMapper().readTree(recText);
            boolean given = spec.commandLine().getParseResult().hasMatchedOption("--data");
            if (!given) {
                if (rec == null) throw new IllegalArgumentException(model + " records no data set: pass --data PATH|colin27|phantom");
                dataOptions.data = rec.path("data").asText();
                if (rec.has("phantoms")) dataOptions.phantoms = rec.get("phantoms").asInt();
            }
            boolean same = rec != null && sameData(rec.path("data").asText(), dataOptions.data);
            if (rec != null && !same) {
                err.println("eval: " + dataOptions.data + " is not the data set the model was trained on (" + rec.path("data").asText()
                        + "); its split is made anew (--val-fraction, --test-fraction); --split all evaluates every slice");
            }
            DataSources ds = DataSources.load(dataOptions, same ? rec : null, split.equals("all") ? null : Set.of(split), err);
            List<TrainSample> samples = new ArrayList<>();
            for (String sp : split.equals("all") ? List.of("train", "val", "test") : List.of(split)) samples.addAll(ds.split(sp));
            if (samples.isEmpty()) throw new IllegalArgumentException("the " + split + " split of " + dataOptions.data + " is empty");
            if (m.hasSemantics() && !m.config().classNames().equals(ds.classNames())) {
                throw new IllegalArgumentException("the model's classes " + m.config().classNames() + " are not the data set's " + ds.classNames());
            }
            String data = ds.name();
            Preprocessor pre = new Preprocessor(Preprocessor.Convention.SAM, m.sam().config().imgSize());
            Map<String, Preprocessor.Preprocessed> frames = new LinkedHashMap<>();
            for (TrainSample s : samples) frames.put(s.id(), pre.preprocess(s.image()));
            Evaluation.Result r = Evaluation.run(m, samples, s -> m.sam().encode(frames.get(s.id()).input(), null), s -> frames.get(s.id()), ds.classNames());
            ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
            var node = r.toJson(json, split, 0);
            node.remove("step");
            node.put("model", model.toString()).put("data", data).put("split", split).put("images", samples.size());
            AtomicFiles.write(out.resolve("eval.json"), true, tmp -> json.writeValue(tmp.toFile(), node));
            double[] values = m.hasSemantics() ? r.perClass() : r.perClassBinary();
            ImageFiles.writePng(Plots.bars((m.hasSemantics() ? "semantic Dice per class" : "binary Dice per class") + " (" + split + ")",
                    ds.classNames(), values, Math.max(480, 70 * values.length), 360), out.resolve("per_class_dice.png"));
            Predictor p = new Predictor(m, Preprocessor.Convention.SAM);
            for (int i = 0; i < Math.min(overlays, samples.size()); i++) {
                TrainSample s = samples.get(i * samples.size() / Math.min(overlays, samples.size()));
                overlay(p, m, s, frames.get(s.id()), out.resolve("overlay_" + s.id() + ".png"), ds.classNames());
            }
            o.println(split + " (" + samples.size() + " images of " + data + "): " + r.summary());
            folder.commit();
            o.println("wrote " + folder.shown().resolve("eval.json") + ", per_class_dice.png, overlays");
        }
        return 0;
    }

    /** Whether two --data values name the same data set (a built-in name, or the same folder). */
    static boolean sameData(String recorded, String given) {
        if (recorded.equals(given)) return true;
        if (List.of("colin27", "phantom").contains(given) || List.of("colin27", "phantom").contains(recorded)) return false;
        try {
            return Path.of(recorded).toAbsolutePath().normalize().equals(Path.of(given).toAbsolutePath().normalize());
        } catch (java.nio.file.InvalidPathException e) {
            return false;
        }
    }

    /**
     * Panels side by side, each titled: the ground truth (every target's class), the prediction (each target's binary
     * mask M̂_b from its box prompt, legend: predicted class) and, for SEG-SAM, the semantic label map argmax M̂_s.
     */
    private static void overlay(Predictor p, SegSam m, TrainSample s, Preprocessor.Preprocessed frame, Path file, List<String> names) throws IOException {
        int w = s.image().width(), h = s.image().height();
        Tensor fv = m.sam().encode(frame.input(), null);
        Predictor.Encoded enc = new Predictor.Encoded(frame, m.features(fv));
        List<boolean[]> masks = new ArrayList<>();
        List<Prompt> prompts = new ArrayList<>();
        List<String> legend = new ArrayList<>();
        int[] labels = new int[w * h], truth = new int[w * h];
        for (TrainSample.Target t : s.targets()) {
            int[] bb = Masks.bbox(t.mask(), w, h);
            Prompt box = Prompt.box(bb[0], bb[1], bb[2], bb[3]);
            Predictor.Result r = p.predict(enc, box);
            masks.add(r.mask());
            prompts.add(box);
            int k = r.semantic() != null ? r.semantic().predictedClass() : 0;
            legend.add(prompts.size() - 1 + ": " + t.className() + (k > 0 ? " -> " + names.get(k - 1) : ""));
            for (int i = 0; i < truth.length; i++) if (t.mask()[i] != 0) truth[i] = t.classIndex();
            if (r.semantic() != null) for (int i = 0; i < labels.length; i++) if (r.mask()[i] && labels[i] == 0) labels[i] = r.semantic().labelMap()[i];
        }
        enc.features().contexts().close(); // the decoders' per-image contexts (the frame belongs to the caller)
        List<RgbImage> panels = new ArrayList<>();
        panels.add(Overlay.titled(LabelMapImage.render(s.image(), truth, names), "ground truth"));
        panels.add(Overlay.titled(Overlay.withLegend(Overlay.render(s.image(), masks, prompts), legend), "prediction"));
        if (m.hasSemantics()) panels.add(Overlay.titled(LabelMapImage.render(s.image(), labels, names), "semantic prediction"));
        ImageFiles.writePng(Overlay.sideBySide(panels), file);
    }
}
