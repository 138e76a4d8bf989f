package dev.segsam.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.segsam.cli.predict.InputImage;
import dev.segsam.cli.predict.LabelMapImage;
import dev.segsam.cli.predict.Overlay;
import dev.segsam.cli.predict.Progress;
import dev.segsam.cli.predict.PromptParser;
import dev.segsam.io.image.ImageFiles;
import dev.segsam.io.medical.Axis;
import dev.segsam.io.medical.intensity.Windowing;
import dev.segsam.io.safetensors.SafeTensorsWriter;
import dev.segsam.model.Predictor;
import dev.segsam.model.Prompt;
import dev.segsam.model.preprocess.Preprocessor.Convention;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Backends;
import dev.segsam.tensor.Device;
import dev.segsam.tensor.Options;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.image.RgbImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code segsam predict}: SAM or SEG-SAM on one image with one or more prompts. Writes binary masks, an overlay,
 * {@code result.json} and {@code outputs.safetensors} (and, for SEG-SAM models, semantic label maps) into a folder.
 */
@Command(name = "predict", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Segment an image with box and/or point prompts using SAM, MedSAM or SEG-SAM weights.",
            "Coordinates are original image pixels; a point label is 1 (foreground) or 0 (background)."})
final class PredictCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "FILE", description = "weights: .safetensors or .pth (SAM names)")
    Path model;

    @Option(names = "--image", required = true, paramLabel = "IMG",
            description = "PNG, JPEG or TIFF (8/16-bit, grey or RGB), or a NIfTI file, DICOM file or DICOM series folder (one slice, see --axis/--index)")
    Path image;

    @Option(names = "--axis", paramLabel = "x|y|z", description = "for volumes: the voxel axis to slice along (default z)")
    String axis;

    @Option(names = "--index", paramLabel = "N", description = "for volumes: the slice index (default: the middle slice)")
    Integer index;

    @Option(names = "--window", paramLabel = "PRESET|W,L", defaultValue = "auto",
            description = "for volumes: abdomen|brain|bone|lung|mediastinum, W,L in HU, mr, dicom or auto (default)")
    String window;

    @Option(names = "--box", paramLabel = "x0,y0,x1,y1", description = "a box prompt")
    String box;

    @Option(names = "--point", paramLabel = "x,y,label", description = "a point prompt (repeatable)")
    List<String> points = new ArrayList<>();

    @Option(names = "--multimask", description = "return SAM's three masks per prompt (default: one)")
    boolean multimask;

    @Option(names = "--prompts", paramLabel = "prompts.json",
            description = "a JSON array of {\"box\":[x0,y0,x1,y1], \"points\":[[x,y,label],...], \"multimask\":bool}")
    Path promptsFile;

    @Option(names = "--convention", paramLabel = "sam|medsam",
            description = "preprocessing: sam (resize longest side, mean/std, pad) or medsam (resize to a square, [0,1]); default: the model's, else sam")
    String convention;

    @Mixin
    ComputeOptions compute;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output folder (created; must be empty unless --force)")
    Path out;

    @Option(names = "--force", description = "write into a non-empty output folder, replacing files of the same names")
    boolean force;

    @Option(names = "--quiet", description = "no progress bar")
    boolean quiet;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter o = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        // cheap checks first: nothing is loaded or written before the arguments are known to be usable
        List<Prompt> prompts = prompts();
        Options options = compute.options();
        OutputFolder.requireUsable(out, force, "use --force to write into it");
        InputImage input = InputImage.load(image, axis == null ? null : Axis.parse(axis), index, Windowing.parse(window));
        RgbImage img = input.image();
        for (int i = 0; i < prompts.size(); i++) PromptParser.requireInside(prompts.get(i), img.width(), img.height(), "prompt " + i);

        Backend backend = Backends.select(options);
        try (ModelFiles.Opened weights = ModelFiles.open(model)) {
            SegSam segsam = SegSam.load(weights.source(), backend);
            Convention conv = convention(segsam);
            Predictor predictor = new Predictor(segsam, conv, options);
            if (!quiet) {
                err.println("segsam: " + segsam.sam().config().name() + (segsam.hasSemantics() ? " + SEG-SAM (" + segsam.config().numClasses() + " classes)" : "")
                        + " on " + backend.name() + (backend.device() == Device.CPU ? " (" + backend.parallel() + ")" : "") + ", " + input.description()
                        + ", " + prompts.size() + " prompt(s)");
            }
            Progress bar = new Progress(err, "encoding", predictor.encoderBlocks(), !quiet);
            bar.update(0, "blocks");
            try (Predictor.Encoded enc = predictor.encode(img, i -> bar.update(i + 1, "blocks"))) {
                List<Predictor.Result> results = new ArrayList<>();
                for (Prompt p : prompts) results.add(predictor.predict(enc, p));
                Files.createDirectories(out);
                write(enc, segsam, conv, img, prompts, results);
                summary(o, segsam, prompts, results, img);
            }
        }
        return 0;
    }

    private List<Prompt> prompts() throws IOException {
        if (promptsFile != null) {
            if (box != null || !points.isEmpty()) throw new PromptParser.BadPromptException("use either --prompts or --box/--point, not both");
            return PromptParser.readJson(promptsFile);
        }
        if (box == null && points.isEmpty()) throw new PromptParser.BadPromptException("no prompt: give --box, --point or --prompts");
        return List.of(PromptParser.fromFlags(box, points, multimask));
    }

    private Convention convention(SegSam m) {
        String c = convention != null ? convention : m.hasSemantics() ? m.config().convention() : "sam";
        return switch (c.toLowerCase(Locale.ROOT)) {
            case "sam" -> Convention.SAM;
            case "medsam" -> Convention.MEDSAM;
            default -> throw new IllegalArgumentException("unknown convention '" + c + "': expected sam or medsam");
        };
    }

    private void write(Predictor.Encoded enc, SegSam m, Convention conv, RgbImage img, List<Prompt> prompts,
                       List<Predictor.Result> results) throws IOException {
        int w = img.width(), h = img.height();
        SafeTensorsWriter st = new SafeTensorsWriter();
        st.metadata("model", model.getFileName().toString()).metadata("image", image.getFileName().toString())
                .metadata("convention", conv.name().toLowerCase(Locale.ROOT));
        st.add("image_embedding", m.sam().backend().download(enc.features().fv()));
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = json.createObjectNode();
        root.put("model", model.toString());
        root.put("model_config", m.sam().config().name());
        root.put("image", image.toString());
        root.put("width", w);
        root.put("height", h);
        root.put("convention", conv.name().toLowerCase(Locale.ROOT));
        ArrayNode arr = root.putArray("prompts");
        List<boolean[]> masks = new ArrayList<>();
        float[] presenceSum = null;
        for (int i = 0; i < results.size(); i++) {
            Predictor.Result r = results.get(i);
            Prompt p = prompts.get(i);
            st.add("low_res_logits." + i, r.lowRes());
            st.add("iou_predictions." + i, Tensor.of(r.iou(), 1, r.iou().length));
            st.add("mask_logits." + i, r.maskLogits());
            ImageFiles.writeMaskPng(r.mask(), w, h, out.resolve("mask_" + i + ".png"));
            masks.add(r.mask());
            ObjectNode e = arr.addObject();
            e.put("index", i);
            if (p.hasBox()) {
                ArrayNode b = e.putArray("box");
                for (float v : p.box()) b.add(v);
            }
            if (p.pointCount() > 0) {
                ArrayNode pts = e.putArray("points");
                for (int j = 0; j < p.pointCount(); j++) pts.addArray().add(p.pointX(j)).add(p.pointY(j)).add(p.label(j));
            }
            e.put("multimask", p.multimask());
            ArrayNode iou = e.putArray("iou_predictions");
            for (float v : r.iou()) iou.add(v);
            e.put("chosen_mask", r.best());
            e.put("mask_file", "mask_" + i + ".png");
            int[] bb = bbox(r.mask(), w, h);
            e.put("area", bb[4]);
            if (bb[4] > 0) e.putArray("bbox").add(bb[0]).add(bb[1]).add(bb[2]).add(bb[3]);
            else e.putNull("bbox");
            if (r.semantic() != null) {
                Predictor.Semantic s = r.semantic();
                List<String> names = m.config().classNames();
                st.add("semantic_logits." + i, s.logits());
                ImageFiles.writePng(LabelMapImage.render(img, s.labelMap(), names), out.resolve("semantic_" + i + ".png"));
                ObjectNode sem = e.putObject("semantic");
                sem.put("label_map_file", "semantic_" + i + ".png");
                if (s.predictedClass() > 0) sem.put("predicted_class", names.get(s.predictedClass() - 1));
                else sem.putNull("predicted_class");
                sem.put("probability", s.classProbability());
                ObjectNode probs = sem.putObject("class_probabilities");
                for (int k = 0; k < names.size(); k++) probs.put(names.get(k), s.classProbabilities()[k]);
                if (s.classPresence() != null) {
                    if (presenceSum == null) presenceSum = new float[names.size()];
                    for (int k = 0; k < names.size(); k++) presenceSum[k] += s.classPresence()[k] / results.size();
                }
            }
        }
        if (presenceSum != null) {
            st.add("class_presence", Tensor.of(presenceSum, 1, presenceSum.length));
            ObjectNode cp = root.putObject("class_presence");
            for (int k = 0; k < presenceSum.length; k++) cp.put(m.config().classNames().get(k), presenceSum[k]);
        }
        ImageFiles.writePng(Overlay.render(img, masks, prompts), out.resolve("overlay.png"));
        st.write(out.resolve("outputs.safetensors"), true);
        Path tmp = Files.createTempFile(out, ".result.", ".json");
        try {
            json.writeValue(tmp.toFile(), root);
            Files.move(tmp, out.resolve("result.json"), java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** {x0, y0, x1, y1 (exclusive), area} of a mask. */
    static int[] bbox(boolean[] m, int w, int h) {
        int x0 = w, y0 = h, x1 = -1, y1 = -1, area = 0;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                if (!m[y * w + x]) continue;
                area++;
                x0 = Math.min(x0, x);
                y0 = Math.min(y0, y);
                x1 = Math.max(x1, x);
                y1 = Math.max(y1, y);
            }
        }
        return new int[] {x0, y0, x1 + 1, y1 + 1, area};
    }

    private void summary(PrintWriter o, SegSam m, List<Prompt> prompts, List<Predictor.Result> results, RgbImage img) {
        for (int i = 0; i < results.size(); i++) {
            Predictor.Result r = results.get(i);
            int[] bb = bbox(r.mask(), img.width(), img.height());
            StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "prompt %d: mask %d of %d, predicted IoU %.3f, area %d px",
                    i, r.best(), r.iou().length, r.iou()[r.best()], bb[4]));
            if (r.semantic() != null && r.semantic().predictedClass() > 0) {
                sb.append(String.format(Locale.ROOT, ", class %s (p = %.2f)", m.config().classNames().get(r.semantic().predictedClass() - 1),
                        r.semantic().classProbability()));
            }
            o.println(sb);
        }
        o.println("wrote " + out);
    }
}
