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
 * <p>Files: {@code mask_i.png} (M̂_b, 255 inside), {@code overlay.png} (masks and prompts over the image),
 * {@code outputs.safetensors} ({@code image_embedding} f_v, {@code low_res_logits.i}, {@code iou_predictions.i},
 * {@code mask_logits.i}; for SEG-SAM models {@code semantic_logits.i} M̂_s and {@code class_presence} Ĉ_s, averaged over
 * the prompts), {@code result.json} (per prompt: the prompt, IoU predictions, chosen mask, area, tight box; predicted
 * class and class probabilities) and, for SEG-SAM models, {@code semantic_i.png} (the label map argmax M̂_s).
 *
 * @param modelFile  the weights file, as named in {@code result.json}
 * @param imageFile  the image file, likewise
 * @param encoded    the image's encoding (its f_v is written)
 * @param prompts    the prompts, in the order of {@code results}
 */
public record PredictionOutput(Path modelFile, Path imageFile, SegSam model, Convention convention, RgbImage image,
                               Predictor.Encoded encoded, List<Prompt> prompts, List<Predictor.Result> results) {

    /** Writes the files into {@code out}, which must exist; each file is replaced atomically. */
    public void write(Path out) throws IOException {
        int w = image.width(), h = image.height();
        SafeTensorsWriter st = new SafeTensorsWriter();
        st.metadata("model", modelFile.getFileName().toString()).metadata("image", imageFile.getFileName().toString())
                .metadata("convention", convention.name().toLowerCase(Locale.ROOT));
        st.add("image_embedding", model.sam().backend().download(encoded.features().fv()));
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = json.createObjectNode();
        root.put("model", modelFile.toString());
        root.put("model_config", model.sam().config().name());
        root.put("image", imageFile.toString());
        root.put("width", w);
        root.put("height", h);
        root.put("convention", convention.name().toLowerCase(Locale.ROOT));
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
            for (int k = 0; k < presenceSum.length; k++) cp.put(model.config().classNames().get(k), presenceSum[k]);
        }
        ImageFiles.writePng(Overlay.render(image, masks, prompts), out.resolve("overlay.png"));
        st.write(out.resolve("outputs.safetensors"), true);
        AtomicFiles.write(out.resolve("result.json"), true, tmp -> json.writeValue(tmp.toFile(), root));
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
        }
        o.println("wrote " + out);
    }
}
