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
 * <p>Files: {@code mask_i.png} (M̂_b, 255 inside), {@code overlay.png} (masks and prompts over the image),
 * {@code outputs.safetensors} ({@code image_embedding} f_v, {@code low_res_logits.i}, {@code iou_predictions.i}; for
 * SEG-SAM models {@code class_presence} Ĉ_s, averaged over the prompts; on request the full-size {@code mask_logits.i}
 * and, for SEG-SAM models, {@code semantic_logits.i} M̂_s), {@code result.json} (per prompt: the prompt, IoU predictions, chosen mask, area, tight box; predicted
 * class and class probabilities) and, for SEG-SAM models, {@code semantic_i.png} (the label map argmax M̂_s).
 *
 * @param modelFile  the weights file, as named in {@code result.json}
 * @param imageFile  the image file, likewise
 * @param encoded    the image's encoding (its f_v is written)
 * @param prompts    the prompts, in the order of {@code results}
 */
public record PredictionOutput(Path modelFile, Path imageFile, SegSam model, Convention convention, RgbImage image,
                               Predictor.Encoded encoded, List<Prompt> prompts, List<Predictor.Result> results) {

    /**
     * Writes the files into {@code out}, which must exist, with the low-res logits only ({@link Writer}); each file is
     * replaced atomically.
     */
    public void write(Path out) throws IOException {
        write(out, false);
    }

    /** {@link #write(Path)}, with the full-size logits too when {@code fullResLogits}. */
    public void write(Path out, boolean fullResLogits) throws IOException {
        try (Writer wr = new Writer(out, modelFile, imageFile, model, convention, image, encoded, fullResLogits)) {
            for (int i = 0; i < results.size(); i++) wr.add(prompts.get(i), results.get(i));
            wr.finish();
        }
    }

    /**
     * Writes one image's outputs into a folder as the prompts' results arrive, keeping none of them: per prompt the mask
     * (and semantic) PNGs at once, its tensors into {@code outputs.safetensors}'s data ({@link SafeTensorsStreamWriter}),
     * its {@code result.json} entry into a stream, its mask painted onto the overlay; {@link #finish} writes
     * {@code overlay.png}, {@code outputs.safetensors} and {@code result.json}. Memory stays at one image-sized overlay
     * and a few dozen bytes per prompt however many prompts there are.
     *
     * <p>{@code outputs.safetensors} holds the low-res logits {@code low_res_logits.i} ({@code [1, C, 256, 256]} for a
     * 1024 model: a size that does not grow with the image); the full-size {@code mask_logits.i} and
     * {@code semantic_logits.i} ({@code [1, C, H, W]}, 4·C·H·W bytes each) only when {@code fullResLogits}.
     */
    public static final class Writer implements AutoCloseable {
        private final Path out, resultTmp;
        private final SegSam model;
        private final RgbImage image, overlay;
        private final boolean fullResLogits;
        private final SafeTensorsStreamWriter st;
        private final JsonGenerator json;
        private final ObjectMapper mapper = new ObjectMapper();
        private final List<Prompt> prompts = new ArrayList<>();
        private final List<String> summary = new ArrayList<>();
        private float[] presenceSum;
        private int count;
        private boolean finished;

        public Writer(Path out, Path modelFile, Path imageFile, SegSam model, Convention convention, RgbImage image,
                      Predictor.Encoded encoded, boolean fullResLogits) throws IOException {
            this.out = out;
            this.model = model;
            this.image = image;
            this.fullResLogits = fullResLogits;
            this.overlay = new RgbImage(image.width(), image.height(), image.rgb().clone());
            this.resultTmp = out.resolve(".result.json." + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36) + ".tmp");
            SafeTensorsStreamWriter w = null;
            JsonGenerator g = null;
            try {
                w = new SafeTensorsStreamWriter(out.resolve("outputs.safetensors"));
                w.metadata("model", modelFile.getFileName().toString()).metadata("image", imageFile.getFileName().toString())
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
                g.writeStringField("model", modelFile.toString());
                g.writeStringField("model_config", model.sam().config().name());
                g.writeStringField("image", imageFile.toString());
                g.writeNumberField("width", image.width());
                g.writeNumberField("height", image.height());
                g.writeStringField("convention", convention.name().toLowerCase(Locale.ROOT));
                g.writeBooleanField("full_res_logits", fullResLogits);
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
            Overlay.paintMask(overlay, r.mask(), i);
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
            ArrayNode iou = e.putArray("iou_predictions");
            for (float v : r.iou()) iou.add(v);
            e.put("chosen_mask", r.best());
            e.put("mask_file", "mask_" + i + ".png");
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
                sem.put("label_map_file", "semantic_" + i + ".png");
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
            summary.add(summaryLine(model, i, r));
        }

        /** Writes {@code overlay.png}, {@code outputs.safetensors} and {@code result.json}; nothing can be added after. */
        public void finish() throws IOException {
            finished = true;
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
            json.writeEndObject();
            json.close();
            Overlay.paintPrompts(overlay, prompts);
            ImageFiles.writePng(overlay, out.resolve("overlay.png"));
            st.finish(true);
            try (FileChannel ch = FileChannel.open(resultTmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(resultTmp, out.resolve("result.json"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
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

    static String summaryLine(SegSam model, int i, Predictor.Result r) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "prompt %d: mask %d of %d, predicted IoU %.3f, area %d px",
                i, r.best(), r.iou().length, r.iou()[r.best()], Masks.area(r.mask())));
        if (r.semantic() != null && r.semantic().predictedClass() > 0) {
            sb.append(String.format(Locale.ROOT, ", class %s (p = %.2f)", model.config().classNames().get(r.semantic().predictedClass() - 1),
                    r.semantic().classProbability()));
        }
        return sb.toString();
    }

    /** One line per prompt (chosen mask, predicted IoU, area; predicted class), then {@code wrote <out>}. */
    public void printSummary(PrintWriter o, Path out) {
        for (int i = 0; i < results.size(); i++) o.println(summaryLine(model, i, results.get(i)));
        o.println("wrote " + out);
    }
}
