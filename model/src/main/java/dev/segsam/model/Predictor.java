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
 * image and upsamples to the original size, then thresholds at 0 (sam.md §8.1); MedSAM applies the sigmoid,
 * upsamples the probabilities straight from the low-res size to the original size and thresholds at 0.5
 * (sam.md §13) — its {@code maskLogits} are the logits of those probabilities, so {@code > 0} gives the same mask.
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
        float[][] pts = null;
        if (p.points() != null && p.points().length > 0) {
            pts = new float[p.points().length][];
            for (int i = 0; i < pts.length; i++) pts[i] = img.mapPoint(p.points()[i][0], p.points()[i][1]);
        }
        float[] box = p.box() == null ? null : img.mapBox(p.box()[0], p.box()[1], p.box()[2], p.box()[3]);
        try (SegSam.Decoded d = model.decode(e.features(), pts, p.labels(), box, p.maskInput(), p.multimask())) {
            Backend b = model.sam().backend();
            Tensor lowRes = b.download(d.binary().lowRes()).copy();
            float[] iou = b.download(d.binary().iou()).toArray();
            Tensor logits = upsample(lowRes, img, true);
            int best = 0;
            for (int i = 1; i < iou.length; i++) if (iou[i] > iou[best]) best = i;
            int hw = img.origH() * img.origW();
            boolean[] mask = new boolean[hw];
            for (int i = 0; i < hw; i++) mask[i] = logits.get((long) best * hw + i) > 0f;
            Semantic sem = d.semantic() == null ? null : semantic(d.semantic(), img, mask);
            return new Result(lowRes, iou, logits, best, mask, sem);
        }
    }

    /** Runs several prompts on one encoded image, in order. */
    public List<Result> predict(Encoded e, List<Prompt> prompts) {
        List<Result> out = new ArrayList<>();
        for (Prompt p : prompts) out.add(predict(e, p));
        return out;
    }

    /** Low-res logits to the original size, per the convention (see the class comment); host tensor. */
    private Tensor upsample(Tensor lowRes, Preprocessor.Preprocessed img, boolean binary) {
        SamModel sam = model.sam();
        Backend b = sam.backend();
        if (img.convention() == Convention.SAM) {
            return b.download(sam.postprocess(b.upload(lowRes), img.resizedH(), img.resizedW(), img.origH(), img.origW()));
        }
        if (!binary) return b.download(b.interpolateBilinear(b.upload(lowRes), img.origH(), img.origW()));
        try (Tensor prob = b.sigmoid(b.upload(lowRes)); Tensor up = b.interpolateBilinear(prob, img.origH(), img.origW())) {
            Tensor host = b.download(up).copy();
            for (long i = 0; i < host.numel(); i++) {
                double q = Math.min(Math.max(host.get(i), 1e-7), 1 - 1e-7);
                host.set(i, (float) Math.log(q / (1 - q)));
            }
            return host;
        }
    }

    /**
     * Label map (argmax over background and K classes), semantic foreground probability {@code 1 − softmax(M̂_s)[0]},
     * and the predicted class of the prompted object: the class with the highest mean probability over its semantic
     * foreground (label ≠ 0), or over the binary mask when the semantic foreground is empty (segsam.md §3).
     */
    private Semantic semantic(SemanticAwareDecoder.Output s, Preprocessor.Preprocessed img, boolean[] binaryMask) {
        Backend b = model.sam().backend();
        Tensor logits = upsample(b.download(s.semanticLogits()).copy(), img, false);
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
        float[] presence = s.classPresence() == null ? null : b.download(s.classPresence()).toArray();
        return new Semantic(logits, label, fg, predicted, best, classProb, presence);
    }
}
