package dev.segsam.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.model.preprocess.Preprocessor.Convention;
import dev.segsam.model.sam.SamConfig;
import dev.segsam.model.sam.SeededWeights;
import dev.segsam.model.segsam.ClassSpec;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.model.segsam.SegSamConfig;
import dev.segsam.model.segsam.SegSamInit;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Backends;
import dev.segsam.tensor.CpuBackend;
import dev.segsam.tensor.Options;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorSource;
import dev.segsam.tensor.image.RgbImage;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Multi-prompt decoding: {@link Predictor#predict(Predictor.Encoded, List)} runs prompts with equal token counts as one
 * batched decoder pass; its results must equal one-at-a-time {@link Predictor#predict(Predictor.Encoded, Prompt)}
 * to float rounding (another GEMM blocking for the larger row count), on both CPU backends. Mixed prompt kinds
 * (boxes, one point, two points, multimask, a mask input) exercise the grouping and the result order.
 */
class PredictorBatchTest {
    static final SamConfig SMALL = new SamConfig(128, 16, 64, 4, 4, new int[] {1, 3}, 5, 256, 32, 64, 8, 2, 32, 16, 3);

    @Test
    void batchedEqualsOneAtATimeOnTheReference() {
        check(new CpuBackend());
    }

    @Test
    void batchedEqualsOneAtATimeOnTheCpuBackend() {
        check(Backends.cpu());
    }

    @Test
    void segSamBatchedEqualsOneAtATimeOnTheReference() {
        check(segSam(new CpuBackend()));
    }

    @Test
    void segSamBatchedEqualsOneAtATimeOnTheCpuBackend() {
        check(segSam(Backends.cpu()));
    }

    /** A SEG-SAM model whose every part is random (T2VSE fusion and the prior included, so none of them adds zero). */
    static SegSam segSam(Backend backend) {
        List<ClassSpec> classes = List.of(new ClassSpec("liver", "large organ in the right upper abdomen"),
                new ClassSpec("spleen", "organ in the left upper abdomen"), new ClassSpec("aorta", "round bright vessel"));
        SegSamConfig cfg = new SegSamConfig(classes, 32, "hashed-v1", true, "sam");
        Map<String, Tensor> w = new LinkedHashMap<>();
        TensorSource sam = SeededWeights.generate(SMALL, 11);
        for (String n : sam.names()) w.put(n, sam.get(n));
        for (Map.Entry<String, int[]> e : cfg.parameterShapes(SMALL).entrySet()) w.put(e.getKey(), SeededWeights.tensor(e.getKey(), e.getValue(), 11));
        float[][] text = SegSamInit.hashedEmbeddings(classes, 32);
        float[] flat = new float[text.length * 32];
        for (int i = 0; i < text.length; i++) System.arraycopy(text[i], 0, flat, i * 32, 32);
        w.put("t2vse.text_embeddings", Tensor.of(flat, classes.size(), 32));
        return SegSam.load(TensorSource.of(w, cfg.toMetadata()), backend);
    }

    /**
     * {@link Options#predictBatch()} ({@code segsam.predict.batch}) sets how many prompts share a decoder pass: 5 box
     * prompts take 5, 3 and 2 passes at batch sizes 1, 2 and 4, counted by the mask decoder's transposed convolutions
     * (a fixed number per pass), and the results do not depend on it.
     */
    @Test
    void predictBatchOptionSetsTheDecoderPasses() {
        AtomicInteger convT = new AtomicInteger();
        Backend counting = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, new InvocationHandler() {
            final Backend inner = new CpuBackend(1);

            @Override
            public Object invoke(Object proxy, Method m, Object[] args) throws Throwable {
                if (m.getName().startsWith("convTranspose2d")) convT.incrementAndGet(); // the fused upscaling ops count too
                try {
                    return m.invoke(inner, args);
                } catch (InvocationTargetException e) {
                    throw e.getCause();
                }
            }
        });
        SegSam model = SegSam.load(SeededWeights.generate(SMALL, 7), counting);
        RgbImage img = RgbImage.black(120, 90);
        List<Prompt> boxes = new ArrayList<>();
        for (int i = 0; i < 5; i++) boxes.add(Prompt.box(5 + 3 * i, 4 + 2 * i, 80 + 5 * i, 70 + i));
        int[] passes = new int[5];
        List<float[]> first = null;
        assertEquals(1, new Predictor(model, Convention.SAM).maxBatch(), "default on a CPU backend: one prompt per pass");
        for (int batch : new int[] {1, 2, 4}) {
            Predictor p = new Predictor(model, Convention.SAM, Options.defaults().withPredictBatch(batch));
            assertEquals(batch, p.maxBatch());
            try (Predictor.Encoded e = p.encode(img)) {
                convT.set(0);
                List<Predictor.Result> rs = p.predict(e, boxes);
                passes[batch] = convT.get();
                List<float[]> iou = rs.stream().map(Predictor.Result::iou).toList();
                if (first == null) first = iou;
                for (int i = 0; i < 5; i++) assertEquals(first.get(i)[0], iou.get(i)[0], 1e-4, "batch " + batch + ", prompt " + i);
            }
        }
        int perPass = passes[1] / 5;
        assertTrue(perPass > 0 && passes[1] == 5 * perPass, "convT calls at batch 1: " + passes[1]);
        assertEquals(3 * perPass, passes[2], "batch 2: 3 passes");
        assertEquals(2 * perPass, passes[4], "batch 4: 2 passes");
    }

    static void check(Backend backend) {
        check(SegSam.load(SeededWeights.generate(SMALL, 7), backend));
    }

    static void check(SegSam model) {
        Backend backend = model.sam().backend();
        Predictor predictor = new Predictor(model, Convention.SAM);
        Random r = new Random(3);
        RgbImage img = RgbImage.black(200, 150);
        for (int y = 0; y < 150; y++) for (int x = 0; x < 200; x++) for (int c = 0; c < 3; c++) img.set(x, y, c, r.nextInt(256));
        Tensor previous = Tensor.of(new float[SMALL.lowResSize() * SMALL.lowResSize()], 1, 1, SMALL.lowResSize(), SMALL.lowResSize());
        List<Prompt> prompts = new ArrayList<>();
        for (int i = 0; i < 5; i++) prompts.add(Prompt.box(10 + 7 * i, 5 + 3 * i, 120 + 9 * i, 100 + 4 * i));
        for (int i = 0; i < 3; i++) prompts.add(Prompt.point(30 + 40 * i, 20 + 30 * i, true));
        prompts.add(Prompt.point(50, 60, true).withPoint(150, 90, false).multimask(true));
        prompts.add(Prompt.box(40, 30, 160, 120).multimask(true));
        prompts.add(Prompt.point(80, 70, true).withPoint(20, 20, false).multimask(true));
        prompts.add(Prompt.box(0, 0, 199, 149).withMask(previous));
        prompts.add(Prompt.box(60, 40, 100, 90));
        try (Predictor.Encoded e = predictor.encode(img, null)) {
            List<Predictor.Result> batched = predictor.predict(e, prompts);
            assertEquals(prompts.size(), batched.size());
            for (int i = 0; i < prompts.size(); i++) {
                Predictor.Result one = predictor.predict(e, prompts.get(i)), many = batched.get(i);
                String what = backend.name() + ", prompt " + i;
                assertEquals(one.iou().length, many.iou().length, what);
                for (int j = 0; j < one.iou().length; j++) assertEquals(one.iou()[j], many.iou()[j], 1e-4 + 1e-4 * Math.abs(one.iou()[j]), what + " iou");
                assertTrue(relL2(one.lowRes(), many.lowRes()) <= 1e-5, what + ": low-res logits differ, relative L2 " + relL2(one.lowRes(), many.lowRes()));
                assertEquals(one.best(), many.best(), what);
                int same = 0;
                for (int p = 0; p < one.mask().length; p++) if (one.mask()[p] == many.mask()[p]) same++;
                assertTrue(same >= one.mask().length * 0.999, what + ": masks agree on " + same + " of " + one.mask().length + " pixels");
                assertEquals(one.semantic() == null, many.semantic() == null, what);
                if (one.semantic() != null) {
                    Predictor.Semantic a = one.semantic(), m = many.semantic();
                    assertTrue(relL2(a.logits(), m.logits()) <= 1e-5, what + ": M̂_s differs, relative L2 " + relL2(a.logits(), m.logits()));
                    assertEquals(a.predictedClass(), m.predictedClass(), what + " class");
                    for (int k = 0; k < a.classPresence().length; k++) {
                        assertEquals(a.classPresence()[k], m.classPresence()[k], 1e-5, what + " Ĉ_s " + k);
                    }
                    int sameLabel = 0;
                    for (int q = 0; q < a.labelMap().length; q++) if (a.labelMap()[q] == m.labelMap()[q]) sameLabel++;
                    assertTrue(sameLabel >= a.labelMap().length * 0.999, what + ": label maps agree on " + sameLabel + " pixels");
                }
            }
        }
    }

    static double relL2(Tensor a, Tensor b) {
        assertEquals(java.util.Arrays.toString(a.shape()), java.util.Arrays.toString(b.shape()));
        float[] x = a.toArray(), y = b.toArray();
        double num = 0, den = 0;
        for (int i = 0; i < x.length; i++) {
            num += (x[i] - y[i]) * (double) (x[i] - y[i]);
            den += (double) x[i] * x[i];
        }
        return Math.sqrt(num / Math.max(den, 1e-300));
    }
}
