package dev.segsam.kernels;

import static dev.segsam.kernels.CudaRuntime.requireDevice;
import static dev.segsam.kernels.KernelArgs.in;
import static dev.segsam.kernels.KernelArgs.out;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.OptimizerOps;
import dev.segsam.tensor.Shapes;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorScope;
import java.util.List;

/**
 * The CUDA backend's optimiser ops ({@code optimizer.cuh}): {@link Backend#sumSquares} (one single-block reduction per
 * tensor into its own slot, one download for all) and {@link Backend#adamw} (one grid-stride kernel, in place). CPU
 * twin: core-tensor's {@link OptimizerOps}; tested on the emulator by {@code OptimizerKernelsEmuTest}.
 */
final class OptimizerKernels {
    private final CudaRuntime rt;

    OptimizerKernels(CudaRuntime rt) {
        this.rt = rt;
    }

    double[] sumSquares(List<Tensor> tensors) {
        requireDevice("sum_squares", tensors.stream().filter(t -> t != null).toArray(Tensor[]::new));
        double[] out = new double[tensors.size()];
        if (out.length == 0) return out;
        try (TensorScope _ = TensorScope.open()) {
            Tensor pairs = rt.zeros(2 * out.length);
            for (int i = 0; i < out.length; i++) {
                Tensor t = tensors.get(i);
                if (t == null || t.numel() == 0) continue;
                rt.launch(Kernel.SUM_SQUARES, "sum_squares " + Shapes.str(t.shape()), 1, 1, 1, Kernel.SUM_SQUARES.threads, 1, 0,
                        new KernelArgs.SumSquares(out(pairs, 2L * i), in(t), (int) t.numel()));
            }
            float[] p = rt.download(pairs).toArray();
            for (int i = 0; i < out.length; i++) out[i] = (double) p[2 * i] + (double) p[2 * i + 1];
        }
        return out;
    }

    void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, Backend.AdamWStep s) {
        requireDevice("adamw", param, grad, m, v);
        OptimizerOps.check(param, grad, m, v);
        rt.launch1d(Kernel.ADAMW, "adamw " + Shapes.str(param.shape()), param.numel(), new KernelArgs.AdamW(out(param), out(m), out(v), in(grad),
                (int) param.numel(), s.lr(), s.weightDecay(), s.beta1(), s.beta2(), s.eps(), s.gradScale(), s.bias1(), s.bias2()));
    }
}
