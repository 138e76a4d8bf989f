package dev.segsam.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.model.train.Ablation;
import dev.segsam.model.train.AdamW;
import dev.segsam.model.train.SegSamTrainer;
import dev.segsam.model.train.SegSamTrainerTest;
import dev.segsam.model.train.TrainSample;
import dev.segsam.model.train.TrainingData;
import dev.segsam.model.train.TrainingRun;
import dev.segsam.model.sam.SamConfig;
import dev.segsam.model.sam.SeededWeights;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.CpuBackend;
import dev.segsam.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Training on the CUDA backend end to end, against the same work on the CPU reference backend: AdamW's device path
 * ({@code sum_squares_f32} + {@code adamw_f32}, moments on the device) over many steps, and a {@link TrainingRun} (the
 * library loop behind {@code segsam train}: tape over the backend, host-side losses, AdamW on the device, weights copied
 * back for the checkpoint) on the small SEG-SAM of model's SegSamTrainerTest, frozen encoder, all four losses.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class TrainingRunCudaContract {
    static final SamConfig SMALL = new SamConfig(128, 16, 64, 4, 4, new int[] {1, 3}, 5, 256, 32, 64, 8, 2, 32, 16, 3);
    static final List<String> CLASSES = List.of("square", "disc");

    /** The device under test. */
    abstract CudaDevice device();

    /** Training steps of the run (each one is slow on the emulator). */
    abstract int steps();

    CudaBackend cuda() {
        CudaRuntime rt = device().runtime(-1, true);
        rt.pool.poison = true; // a kernel that reads memory it did not write sees NaN
        return new CudaBackend(rt, GemmEngine.FP32_TILED);
    }

    /** 25 AdamW steps with clipping active, weight decay, warm-up and cosine, a parameter without gradient every third step. */
    @Test
    void adamwOnTheDeviceMatchesTheHostOverManySteps() {
        Backend cuda = cuda();
        Random r = new Random(5);
        int[][] shapes = {{300, 7}, {33}, {2, 700}};
        Map<String, Tensor> host = new LinkedHashMap<>(), dev = new LinkedHashMap<>();
        for (int k = 0; k < shapes.length; k++) {
            int n = shapes[k][0] * (shapes[k].length > 1 ? shapes[k][1] : 1);
            float[] v = new float[n];
            for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
            host.put("p" + k, Tensor.of(v.clone(), shapes[k]));
            dev.put("p" + k, cuda.upload(Tensor.of(v.clone(), shapes[k])));
        }
        AdamW onHost = AdamW.defaults(host, 2e-2, 4, 25), onDevice = AdamW.defaults(cuda, dev, 2e-2, 4, 25);
        for (int t = 1; t <= 25; t++) {
            Map<String, float[]> g = new LinkedHashMap<>();
            for (var e : host.entrySet()) {
                if (e.getKey().equals("p1") && t % 3 == 0) continue;
                float[] gi = new float[(int) e.getValue().numel()];
                for (int i = 0; i < gi.length; i++) gi[i] = (float) (r.nextGaussian() * 0.2);
                g.put(e.getKey(), gi);
            }
            double nh = onHost.update(g), nd = onDevice.update(g);
            assertTrue(nh > 1, "clipping active");
            assertEquals(nh, nd, 1e-12 * nh, "gradient norm at step " + t);
        }
        Map<String, Tensor> sh = onHost.state(), sd = onDevice.state();
        for (String k : host.keySet()) {
            assertClose(host.get(k).toArray(), cuda.download(dev.get(k)).toArray(), 0, k);
            assertClose(sh.get("adamw.m." + k).toArray(), sd.get("adamw.m." + k).toArray(), 0, "m of " + k);
            assertClose(sh.get("adamw.v." + k).toArray(), sd.get("adamw.v." + k).toArray(), 0, "v of " + k);
        }
    }

    /** Max |a − b| ≤ ulps float ulps of the larger (0: equal but for the clip factor's last bits, 2 ulps). */
    static void assertClose(float[] want, float[] got, int ulps, String what) {
        for (int i = 0; i < want.length; i++) {
            double tol = Math.max(2, ulps) * Math.ulp(Math.max(Math.abs(want[i]), Math.abs(got[i])));
            if (Math.abs(want[i] - got[i]) > tol) throw new AssertionError(what + "[" + i + "]: " + got[i] + " vs " + want[i]);
        }
    }

    /**
     * A few TrainingRun steps on CUDA vs the CPU reference, same seed: per step the loss (1e-4 relative) and the
     * gradient norm (1e-3 relative); then the checkpoint (weights copied back from the device, AdamW's state): every
     * trained tensor's change agrees (Adam moves each element by about the learning rate whatever its gradient's size,
     * so an element whose gradient is rounding noise on both sides may move differently: at most 0.1 % of the elements
     * may differ by more than 1e-6, none by more than 2·lr·steps).
     */
    @Test
    void aTrainingRunOnCudaMatchesTheCpuRun() throws Exception {
        int steps = steps();
        double lr = 1e-3;
        List<SegSamTrainer.Report> onCpu = new ArrayList<>(), onCuda = new ArrayList<>();
        TrainingRun.Snapshot a = run(new CpuBackend(), steps, lr, onCpu), b = run(cuda(), steps, lr, onCuda);
        assertEquals(steps, onCpu.size());
        assertEquals(steps, onCuda.size());
        for (int t = 0; t < steps; t++) {
            SegSamTrainer.Report x = onCpu.get(t), y = onCuda.get(t);
            System.out.printf("step %d: loss cpu %.7f cuda %.7f, grad norm cpu %.6f cuda %.6f%n", t + 1, x.total(), y.total(), x.gradNorm(), y.gradNorm());
            assertEquals(x.total(), y.total(), 1e-4 * Math.abs(x.total()), "loss at step " + (t + 1));
            assertEquals(x.gradNorm(), y.gradNorm(), 1e-3 * x.gradNorm(), "gradient norm at step " + (t + 1));
        }
        Map<String, Tensor> start = weights().tensors();
        assertEquals(a.tensors().keySet(), b.tensors().keySet());
        long n = 0, off = 0, moved = 0;
        double worst = 0;
        for (String k : a.tensors().keySet()) {
            float[] x = a.tensors().get(k).toArray(), y = b.tensors().get(k).toArray();
            float[] s = k.startsWith("adamw.") ? new float[x.length] : start.get(k).toArray();
            for (int i = 0; i < x.length; i++) {
                double d = Math.abs((x[i] - s[i]) - (y[i] - s[i]));
                if (!k.startsWith("adamw.") && x[i] != s[i]) moved++;
                if (k.startsWith("adamw.m.") || k.startsWith("adamw.v.") || k.equals("adamw.step")) {
                    if (k.equals("adamw.step")) assertEquals(x[i], y[i], k);
                    continue; // moments follow the gradients, checked through the weights
                }
                n++;
                if (d > 1e-6) off++;
                worst = Math.max(worst, d);
                assertTrue(d <= 2 * lr * steps + 1e-6, k + "[" + i + "] moved " + (y[i] - s[i]) + " on cuda, " + (x[i] - s[i]) + " on cpu");
            }
        }
        System.out.printf("after %d steps: %d of %d weight elements differ by > 1e-6 (worst %.3g), %d moved%n", steps, off, n, worst, moved);
        assertTrue(moved > n / 20, "training moved " + moved + " of " + n + " elements");
        assertTrue(off <= n / 1000, off + " of " + n + " elements differ by more than 1e-6");
    }

    private TrainingRun.Snapshot run(Backend backend, int steps, double lr, List<SegSamTrainer.Report> reports) throws Exception {
        List<TrainSample> train = List.of(SegSamTrainerTest.sample(200), SegSamTrainerTest.sample(201));
        TrainingData data = TrainingData.of(CLASSES, train, List.of(), List.of());
        TrainingRun.Config config = new TrainingRun.Config(steps, lr, 1, 7, steps, 0, steps, Ablation.FULL.loss(1, 20, 1, false));
        TrainingRun run = TrainingRun.start(weights(), data, backend, config);
        TrainingRun.Snapshot[] at = new TrainingRun.Snapshot[1];
        run.train(0, new TrainingRun.Listener() {
            @Override
            public void step(int step, SegSamTrainer.Report r, double learningRate) {
                reports.add(r);
            }

            @Override
            public void checkpoint(int step) {
                TrainingRun.Snapshot s = run.checkpoint();
                Map<String, Tensor> copy = new LinkedHashMap<>();
                s.tensors().forEach((k, v) -> copy.put(k, v.copy()));
                at[0] = new TrainingRun.Snapshot(copy, s.metadata());
            }
        });
        return at[0];
    }

    static TrainingRun.Weights weights() {
        return TrainingRun.Weights.initial(SeededWeights.generate(SMALL, 3), null, CLASSES, Ablation.FULL, 32, 5);
    }
}
