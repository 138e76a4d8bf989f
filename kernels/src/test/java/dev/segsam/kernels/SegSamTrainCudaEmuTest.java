package dev.segsam.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.segsam.model.preprocess.Preprocessor;
import dev.segsam.model.sam.SamConfig;
import dev.segsam.model.sam.SeededWeights;
import dev.segsam.model.segsam.ClassSpec;
import dev.segsam.model.segsam.ClassTexts;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.model.segsam.SegSamInit;
import dev.segsam.model.train.AdamW;
import dev.segsam.model.train.SegSamTrainer;
import dev.segsam.model.train.SegSamTrainerTest;
import dev.segsam.model.train.TrainSample;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.CpuBackend;
import dev.segsam.tensor.Options.AttentionKind;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorSource;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * One SEG-SAM training step (all losses: focal + Dice, CE + semantic Dice, BCE of Ĉ_s, cross-mask consistency; frozen
 * encoder) with the tape over the CUDA backend on the emulator: its loss and every trainable tensor's gradient against
 * the same step on the CPU reference's tape. Tolerance: loss within 1e-4 relative; per tensor, max |g_cuda − g_cpu| ≤
 * 2e-3 · max |g_cpu| + 1e-6 (fp32 tiled GEMMs and flash attention sum in another order than the reference).
 */
@Tag("emu")
class SegSamTrainCudaEmuTest {
    static final SamConfig SMALL = new SamConfig(128, 16, 64, 4, 4, new int[] {1, 3}, 5, 256, 32, 64, 8, 2, 32, 16, 3);

    @Test
    void aTrainingStepOnCudaMatchesTheCpuStep() {
        EmuGpu gpu = EmuGpu.getOrSkip();
        CudaRuntime rt = new CudaDevice(gpu, true).runtime(-1, true);
        Backend cuda = new CudaBackend(rt, GemmEngine.FP32_TILED, AttentionKind.FLASH, 64L << 20);

        TensorSource sam = SeededWeights.generate(SMALL, 3);
        List<ClassSpec> classes = List.of(ClassTexts.spec("square", "a bright square"), ClassTexts.spec("disc", "a dark round disc"));
        SegSamInit.Model m = SegSamInit.create(sam, classes, SegSamInit.hashedEmbeddings(classes, 32), "hashed-v1", true, "sam", 5);
        Map<String, Tensor> host = new LinkedHashMap<>(), dev = new LinkedHashMap<>();
        m.tensors().forEach((k, v) -> {
            host.put(k, v.copy());
            dev.put(k, cuda.upload(v));
        });
        SegSamTrainer.Options o = new SegSamTrainer.Options(2, 20, 1, true, true, true, 1, 1, false);
        TrainSample ts = sample();
        Map<String, float[]> gCpu = new LinkedHashMap<>(), gCuda = new LinkedHashMap<>();
        double lossCpu = step(SegSam.load(TensorSource.of(host, m.metadata()), new CpuBackend()), host, o, ts, gCpu);
        double lossCuda = step(SegSam.load(TensorSource.of(dev, m.metadata()), cuda), dev, o, ts, gCuda);

        assertTrue(Double.isFinite(lossCpu) && lossCpu > 0);
        assertEquals(lossCpu, lossCuda, 1e-4 * Math.abs(lossCpu), "loss");
        assertEquals(gCpu.keySet(), gCuda.keySet());
        int nonZero = 0;
        double worst = 0;
        String worstAt = "";
        for (String k : gCpu.keySet()) {
            float[] a = gCpu.get(k), c = gCuda.get(k);
            double max = 0, diff = 0;
            for (int i = 0; i < a.length; i++) {
                max = Math.max(max, Math.abs(a[i]));
                diff = Math.max(diff, Math.abs(a[i] - c[i]));
            }
            if (max > 0) nonZero++;
            if (max >= 1e-4 && diff / max > worst) { // below, exact zeros (e.g. key biases) leave rounding noise only
                worst = diff / max;
                worstAt = k + " (max |g| " + max + ", max |dg| " + diff + ")";
            }
            if (diff > 2e-3 * max + 1e-6) fail(k + ": max |cuda - cpu| " + diff + " for max |cpu| " + max);
        }
        System.out.printf("cuda vs cpu step: loss %.7f vs %.7f, worst max|dg|/max|g| %.2e (of tensors with max|g| >= 1e-4) at %s, over %d tensors%n", lossCuda, lossCpu, worst, worstAt, gCpu.size());
        assertTrue(nonZero > gCpu.size() / 2, "most trainable tensors get a gradient: " + nonZero + " of " + gCpu.size());
    }

    private static double step(SegSam model, Map<String, Tensor> all, SegSamTrainer.Options o, TrainSample ts, Map<String, float[]> g) {
        Map<String, Tensor> train = SegSamTrainer.trainableOf(all, false);
        SegSamTrainer tr = new SegSamTrainer(model, train, AdamW.defaults(train, 1e-3, 5, 200), o, Preprocessor.Convention.SAM);
        Preprocessor.Preprocessed frame = tr.preprocessor().preprocess(ts.image());
        Tensor fv = model.sam().encode(frame.input(), null);
        return tr.lossAndGradients(ts, frame, fv, new Random(9), g).total();
    }

    /** SegSamTrainerTest's sample: a 64×64 grey image with a bright square (class 1) and a dark disc (class 2). */
    private static TrainSample sample() {
        return SegSamTrainerTest.sample(1);
    }
}
