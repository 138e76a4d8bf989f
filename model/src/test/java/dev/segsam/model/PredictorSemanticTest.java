package dev.segsam.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.model.preprocess.Preprocessor.Convention;
import dev.segsam.model.sam.SeededWeights;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Backends;
import dev.segsam.tensor.CpuBackend;
import dev.segsam.tensor.Options;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.image.RgbImage;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The predictor's semantic outputs, now computed on the backend ({@link Backend#classMaps}), are bit for bit what the
 * host-side double-precision pass it replaced computed from the same full-size M̂_s and binary mask (that pass is kept
 * below as the oracle), on both CPU backends, for both conventions (MedSAM's fallback region is its probabilities
 * above 0.5), single-mask and multimask prompts, one at a time and batched. Plain SAM files give no semantic outputs.
 */
class PredictorSemanticTest {
    @Test
    void semanticOutputsAreTheHostPassBitForBit() {
        for (Backend b : List.of(new CpuBackend(), Backends.cpu(Options.defaults()), Backends.cpu(Options.defaults().withThreads(1)))) {
            SegSam model = PredictorBatchTest.segSam(b);
            for (Convention c : Convention.values()) {
                Predictor p = new Predictor(model, c);
                Random r = new Random(5);
                RgbImage img = RgbImage.black(150, 110);
                for (int y = 0; y < 110; y++) for (int x = 0; x < 150; x++) for (int ch = 0; ch < 3; ch++) img.set(x, y, ch, r.nextInt(256));
                List<Prompt> prompts = List.of(Prompt.box(20, 10, 120, 90), Prompt.box(5, 5, 60, 40),
                        Prompt.point(70, 50, true).withPoint(10, 100, false).multimask(true), Prompt.point(30, 30, true));
                try (Predictor.Encoded e = p.encode(img)) {
                    List<Predictor.Result> batched = p.predict(e, prompts);
                    for (int i = 0; i < prompts.size(); i++) {
                        String what = b.name() + " " + c + " prompt " + i;
                        check(p.predict(e, prompts.get(i)), what);
                        check(batched.get(i), what + " (batched)");
                    }
                }
            }
        }
    }

    private static void check(Predictor.Result r, String what) {
        assertTrue(r.hasSemantics(), what);
        Predictor.Semantic got = r.semantic(), want = hostPass(r.semantic().logits(), r.mask());
        assertArrayEquals(want.labelMap(), got.labelMap(), what + " label map");
        assertArrayEquals(want.foreground(), got.foreground(), what + " foreground");
        assertArrayEquals(want.classProbabilities(), got.classProbabilities(), what + " class probabilities");
        assertEquals(want.predictedClass(), got.predictedClass(), what + " class");
        assertEquals(want.classProbability(), got.classProbability(), what + " probability");
        assertEquals(r.semantic().logits().size(1) - 1, got.classPresence().length, what + " Ĉ_s");
    }

    /** The host pass the predictor ran before {@link Backend#classMaps} (docs/design/segsam.md §3), verbatim in its arithmetic. */
    static Predictor.Semantic hostPass(Tensor logits, boolean[] binaryMask) {
        int K1 = logits.size(1), hw = logits.size(2) * logits.size(3);
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
        return new Predictor.Semantic(logits, label, fg, predicted, best, classProb, null);
    }

    @Test
    void plainSamHasNoSemantics() {
        Predictor p = new Predictor(SegSam.load(SeededWeights.generate(PredictorBatchTest.SMALL, 7), new CpuBackend()), Convention.SAM);
        try (Predictor.Encoded e = p.encode(RgbImage.black(64, 48))) {
            Predictor.Result r = p.predict(e, Prompt.box(4, 4, 40, 30));
            assertFalse(r.hasSemantics());
            assertNull(r.semantic());
            assertEquals(64 * 48, r.mask().length);
            assertArrayEquals(new int[] {1, 1, 48, 64}, r.maskLogits().shape());
        }
    }
}
