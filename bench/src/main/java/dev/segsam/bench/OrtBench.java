package dev.segsam.bench;

import ai.onnxruntime.OnnxTensor;
import dev.segsam.model.Predictor;
import dev.segsam.model.Prompt;
import dev.segsam.model.preprocess.Preprocessor;
import dev.segsam.model.sam.SamConfig;
import dev.segsam.model.sam.SeededWeights;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.tensor.Backends;
import dev.segsam.tensor.Options;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.image.RgbImage;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * segsam against its peer, ONNX Runtime's Java API, on the same inputs in one JMH run: {@code side} = {@code segsam}
 * (the fast CPU backend through {@link Predictor}, as {@link SamBench}) or {@code ort} (SAM ViT-B exported to ONNX by
 * {@code tools/reference/export_onnx.py} from the same seeded weights, run by {@link OrtSam} with as many intra-op
 * threads as segsam uses). JMH runs the benchmarks stage by stage, so each stage's two sides run back to back.
 * <ul>
 *   <li>{@code encode}: the image encoder on the same preprocessed 600×450 image (segsam: preprocessing included; it
 *       is ~10 ms of the ~5 s).</li>
 *   <li>{@code decode}: one box → single-mask logits at 600×450 → binary mask.</li>
 *   <li>{@code decodeBoxes16}: 16 boxes (segsam: {@link Predictor#predict(Predictor.Encoded, List)}, batched by
 *       {@code segsam.predict.batch}; ORT: one decoder run with batch 16); prompts/s = 16 / time.</li>
 * </ul>
 * Agreement check: the {@code ort} side's {@code encode} fork first runs both and fails unless the embeddings agree
 * (relative L2 ≤ 1e-3) and the 1-box and 16-box binary masks agree (IoU ≥ 0.99 each); it prints the numbers. Without the
 * ONNX files ({@code -p onnxDir=...}, default {@code target/onnx}) the {@code ort} side fails at set-up with a one-line
 * message; {@code scripts/perf-table.sh} skips it then.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
        "--add-modules=jdk.incubator.vector", "-Xmx6g"})
public class OrtBench {
    @Param({"ort", "segsam"})
    String side;

    @Param({"target/onnx"})
    String onnxDir;

    static final int H = 450, W = 600;

    Predictor predictor;
    RgbImage image;
    Predictor.Encoded encoded;
    Prompt box;
    List<Prompt> boxes16;

    OrtSam ort;
    Preprocessor.Preprocessed pre;
    float[] input;
    OnnxTensor embedding;
    float[][] box1, box16;

    @Setup(Level.Trial)
    public void setup(BenchmarkParams params) throws Exception {
        image = SamBench.testImage();
        box = SamBench.box(150, 100, 420, 330);
        boxes16 = SamBench.boxes(16);
        boolean check = side.equals("ort") && params.getBenchmark().endsWith(".encode");
        Options options = Options.fromSystemProperties(); // -Dsegsam.* mapped at this edge
        if (side.equals("segsam") || check) {
            predictor = new Predictor(SegSam.load(SeededWeights.generate(SamConfig.vitB(), 20261126L), Backends.cpu(options)),
                    Preprocessor.Convention.SAM, options);
            encoded = predictor.encode(image, null);
        }
        if (side.equals("ort")) {
            Path dir = Path.of(onnxDir);
            if (!OrtSam.present(dir)) throw new IllegalStateException(OrtSam.absentMessage(dir));
            ort = new OrtSam(dir, options.threads());
            pre = new Preprocessor(Preprocessor.Convention.SAM).preprocess(image);
            input = pre.input().toArray();
            box1 = new float[][] {pre.mapBox(150, 100, 420, 330)};
            box16 = new float[boxes16.size()][];
            for (int i = 0; i < box16.length; i++) {
                float[] b = boxes16.get(i).box();
                box16[i] = pre.mapBox(b[0], b[1], b[2], b[3]);
            }
            embedding = ort.encode(input, pre.size());
            if (check) agreement();
        }
    }

    /** Both sides on the same image and prompts; throws when they disagree (then the timings compare nothing). */
    void agreement() throws Exception {
        float[] a = encoded.features().fv().reshape(-1).toArray();
        FloatBuffer fb = embedding.getFloatBuffer();
        float[] b = new float[fb.remaining()];
        fb.get(b);
        double embRel = relL2(a, b);
        Predictor.Result r1 = predictor.predict(encoded, box);
        OrtSam.Masks m1 = ort.decodeBoxes(embedding, box1, H, W);
        double iou1 = iou(r1.mask(), m1.mask(0));
        double logitRel = relL2(r1.maskLogits().reshape(-1).toArray(), m1.logits());
        List<Predictor.Result> r16 = predictor.predict(encoded, boxes16);
        OrtSam.Masks m16 = ort.decodeBoxes(embedding, box16, H, W);
        double minIou = 1;
        for (int i = 0; i < 16; i++) minIou = Math.min(minIou, iou(r16.get(i).mask(), m16.mask(i)));
        String line = String.format(Locale.ROOT, "OrtBench agreement: embedding rel L2 %.2e; 1 box: mask IoU %.5f, logits rel L2 %.2e; "
                + "16 boxes: min mask IoU %.5f", embRel, iou1, logitRel, minIou);
        System.out.println(line);
        if (!(embRel <= 1e-3 && iou1 >= 0.99 && minIou >= 0.99)) throw new IllegalStateException("segsam and ONNX Runtime disagree: " + line);
    }

    static double relL2(float[] a, float[] b) {
        if (a.length != b.length) throw new IllegalStateException("sizes differ: " + a.length + " vs " + b.length);
        double d = 0, n = 0;
        for (int i = 0; i < a.length; i++) {
            double e = a[i] - b[i];
            d += e * e;
            n += (double) b[i] * b[i];
        }
        return Math.sqrt(d / n);
    }

    static double iou(boolean[] a, boolean[] b) {
        long inter = 0, union = 0;
        for (int i = 0; i < a.length; i++) {
            if (a[i] && b[i]) inter++;
            if (a[i] || b[i]) union++;
        }
        return union == 0 ? 1 : (double) inter / union;
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        if (encoded != null) encoded.close();
        if (embedding != null) embedding.close();
        if (pre != null) pre.close();
        if (ort != null) ort.close();
    }

    @Benchmark
    @Warmup(iterations = 1, time = 1)
    @Measurement(iterations = 3, time = 1)
    public Object encode() throws Exception {
        if (ort != null) {
            try (OnnxTensor e = ort.encode(input, pre.size())) {
                return e.getInfo();
            }
        }
        try (Predictor.Encoded e = predictor.encode(image, null)) {
            Tensor fv = e.features().fv();
            return fv.get(0);
        }
    }

    @Benchmark
    @Warmup(iterations = 2, time = 2)
    @Measurement(iterations = 5, time = 2)
    public boolean[] decode() throws Exception {
        if (ort != null) return ort.decodeBoxes(embedding, box1, H, W).mask(0);
        return predictor.predict(encoded, box).mask();
    }

    @Benchmark
    @Warmup(iterations = 1, time = 2)
    @Measurement(iterations = 3, time = 2)
    public Object decodeBoxes16() throws Exception {
        if (ort != null) {
            OrtSam.Masks m = ort.decodeBoxes(embedding, box16, H, W);
            boolean[][] out = new boolean[16][];
            for (int i = 0; i < 16; i++) out[i] = m.mask(i);
            return out;
        }
        return predictor.predict(encoded, boxes16);
    }
}
