package dev.segsam.tensor;

import java.util.List;

/**
 * The reference optimiser ops of {@link Backend} ({@link Backend#sumSquares}, {@link Backend#adamw}): plain loops on
 * host tensors in double, the spec that the CUDA kernels ({@code optimizer.cuh}) are tested against. The AdamW update
 * is exactly the one model/train's {@code AdamW} computed on {@code float[]} before it became a backend op (PyTorch's
 * {@code torch.optim.AdamW} order), so a run gives the same numbers as before.
 */
public final class OptimizerOps {
    private OptimizerOps() {}

    /** Σ x² of each tensor, in double, in element order (host tensors; others are downloaded by the default). */
    public static double[] sumSquares(Backend b, List<Tensor> tensors) {
        double[] out = new double[tensors.size()];
        for (int k = 0; k < out.length; k++) {
            Tensor t = tensors.get(k);
            if (t == null) continue;
            try (TensorScope _ = TensorScope.open()) {
                float[] v = b.download(t).toArray();
                double s = 0;
                for (float x : v) s += (double) x * x;
                out[k] = s;
            }
        }
        return out;
    }

    /**
     * One AdamW step on host tensors, in place on {@code param}, {@code m} and {@code v} ({@code grad} null: a zero
     * gradient):
     * <pre>
     * g ← grad·gradScale;   θ ← θ·(1 − lr·wd)
     * m ← β1·m + (1 − β1)·g;   v ← β2·v + (1 − β2)·g²     (stored as float)
     * θ ← θ − lr·(m / bias1) / (√(v / bias2) + ε)          (in double, stored as float)
     * </pre>
     */
    public static void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, Backend.AdamWStep s) {
        check(param, grad, m, v);
        int n = Math.toIntExact(param.numel());
        float[] theta = param.toArray(), mm = m.toArray(), vv = v.toArray(), g = grad == null ? null : grad.toArray();
        for (int i = 0; i < n; i++) {
            double gi = g == null ? 0 : g[i] * s.gradScale();
            double th = theta[i] * (1 - s.lr() * s.weightDecay());
            mm[i] = (float) (s.beta1() * mm[i] + (1 - s.beta1()) * gi);
            vv[i] = (float) (s.beta2() * vv[i] + (1 - s.beta2()) * gi * gi);
            th -= s.lr() * (mm[i] / s.bias1()) / (Math.sqrt(vv[i] / s.bias2()) + s.eps());
            theta[i] = (float) th;
        }
        param.write(0, theta, 0, n);
        m.write(0, mm, 0, n);
        v.write(0, vv, 0, n);
    }

    /** Same number of elements in param, m, v and (unless null) grad. */
    public static void check(Tensor param, Tensor grad, Tensor m, Tensor v) {
        long n = param.numel();
        if (m.numel() != n || v.numel() != n || grad != null && grad.numel() != n) {
            throw new IllegalArgumentException("adamw: param " + Shapes.str(param.shape()) + ", grad " + (grad == null ? "none" : Shapes.str(grad.shape()))
                    + ", m " + Shapes.str(m.shape()) + ", v " + Shapes.str(v.shape()) + " differ in size");
        }
    }
}
