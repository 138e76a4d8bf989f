package dev.segsam.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.model.preprocess.Preprocessor.Convention;
import dev.segsam.model.sam.ImageContexts;
import dev.segsam.model.sam.SeededWeights;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Backends;
import dev.segsam.tensor.CpuBackend;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.image.RgbImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The decoders' per-image contexts ({@link ImageContexts}, held by {@link SegSam.Features}): a decode that takes the
 * prompt-independent image side from the context must give what the plain path gives — bit for bit for one prompt
 * (the same ops on the same shapes), to float rounding for a batch (layer 0's projections run on one image instead of
 * B copies) — and a prompt with a mask input must not use it. Plain SAM and SEG-SAM (whose Dec_saw has its own
 * context), on the reference and the fast CPU backend.
 */
class ImageContextsTest {
    @Test
    void samOnTheReference() {
        check(SegSam.load(SeededWeights.generate(PredictorBatchTest.SMALL, 7), new CpuBackend()), 1);
    }

    @Test
    void samOnTheCpuBackend() {
        check(SegSam.load(SeededWeights.generate(PredictorBatchTest.SMALL, 7), Backends.cpu()), 1);
    }

    @Test
    void segSamOnTheReference() {
        check(PredictorBatchTest.segSam(new CpuBackend()), 2);
    }

    @Test
    void segSamOnTheCpuBackend() {
        check(PredictorBatchTest.segSam(Backends.cpu()), 2);
    }

    static void check(SegSam model, int decoders) {
        Backend backend = model.sam().backend();
        Predictor predictor = new Predictor(model, Convention.SAM);
        Random r = new Random(5);
        RgbImage img = RgbImage.black(200, 150);
        for (int y = 0; y < 150; y++) for (int x = 0; x < 200; x++) for (int c = 0; c < 3; c++) img.set(x, y, c, r.nextInt(256));
        int L = PredictorBatchTest.SMALL.lowResSize();
        float[] prev = new float[L * L];
        for (int i = 0; i < prev.length; i++) prev[i] = (float) r.nextGaussian();
        Prompt withMask = Prompt.box(20, 10, 150, 120).withMask(Tensor.of(prev, 1, 1, L, L));
        List<Prompt> singles = List.of(Prompt.box(10, 5, 120, 100), Prompt.point(60, 50, true), Prompt.point(50, 60, true).withPoint(150, 90, false).multimask(true));
        try (Predictor.Encoded e = predictor.encode(img, null)) {
            ImageContexts contexts = e.features().contexts();
            // encode made the image side of every decoder already; each holds at least the keys and their PE (each f_v-sized)
            assertEquals(decoders, contexts.size(), "encode made one context per decoder");
            long made = contexts.bytes(), fvBytes = 4 * e.features().fv().numel();
            assertTrue(made >= decoders * 2 * fvBytes, "context bytes " + made + " for f_v of " + fvBytes);
            // the same image and features without contexts: the plain path (not closed: it shares e's tensors)
            Predictor.Encoded plain = new Predictor.Encoded(e.image(), new SegSam.Features(e.features().fv(), e.features().textSummary(), null));
            // and with empty contexts, made lazily by the first decode without a mask input (features from elsewhere)
            ImageContexts lazy = new ImageContexts();
            Predictor.Encoded late = new Predictor.Encoded(e.image(), new SegSam.Features(e.features().fv(), e.features().textSummary(), lazy));

            // a mask input takes the plain path and makes no context
            assertSame(predictor.predict(plain, withMask), predictor.predict(e, withMask), backend.name() + ", mask input");
            assertSame(predictor.predict(plain, withMask), predictor.predict(late, withMask), backend.name() + ", mask input, lazy");
            assertEquals(0, lazy.size(), "a mask-input decode made a context");
            assertEquals(0, lazy.bytes());
            assertEquals(made, contexts.bytes());

            for (int i = 0; i < singles.size(); i++) {
                Predictor.Result pr = predictor.predict(plain, singles.get(i)), cr = predictor.predict(e, singles.get(i));
                System.out.printf("ImageContextsTest %s prompt %d: low-res rel L2 %.3g%n", backend.name(), i, PredictorBatchTest.relL2(pr.lowRes(), cr.lowRes()));
                assertClose(pr, cr, backend.name() + ", prompt " + i);
                assertSame(cr, predictor.predict(late, singles.get(i)), backend.name() + ", prompt " + i + ": contexts made at encode vs lazily");
                assertEquals(decoders, contexts.size(), "one context per decoder");
                assertEquals(decoders, lazy.size(), "one lazy context per decoder");
            }
            assertEquals(made, contexts.bytes());
            assertEquals(made, lazy.bytes());
            lazy.close();

            List<Prompt> batch = new ArrayList<>();
            for (int i = 0; i < 4; i++) batch.add(Prompt.box(10 + 7 * i, 5 + 3 * i, 120 + 9 * i, 100 + 4 * i));
            batch.add(withMask); // a mixed batch: the mask prompt runs in its own pass, on the plain path
            List<Predictor.Result> a = predictor.predict(plain, batch), b = predictor.predict(e, batch);
            for (int i = 0; i < batch.size(); i++) assertClose(a.get(i), b.get(i), backend.name() + ", batch prompt " + i);
            assertEquals(decoders, contexts.size());
        }
        // closed with the image
        Predictor.Encoded[] closed = new Predictor.Encoded[1];
        closed[0] = predictor.encode(img, null);
        predictor.predict(closed[0], singles.getFirst());
        closed[0].close();
        assertEquals(0, closed[0].features().contexts().size());
        assertEquals(0, closed[0].features().contexts().bytes());
        assertThrows(IllegalStateException.class, () -> predictor.predict(closed[0], singles.getFirst()));
    }

