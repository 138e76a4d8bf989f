package dev.segsam.kernels;

import static dev.segsam.kernels.CudaRuntime.requireDevice;
import static dev.segsam.kernels.KernelArgs.in;
import static dev.segsam.kernels.KernelArgs.out;

import dev.segsam.tensor.Shapes;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorScope;
import java.util.Arrays;

/**
 * The CUDA backend's GEMM-shaped ops: matmul, linear (with a fused GELU or ReLU epilogue), convolution as im2col +
 * GEMM, transposed convolution as GEMM + gather. Every product goes through {@link Gemm}, so it follows the backend's
 * {@link GemmEngine}.
 */
final class LinearOps {
    private final CudaRuntime rt;
    private final Gemm gemm;

    LinearOps(CudaRuntime rt, Gemm gemm) {
        this.rt = rt;
        this.gemm = gemm;
    }

    private static String str(Tensor t) {
        return Shapes.str(t.shape());
    }

    /** {@code torch.matmul} for rank ≥ 2, batch dims broadcast: one strided batched GEMM, or one per batch item. */
    Tensor matmul(Tensor a, Tensor b) {
        requireDevice("matmul", a, b);
        if (a.rank() < 2 || b.rank() < 2) {
            throw new IllegalArgumentException("matmul needs rank ≥ 2 operands, got " + str(a) + " and " + str(b));
        }
        int[] as = a.shape(), bs = b.shape();
        int M = as[as.length - 2], K = as[as.length - 1], N = bs[bs.length - 1];
        if (bs[bs.length - 2] != K) throw new IllegalArgumentException("matmul: inner dimensions differ, " + str(a) + " · " + str(b));
        int[] batchA = Arrays.copyOf(as, as.length - 2), batchB = Arrays.copyOf(bs, bs.length - 2);
        int[] batch = Shapes.broadcast(batchA, batchB);
        int[] os = Arrays.copyOf(batch, batch.length + 2);
        os[batch.length] = M;
        os[batch.length + 1] = N;
        Tensor c = rt.alloc(os);
        int nb = (int) Shapes.numel(batch);
        long na = Shapes.numel(batchA), nbb = Shapes.numel(batchB);
        String what = "matmul " + str(a) + " · " + str(b);
        boolean stridedA = na == 1 || Arrays.equals(batchA, batch), stridedB = nbb == 1 || Arrays.equals(batchB, batch);
        if (stridedA && stridedB) {
            gemm.run(what, nb, M, N, K, Gemm.Mat.of(a, 0, K, na == 1 ? 0 : (long) M * K), Gemm.Mat.of(b, 0, N, nbb == 1 ? 0 : (long) K * N),
                    Gemm.Mat.of(c, 0, N, (long) M * N), 1f, null, Gemm.BIAS_NONE, Gemm.ACT_NONE);
            return c;
        }
        // general broadcast (e.g. [2,1]·[1,3] batches): one GEMM per output batch item
        long[] sa = Shapes.broadcastStrides(batchA, batch), sb = Shapes.broadcastStrides(batchB, batch);
        for (int z = 0; z < nb; z++) {
            long oa = 0, ob = 0;
            for (int d = batch.length - 1, rem = z; d >= 0; rem /= batch[d], d--) {
                oa += (rem % batch[d]) * sa[d];
                ob += (rem % batch[d]) * sb[d];
            }
            gemm.run(what, 1, M, N, K, Gemm.Mat.of(a, oa * M * K, K, 0), Gemm.Mat.of(b, ob * K * N, N, 0),
                    Gemm.Mat.of(c, (long) z * M * N, N, 0), 1f, null, Gemm.BIAS_NONE, Gemm.ACT_NONE);
        }
        return c;
    }

    /** {@code act(x [..., in] · wᵀ + bias)}: the GEMM "nt" layout reads w [out, in] as it is stored; act is the epilogue. */
    Tensor linear(Tensor x, Tensor w, Tensor bias, int act, String op) {
        requireDevice(op, x, w, bias);
        Shapes.requireRank(w, 2, op + " weight");
        int in = w.size(1), outF = w.size(0);
        if (x.rank() < 1 || x.size(-1) != in) {
            throw new IllegalArgumentException(op + ": input " + str(x) + " does not end in " + in + " (weight " + str(w) + ")");
        }
        if (bias != null && (bias.rank() != 1 || bias.size(0) != outF)) {
            throw new IllegalArgumentException(op + ": bias " + str(bias) + " for " + outF + " outputs");
        }
        int rows = (int) Shapes.numel(x.shape(), 0, x.rank() - 1);
        int[] s = x.shape();
        s[s.length - 1] = outF;
        Tensor y = rt.alloc(s);
        gemm.run(op + " " + str(x) + " · " + str(w) + "ᵀ", 1, rows, outF, in, Gemm.Mat.of(x, 0, in, 0),
                Gemm.Mat.of(w, 0, in, 0).transposed(), Gemm.Mat.of(y, 0, outF, 0), 1f, bias,
                bias == null ? Gemm.BIAS_NONE : Gemm.BIAS_COL, act);
        return y;
    }

