package dev.segsam.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.model.preprocess.Preprocessor.Convention;
import dev.segsam.model.sam.SeededWeights;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Backends;
import dev.segsam.tensor.Device;
import dev.segsam.tensor.Options;
import dev.segsam.tensor.image.RgbImage;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link DecoderWarmup}: throw-away decodes on a synthetic embedding, concurrent with the real encode and decodes,
 * must leave every real result bit-identical to a run without warm-up, run the decodes asked for on real sizes
 * (SAM and MedSAM conventions, box and point prompts, SEG-SAM's semantic outputs), and run none when asked for none.
 */
class DecoderWarmupTest {
    @Test
    void warmupLeavesResultsBitIdenticalOnTheFastBackend() throws Exception {
        SegSam model = PredictorBatchTest.segSam(Backends.cpu(Options.defaults().withThreads(2)));
        Predictor p = new Predictor(model, Convention.SAM);
        RgbImage img = image(200, 150);
        List<Prompt> prompts = List.of(Prompt.box(10, 5, 120, 100), Prompt.point(50, 60, true).withPoint(150, 90, false).multimask(true));
        Predictor.Result[] plain = new Predictor.Result[prompts.size()];
        try (Predictor.Encoded e = p.encode(img)) {
            for (int i = 0; i < plain.length; i++) plain[i] = p.predict(e, prompts.get(i));
        }
        // warm-up over the encode (as predict does) and, with more decodes than the encode lasts, over the real decodes
        DecoderWarmup w = DecoderWarmup.start(p, img.height(), img.width(), prompts.get(0), 6);
        try (Predictor.Encoded e = p.encode(img)) {
            for (int i = 0; i < plain.length; i++) same(plain[i], p.predict(e, prompts.get(i)), "prompt " + i);
        }
        w.join();
        assertNull(w.failure(), () -> "warm-up failed: " + w.failure());
        assertTrue(w.decodesDone() >= 1, "warm-up decodes: " + w.decodesDone());
    }

    @Test
    void runsTheDecodesAskedForOnRealSizes() throws Exception {
        SegSam sam = SegSam.load(SeededWeights.generate(PredictorBatchTest.SMALL, 7), Backends.cpu());
        SegSam segsam = PredictorBatchTest.segSam(Backends.cpu());
        for (Convention c : Convention.values()) {
            for (SegSam m : List.of(sam, segsam)) {
                Predictor p = new Predictor(m, c);
                for (Prompt prompt : List.of(Prompt.box(3, 4, 90, 60), Prompt.point(20, 30, true).multimask(true))) {
                    DecoderWarmup w = DecoderWarmup.start(p, 75, 110, prompt, 2);
                    w.thread().join(); // all decodes, no stop
                    assertNull(w.failure(), () -> c + ", " + prompt + ": warm-up failed: " + w.failure());
                    assertEquals(2, w.decodesDone(), c + ", " + prompt);
                }
            }
        }
    }

    /** {@link DecoderWarmup#then}: the first warm-up result, once, alive; a failing step is the warm-up's failure only. */
    @Test
    void handsTheFirstResultToItsNextStep() throws Exception {
        Predictor p = new Predictor(SegSam.load(SeededWeights.generate(PredictorBatchTest.SMALL, 7), Backends.cpu()), Convention.SAM);
        List<Integer> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        DecoderWarmup w = DecoderWarmup.create(p, 75, 110, Prompt.box(3, 4, 90, 60), 3)
                .then(r -> seen.add(r.mask().length + r.lowRes().size(0)));
        w.start();
        w.thread().join();
        assertNull(w.failure(), () -> "warm-up failed: " + w.failure());
        assertEquals(3, w.decodesDone());
        assertEquals(List.of(75 * 110 + 1), seen);
        DecoderWarmup f = DecoderWarmup.create(p, 75, 110, Prompt.box(3, 4, 90, 60), 2).then(r -> {
            throw new IllegalStateException("step failed");
        });
        f.start();
        f.thread().join();
        assertEquals("step failed", f.failure().getMessage());
        assertEquals(0, f.decodesDone());
    }

    @Test
    void noneAskedNoneRun() throws Exception {
        Predictor p = new Predictor(SegSam.load(SeededWeights.generate(PredictorBatchTest.SMALL, 7), Backends.cpu()), Convention.SAM);
        DecoderWarmup w = DecoderWarmup.start(p, 75, 110, Prompt.box(3, 4, 90, 60), 0);
        w.join();
        assertEquals(0, w.decodesDone());
        assertThrows(IllegalArgumentException.class, () -> DecoderWarmup.start(p, 75, 110, Prompt.box(3, 4, 90, 60), -1));
    }

    /** On a backend that is not the CPU's (here: the CPU backend saying it is CUDA) the warm-up runs no op at all. */
    @Test
    void noWarmupOffTheCpu() throws Exception {
        Backend cpu = Backends.cpu();
        java.util.concurrent.atomic.AtomicInteger ops = new java.util.concurrent.atomic.AtomicInteger();
        SegSam model = SegSam.load(SeededWeights.generate(PredictorBatchTest.SMALL, 7), cpu);
        Backend gpu = (Backend) java.lang.reflect.Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, (proxy, m, args) -> {
            if (m.getName().equals("device")) return Device.CUDA;
            ops.incrementAndGet();
            try {
                return m.invoke(cpu, args);
            } catch (java.lang.reflect.InvocationTargetException e) {
                throw e.getCause();
            }
        });
        Predictor p = new Predictor(SegSam.load(SeededWeights.generate(PredictorBatchTest.SMALL, 7), gpu), Convention.SAM);
        ops.set(0);
        DecoderWarmup w = DecoderWarmup.start(p, 75, 110, Prompt.box(3, 4, 90, 60), 3);
        w.thread().join(100);
        assertEquals(Thread.State.NEW, w.thread().getState(), "no warm-up thread off the CPU");
        assertEquals(0, w.decodesDone());
        assertEquals(0, ops.get(), "backend calls by the warm-up");
        assertTrue(model.sam().backend().device() == Device.CPU);
    }

    private static RgbImage image(int w, int h) {
        Random r = new Random(3);
        RgbImage img = RgbImage.black(w, h);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) for (int c = 0; c < 3; c++) img.set(x, y, c, r.nextInt(256));
        return img;
    }

    private static void same(Predictor.Result a, Predictor.Result b, String what) {
        assertArrayEquals(a.iou(), b.iou(), what + ": IoU");
        assertArrayEquals(a.lowRes().toArray(), b.lowRes().toArray(), what + ": low-res logits");
        assertArrayEquals(a.maskLogits().toArray(), b.maskLogits().toArray(), what + ": full-size logits");
        assertArrayEquals(a.mask(), b.mask(), what + ": mask");
        assertEquals(a.best(), b.best(), what);
        assertTrue(a.hasSemantics() && b.hasSemantics(), what);
        assertArrayEquals(a.semantic().logits().toArray(), b.semantic().logits().toArray(), what + ": M̂_s");
        assertArrayEquals(a.semantic().labelMap(), b.semantic().labelMap(), what + ": label map");
        assertArrayEquals(a.semantic().classPresence(), b.semantic().classPresence(), what + ": Ĉ_s");
    }
}
