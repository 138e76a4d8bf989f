package dev.segsam.cli;

import dev.segsam.io.IoLimits;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.segsam.cli.predict.LabelMapImage;
import dev.segsam.cli.predict.Overlay;
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
import dev.segsam.tensor.Device;
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
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
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
    @Option(names = "--model", required = true, paramLabel = "FILE") Path model;
    @Option(names = "--data", required = true, paramLabel = "colin27|phantom") String data;
    @Option(names = "--data-dir", paramLabel = "DIR", description = "where colin27's files are") Path dataDir;
    @Option(names = "--phantoms", defaultValue = "240", description = "phantom count (must match training for the same split)") int phantoms;
    @Option(names = "--split", defaultValue = "test", description = "train, val or test (default ${DEFAULT-VALUE})") String split;
    @Option(names = "--overlays", defaultValue = "6", description = "sample overlays to write (default ${DEFAULT-VALUE})") int overlays;
    @Option(names = "--out", required = true, paramLabel = "DIR") Path out;
    @Option(names = "--force", description = "write into a non-empty --out") boolean force;
    @Spec CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter o = spec.commandLine().getOut();
        OutputFolder.requireUsable(out, force, "use --force to write into it");
        DataSources ds = DataSources.load(data, dataDir, phantoms, 256);
        List<TrainSample> samples = ds.split(split);
        if (samples.isEmpty()) throw new IllegalArgumentException("the " + split + " split of " + data + " is empty");
        try (Checkpoint f = Checkpoint.open(model, IoLimits.fromSystemProperties())) {
            SegSam m = SegSam.load(f, Backends.select(Main.options(null, null).withDevice(Device.CPU))); // -Dsegsam.cpu/threads
            if (m.hasSemantics() && !m.config().classNames().equals(ds.classNames())) {
                throw new IllegalArgumentException("the model's classes " + m.config().classNames() + " are not the data set's " + ds.classNames());
            }
            Preprocessor pre = new Preprocessor(Preprocessor.Convention.SAM, m.sam().config().imgSize());
            Map<String, Preprocessor.Preprocessed> frames = new LinkedHashMap<>();
            for (TrainSample s : samples) frames.put(s.id(), pre.preprocess(s.image()));
            Evaluation.Result r = Evaluation.run(m, samples, s -> m.sam().encode(frames.get(s.id()).input(), null), s -> frames.get(s.id()), ds.classNames());
            Files.createDirectories(out);
            ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
            var node = r.toJson(json, split, 0);
            node.remove("step");
            node.put("model", model.toString()).put("data", data);
            AtomicFiles.write(out.resolve("eval.json"), true, tmp -> json.writeValue(tmp.toFile(), node));
            double[] values = m.hasSemantics() ? r.perClass() : r.perClassBinary();
            ImageFiles.writePng(Plots.bars((m.hasSemantics() ? "semantic Dice per class" : "binary Dice per class") + " (" + split + ")",
                    ds.classNames(), values, Math.max(480, 70 * values.length), 360), out.resolve("per_class_dice.png"));
            Predictor p = new Predictor(m, Preprocessor.Convention.SAM);
            for (int i = 0; i < Math.min(overlays, samples.size()); i++) {
                TrainSample s = samples.get(i * samples.size() / Math.min(overlays, samples.size()));
                overlay(p, m, s, frames.get(s.id()), out.resolve("overlay_" + s.id() + ".png"), ds.classNames());
            }
            o.println(split + ": " + r.summary());
            o.println("wrote " + out.resolve("eval.json") + ", per_class_dice.png, overlays");
        }
        return 0;
    }

    /** The image with every target's predicted binary mask (left) and semantic label map (right, SEG-SAM only). */
    private static void overlay(Predictor p, SegSam m, TrainSample s, Preprocessor.Preprocessed frame, Path file, List<String> names) throws IOException {
        int w = s.image().width(), h = s.image().height();
        Tensor fv = m.sam().encode(frame.input(), null);
        Predictor.Encoded enc = new Predictor.Encoded(frame, m.features(fv));
        List<boolean[]> masks = new ArrayList<>();
        int[] labels = new int[w * h];
        for (TrainSample.Target t : s.targets()) {
            int[] bb = Masks.bbox(t.mask(), w, h);
            Predictor.Result r = p.predict(enc, Prompt.box(bb[0], bb[1], bb[2], bb[3]));
            masks.add(r.mask());
            if (r.semantic() != null) for (int i = 0; i < labels.length; i++) if (r.mask()[i] && labels[i] == 0) labels[i] = r.semantic().labelMap()[i];
        }
        RgbImage left = Overlay.render(s.image(), masks, List.of());
        RgbImage right = m.hasSemantics() ? LabelMapImage.render(s.image(), labels, names) : null;
        int W = right == null ? w : 2 * w + 4, H = right == null ? h : right.height();
        RgbImage both = RgbImage.black(W, H);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) for (int c = 0; c < 3; c++) both.set(x, y, c, left.get(x, y, c));
        if (right != null) {
            for (int y = 0; y < right.height(); y++) for (int x = 0; x < w; x++) for (int c = 0; c < 3; c++) both.set(w + 4 + x, y, c, right.get(x, y, c));
        }
        ImageFiles.writePng(both, file);
    }
}