    Tensor im2col(Tensor x, int kh, int kw, int sh, int sw, int ph, int pw) {
        requireDevice("im2col", x);
        Shapes.requireRank(x, 4, "im2col input");
        int B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
        int Ho = Shapes.convOut(H, kh, sh, ph, "height"), Wo = Shapes.convOut(W, kw, sw, pw, "width");
        Tensor cols = rt.alloc(B, C * kh * kw, Ho * Wo);
        rt.launch1d(Kernel.IM2COL, "im2col " + str(x) + " kernel " + kh + "x" + kw, cols.numel(),
                new KernelArgs.Im2col(out(cols), in(x), B, C, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo));
        return cols;
    }

    /** im2col (skipped for 1×1 stride-1 unpadded kernels, where x already is the column matrix), then W·cols + bias. */
    Tensor conv2d(Tensor x, Tensor w, Tensor bias, int sh, int sw, int ph, int pw) {
        requireDevice("conv2d", x, w, bias);
        int[] os = Shapes.conv2d(x, w, sh, sw, ph, pw);
        int B = x.size(0), O = w.size(0), C = w.size(1), kh = w.size(2), kw = w.size(3), Ho = os[2], Wo = os[3];
        if (bias != null && bias.numel() != O) throw new IllegalArgumentException("conv2d: bias " + str(bias) + " for " + O + " outputs");
        boolean pointwise = kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0;
        int CKK = C * kh * kw, L = Ho * Wo;
        try (TensorScope s = TensorScope.open()) {
            Tensor cols = pointwise ? x : im2col(x, kh, kw, sh, sw, ph, pw);
            Tensor y = rt.alloc(B, O, Ho, Wo);
            gemm.run("conv2d " + str(x) + " * " + str(w), B, O, L, CKK, Gemm.Mat.of(w, 0, CKK, 0), Gemm.Mat.of(cols, 0, L, (long) CKK * L),
                    Gemm.Mat.of(y, 0, L, (long) O * L), 1f, bias, bias == null ? Gemm.BIAS_NONE : Gemm.BIAS_ROW, Gemm.ACT_NONE);
            return s.keep(y);
        }
    }

    /**
     * As a GEMM and a gather: {@code cols[b] = Wᵀ·x[b]} with W read as [C, O·kh·kw] (the "tn" layout), then each output
     * pixel sums the taps that land on it and adds the bias ({@code col2im_convt_f32}).
     */
    Tensor convTranspose2d(Tensor x, Tensor w, Tensor bias, int s) {
        requireDevice("conv_transpose2d", x, w, bias);
        int[] os = Shapes.convTranspose2d(x, w, s);
        int B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
        int O = w.size(1), kh = w.size(2), kw = w.size(3), Ho = os[2], Wo = os[3], OKK = O * kh * kw, HW = H * W;
        if (bias != null && bias.numel() != O) throw new IllegalArgumentException("conv_transpose2d: bias " + str(bias) + " for " + O + " outputs");
        Tensor y = rt.alloc(os);
        String what = "conv_transpose2d " + str(x) + " * " + str(w) + " stride " + s;
        try (Tensor cols = rt.alloc(B, OKK, HW)) {
            gemm.run(what, B, OKK, HW, C, Gemm.Mat.of(w, 0, OKK, 0).transposed(), Gemm.Mat.of(x, 0, HW, (long) C * HW),
                    Gemm.Mat.of(cols, 0, HW, (long) OKK * HW), 1f, null, Gemm.BIAS_NONE, Gemm.ACT_NONE);
            rt.launch1d(Kernel.COL2IM_CONVT, what, y.numel(), new KernelArgs.Col2imConvT(out(y), in(cols), in(bias), B, O, H, W, kh, kw, s, Ho, Wo));
        }
        return y;
    }
}
