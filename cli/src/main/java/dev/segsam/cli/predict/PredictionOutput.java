package dev.segsam.cli.predict;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.segsam.io.image.ImageFiles;
import dev.segsam.io.safetensors.SafeTensorsStreamWriter;
import dev.segsam.model.Masks;
import dev.segsam.model.Predictor;
import dev.segsam.model.Prompt;
import dev.segsam.model.preprocess.Preprocessor.Convention;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.image.RgbImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The results of one image's prompts as {@code segsam predict} (and {@code segsam demo}) hand them to the user: the
 * files of the output folder and the summary lines.
 *
 * <p>Files: {@code mask_i.png} (M̂_b, 255 inside), {@code labels.png} (the class-ID label map of all prompts, pixel for
 * pixel with the input: 0 background, k = class k of the model's class list where prompt i's mask M̂_b lies and its
 * predicted class is k — for plain SAM models k = i + 1, the prompt's number; where masks overlap the later prompt
 * wins; 8-bit grey PNG, 16-bit when a label exceeds 255), {@code overlay.png} (masks and prompts over the image, a legend
 * below: prompt → class → colour),
 * {@code outputs.safetensors} ({@code image_embedding} f_v, {@code low_res_logits.i}, {@code iou_predictions.i}; for
 * SEG-SAM models {@code class_presence} Ĉ_s, averaged over the prompts; on request the full-size {@code mask_logits.i}
 * and, for SEG-SAM models, {@code semantic_logits.i} M̂_s), {@code result.json} (per prompt: the prompt, IoU predictions, chosen mask, area, tight box; predicted
 * class and class probabilities; {@link Plausibility} warnings; every path in it relative to the output folder) and, for SEG-SAM models,
 * {@code semantic_i.png} (the label map argmax M̂_s in colour, with a legend) and {@code labels_i.png} (the same label
 * map as class IDs). For a slice of a NIfTI volume or DICOM series ({@link #input(InputImage)}) also
 * {@code mask_i.nii.gz} and {@code labels.nii.gz}: the same masks and label map on the source volume's grid (its
 * dimensions and affine, zero on the other slices), and {@code result.json} records the axis, slice index and window. For a DICOM file
 * or series also {@code segmentation.dcm}, a DICOM-SEG over the source ({@link DicomSegOutput}; {@code result.json}'s
 * {@code dicom_seg}).
 *
 * <p>{@link Writer} writes the same files as the results arrive, keeping none of them ({@code segsam predict});
 * {@link #write} is the writer fed from a list.
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
    private boolean dicomSeg = true;

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

    /** Leaves out {@code segmentation.dcm} ({@link Writer#withoutDicomSeg}). Returns this. */
    public PredictionOutput withoutDicomSeg() {
        this.dicomSeg = false;
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

    /** The label of prompt {@code i}'s mask in {@code labels.png}: its predicted class (SEG-SAM; 0: none) or {@code i + 1}. */
    static int label(int i, Predictor.Result r) {
        return r.semantic() != null ? r.semantic().predictedClass() : i + 1;
    }

    /**
     * The class-ID label map of all prompts ({@code w·h}, row-major): where prompt i's mask M̂_b lies, its predicted
     * class (SEG-SAM; nothing when it predicts none) or {@code i + 1} (plain SAM); later prompts win where masks
     * overlap; 0 elsewhere.
     */
    public int[] labels() {
        int[] labels = new int[image.width() * image.height()];
        for (int i = 0; i < results.size(); i++) paintLabel(labels, label(i, results.get(i)), results.get(i).mask());
        return labels;
    }

    private static void paintLabel(int[] labels, int k, boolean[] m) {
        if (k <= 0) return;
        for (int j = 0; j < labels.length; j++) if (m[j]) labels[j] = k;
    }

    /**
     * Writes the files into {@code out}, which must exist, with the low-res logits only ({@link Writer}); each file is
     * replaced atomically.
     */
    public void write(Path out) throws IOException {
        write(out, false);
    }

    /** {@link #write(Path)}, with the full-size logits too when {@code fullResLogits}. */
    public void write(Path out, boolean fullResLogits) throws IOException {
        try (Writer wr = new Writer(out, modelFile, imageFile, model, convention, image, encoded, fullResLogits, input, modelName, imageName)) {
            if (!dicomSeg) wr.withoutDicomSeg();
            for (int i = 0; i < results.size(); i++) wr.add(prompts.get(i), results.get(i));
            wr.finish();
        }
    }

    /** The overlay's legend entry of prompt {@code i}: its number and predicted class with probability (SEG-SAM) or its area. */
    static String legendEntry(SegSam model, int i, Predictor.Result r) {
        if (r.semantic() != null && r.semantic().predictedClass() > 0) {
            return String.format(Locale.ROOT, "%d: %s %.2f", i, model.config().classNames().get(r.semantic().predictedClass() - 1),
                    r.semantic().classProbability());
        }
        return String.format(Locale.ROOT, "%d: %d px", i, Masks.area(r.mask()));
    }

    /** The most prompts named in the overlay's legend; more are counted in one last line (result.json has them all). */
    static final int LEGEND_ENTRIES = 32;

    /** One summary line of prompt {@code i} (chosen mask, predicted IoU, area; predicted class), then its warnings. */
    static List<String> summaryLines(SegSam model, int i, Prompt p, Predictor.Result r, int w, int h) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "prompt %d: mask %d of %d, predicted IoU %.3f, area %d px",
                i, r.best(), r.iou().length, r.iou()[r.best()], Masks.area(r.mask())));
        if (r.semantic() != null && r.semantic().predictedClass() > 0) {
            sb.append(String.format(Locale.ROOT, ", class %s (p = %.2f)", model.config().classNames().get(r.semantic().predictedClass() - 1),
                    r.semantic().classProbability()));
        }
        List<String> out = new ArrayList<>();
        out.add(sb.toString());
        for (String x : Plausibility.warnings(p, r, w, h)) out.add("  warning: " + x);
        return out;
    }

    /**
     * Writes one image's outputs into a folder as the prompts' results arrive, keeping none of them: per prompt the mask
     * (and semantic, label) PNGs (and NIfTI masks) at once, its tensors into {@code outputs.safetensors}'s data
     * ({@link SafeTensorsStreamWriter}), its {@code result.json} entry into a JSON stream, its mask painted onto the
     * overlay and into the label map; {@link #finish} writes {@code overlay.png}, {@code labels.png} (and
     * {@code labels.nii.gz}), {@code outputs.safetensors} and {@code result.json}. Memory stays at a few image-sized
     * buffers and a few dozen bytes per prompt however many prompts there are (docs/LIMITS.md).
     *
     * <p>{@code outputs.safetensors} holds the low-res logits {@code low_res_logits.i} ({@code [1, C, 256, 256]} for a
     * 1024 model: a size that does not grow with the image); the full-size {@code mask_logits.i} and
     * {@code semantic_logits.i} ({@code [1, C, H, W]}, 4·C·H·W bytes each) only when {@code fullResLogits}.
     */
    public static final class Writer implements AutoCloseable {
        private final Path out, resultTmp;
        private final SegSam model;
        private final RgbImage image, overlay;
        private final int[] labels;
        private final boolean fullResLogits, onGrid;
        private final InputImage input;
        private final SafeTensorsStreamWriter st;
        private final JsonGenerator json;
        private final ObjectMapper mapper = new ObjectMapper();
        private final List<Prompt> prompts = new ArrayList<>();
        private final List<String> summary = new ArrayList<>(), legend = new ArrayList<>();
        private float[] presenceSum;
        private DicomSegOutput seg;
        private String segSkipped;
        private boolean segPending;
        private final Path modelFile;
        private int count;
        private boolean finished;

        public Writer(Path out, Path modelFile, Path imageFile, SegSam model, Convention convention, RgbImage image,
                      Predictor.Encoded encoded, boolean fullResLogits) throws IOException {
            this(out, modelFile, imageFile, model, convention, image, encoded, fullResLogits, null, null, null);
        }

        /**
         * @param input      the input the image came from (see {@link PredictionOutput#input}), or null
         * @param modelName  the model's name in {@code result.json} instead of its path (see {@link PredictionOutput#names}), or null
         * @param imageName  likewise for the image
         */
        public Writer(Path out, Path modelFile, Path imageFile, SegSam model, Convention convention, RgbImage image,
                      Predictor.Encoded encoded, boolean fullResLogits, InputImage input, String modelName, String imageName) throws IOException {
            this.out = out;
            this.model = model;
            this.image = image;
            this.fullResLogits = fullResLogits;
            this.input = input;
            this.onGrid = input != null && input.volume() != null;
            this.overlay = new RgbImage(image.width(), image.height(), image.rgb().clone());
            this.labels = new int[image.width() * image.height()];
            this.segPending = DicomSegOutput.applies(input);
            this.modelFile = modelFile;
            this.resultTmp = out.resolve(".result.json." + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36) + ".tmp");
            SafeTensorsStreamWriter w = null;
            JsonGenerator g = null;
            try {
                w = new SafeTensorsStreamWriter(out.resolve("outputs.safetensors"));
                w.metadata("model", modelName != null ? modelName : modelFile.getFileName().toString())
                        .metadata("image", imageName != null ? imageName : imageFile.getFileName().toString())
                        .metadata("convention", convention.name().toLowerCase(Locale.ROOT))
                        .metadata("full_res_logits", Boolean.toString(fullResLogits));
                Tensor onDevice = encoded.features().fv(), fv = model.sam().backend().download(onDevice);
                try {
                    w.add("image_embedding", fv);
                } finally {
                    if (fv != onDevice) fv.close(); // a host backend hands back f_v itself
                }
                g = mapper.getFactory().createGenerator(Files.newOutputStream(resultTmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE));
                g.useDefaultPrettyPrinter();
                g.writeStartObject();
                // paths relative to the folder: the temporary folder is the final one's sibling, so they are the same
                g.writeStringField("model", modelName != null ? modelName : relative(out, modelFile));
                g.writeStringField("model_config", model.sam().config().name());
                g.writeStringField("image", imageName != null ? imageName : relative(out, imageFile));
                g.writeNumberField("width", image.width());
                g.writeNumberField("height", image.height());
                g.writeStringField("convention", convention.name().toLowerCase(Locale.ROOT));
                g.writeBooleanField("full_res_logits", fullResLogits);
                if (onGrid) {
                    ObjectNode src = mapper.createObjectNode();
                    ArrayNode dims = src.putArray("dims");
                    for (int d : input.volume().dims()) dims.add(d);
                    src.put("axis", input.axis().name().toLowerCase(Locale.ROOT));
                    src.put("index", input.index());
                    ObjectNode win = src.putObject("window");
                    win.put("low", input.map().low()).put("high", input.map().high());
                    win.put("width", input.map().high() - input.map().low()).put("level", (input.map().high() + input.map().low()) / 2);
                    win.put("inverted", input.map().invert());
                    g.writeFieldName("source");
                    mapper.writeTree(g, src);
                }
                g.writeArrayFieldStart("prompts");
            } catch (IOException | RuntimeException e) {
                if (g != null) g.close();
                Files.deleteIfExists(resultTmp);
                if (w != null) w.close();
                throw e;
            }
            this.st = w;
            this.json = g;
        }

        /** Writes prompt {@code p}'s result (the next index); {@code r} is not kept (its tensors can be closed after). */
        public void add(Prompt p, Predictor.Result r) throws IOException {
            int i = count++, w = image.width(), h = image.height();
            prompts.add(p);
            st.add("low_res_logits." + i, r.lowRes());
            try (Tensor iouT = Tensor.of(r.iou(), 1, r.iou().length)) {
                st.add("iou_predictions." + i, iouT);
            }
            if (fullResLogits) st.add("mask_logits." + i, r.maskLogits());
            ImageFiles.writeMaskPng(r.mask(), w, h, out.resolve("mask_" + i + ".png"));
            if (onGrid) {
                int[] m01 = new int[w * h];
                boolean[] m = r.mask();
                for (int j = 0; j < m01.length; j++) m01[j] = m[j] ? 1 : 0;
                SourceGrid.writeNifti(input.volume(), input.axis(), input.index(), m01, w, h, out.resolve("mask_" + i + ".nii.gz"));
            }
            openDicomSeg();
            if (seg != null) seg.add(i, p, r);
            Overlay.paintMask(overlay, r.mask(), i);
            paintLabel(labels, label(i, r), r.mask());
            ObjectNode e = mapper.createObjectNode();
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
                if (fullResLogits) st.add("semantic_logits." + i, s.logits());
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
                    for (int k = 0; k < names.size(); k++) presenceSum[k] += s.classPresence()[k];
                }
            }
            mapper.writeTree(json, e);
            summary.addAll(summaryLines(model, i, p, r, w, h));
            if (i < LEGEND_ENTRIES) legend.add(legendEntry(model, i, r));
        }

        /** Writes the overlay, the label maps, {@code outputs.safetensors} and {@code result.json}; nothing can be added after. */
        public void finish() throws IOException {
            finished = true;
            int w = image.width(), h = image.height();
            json.writeEndArray();
            if (presenceSum != null) {
                float[] mean = new float[presenceSum.length];
                for (int k = 0; k < mean.length; k++) mean[k] = presenceSum[k] / count;
                try (Tensor cp = Tensor.of(mean, 1, mean.length)) {
                    st.add("class_presence", cp);
                }
                json.writeObjectFieldStart("class_presence");
                for (int k = 0; k < mean.length; k++) json.writeNumberField(model.config().classNames().get(k), mean[k]);
                json.writeEndObject();
            }
            writeLabelPng(labels, w, h, out.resolve("labels.png"));
            json.writeObjectFieldStart("labels");
            json.writeStringField("file", "labels.png");
            if (onGrid) {
                SourceGrid.writeNifti(input.volume(), input.axis(), input.index(), labels, w, h, out.resolve("labels.nii.gz"));
                json.writeStringField("nifti", "labels.nii.gz");
            }
            json.writeStringField("values", model.hasSemantics() ? "class" : "prompt");
            json.writeArrayFieldStart("ids");
            if (model.hasSemantics()) {
                List<String> names = model.config().classNames();
                for (int k = 0; k < names.size(); k++) {
                    json.writeStartObject();
                    json.writeNumberField("id", k + 1);
                    json.writeStringField("class", names.get(k));
                    json.writeEndObject();
                }
            } else {
                for (int i = 0; i < count; i++) {
                    json.writeStartObject();
                    json.writeNumberField("id", i + 1);
                    json.writeNumberField("prompt", i);
                    json.writeEndObject();
                }
            }
            json.writeEndArray();
            json.writeEndObject();
            openDicomSeg();
            if (seg != null || segSkipped != null) writeDicomSeg();
            json.writeEndObject();
            json.close();
            Overlay.paintPrompts(overlay, prompts);
            List<String> entries = new ArrayList<>(legend);
            if (count > LEGEND_ENTRIES) entries.add("+ " + (count - LEGEND_ENTRIES) + " more (result.json)");
            ImageFiles.writePng(Overlay.withLegend(overlay, entries), out.resolve("overlay.png"));
            st.finish(true);
            try (FileChannel ch = FileChannel.open(resultTmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(resultTmp, out.resolve("result.json"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }

        /**
         * Leaves out {@code segmentation.dcm} (and its {@code result.json} entry), e.g. for a download of another file,
         * which then does not read the source series' headers again. Call before the first {@link #add}. Returns this.
         */
        public Writer withoutDicomSeg() {
            if (count > 0) throw new IllegalStateException("prompts already added");
            segPending = false;
            return this;
        }

        /** Reads the DICOM source's headers for {@code segmentation.dcm}, once; a source that cannot carry one is noted. */
        private void openDicomSeg() {
            if (!segPending) return;
            segPending = false;
            try {
                seg = DicomSegOutput.open(input, model, modelFile);
            } catch (IOException | RuntimeException e) {
                segSkipped = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            }
        }

        /** {@code segmentation.dcm} and its {@code result.json} entry, or the reason it was not written. */
        private void writeDicomSeg() throws IOException {
            json.writeObjectFieldStart("dicom_seg");
            if (seg == null) {
                json.writeNullField("file");
                json.writeStringField("skipped", segSkipped);
                summary.add("warning: no " + DicomSegOutput.FILE + ": " + segSkipped);
            } else {
                var written = seg.write(out);
                json.writeStringField("file", DicomSegOutput.FILE);
                json.writeStringField("sop_instance_uid", written.sopInstanceUid());
                json.writeStringField("series_instance_uid", written.seriesInstanceUid());
                json.writeNumberField("frames", written.frames());
                json.writeArrayFieldStart("segments");
                for (var s : seg.segments()) {
                    json.writeStartObject();
                    json.writeNumberField("number", s.number());
                    json.writeStringField("label", s.label());
                    json.writeNumberField("pixels", s.count());
                    json.writeEndObject();
                }
                json.writeEndArray();
            }
            json.writeEndObject();
        }

        /** The summary lines of the prompts written (see {@link PredictionOutput#printSummary}). */
        public List<String> summary() {
            return summary;
        }

        /** Deletes the temporary files of an unfinished writer. */
        @Override
        public void close() throws IOException {
            try {
                if (!finished) json.close();
            } finally {
                Files.deleteIfExists(resultTmp);
                st.close();
            }
        }
    }

    /** The overlay's legend: per prompt its number and predicted class with probability (SEG-SAM) or its area. */
    List<String> legend() {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < results.size(); i++) out.add(legendEntry(model, i, results.get(i)));
        return out;
    }

    /** One line per prompt (chosen mask, predicted IoU, area; predicted class) and its warnings, then {@code wrote <out>}. */
    public void printSummary(PrintWriter o, Path out) {
        for (int i = 0; i < results.size(); i++) {
            for (String line : summaryLines(model, i, prompts.get(i), results.get(i), image.width(), image.height())) o.println(line);
        }
        o.println("wrote " + out);
    }
}
