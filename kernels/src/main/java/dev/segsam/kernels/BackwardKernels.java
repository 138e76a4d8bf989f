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
 * backward, layer-norm backward (dx per row, then dw/db per column), the adjoint of broadcasting ({@code sumTo}),
 * {@code col2im}, bilinear-interpolation backward and rel-pos lookup backward. Their CPU twins are core-tensor's
 * {@code BackwardOps}; the backend contract (OpCases, backward section) compares them on the emulator. The products and
 * attention backward are {@link Backend}'s default compositions of this backend's ops; no backward op of a training
 * step runs on the host (except a sumTo over more than 4 alternating kept/summed dimension groups, which none makes).
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

    /**
     * {@code g} summed down to {@code shape}; null when its dimensions do not merge into at most 4 kept and 4 summed
     * groups (the caller then uses the host reference). Equal shapes are the caller's (a copy).
     */
    Tensor sumTo(Tensor g, int[] shape) {
        requireDevice("sum_to", g);
        int[] gs = g.shape();
        if (!Arrays.equals(Shapes.broadcast(shape, gs), gs)) {
            throw new IllegalArgumentException("sum_to: " + Shapes.str(shape) + " does not broadcast to " + Shapes.str(gs));
        }
        int r = gs.length, lead = r - shape.length;
        // merged groups of g's dimensions (size-1 dims dropped), outermost first: size, stride in g, summed?
        int[] size = new int[r], stride = new int[r];
        boolean[] summed = new boolean[r];
        int groups = 0;
        long st = 1;
        int[] strideOf = new int[r];
        for (int d = r - 1; d >= 0; d--) {
            strideOf[d] = (int) st;
            st *= gs[d];
        }
        for (int d = 0; d < r; d++) {
            if (gs[d] == 1) continue;
            boolean sum = d < lead || shape[d - lead] == 1;
            if (groups > 0 && summed[groups - 1] == sum) { // contiguous: the group grows inward
                size[groups - 1] *= gs[d];
                stride[groups - 1] = strideOf[d];
            } else {
                size[groups] = gs[d];
                stride[groups] = strideOf[d];
                summed[groups] = sum;
                groups++;
            }
        }
        int[] k = {1, 1, 1, 1}, ks = new int[4], rr = {1, 1, 1, 1}, rs = new int[4];
        int nk = 0, nr = 0;
        for (int i = 0; i < groups; i++) if (summed[i]) nr++; else nk++;
        if (nk > 4 || nr > 4) return null;
        int ik = 4 - nk, ir = 4 - nr; // right-aligned: the innermost group in slot 3
        for (int i = 0; i < groups; i++) {
            if (summed[i]) {
                rr[ir] = size[i];
                rs[ir++] = stride[i];
            } else {
                k[ik] = size[i];
                ks[ik++] = stride[i];
            }
        }
        int nOut = Math.toIntExact(Shapes.numel(shape)), nRed = rr[0] * rr[1] * rr[2] * rr[3];
        Tensor out = rt.alloc(shape);
        rt.launchRows(Kernel.SUM_TO, "sum_to " + Shapes.str(gs) + " → " + Shapes.str(shape), nOut,
                new KernelArgs.SumTo(out(out), in(g), nOut, k[0], k[1], k[2], k[3], ks[0], ks[1], ks[2], ks[3], nRed, rr[0], rr[1], rr[2], rr[3],
                        rs[0], rs[1], rs[2], rs[3]));
        return out;
    }

    Tensor col2im(Tensor cols, int[] xs, int kh, int kw, int sh, int sw, int ph, int pw) {
        requireDevice("col2im", cols);
        if (xs.length != 4) throw new IllegalArgumentException("col2im: x shape " + Shapes.str(xs) + " is not [B, C, H, W]");
        int B = xs[0], C = xs[1], H = xs[2], W = xs[3];
        int Ho = (H + 2 * ph - kh) / sh + 1, Wo = (W + 2 * pw - kw) / sw + 1;
        if (!cols.hasShape(B, C * kh * kw, Ho * Wo)) {
            throw new IllegalArgumentException("col2im: cols " + Shapes.str(cols.shape()) + " for " + Shapes.str(xs)
                    + " needs [" + B + ", " + C * kh * kw + ", " + Ho * Wo + "]");
        }
        Tensor x = rt.alloc(xs);
        rt.launch1d(Kernel.COL2IM, "col2im " + Shapes.str(cols.shape()) + " → " + Shapes.str(xs), x.numel(),
                new KernelArgs.Col2im(out(x), in(cols), B, C, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo));
        return x;
    }

    Tensor interpolateBilinearBackward(Tensor dy, int H, int W) {
        requireDevice("interpolate_bilinear_backward", dy);
        Shapes.requireRank(dy, 4, "interpolate_bilinear_backward");
        if (H <= 0 || W <= 0) throw new IllegalArgumentException("interpolate_bilinear_backward: size " + H + "x" + W);
        int B = dy.size(0), C = dy.size(1);
        Tensor dx = rt.alloc(B, C, H, W);
        rt.launch1d(Kernel.INTERP_BILINEAR_BACKWARD, "interpolate_bilinear_backward " + Shapes.str(dy.shape()) + " → " + H + "x" + W, dx.numel(),
                new KernelArgs.InterpBilinearBackward(out(dx), in(dy), B * C, H, W, dy.size(2), dy.size(3)));
        return dx;
    }

    Tensor relPosLookupBackward(Tensor dy, int L, int qSize, int kSize) {
        requireDevice("rel_pos lookup backward", dy);
        if (L != 2 * Math.max(qSize, kSize) - 1) throw new UnsupportedOperationException("gradient of a resized rel-pos table is not implemented");
        if (!dy.hasShape(qSize, kSize, dy.size(-1))) {
            throw new IllegalArgumentException("rel_pos lookup backward: dy " + Shapes.str(dy.shape()) + " for q " + qSize + ", k " + kSize);
        }
        int d = dy.size(2);
        // the forward's float32 index maths (AttentionOps.relPosLookup)
        float qScale = (float) Math.max((double) kSize / qSize, 1.0);
        float kScale = (float) Math.max((double) qSize / kSize, 1.0);
        float shift = (float) ((kSize - 1) * Math.max((double) qSize / kSize, 1.0));
        Tensor dt = rt.alloc(L, d);
        rt.launch1d(Kernel.RELPOS_GATHER_BACKWARD, "rel_pos lookup backward " + Shapes.str(dy.shape()) + " → [" + L + ", " + d + "]", dt.numel(),
                new KernelArgs.RelPosGatherBackward(out(dt), in(dy), L, qSize, kSize, d, qScale, kScale, shift));
        return dt;
    }
}
