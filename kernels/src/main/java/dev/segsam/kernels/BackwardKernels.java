package dev.segsam.kernels;

import static dev.segsam.kernels.CudaRuntime.requireDevice;
import static dev.segsam.kernels.KernelArgs.in;
import static dev.segsam.kernels.KernelArgs.out;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Shapes;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorScope;
import java.util.Arrays;

/**
 * The CUDA backend's backward ops ({@code backward.cuh}) for the autodiff tape: GELU, ReLU, sigmoid and softmax
 * backward, layer-norm backward (dx per row, then dw/db per column). Their CPU twins are core-tensor's
 * {@code BackwardOps}; the backend contract (OpCases, backward section) compares them on the emulator. The other
 * backward ops use {@link Backend}'s defaults (compositions of this backend's ops, or the host reference).
 */
final class BackwardKernels {
    private final CudaRuntime rt;

    BackwardKernels(CudaRuntime rt) {
        this.rt = rt;
    }

    private static void same(String op, Tensor a, Tensor b) {
        if (!Arrays.equals(a.shape(), b.shape())) {
            throw new IllegalArgumentException(op + ": shapes " + Shapes.str(a.shape()) + " and " + Shapes.str(b.shape()) + " differ");
        }
    }

    Tensor unary(Kernel k, String op, Tensor x, Tensor dy) {
        requireDevice(op, x, dy);
        same(op, x, dy);
        Tensor dx = rt.alloc(x.shape());
        rt.launch1d(k, op + " " + Shapes.str(x.shape()), x.numel(), new KernelArgs.UnaryBackward(out(dx), in(x), in(dy), (int) x.numel()));
        return dx;
    }

    Tensor sigmoid(Tensor y, Tensor dy) {
        requireDevice("sigmoid_backward", y, dy);
        same("sigmoid_backward", y, dy);
        Tensor dx = rt.alloc(y.shape());
        rt.launch1d(Kernel.SIGMOID_BACKWARD, "sigmoid_backward " + Shapes.str(y.shape()), y.numel(),
                new KernelArgs.SigmoidBackward(out(dx), in(y), in(dy), (int) y.numel()));
        return dx;
    }

    Tensor softmax(Tensor y, Tensor dy) {
        requireDevice("softmax_backward", y, dy);
        same("softmax_backward", y, dy);
        int D = y.size(-1), rows = D == 0 ? 0 : (int) (y.numel() / D);
        Tensor dx = rt.alloc(y.shape());
        rt.launchRows(Kernel.SOFTMAX_BACKWARD, "softmax_backward " + Shapes.str(y.shape()), rows,
                new KernelArgs.SoftmaxBackward(out(dx), in(y), in(dy), rows, D));
        return dx;
    }

    Backend.LayerNormGrads layerNorm(Tensor x, Tensor w, Tensor dy, float eps) {
        requireDevice("layer_norm_backward", x, w, dy);
        same("layer_norm_backward", x, dy);
        int D = x.size(-1), rows = D == 0 ? 0 : (int) (x.numel() / D);
        if (w != null && w.numel() != D) throw new IllegalArgumentException("layer_norm_backward weight " + Shapes.str(w.shape()) + " for D " + D);
        try (TensorScope s = TensorScope.open()) {
            Tensor dx = rt.alloc(x.shape()), dw = rt.alloc(D), db = rt.alloc(D), stats = rt.alloc(Math.max(1, 2 * rows));
            String what = "layer_norm_backward " + Shapes.str(x.shape());
            rt.launchRows(Kernel.LAYERNORM_BACKWARD_DX, what, rows, new KernelArgs.LayerNormBackwardDx(out(dx), out(stats), in(x), in(w), in(dy), rows, D, eps));
            rt.launch1d(Kernel.LAYERNORM_BACKWARD_WB, what, D, new KernelArgs.LayerNormBackwardWb(out(dw), out(db), in(x), in(dy), in(stats), rows, D));
            return s.keep(new Backend.LayerNormGrads(dx, dw, db));
        }
    }
}
