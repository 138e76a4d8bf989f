package dev.segsam.cli.predict;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.segsam.io.AtomicFiles;
import dev.segsam.io.image.ImageFiles;
import dev.segsam.io.safetensors.SafeTensorsWriter;
import dev.segsam.model.Masks;
import dev.segsam.model.Predictor;
import dev.segsam.model.Prompt;
import dev.segsam.model.preprocess.Preprocessor.Convention;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.image.RgbImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The results of one image's prompts as {@code segsam predict} (and {@code segsam demo}) hand them to the user: the
 * files of the output folder and the summary lines.
 *
 * <p>Files: {@code mask_i.png} (M̂_b, 255 inside), {@code labels.png} (the class-ID label map of all prompts, pixel for
 * pixel with the input: 0 background, k = class k of the model's class list where prompt i's mask M̂_b lies and its
 * predicted class is k — for plain SAM models k = i + 1, the prompt's number; where masks overlap the later prompt
 * wins; 8-bit grey PNG, 16-bit when a label exceeds 255), {@code overlay.png} (masks and prompts over the image, a legend
 * below: prompt → class → colour),
 * {@code outputs.safetensors} ({@code image_embedding} f_v, {@code low_res_logits.i}, {@code iou_predictions.i},
 * {@code mask_logits.i}; for SEG-SAM models {@code semantic_logits.i} M̂_s and {@code class_presence} Ĉ_s, averaged over
 * the prompts), {@code result.json} (per prompt: the prompt, IoU predictions, chosen mask, area, tight box; predicted
 * class and class probabilities; {@link Plausibility} warnings; every path in it relative to the output folder) and, for SEG-SAM models,
 * {@code semantic_i.png} (the label map argmax M̂_s in colour, with a legend) and {@code labels_i.png} (the same label
 * map as class IDs). For a slice of a NIfTI volume or DICOM series ({@link #input(InputImage)}) also
 * {@code mask_i.nii.gz} and {@code labels.nii.gz}: the same masks and label map on the source volume's grid (its
 * dimensions and affine, zero on the other slices), and {@code result.json} records the axis, slice index and window.
 */
public final class PredictionOutput {
    private final Path modelFile, imageFile;
    private final SegSam model;
    private final Convention convention;
    private final RgbImage image;
    private final Predictor.Encoded encoded;
    private final List<Prompt> prompts;
    private final List<Predictor.Result> results;
    private InputImage input;
    private String modelName, imageName;

    /**
     * @param modelFile  the weights file, as named in {@code result.json} (relative to the output folder)
     * @param imageFile  the image file, likewise
     * @param encoded    the image's encoding (its f_v is written)
     * @param prompts    the prompts, in the order of {@code results}
     */
    public PredictionOutput(Path modelFile, Path imageFile, SegSam model, Convention convention, RgbImage image,
                            Predictor.Encoded encoded, List<Prompt> prompts, List<Predictor.Result> results) {
        this.modelFile = modelFile;
        this.imageFile = imageFile;
        this.model = model;
        this.convention = convention;
        this.image = image;
        this.encoded = encoded;
        this.prompts = List.copyOf(prompts);
        this.results = List.copyOf(results);
    }

    /**
     * The input the image came from: for a slice of a volume ({@link InputImage#volume()} not null) the masks and label
     * map are also written on the volume's grid, and the slice is recorded. Returns this.
     */
    public PredictionOutput input(InputImage input) {
        this.input = input;
        return this;
    }

    /** Names for the model and image in {@code result.json} instead of their paths (e.g. embedded resources). Returns this. */
    public PredictionOutput names(String model, String image) {
        this.modelName = model;
        this.imageName = image;
        return this;
    }

    /** {@code file} relative to {@code out} (both made absolute first), with {@code /} separators. */
    static String relative(Path out, Path file) {
        Path a = out.toAbsolutePath().normalize(), b = file.toAbsolutePath().normalize();
        try {
            return a.relativize(b).toString().replace(java.io.File.separatorChar, '/');
        } catch (IllegalArgumentException e) { // another root (Windows drive): keep it absolute
            return b.toString();
        }
    }

    /**
     * The class-ID label map of all prompts ({@code w·h}, row-major): where prompt i's mask M̂_b lies, its predicted
     * class (SEG-SAM; nothing when it predicts none) or {@code i + 1} (plain SAM); later prompts win where masks
     * overlap; 0 elsewhere.
     */
    public int[] labels() {
        int[] labels = new int[image.width() * image.height()];
        for (int i = 0; i < results.size(); i++) {
            Predictor.Result r = results.get(i);
            int k = r.semantic() != null ? r.semantic().predictedClass() : i + 1;
            if (k <= 0) continue;
            boolean[] m = r.mask();
            for (int j = 0; j < labels.length; j++) if (m[j]) labels[j] = k;
        }
        return labels;
    }

    /** Writes a class-ID label map as a grey PNG: 8-bit when every label is at most 255, else 16-bit. */
    static void writeLabelPng(int[] labels, int w, int h, Path target) throws IOException {
        int max = 0;
        for (int l : labels) max = Math.max(max, l);
        if (max <= 255) {
            byte[] grey = new byte[labels.length];
            for (int i = 0; i < labels.length; i++) grey[i] = (byte) labels[i];
            ImageFiles.writeGreyPng(grey, w, h, target);
        } else {
            ImageFiles.write16BitPng(labels, w, h, 1, target);
        }
    }

    /** Writes the files into {@code out}, which must exist; each file is replaced atomically. */
    public void write(Path out) throws IOException {
        int w = image.width(), h = image.height();
        SafeTensorsWriter st = new SafeTensorsWriter();
        st.metadata("model", modelName != null ? modelName : modelFile.getFileName().toString())
                .metadata("image", imageName != null ? imageName : imageFile.getFileName().toString())
                .metadata("convention", convention.name().toLowerCase(Locale.ROOT));
        st.add("image_embedding", model.sam().backend().download(encoded.features().fv()));
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = json.createObjectNode();
        root.put("model", modelName != null ? modelName : relative(out, modelFile));
        root.put("model_config", model.sam().config().name());
        root.put("image", imageName != null ? imageName : relative(out, imageFile));
        root.put("width", w);
        root.put("height", h);
        root.put("convention", convention.name().toLowerCase(Locale.ROOT));
        boolean onGrid = input != null && input.volume() != null;
        if (onGrid) {
            ObjectNode src = root.putObject("source");
            ArrayNode dims = src.putArray("dims");
            for (int d : input.volume().dims()) dims.add(d);
            src.put("axis", input.axis().name().toLowerCase(Locale.ROOT));
            src.put("index", input.index());
            ObjectNode win = src.putObject("window");
            win.put("low", input.map().low()).put("high", input.map().high());
            win.put("width", input.map().high() - input.map().low()).put("level", (input.map().high() + input.map().low()) / 2);
            win.put("inverted", input.map().invert());
        }
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
            if (onGrid) {
                int[] m01 = new int[w * h];
                boolean[] m = r.mask();
                for (int j = 0; j < m01.length; j++) m01[j] = m[j] ? 1 : 0;
                SourceGrid.writeNifti(input.volume(), input.axis(), input.index(), m01, w, h, out.resolve("mask_" + i + ".nii.gz"));
            }
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
            ArrayNode warn = e.putArray("warnings");
            for (String x : Plausibility.warnings(p, r, w, h)) warn.add(x);
            ArrayNode iou = e.putArray("iou_predictions");
            for (float v : r.iou()) iou.add(v);
            e.put("chosen_mask", r.best());
            e.put("mask_file", "mask_" + i + ".png");
            if (onGrid) e.put("mask_nifti", "mask_" + i + ".nii.gz");
            e.put("area", Masks.area(r.mask()));
            int[] bb = Masks.bbox(r.mask(), w, h);
            if (bb != null) e.putArray("bbox").add(bb[0]).add(bb[1]).add(bb[2]).add(bb[3]);
            else e.putNull("bbox");
            if (r.semantic() != null) {
                Predictor.Semantic s = r.semantic();
                List<String> names = model.config().classNames();
                st.add("semantic_logits." + i, s.logits());
                ImageFiles.writePng(LabelMapImage.render(image, s.labelMap(), names), out.resolve("semantic_" + i + ".png"));
                ObjectNode sem = e.putObject("semantic");
                writeLabelPng(s.labelMap(), w, h, out.resolve("labels_" + i + ".png"));
                sem.put("label_map_file", "semantic_" + i + ".png");
                sem.put("label_ids_file", "labels_" + i + ".png");
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
            for (int k = 0; k < presenceSum.length; k++) cp.put(model.config().classNames().get(k), presenceSum[k]);
        }
        int[] labels = labels();
        writeLabelPng(labels, w, h, out.resolve("labels.png"));
        ObjectNode lab = root.putObject("labels");
        lab.put("file", "labels.png");
        if (onGrid) {
            SourceGrid.writeNifti(input.volume(), input.axis(), input.index(), labels, w, h, out.resolve("labels.nii.gz"));
            lab.put("nifti", "labels.nii.gz");
        }
        lab.put("values", model.hasSemantics() ? "class" : "prompt");
        ArrayNode ids = lab.putArray("ids");
        if (model.hasSemantics()) {
            List<String> names = model.config().classNames();
            for (int k = 0; k < names.size(); k++) ids.addObject().put("id", k + 1).put("class", names.get(k));
        } else {
            for (int i = 0; i < results.size(); i++) ids.addObject().put("id", i + 1).put("prompt", i);
        }
        ImageFiles.writePng(Overlay.withLegend(Overlay.render(image, masks, prompts), legend()), out.resolve("overlay.png"));
        st.write(out.resolve("outputs.safetensors"), true);
        AtomicFiles.write(out.resolve("result.json"), true, tmp -> json.writeValue(tmp.toFile(), root));
    }

    /** The overlay's legend: per prompt its number and predicted class with probability (SEG-SAM) or its area. */
    List<String> legend() {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < results.size(); i++) {
            Predictor.Result r = results.get(i);
            if (r.semantic() != null && r.semantic().predictedClass() > 0) {
                out.add(String.format(Locale.ROOT, "%d: %s %.2f", i, model.config().classNames().get(r.semantic().predictedClass() - 1),
                        r.semantic().classProbability()));
            } else {
                out.add(String.format(Locale.ROOT, "%d: %d px", i, Masks.area(r.mask())));
            }
        }
        return out;
    }

    /** One line per prompt (chosen mask, predicted IoU, area; predicted class), then {@code wrote <out>}. */
    public void printSummary(PrintWriter o, Path out) {
        for (int i = 0; i < results.size(); i++) {
            Predictor.Result r = results.get(i);
            StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "prompt %d: mask %d of %d, predicted IoU %.3f, area %d px",
                    i, r.best(), r.iou().length, r.iou()[r.best()], Masks.area(r.mask())));
            if (r.semantic() != null && r.semantic().predictedClass() > 0) {
                sb.append(String.format(Locale.ROOT, ", class %s (p = %.2f)", model.config().classNames().get(r.semantic().predictedClass() - 1),
                        r.semantic().classProbability()));
            }
            o.println(sb);
            for (String x : Plausibility.warnings(prompts.get(i), r, image.width(), image.height())) o.println("  warning: " + x);
        }
        o.println("wrote " + out);
    }
}