    /** Bit-for-bit equal outputs. */
    static void assertSame(Predictor.Result a, Predictor.Result b, String what) {
        assertArrayEquals(a.lowRes().toArray(), b.lowRes().toArray(), what + ": low-res logits");
        assertArrayEquals(a.iou(), b.iou(), what + ": iou");
        assertArrayEquals(a.maskLogits().toArray(), b.maskLogits().toArray(), what + ": full-size logits");
        assertArrayEquals(a.mask(), b.mask(), what + ": mask");
        assertEquals(a.semantic() == null, b.semantic() == null, what);
        if (a.semantic() == null) return;
        assertArrayEquals(a.semantic().logits().toArray(), b.semantic().logits().toArray(), what + ": M̂_s");
        assertArrayEquals(a.semantic().classPresence(), b.semantic().classPresence(), what + ": Ĉ_s");
        assertArrayEquals(a.semantic().labelMap(), b.semantic().labelMap(), what + ": label map");
    }

    /** Equal to float rounding (a batch: layer 0's projections run on different row counts). */
    static void assertClose(Predictor.Result a, Predictor.Result b, String what) {
        double d = PredictorBatchTest.relL2(a.lowRes(), b.lowRes());
        assertTrue(d <= 1e-6, what + ": low-res logits differ, relative L2 " + d);
        for (int j = 0; j < a.iou().length; j++) assertEquals(a.iou()[j], b.iou()[j], 1e-6 + 1e-6 * Math.abs(a.iou()[j]), what + " iou");
        int same = 0;
        for (int p = 0; p < a.mask().length; p++) if (a.mask()[p] == b.mask()[p]) same++;
        assertTrue(same >= a.mask().length * 0.9999, what + ": masks agree on " + same + " of " + a.mask().length + " pixels");
        assertEquals(a.semantic() == null, b.semantic() == null, what);
        if (a.semantic() == null) return;
        double s = PredictorBatchTest.relL2(a.semantic().logits(), b.semantic().logits());
        assertTrue(s <= 1e-6, what + ": M̂_s differs, relative L2 " + s);
        for (int k = 0; k < a.semantic().classPresence().length; k++) {
            assertEquals(a.semantic().classPresence()[k], b.semantic().classPresence()[k], 1e-6, what + " Ĉ_s " + k);
        }
    }
}
