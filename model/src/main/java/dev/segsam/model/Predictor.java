package dev.segsam.model;

import dev.segsam.model.preprocess.Preprocessor;
import dev.segsam.model.preprocess.Preprocessor.Convention;
import dev.segsam.model.sam.SamModel;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.model.segsam.SemanticAwareDecoder;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.image.RgbImage;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * Image-level inference for SAM and SEG-SAM: encode an image once ({@link #encode}), then answer any number of
 * prompts given in original image pixels ({@link #predict}). Thread-safe: the model is immutable and each call works
 * on its own tensors, so several threads may predict on one {@link Encoded} image at once.
 *
 * <p>Postprocessing follows the convention: SAM upsamples the low-res logits bilinearly to S×S, crops the resized
 * image and upsamples to the original size, then thresholds at 0 (docs/design/sam.md §8.1); MedSAM applies the sigmoid,
 * upsamples the probabilities straight from the low-res size to the original size and thresholds at 0.5
 * (docs/design/sam.md §13) — its {@code maskLogits} are the logits of those probabilities, so {@code > 0} gives the same mask.
 */
public final class Predictor {
    private final SegSam model;
    private final Preprocessor preprocessor;

    public Predictor(SegSam model, Convention convention) {
        this.model = model;
        this.preprocessor = new Preprocessor(convention, model.sam().config().imgSize());
    }

    public SegSam model() {
        return model;
    }

    public Convention convention() {
        return preprocessor.convention();
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

    /** Preprocesses and encodes {@code img}; {@code progress} (or null) hears each finished encoder block. */
    public Encoded encode(RgbImage img, IntConsumer progress) {
        Preprocessor.Preprocessed p = preprocessor.preprocess(img);
        return new Encoded(p, model.encode(p.input(), progress));
    }

    /** The number of encoder blocks {@link #encode} reports progress for. */
    public int encoderBlocks() {
        return model.sam().imageEncoder().depth();
    }

    /**
     * A prompt in original image pixels: points {@code [n][2]} with labels (1 foreground, 0 background), a box
     * {@code {x0, y0, x1, y1}}, an optional previous low-res mask {@code [1, 1, 4g, 4g]}, and whether to return SAM's
     * three masks (else the single-mask output).
     */
    public record Prompt(float[][] points, int[] labels, float[] box, Tensor maskInput, boolean multimask) {}

    /** Semantic outputs for one prompt (SEG-SAM models only); {@code classPresence} is null for a model without CO-tokens. */
    public record Semantic(Tensor logits, int[] labelMap, float[] foreground, int predictedClass, float classProbability,
                           float[] classProbabilities, float[] classPresence) {}

    /**
     * One prompt's outputs: low-res logits {@code [1, C, 4g, 4g]}, IoU predictions (C values), full-size logits
     * {@code [1, C, H, W]}, the index of the best mask (highest predicted IoU), that mask as {@code H·W} booleans, and
     * the semantic outputs (null for plain SAM).
     */
    public record Result(Tensor lowRes, float[] iou, Tensor maskLogits, int best, boolean[] mask, Semantic semantic) {}

    /** Runs one prompt. */
    public Result predict(Encoded e, Prompt p) {
        Preprocessor.Preprocessed img = e.image();
        try (SegSam.Decoded d = model.decode(e.features(), mapPoints(img, p), p.labels(), mapBox(img, p), p.maskInput(), p.multimask())) {
            Backend b = model.sam().backend();
            Tensor lowRes = hostCopy(b, d.binary().lowRes());
            float[] iou = values(b, d.binary().iou());
            Result r = result(img, lowRes, iou);
            if (d.semantic() == null) return r;
            return new Result(r.lowRes(), r.iou(), r.maskLogits(), r.best(), r.mask(), semantic(d.semantic(), img, r.mask()));
        }
    }

    /**
     * The most prompts {@link #predict(Encoded, List)} puts into one decoder pass (system property
     * {@code segsam.predict.batch}, default 4): on the CPU a batch saves per-op overheads, not arithmetic, while each
     * prompt adds 4 MB to every image-sized activation (docs/PERF.md has the measurement).
     */
    public static final int MAX_BATCH = Math.max(1, Integer.getInteger("segsam.predict.batch", 4));

    /**
     * Runs several prompts on one encoded image; results in prompt order. Prompts with the same number of sparse tokens
     * and the same {@code multimask} run together, up to {@value #MAX_BATCH} per pass, as one batched decoder pass
     * ({@link SegSam#decodeBatch}: SAM's decoder and, for SEG-SAM models, Dec_saw); the results equal one-at-a-time
     * {@link #predict(Encoded, Prompt)} up to float rounding.
     */
    public List<Result> predict(Encoded e, List<Prompt> prompts) {
        Result[] out = new Result[prompts.size()];
        java.util.Map<String, List<Integer>> groups = new java.util.LinkedHashMap<>();
        for (int i = 0; i < out.length; i++) {
            Prompt p = prompts.get(i);
            int points = p.points() == null ? 0 : p.points().length;
            int tokens = points + (points > 0 && p.box() == null ? 1 : 0) + (p.box() == null ? 0 : 2);
            groups.computeIfAbsent(tokens + "/" + p.multimask(), k -> new ArrayList<>()).add(i);
        }
        Preprocessor.Preprocessed img = e.image();
        Backend b = model.sam().backend();
        for (List<Integer> group : groups.values()) {
            for (int from = 0; from < group.size(); from += MAX_BATCH) {
                List<Integer> idx = group.subList(from, Math.min(group.size(), from + MAX_BATCH));
                List<SamModel.PromptInput> batch = new ArrayList<>();
                for (int i : idx) {
                    Prompt p = prompts.get(i);
                    batch.add(new SamModel.PromptInput(mapPoints(img, p), p.labels(), mapBox(img, p), p.maskInput()));
                }
                try (SegSam.Decoded d = model.decodeBatch(e.features(), batch, prompts.get(idx.get(0)).multimask());
                     Tensor lowRes = hostCopy(b, d.binary().lowRes()); Tensor iou = hostCopy(b, d.binary().iou())) {
                    int n = iou.size(1);
                    for (int j = 0; j < idx.size(); j++) {
                        float[] iouRow = new float[n];
                        iou.read((long) j * n, iouRow, 0, n);
                        Result r = result(img, lowRes.narrow0(j, 1).copy(), iouRow);
                        if (d.semantic() != null) {
                            try (SemanticAwareDecoder.Output one = row(b, d.semantic(), j)) {
                                r = new Result(r.lowRes(), r.iou(), r.maskLogits(), r.best(), r.mask(), semantic(one, img, r.mask()));
                            }
                        }
                        out[idx.get(j)] = r;
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

    private static float[][] mapPoints(Preprocessor.Preprocessed img, Prompt p) {
        if (p.points() == null || p.points().length == 0) return null;
        float[][] pts = new float[p.points().length][];
        for (int i = 0; i < pts.length; i++) pts[i] = img.mapPoint(p.points()[i][0], p.points()[i][1]);
        return pts;
    }

    private static float[] mapBox(Preprocessor.Preprocessed img, Prompt p) {
        return p.box() == null ? null : img.mapBox(p.box()[0], p.box()[1], p.box()[2], p.box()[3]);
    }

    /** The binary part of a {@link Result} from one prompt's low-res logits (host tensor, kept) and IoU predictions. */
    private Result result(Preprocessor.Preprocessed img, Tensor lowRes, float[] iou) {
        Tensor logits = upsample(lowRes, img, true);
        int best = 0;
        for (int i = 1; i < iou.length; i++) if (iou[i] > iou[best]) best = i;
        int hw = img.origH() * img.origW();
        float[] plane = new float[hw];
        logits.read((long) best * hw, plane, 0, hw);
        boolean[] mask = new boolean[hw];
        for (int i = 0; i < hw; i++) mask[i] = plane[i] > 0f;
        return new Result(lowRes, iou, logits, best, mask, null);
    }

    /** Low-res logits to the original size, per the convention (see the class comment); host tensor. */
    private Tensor upsample(Tensor lowRes, Preprocessor.Preprocessed img, boolean binary) {
        SamModel sam = model.sam();
        Backend b = sam.backend();
        Tensor in = b.upload(lowRes);
        try {
            if (img.convention() == Convention.SAM) {
                return takeHost(b, sam.postprocess(in, img.resizedH(), img.resizedW(), img.origH(), img.origW()));
            }
            if (!binary) return takeHost(b, b.interpolateBilinear(in, img.origH(), img.origW()));
        } finally {
            if (in != lowRes) in.close();
        }
        try (Tensor up = sigmoidUp(b, lowRes, img.origH(), img.origW())) {
            float[] v = values(b, up);
            for (int i = 0; i < v.length; i++) {
                double q = Math.min(Math.max(v[i], 1e-7), 1 - 1e-7);
                v[i] = (float) Math.log(q / (1 - q));
            }
            return Tensor.of(v, up.shape());
        }
    }

    /** σ(lowRes) bilinearly resized to {@code h × w} on the backend (MedSAM's binary path); device temporaries closed. */
    private static Tensor sigmoidUp(Backend b, Tensor lowRes, int h, int w) {
        Tensor in = b.upload(lowRes);
        try (Tensor prob = b.sigmoid(in)) {
            return b.interpolateBilinear(prob, h, w);
        } finally {
            if (in != lowRes) in.close();
        }
    }

    // Host/device hand-over without leaks: on the CPU, upload/download hand back the same tensor; on a GPU they make
    // new ones, which must be closed here rather than left to the cleaner (device memory would grow per call).

    /** A host tensor the caller owns with {@code t}'s values; {@code t} stays open (its owner closes it). */
    private static Tensor hostCopy(Backend b, Tensor t) {
        Tensor h = b.download(t);
        return h == t ? t.copy() : h;
    }

    /** {@code t}'s values on the host; {@code t} is a temporary owned here and is closed (unless it is the result). */
    private static Tensor takeHost(Backend b, Tensor t) {
        Tensor h = b.download(t);
        if (h != t) t.close();
        return h;
    }

    /** {@code t}'s values as an array; any host copy made for it is closed, {@code t} stays open. */
    private static float[] values(Backend b, Tensor t) {
        Tensor h = b.download(t);
        try {
            return h.toArray();
        } finally {
            if (h != t) h.close();
        }
    }

    /**
     * Label map (argmax over background and K classes), semantic foreground probability {@code 1 − softmax(M̂_s)[0]},
     * and the predicted class of the prompted object: the class with the highest mean probability over its semantic
     * foreground (label ≠ 0), or over the binary mask when the semantic foreground is empty (docs/design/segsam.md §3).
     */
    private Semantic semantic(SemanticAwareDecoder.Output s, Preprocessor.Preprocessed img, boolean[] binaryMask) {
        Backend b = model.sam().backend();
        Tensor logits;
        try (Tensor low = hostCopy(b, s.semanticLogits())) {
            logits = upsample(low, img, false);
        }
        int K1 = logits.size(1), hw = img.origH() * img.origW();
        float[] v = logits.toArray();
        int[] label = new int[hw];
        float[] fg = new float[hw];
        double[][] sums = new double[2][K1];
        int[] counts = new int[2];
        double[] p = new double[K1];
        for (int i = 0; i < hw; i++) {
            double max = Double.NEGATIVE_INFINITY;
            int arg = 0;
            for (int k = 0; k < K1; k++) {
                double x = v[k * hw + i];
                if (x > max) {
                    max = x;
                    arg = k;
                }
            }
            double z = 0;
            for (int k = 0; k < K1; k++) z += p[k] = Math.exp(v[k * hw + i] - max);
            label[i] = arg;
            fg[i] = (float) (1 - p[0] / z);
            for (int set = 0; set < 2; set++) {
                if (set == 0 ? arg != 0 : binaryMask[i]) {
                    counts[set]++;
                    for (int k = 0; k < K1; k++) sums[set][k] += p[k] / z;
                }
            }
        }
        int set = counts[0] > 0 ? 0 : 1;
        float[] classProb = new float[K1 - 1];
        int predicted = 0;
        float best = 0;
        if (counts[set] > 0) {
            for (int k = 1; k < K1; k++) {
                classProb[k - 1] = (float) (sums[set][k] / counts[set]);
                if (classProb[k - 1] > best) {
                    best = classProb[k - 1];
                    predicted = k;
                }
            }
        }
        float[] presence = s.classPresence() == null ? null : values(b, s.classPresence());
        return new Semantic(logits, label, fg, predicted, best, classProb, presence);
    }
}
