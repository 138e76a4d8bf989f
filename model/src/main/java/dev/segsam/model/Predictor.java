package dev.segsam.model;

import dev.segsam.model.preprocess.Preprocessor;
import dev.segsam.model.preprocess.Preprocessor.Convention;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.model.segsam.SemanticAwareDecoder;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Options;
import dev.segsam.tensor.Parallel;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorScope;
import dev.segsam.tensor.image.RgbImage;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * Image-level inference for SAM and SEG-SAM: encode an image once ({@link #encode}), then answer any number of
 * {@link Prompt}s given in original image pixels ({@link #predict}). Thread-safe: the model is immutable and each call
 * works on its own tensors, so several threads may predict on one {@link Encoded} image at once.
 *
 * <pre>
 * Result r = predictor.predict(image, Prompt.box(40, 30, 200, 180));
 * </pre>
 *
 * <p>Postprocessing follows the convention: SAM upsamples the low-res logits bilinearly to S×S, crops the resized
 * image and upsamples to the original size, then thresholds at 0 (docs/design/sam.md §8.1); MedSAM applies the sigmoid,
 * upsamples the probabilities straight from the low-res size to the original size and thresholds at 0.5
 * (docs/design/sam.md §13) — its {@code maskLogits} are the logits of those probabilities, so {@code > 0} gives the same mask.
 *
 * <p>Device work: every prompt's outputs are computed on the model's backend — decoder, upsampling, and for SEG-SAM
 * the softmax/argmax of M̂_s over its classes ({@link Backend#classMaps}) — and downloaded once at the end of the
 * prompt, with nothing sent back to the device in between. A multimask prompt first fetches its C IoU scores (to pick
 * the mask the semantic fallback region uses); a single-mask prompt needs no early transfer.
 *
 * <p>Per-image decoder work: {@link #encode} also makes the decoders' prompt-independent image side
 * ({@link dev.segsam.model.sam.ImageContexts}: f_v as keys and the first transformer layer's projections of it, ~10 MB
 * per decoder at ViT-B), and every prompt without a mask input reuses it; it is freed with the {@link Encoded}. Results
 * are those of computing it per prompt (bit for bit for single prompts on the CPU backends).
 *
 * <p>Options ({@link Options}): {@link Options#predictBatch()} bounds the prompts of one batched decoder pass
 * ({@link #predict(Encoded, List)}; 0, the default: 1 on the CPU, 4 on a GPU); {@link Options#threads()} the threads of host-side preprocessing.
 */
public final class Predictor {
    private final SegSam model;
    private final Preprocessor preprocessor;
    private final int maxBatch;

    /**
     * Prompts per decoder pass when {@link Options#predictBatch()} is 0 (by device). On the CPU one prompt per pass is
     * cheaper: the per-image context already shares the image side, and a batch makes the element-wise ops of the
     * token side cost ~1.6–3× per prompt (docs/PERF.md, "decode": 16 boxes 0.83× the wall time of batches of 4). On a
     * GPU a batch fills the device.
     */
    static final int CPU_BATCH = 1, DEVICE_BATCH = 4;

    /** A predictor with the default {@link Options} (prompt batches by device, preprocessing on every processor). */
    public Predictor(SegSam model, Convention convention) {
        this(model, convention, Options.defaults());
    }

    /** A predictor for {@code model} using {@code options}' predictor settings (see the class comment). */
    public Predictor(SegSam model, Convention convention, Options options) {
        this.model = model;
        this.preprocessor = new Preprocessor(convention, model.sam().config().imgSize(), Parallel.of(options.threads()));
        this.maxBatch = options.predictBatch() > 0 ? options.predictBatch()
                : model.sam().backend().device() == dev.segsam.tensor.Device.CPU ? CPU_BATCH : DEVICE_BATCH;
    }

    public SegSam model() {
        return model;
    }

    public Convention convention() {
        return preprocessor.convention();
    }

    /** The most prompts {@link #predict(Encoded, List)} puts into one decoder pass ({@link Options#predictBatch()}). */
    public int maxBatch() {
        return maxBatch;
    }

    /** An encoded image: its preprocessing (sizes, coordinate mapping) and features. Close it to free them. */
    public record Encoded(Preprocessor.Preprocessed image, SegSam.Features features) implements AutoCloseable {
        public int height() {
            return image.origH();
        }

        public int width() {
            return image.origW();
        }

        @Override
        public void close() {
            image.close();
            features.close();
        }
    }

    /** Preprocesses and encodes {@code img}. */
    public Encoded encode(RgbImage img) {
        return encode(img, null);
    }

    /**
     * Preprocesses and encodes {@code img}; {@code progress} (or null) hears each finished encoder block. The decoders'
     * per-image contexts are made here too ({@link SegSam#prepareContexts}), so the first prompt does no more work than the next.
     */
    public Encoded encode(RgbImage img, IntConsumer progress) {
        try (TensorScope s = TensorScope.open()) {
            Preprocessor.Preprocessed p = preprocessor.preprocess(img);
            SegSam.Features f = model.encode(p.input(), progress);
            Encoded e = new Encoded(p, f);
            try {
                model.prepareContexts(f);
            } catch (RuntimeException | Error x) {
                e.close();
                throw x;
            }
            return s.keep(e);
        }
    }

    /** The number of encoder blocks {@link #encode} reports progress for. */
    public int encoderBlocks() {
        return model.sam().imageEncoder().depth();
    }

    /**
     * Semantic outputs for one prompt (SEG-SAM models only): M̂_s at the original size {@code [1, K+1, H, W]}, its label
     * map (argmax over background and K classes), the semantic foreground probability {@code 1 − softmax(M̂_s)[0]}, the
     * predicted class with its probability and every class's probability (see {@link Predictor#predict(Encoded, Prompt)}),
     * and Ĉ_s ({@code classPresence}, null for a model without CO-tokens).
     */
    public record Semantic(Tensor logits, int[] labelMap, float[] foreground, int predictedClass, float classProbability,
                           float[] classProbabilities, float[] classPresence) {}

    /**
     * One prompt's outputs: low-res logits {@code [1, C, 4g, 4g]}, IoU predictions (C values), full-size logits
     * {@code [1, C, H, W]}, the index of the best mask (highest predicted IoU), that mask as {@code H·W} booleans, and
     * the semantic outputs (null for plain SAM). All on the host.
     */
    public record Result(Tensor lowRes, float[] iou, Tensor maskLogits, int best, boolean[] mask, Semantic semantic) {
        /** Whether the model gave semantic outputs (a SEG-SAM model; false for plain SAM, whose {@link #semantic()} is null). */
        public boolean hasSemantics() {
            return semantic != null;
        }
    }

    /**
     * Runs one prompt. For SEG-SAM models the predicted class of the prompted object is the class with the highest
     * mean probability over its semantic foreground (label ≠ 0), or over the binary mask when the semantic foreground
     * is empty (docs/design/segsam.md §3).
     */
    public Result predict(Encoded e, Prompt p) {
        Preprocessor.Preprocessed img = e.image();
        try (TensorScope s = TensorScope.open()) {
            SegSam.Decoded d = model.decode(e.features(), p.mapped(img::mapCoords));
            return s.keep(finish(img, d.binary().lowRes(), d.binary().iou(), d.semantic()));
        }
    }

    /**
     * Runs several prompts on one encoded image; results in prompt order. Prompts with the same number of sparse tokens
     * and the same {@code multimask} run together, up to {@link #maxBatch()} per pass, as one batched decoder pass
     * ({@link SegSam#decodeBatch}: SAM's decoder and, for SEG-SAM models, Dec_saw); the results equal one-at-a-time
     * {@link #predict(Encoded, Prompt)} up to float rounding. On the CPU a batch saves per-op overheads, not
     * arithmetic, while each prompt adds 4 MB to every image-sized activation (docs/PERF.md has the measurement).
     */
    public List<Result> predict(Encoded e, List<Prompt> prompts) {
        Result[] out = new Result[prompts.size()];
        java.util.Map<String, List<Integer>> groups = new java.util.LinkedHashMap<>();
        for (int i = 0; i < out.length; i++) {
            Prompt p = prompts.get(i);
            groups.computeIfAbsent(p.sparseTokens() + "/" + p.multimask(), k -> new ArrayList<>()).add(i);
        }
        Preprocessor.Preprocessed img = e.image();
        Backend b = model.sam().backend();
        for (List<Integer> group : groups.values()) {
            for (int from = 0; from < group.size(); from += maxBatch) {
                List<Integer> idx = group.subList(from, Math.min(group.size(), from + maxBatch));
                List<Prompt> batch = new ArrayList<>();
                for (int i : idx) batch.add(prompts.get(i).mapped(img::mapCoords));
                try (TensorScope s = TensorScope.open()) {
                    SegSam.Decoded d = model.decodeBatch(e.features(), batch);
                    for (int j = 0; j < idx.size(); j++) {
                        SemanticAwareDecoder.Output one = d.semantic() == null ? null : row(b, d.semantic(), j);
                        out[idx.get(j)] = s.keep(finish(img, b.slice(d.binary().lowRes(), 0, j, 1), b.slice(d.binary().iou(), 0, j, 1), one));
                    }
                }
            }
        }
        return List.of(out);
    }

    /** Prompt {@code j}'s semantic outputs of a batched pass (slices: M̂_s {@code [1, K+1, 4g, 4g]}, Ĉ_s {@code [1, K]}). */
    private static SemanticAwareDecoder.Output row(Backend b, SemanticAwareDecoder.Output all, int j) {
        return new SemanticAwareDecoder.Output(b.slice(all.semanticLogits(), 0, j, 1),
                all.classPresence() == null ? null : b.slice(all.classPresence(), 0, j, 1),
                all.classLogits() == null ? null : b.slice(all.classLogits(), 0, j, 1));
    }

    /**
     * One prompt's {@link Result} from its decoder outputs on the device: low-res logits {@code [1, C, 4g, 4g]}, IoU
     * {@code [1, C]}, the semantic outputs or null. All device work first, then the downloads. The result's tensors are
     * the downloads (on the CPU, where a download is the tensor itself, the device tensors), so the caller's scope must
     * hold the decoder outputs and keep the result.
     */
    private Result finish(Preprocessor.Preprocessed img, Tensor lowRes, Tensor iouT, SemanticAwareDecoder.Output sem) {
        Backend b = model.sam().backend();
        boolean medsam = img.convention() == Convention.MEDSAM;
        int C = lowRes.size(1);
        try (TensorScope s = TensorScope.open()) {
            float[] iou = C == 1 ? null : values(b, iouT);
            int best = 0;
            for (int i = 1; i < C; i++) if (iou[i] > iou[best]) best = i;
            // on the device: the binary masks at full size (SAM: logits; MedSAM: probabilities) and, for SEG-SAM, M̂_s
            // at full size and its per-pixel class decision, with the chosen binary mask as the fallback region
            Tensor full = medsam ? b.interpolateBilinear(b.sigmoid(lowRes), img.origH(), img.origW()) : postprocess(lowRes, img);
            Tensor semFull = null;
            Backend.ClassMaps maps = null;
            if (sem != null) {
                semFull = medsam ? b.interpolateBilinear(sem.semanticLogits(), img.origH(), img.origW()) : postprocess(sem.semanticLogits(), img);
                Tensor plane = b.slice(full, 1, best, 1);
                Tensor region = medsam ? b.sub(plane, b.upload(Tensor.scalar(0.5f))) : plane; // MedSAM: p > 0.5, exactly; SAM: logits > 0
                maps = b.classMaps(semFull, region);
            }
            // then the downloads, one per output
            if (iou == null) iou = values(b, iouT);
            Tensor low = b.download(lowRes);
            Tensor logits = b.download(full);
            if (medsam) logitsOfProbabilities(logits);
            int hw = img.origH() * img.origW();
            float[] plane = new float[hw];
            logits.read((long) best * hw, plane, 0, hw);
            boolean[] mask = new boolean[hw];
            for (int i = 0; i < hw; i++) mask[i] = plane[i] > 0f;
            Semantic sm = sem == null ? null : semantic(b, b.download(semFull), maps, sem.classPresence());
            return s.keep(new Result(low, iou, logits, best, mask, sm));
        }
    }

    /** SAM's postprocessing of low-res logits {@code [1, C, 4g, 4g]} to the original size (device). */
    private Tensor postprocess(Tensor lowRes, Preprocessor.Preprocessed img) {
        return model.sam().postprocess(lowRes, img.resizedH(), img.resizedW(), img.origH(), img.origW());
    }

    /**
     * MedSAM's probabilities {@code p} (host, a temporary of {@link #finish}) as logits {@code log(q / (1 − q))}, q
     * clamped to [1e-7, 1 − 1e-7], in place.
     */
    private static void logitsOfProbabilities(Tensor p) {
        float[] v = p.toArray();
        for (int i = 0; i < v.length; i++) {
            double q = Math.min(Math.max(v[i], 1e-7), 1 - 1e-7);
            v[i] = (float) Math.log(q / (1 - q));
        }
        p.write(0, v, 0, v.length);
    }

    /**
     * The {@link Semantic} of one prompt from M̂_s at full size (host), its class decision (device) and Ĉ_s (device or
     * null): the label map, semantic foreground and region means come from {@link Backend#classMaps}; the predicted class
     * is the class k ≥ 1 with the highest mean (none when every mean is 0, i.e. an empty region).
     */
    private static Semantic semantic(Backend b, Tensor logits, Backend.ClassMaps maps, Tensor classPresence) {
        float[] labelValues = values(b, maps.labels()), fg = values(b, maps.foreground()), means = values(b, maps.means());
        int[] label = new int[labelValues.length];
        for (int i = 0; i < label.length; i++) label[i] = (int) labelValues[i];
        float[] classProb = java.util.Arrays.copyOfRange(means, 1, means.length);
        int predicted = 0;
        float best = 0;
        for (int k = 1; k < means.length; k++) {
            if (classProb[k - 1] > best) {
                best = classProb[k - 1];
                predicted = k;
            }
        }
        float[] presence = classPresence == null ? null : values(b, classPresence);
        return new Semantic(logits, label, fg, predicted, best, classProb, presence);
    }

    /** {@code t}'s values as an array (a host copy made for it goes with the caller's scope). */
    private static float[] values(Backend b, Tensor t) {
        return b.download(t).toArray();
    }
}
