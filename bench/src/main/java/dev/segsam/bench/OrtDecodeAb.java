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
import dev.segsam.tensor.image.RgbImage;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Decode, segsam against ONNX Runtime, interleaved in one process for a shared machine: three sides — {@code ort}
 * (the exported decoder, {@link OrtSam}), {@code plain} (segsam with the decoders' per-image contexts off, i.e. every
 * decode computes the image side itself, as before issue 16 §2) and {@code segsam} (contexts on, the default) — run
 * (and, for the multi-box call, {@code segsam-1}: contexts on, one prompt per decoder pass) in rotating order, each a block of calls on the same embedding, the same 600×450 image and the same box(es) as
 * {@link OrtBench}; per block the process CPU time (every thread: ORT's pool, segsam's workers, JIT, GC) and the wall
 * time. The per-round ratios of neighbouring blocks are the numbers to read; the load hits both sides of a round alike.
 * <pre>
 * java -Dsegsam.threads=1 --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.segsam.bench.OrtDecodeAb \
 *     [onnxDir=target/onnx] [rounds=20] [calls=5] [boxes=16] [warmup=4]
 * </pre>
 * ORT gets as many intra-op threads as segsam ({@code -Dsegsam.threads}); with one thread neither side has a pool
 * that spins, so CPU time is the work itself.
 */
public final class OrtDecodeAb {
    private OrtDecodeAb() {}

    interface Call {
        void run() throws Exception;
    }

    public static void main(String[] args) throws Exception {
        String onnx = "target/onnx";
        int rounds = 20, calls = 5, nBoxes = 16, warmup = 4;
        for (String a : args) {
            String[] kv = a.split("=", 2);
            if (kv.length != 2) throw new IllegalArgumentException("arguments are key=value, got " + a);
            switch (kv[0]) {
                case "onnxDir" -> onnx = kv[1];
                case "rounds" -> rounds = Integer.parseInt(kv[1]);
                case "calls" -> calls = Integer.parseInt(kv[1]);
                case "boxes" -> nBoxes = Integer.parseInt(kv[1]);
                case "warmup" -> warmup = Integer.parseInt(kv[1]);
                default -> throw new IllegalArgumentException("unknown argument " + kv[0]);
            }
        }
        Options options = Options.fromSystemProperties();
        THREAD_CPU = options.threads() == 1;
        RgbImage image = SamBench.testImage();
        Prompt box = SamBench.box(150, 100, 420, 330);
        List<Prompt> boxes = SamBench.boxes(nBoxes);
        Predictor predictor = new Predictor(SegSam.load(SeededWeights.generate(SamConfig.vitB(), 20261126L), Backends.cpu(options)),
                Preprocessor.Convention.SAM, options);
        Predictor.Encoded encoded = predictor.encode(image, null);
        Predictor.Encoded plain = new Predictor.Encoded(encoded.image(),
                new SegSam.Features(encoded.features().fv(), encoded.features().textSummary(), null)); // shares encoded's tensors

        OrtSam ort = new OrtSam(Path.of(onnx), options.threads());
        Preprocessor.Preprocessed pre = new Preprocessor(Preprocessor.Convention.SAM).preprocess(image);
        OnnxTensor embedding = ort.encode(pre.input().toArray(), pre.size());
        float[][] box1 = {pre.mapBox(150, 100, 420, 330)};
        float[][] box16 = new float[boxes.size()][];
        for (int i = 0; i < box16.length; i++) {
            float[] b = boxes.get(i).box();
            box16[i] = pre.mapBox(b[0], b[1], b[2], b[3]);
        }
        int H = OrtBench.H, W = OrtBench.W;
        System.out.printf(Locale.ROOT, "OrtDecodeAb: threads %d (CPU time of the %s), rounds %d (+%d warm-up), %d calls per 1-box block, %d boxes (predict batch %d); load %s%n",
                options.threads(), THREAD_CPU ? "calling thread" : "process", rounds, warmup, calls, nBoxes, predictor.maxBatch(), load());
        String[] sides = {"ort", "plain", "segsam"};
        Call[] one = {() -> ort.decodeBoxes(embedding, box1, H, W).mask(0), () -> predictor.predict(plain, box).mask(),
                () -> predictor.predict(encoded, box).mask()};
        // the same model, prompts decoded one at a time (batch 1) instead of in batches of segsam.predict.batch
        Predictor single = new Predictor(predictor.model(), Preprocessor.Convention.SAM, options.withPredictBatch(1));
        Call[] many = {() -> ort.decodeBoxes(embedding, box16, H, W), () -> predictor.predict(plain, boxes), () -> predictor.predict(encoded, boxes),
                () -> single.predict(encoded, boxes)};
        report("1 box, per decode", sides, one, calls, rounds, warmup);
        report(nBoxes + " boxes, per call (segsam-1: one prompt per decoder pass)", new String[] {"ort", "plain", "segsam", "segsam-1"}, many, 1,
                Math.max(4, rounds / 2), Math.max(1, warmup / 2));
        System.out.println("load after: " + load());
        embedding.close();
        ort.close();
        encoded.close();
    }

    static void report(String what, String[] sides, Call[] calls, int per, int rounds, int warmup) throws Exception {
        int n = sides.length;
        double[][] cpu = new double[n][rounds], wall = new double[n][rounds];
        for (int r = -warmup; r < rounds; r++) {
            for (int k = 0; k < n; k++) {
                int s = (r & 1) == 0 ? (k + Math.floorMod(r, n)) % n : (n - 1 - k + Math.floorMod(r, n)) % n; // rotate and reverse
                long c0 = cpuNanos(), w0 = System.nanoTime();
                for (int i = 0; i < per; i++) calls[s].run();
                long c1 = cpuNanos(), w1 = System.nanoTime();
                if (r >= 0) {
                    cpu[s][r] = (c1 - c0) / 1e6 / per;
                    wall[s][r] = (w1 - w0) / 1e6 / per;
                }
            }
        }
        System.out.println("== " + what + " (ms, median over rounds; ratios: median and range of per-round ratios)");
        for (int s = 0; s < n; s++) {
            System.out.printf(Locale.ROOT, "  %-7s CPU %8.1f  wall %8.1f%n", sides[s], median(cpu[s]), median(wall[s]));
        }
        int[][] pairs = n > 3 ? new int[][] {{2, 0}, {1, 0}, {2, 1}, {3, 0}, {3, 2}} : new int[][] {{2, 0}, {1, 0}, {2, 1}};
        for (int[] p : pairs) {
            double[] rc = new double[rounds], rw = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                rc[r] = cpu[p[0]][r] / cpu[p[1]][r];
                rw[r] = wall[p[0]][r] / wall[p[1]][r];
            }
            System.out.printf(Locale.ROOT, "  %-6s / %-6s CPU %.3f (%.3f–%.3f)  wall %.3f (%.3f–%.3f)%n", sides[p[0]], sides[p[1]],
                    median(rc), min(rc), max(rc), median(rw), min(rw), max(rw));
        }
    }

    /**
     * With one thread, the calling thread's CPU time (nanosecond-precise; both sides compute on it); else the process's
     * (every thread, at the kernel's tick resolution: use enough calls per block).
     */
    static long cpuNanos() {
        if (THREAD_CPU) return ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    static boolean THREAD_CPU;

    static String load() {
        return String.format(Locale.ROOT, "%.2f", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    }

    static double median(double[] a) {
        double[] s = a.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    static double min(double[] a) {
        return Arrays.stream(a).min().orElse(Double.NaN);
    }

    static double max(double[] a) {
        return Arrays.stream(a).max().orElse(Double.NaN);
    }
}
