package dev.segsam.kernels;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Device;
import dev.segsam.tensor.Shapes;
import dev.segsam.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The CUDA implementation of {@link Backend}: every op is one or a few of segsam's own kernels
 * ({@code src/main/cuda}), each the twin of the same op in {@link dev.segsam.tensor.CpuBackend}, which the GPU tests
 * compare it with. Tensors live in device memory ({@link CudaStorage}); inputs must have been {@link #upload}ed, results
 * stay on the device until {@link #download}.
 *
 * <p>Memory: outputs and scratch come from the runtime's pool; close tensors you are done with and the pool reuses
 * their blocks (see {@link DevicePool}). Threads: any thread may call any op (each makes the primary context current
 * first); all work goes into one stream, so results are ordered as the calls.
 *
 * <p>Numerics: GEMM-shaped ops ({@link #matmul}, {@link #linear}, convolutions, attention) follow {@link GemmMode}:
 * exact fp32 by default, TF32 tensor cores with {@code -Dsegsam.gemm.precision=tf32}, cuBLAS with
 * {@code -Dsegsam.gemm=cublas}. Layer norms accumulate in double like the reference; the data-movement ops and the
 * index maths of interpolation are bit-exact with it.
 */
public final class CudaBackend implements Backend {
    private static final System.Logger LOG = System.getLogger("segsam");

    private final CudaRuntime rt;
    private final Gemm gemm;
    /** Most bytes one tile of attention scores [B, T, Nk] may take ({@code segsam.cuda.attentionTileMiB}, default 64). */
    private final long attentionTileBytes;
    /** Fused flash-attention kernels (v2 fp32 / v3 TF32) where they apply, else the v1 query tiles. */
    private final boolean flashAttention;

    CudaBackend(CudaRuntime rt, GemmMode mode) {
        this(rt, mode, Long.getLong("segsam.cuda.attentionTileMiB", 64) << 20, flashFromProperties());
    }

    CudaBackend(CudaRuntime rt, GemmMode mode, long attentionTileBytes) {
        this(rt, mode, attentionTileBytes, false);
    }

    CudaBackend(CudaRuntime rt, GemmMode mode, long attentionTileBytes, boolean flashAttention) {
        this.rt = rt;
        this.gemm = new Gemm(rt, mode);
        this.attentionTileBytes = attentionTileBytes;
        this.flashAttention = flashAttention;
    }

    /** {@code segsam.cuda.attention}: {@code flash} (default) or {@code tiled} (v1, the lab baseline). */
    static boolean flashFromProperties() {
        String v = System.getProperty("segsam.cuda.attention", "flash").trim().toLowerCase(java.util.Locale.ROOT);
        return switch (v) {
            case "flash" -> true;
            case "tiled" -> false;
            default -> throw new IllegalArgumentException("segsam.cuda.attention must be flash or tiled, got " + v);
        };
    }

    /**
     * The backend on this machine's GPU, GEMM mode from {@code segsam.gemm} / {@code segsam.gemm.precision}; a cuBLAS
     * request on a host without {@code libcublas.so.12} falls back to segsam's kernels with one log line.
     *
     * @throws IllegalStateException with a one-line reason when there is no usable GPU
     */
    public static CudaBackend create() {
        GemmMode mode = GemmMode.fromProperties();
        if (mode.cublas()) {
            String why = cublasUnavailableReason();
            if (why != null) {
                LOG.log(System.Logger.Level.WARNING, "segsam.gemm=cublas: " + why + "; using segsam's GEMM kernels");
                mode = mode.withoutCublas();
            }
        }
        return create(mode);
    }

    /** The backend on this machine's GPU with an explicit GEMM mode (benchmarks, tests). */
    public static CudaBackend create(GemmMode mode) {
        CudaRuntime rt = CudaRuntime.shared();
        if (rt == null) throw new IllegalStateException(CudaRuntime.sharedFailure());
        return new CudaBackend(rt, mode);
    }

    /** The backend with an explicit GEMM mode and attention version (benchmarks: flash vs the v1 query tiles). */
    public static CudaBackend create(GemmMode mode, boolean flashAttention) {
        CudaRuntime rt = CudaRuntime.shared();
        if (rt == null) throw new IllegalStateException(CudaRuntime.sharedFailure());
        return new CudaBackend(rt, mode, Long.getLong("segsam.cuda.attentionTileMiB", 64) << 20, flashAttention);
    }

    /** Null when cuBLAS can be used on this machine's GPU, else why not (one line). */
    public static String cublasUnavailableReason() {
        CudaRuntime rt = CudaRuntime.shared();
        if (rt == null) return CudaRuntime.sharedFailure();
        return rt.cublas() instanceof String why ? why : null;
    }

    @Override
    public String name() {
        return "cuda (" + rt.gpu.description() + ", gemm " + gemm.mode.name().toLowerCase(java.util.Locale.ROOT) + ", attention "
                + (flashAttention ? "flash" : "tiled") + ")";
    }

    @Override
    public Device device() {
        return Device.CUDA;
    }

    public GemmMode gemmMode() {
        return gemm.mode;
    }

    /** Waits until all queued GPU work has finished (benchmarks; errors of earlier kernels surface here). */
    public void synchronize() {
        rt.synchronize("synchronize");
    }

    /** The device memory pool's counters. */
    public DevicePool.Stats memoryStats() {
        return rt.pool.stats();
    }

    /** Frees the pool's cached blocks (memory of live tensors stays). */
    public void trimMemory() {
        rt.pool.trim();
    }

    @Override
    public Tensor upload(Tensor host) {
        return rt.upload(host);
    }

    @Override
    public Tensor download(Tensor t) {
        return rt.download(t);
    }

    @Override
    public Tensor zeros(int... shape) {
        Tensor t = rt.alloc(shape);
        if (t.numel() > 0) rt.gpu.memset32(CudaRuntime.address(t, 0), 0, t.numel());
        return t;
    }

    // =================================================================== helpers

    /** Fails unless every non-null tensor is on the GPU (so no output is allocated for a call that cannot run). */
    private static void dev(String op, Tensor... ts) {
        for (Tensor t : ts) {
            if (t != null && !CudaRuntime.isDevice(t)) {
                throw new IllegalArgumentException(op + ": tensor " + Shapes.str(t.shape()) + " lives on " + t.device()
                        + ", not on the GPU: upload it first (Backend.upload)");
            }
        }
    }

    private static String str(Tensor t) {
        return Shapes.str(t.shape());
    }

    private static int n(Tensor t) {
        return (int) t.numel();
    }

    // =================================================================== linear algebra

    /** {@code torch.matmul} for rank ≥ 2, batch dims broadcast: one strided batched GEMM, or one per batch item. */
    @Override
    public Tensor matmul(Tensor a, Tensor b) {
        dev("matmul", a, b);
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

    @Override
    public Tensor linear(Tensor x, Tensor w, Tensor bias) {
        return linear(x, w, bias, Gemm.ACT_NONE, "linear");
    }

    /**
     * {@code gelu(linear(x, w, bias))} in one kernel (the GELU is the GEMM's epilogue): SAM's MLP up-projection,
     * called by the image encoder through {@link Backend#linearGelu}.
     */
    @Override
    public Tensor linearGelu(Tensor x, Tensor w, Tensor bias) {
        return linear(x, w, bias, Gemm.ACT_GELU, "linear+gelu");
    }

    /** {@code relu(linear(x, w, bias))} in one kernel: the mask decoder's MLPs. */
    public Tensor linearRelu(Tensor x, Tensor w, Tensor bias) {
        return linear(x, w, bias, Gemm.ACT_RELU, "linear+relu");
    }

    /** {@code x [..., in] · wᵀ + bias}: the GEMM "nt" layout reads w [out, in] as it is stored. */
    private Tensor linear(Tensor x, Tensor w, Tensor bias, int act, String op) {
        dev(op, x, w, bias);
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

    @Override
    public Tensor im2col(Tensor x, int kh, int kw, int sh, int sw, int ph, int pw) {
        dev("im2col", x);
        Shapes.requireRank(x, 4, "im2col input");
        int B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
        int Ho = Shapes.convOut(H, kh, sh, ph, "height"), Wo = Shapes.convOut(W, kw, sw, pw, "width");
        Tensor cols = rt.alloc(B, C * kh * kw, Ho * Wo);
        rt.launch1d(Kernel.IM2COL, "im2col " + str(x) + " kernel " + kh + "x" + kw, cols.numel(), cols, x, B, C, H, W, kh, kw,
                sh, sw, ph, pw, Ho, Wo);
        return cols;
    }

    /** im2col (skipped for 1×1 stride-1 unpadded kernels, where x already is the column matrix), then W·cols + bias. */
    @Override
    public Tensor conv2d(Tensor x, Tensor w, Tensor bias, int sh, int sw, int ph, int pw) {
        dev("conv2d", x, w, bias);
        int[] os = Shapes.conv2d(x, w, sh, sw, ph, pw);
        int B = x.size(0), O = w.size(0), C = w.size(1), kh = w.size(2), kw = w.size(3), Ho = os[2], Wo = os[3];
        if (bias != null && bias.numel() != O) throw new IllegalArgumentException("conv2d: bias " + str(bias) + " for " + O + " outputs");
        boolean pointwise = kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0;
        Tensor cols = pointwise ? x : im2col(x, kh, kw, sh, sw, ph, pw);
        int CKK = C * kh * kw, L = Ho * Wo;
        Tensor out = rt.alloc(B, O, Ho, Wo);
        try {
            gemm.run("conv2d " + str(x) + " * " + str(w), B, O, L, CKK, Gemm.Mat.of(w, 0, CKK, 0), Gemm.Mat.of(cols, 0, L, (long) CKK * L),
                    Gemm.Mat.of(out, 0, L, (long) O * L), 1f, bias, bias == null ? Gemm.BIAS_NONE : Gemm.BIAS_ROW, Gemm.ACT_NONE);
        } finally {
            if (!pointwise) cols.close();
        }
        return out;
    }

    /**
     * As a GEMM and a gather: {@code cols[b] = Wᵀ·x[b]} with W read as [C, O·kh·kw] (the "tn" layout), then each output
     * pixel sums the taps that land on it and adds the bias ({@code col2im_convt_f32}).
     */
    @Override
    public Tensor convTranspose2d(Tensor x, Tensor w, Tensor bias, int s) {
        dev("conv_transpose2d", x, w, bias);
        int[] os = Shapes.convTranspose2d(x, w, s);
        int B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
        int O = w.size(1), kh = w.size(2), kw = w.size(3), Ho = os[2], Wo = os[3], OKK = O * kh * kw, HW = H * W;
        if (bias != null && bias.numel() != O) throw new IllegalArgumentException("conv_transpose2d: bias " + str(bias) + " for " + O + " outputs");
        Tensor out = rt.alloc(os);
        String what = "conv_transpose2d " + str(x) + " * " + str(w) + " stride " + s;
        try (Tensor cols = rt.alloc(B, OKK, HW)) {
            gemm.run(what, B, OKK, HW, C, Gemm.Mat.of(w, 0, OKK, 0).transposed(), Gemm.Mat.of(x, 0, HW, (long) C * HW),
                    Gemm.Mat.of(cols, 0, HW, (long) OKK * HW), 1f, null, Gemm.BIAS_NONE, Gemm.ACT_NONE);
            rt.launch1d(Kernel.COL2IM_CONVT, what, out.numel(), out, cols, bias, B, O, H, W, kh, kw, s, Ho, Wo);
        }
        return out;
    }

    // =================================================================== normalisation and activations

    private static void affine(Tensor t, int n, String what) {
        if (t != null && t.numel() != n) throw new IllegalArgumentException(what + " has shape " + str(t) + ", expected [" + n + "]");
    }

    @Override
    public Tensor layerNorm(Tensor x, Tensor w, Tensor b, float eps) {
        dev("layer_norm", x, w, b);
        int D = x.size(-1);
        affine(w, D, "layer_norm weight");
        affine(b, D, "layer_norm bias");
        Tensor out = rt.alloc(x.shape());
        int rows = D == 0 ? 0 : (int) (x.numel() / D);
        rt.launchRows(Kernel.LAYERNORM, "layer_norm " + str(x), rows, out, x, w, b, rows, D, eps);
        return out;
    }

    @Override
    public Tensor layerNorm2d(Tensor x, Tensor w, Tensor b, float eps) {
        dev("layer_norm2d", x, w, b);
        Shapes.requireRank(x, 4, "layer_norm2d input");
        int B = x.size(0), C = x.size(1), HW = x.size(2) * x.size(3);
        affine(w, C, "layer_norm2d weight");
        affine(b, C, "layer_norm2d bias");
        if (B > 65535) throw new IllegalArgumentException("layer_norm2d: batch " + B + " exceeds one launch (65535)");
        Tensor out = rt.alloc(x.shape());
        if (out.numel() > 0) {
            rt.launch(Kernel.LAYERNORM2D, "layer_norm2d " + str(x), (HW + 31) / 32, B, 1, 32, 8, 0, out, x, w, b, C, HW, eps);
        }
        return out;
    }

    private Tensor unary(Kernel k, String op, Tensor x) {
        dev(op, x);
        Tensor out = rt.alloc(x.shape());
        rt.launch1d(k, op + " " + str(x), x.numel(), out, x, n(x));
        return out;
    }

    @Override
    public Tensor gelu(Tensor x) {
        return unary(Kernel.GELU, "gelu", x);
    }

    @Override
    public Tensor relu(Tensor x) {
        return unary(Kernel.RELU, "relu", x);
    }

    @Override
    public Tensor sigmoid(Tensor x) {
        return unary(Kernel.SIGMOID, "sigmoid", x);
    }

    @Override
    public Tensor softmax(Tensor x) {
        dev("softmax", x);
        int D = x.size(-1);
        Tensor out = rt.alloc(x.shape());
        int rows = D == 0 ? 0 : (int) (x.numel() / D);
        rt.launchRows(Kernel.SOFTMAX, "softmax " + str(x), rows, out, x, rows, D);
        return out;
    }

    // =================================================================== element-wise with broadcasting

    /** Op codes of binary_f32. */
    private static final int ADD = 0, SUB = 1, MUL = 2, DIV = 3;

    /**
     * The broadcast shape with its dimensions merged where both inputs are contiguous across them (size-1 dimensions
     * dropped): {@code dims[i]}, input strides {@code sa[i]}, {@code sb[i]}, outermost first.
     */
    record Collapsed(int[] dims, long[] sa, long[] sb) {
        static Collapsed of(int[] out, long[] sa, long[] sb) {
            List<long[]> g = new ArrayList<>(); // {size, strideA, strideB}, innermost first
            for (int i = out.length - 1; i >= 0; i--) {
                if (out[i] == 1) continue;
                long[] last = g.isEmpty() ? null : g.get(g.size() - 1);
                if (last != null && sa[i] == last[1] * last[0] && sb[i] == last[2] * last[0]) last[0] *= out[i];
                else g.add(new long[] {out[i], sa[i], sb[i]});
            }
            if (g.isEmpty()) g.add(new long[] {1, 0, 0});
            int r = g.size();
            int[] d = new int[r];
            long[] a = new long[r], b = new long[r];
            for (int i = 0; i < r; i++) {
                long[] e = g.get(r - 1 - i);
                d[i] = (int) e[0];
                a[i] = e[1];
                b[i] = e[2];
            }
            return new Collapsed(d, a, b);
        }
    }

    private Tensor binary(int op, String name, Tensor a, Tensor b) {
        dev(name, a, b);
        int[] out = Shapes.broadcast(a.shape(), b.shape());
        Tensor c = rt.alloc(out);
        if (c.numel() == 0) return c;
        Collapsed k = Collapsed.of(out, Shapes.broadcastStrides(a.shape(), out), Shapes.broadcastStrides(b.shape(), out));
        int r = k.dims().length, inner = Math.min(r, 4), outer = r - inner;
        long innerCount = Shapes.numel(k.dims(), outer, r);
        int[] d = new int[4];
        int[] sa = new int[4], sb = new int[4];
        Arrays.fill(d, 1);
        for (int i = 0; i < inner; i++) {
            d[4 - inner + i] = k.dims()[outer + i];
            sa[4 - inner + i] = (int) k.sa()[outer + i];
            sb[4 - inner + i] = (int) k.sb()[outer + i];
        }
        String what = name + " " + str(a) + ", " + str(b);
        long outerCount = Shapes.numel(k.dims(), 0, outer);
        for (long o = 0; o < outerCount; o++) { // more than 4 merged dimensions: one launch per outer index
            long oa = 0, ob = 0;
            for (int i = outer - 1, rem = (int) o; i >= 0; rem /= k.dims()[i], i--) {
                oa += (rem % k.dims()[i]) * k.sa()[i];
                ob += (rem % k.dims()[i]) * k.sb()[i];
            }
            rt.launch1d(Kernel.BINARY, what, innerCount, new CudaRuntime.Ptr(c, o * innerCount), new CudaRuntime.Ptr(a, oa),
                    new CudaRuntime.Ptr(b, ob), (int) innerCount, op, inner, d[0], d[1], d[2], d[3], sa[0], sa[1], sa[2], sa[3],
                    sb[0], sb[1], sb[2], sb[3]);
        }
        return c;
    }

    @Override
    public Tensor add(Tensor a, Tensor b) {
        return binary(ADD, "add", a, b);
    }

    @Override
    public Tensor sub(Tensor a, Tensor b) {
        return binary(SUB, "sub", a, b);
    }

    @Override
    public Tensor mul(Tensor a, Tensor b) {
        return binary(MUL, "mul", a, b);
    }

    @Override
    public Tensor div(Tensor a, Tensor b) {
        return binary(DIV, "div", a, b);
    }

    @Override
    public Tensor scale(Tensor x, float s) {
        dev("scale", x);
        Tensor out = rt.alloc(x.shape());
        rt.launch1d(Kernel.SCALE, "scale " + str(x), x.numel(), out, x, s, n(x));
        return out;
    }

    // =================================================================== layout

    @Override
    public Tensor permute(Tensor x, int... dims) {
        dev("permute", x);
        Shapes.Permutation p = Shapes.permute(x.shape(), dims);
        Tensor y = rt.alloc(p.shape());
        if (y.numel() == 0) return y;
        // merge output dimensions i, i+1 that read the input contiguously (the "b" strides are unused: pass zeros)
        Collapsed k = Collapsed.of(p.shape(), p.strides(), new long[x.rank()]);
        int m = k.dims().length;
        if (m > 6) throw new IllegalArgumentException("permute " + str(x) + " by " + Arrays.toString(dims) + ": more than 6 dimensions after merging");
        int[] d = new int[6], s = new int[6];
        Arrays.fill(d, 1);
        for (int i = 0; i < m; i++) {
            d[6 - m + i] = k.dims()[i];
            s[6 - m + i] = (int) k.sa()[i];
        }
        rt.launch1d(Kernel.PERMUTE, "permute " + str(x) + " by " + Arrays.toString(dims), y.numel(), y, x, n(y), m,
                d[0], d[1], d[2], d[3], d[4], d[5], s[0], s[1], s[2], s[3], s[4], s[5]);
        return y;
    }

    @Override
    public Tensor concat(List<Tensor> tensors, int dim) {
        int[] out = Shapes.concat(tensors, dim);
        dev("concat", tensors.toArray(new Tensor[0]));
        int[] first = tensors.get(0).shape();
        int d = Shapes.axis(dim, first.length), total = out[d];
        Tensor y = rt.alloc(out);
        int outer = (int) Shapes.numel(first, 0, d), inner = (int) Shapes.numel(first, d + 1, first.length);
        int at = 0;
        for (Tensor t : tensors) {
            int len = t.size(d) * inner;
            rt.launch1d(Kernel.COPY_ROWS, "concat " + str(t) + " into " + Shapes.str(out) + " at " + at, (long) outer * len,
                    new CudaRuntime.Ptr(y, (long) at * inner), total * inner, t, len, outer, len);
            at += t.size(d);
        }
        return y;
    }

    @Override
    public Tensor slice(Tensor x, int dim, int start, int length) {
        dev("slice", x);
        int[] s = x.shape();
        int d = Shapes.axis(dim, s.length);
        if (start < 0 || length < 0 || start + length > s[d]) {
            throw new IndexOutOfBoundsException("slice(" + dim + ", " + start + ", " + length + ") of shape " + Shapes.str(s));
        }
        int outer = (int) Shapes.numel(s, 0, d), inner = (int) Shapes.numel(s, d + 1, s.length);
        int[] out = s.clone();
        out[d] = length;
        Tensor y = rt.alloc(out);
        rt.launch1d(Kernel.COPY_ROWS, "slice " + str(x) + " dim " + d + " [" + start + ", " + (start + length) + ")",
                (long) outer * length * inner, y, length * inner, new CudaRuntime.Ptr(x, (long) start * inner), s[d] * inner, outer,
                length * inner);
        return y;
    }

    @Override
    public Windows windowPartition(Tensor x, int ws) {
        dev("window_partition", x);
        Shapes.requireRank(x, 4, "window_partition input");
        if (ws <= 0) throw new IllegalArgumentException("window size " + ws);
        int B = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3);
        int hp = (H + ws - 1) / ws * ws, wp = (W + ws - 1) / ws * ws, nH = hp / ws, nW = wp / ws;
        Tensor y = rt.alloc(B * nH * nW, ws, ws, C);
        rt.launch1d(Kernel.WINDOW_PARTITION, "window_partition " + str(x) + " ws " + ws, y.numel(), y, x, B, H, W, C, ws, nH, nW);
        return new Windows(y, hp, wp);
    }

    @Override
    public Tensor windowUnpartition(Tensor windows, int ws, int hp, int wp, int h, int w) {
        dev("window_unpartition", windows);
        int B = Shapes.windowUnpartitionBatch(windows, ws, hp, wp, h, w);
        int nH = hp / ws, nW = wp / ws, C = windows.size(3);
        Tensor y = rt.alloc(B, h, w, C);
        rt.launch1d(Kernel.WINDOW_UNPARTITION, "window_unpartition " + str(windows) + " to " + h + "x" + w, y.numel(), y, windows,
                B, h, w, C, ws, nH, nW);
        return y;
    }

    @Override
    public Tensor interpolateBilinear(Tensor x, int outH, int outW) {
        dev("interpolate", x);
        Shapes.requireRank(x, 4, "interpolate input");
        if (outH <= 0 || outW <= 0) throw new IllegalArgumentException("interpolate: output size " + outH + "x" + outW);
        int B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
        if (H == 0 || W == 0) throw new IllegalArgumentException("interpolate: empty input " + str(x));
        Tensor y = rt.alloc(B, C, outH, outW);
        rt.launch1d(Kernel.INTERP_BILINEAR, "interpolate " + str(x) + " to " + outH + "x" + outW, y.numel(), y, x, B * C, H, W, outH, outW);
        return y;
    }

    /**
     * {@link Backend#postprocessMasks} in one kernel ({@code mask_postprocess_f32}): every output pixel recomputes the
     * four pixels of the cropped {@code padSize²} upsampling it blends, with the reference's float operations, so the
     * result equals the two-stage sequence bit for bit without the intermediate.
     */
    @Override
    public Tensor postprocessMasks(Tensor lowRes, int padSize, int h, int w, int outH, int outW, boolean threshold) {
        dev("postprocess_masks", lowRes);
        Shapes.requireRank(lowRes, 4, "postprocess_masks input");
        if (h < 1 || w < 1 || h > padSize || w > padSize || outH < 1 || outW < 1) {
            throw new IllegalArgumentException("postprocess_masks: crop " + h + "x" + w + " of " + padSize + "x" + padSize
                    + " to " + outH + "x" + outW);
        }
        int B = lowRes.size(0), C = lowRes.size(1), H = lowRes.size(2), W = lowRes.size(3);
        if (H == 0 || W == 0) throw new IllegalArgumentException("postprocess_masks: empty input " + str(lowRes));
        Tensor y = rt.alloc(B, C, outH, outW);
        rt.launch1d(Kernel.MASK_POSTPROCESS, "postprocess_masks " + str(lowRes) + " via " + padSize + "² crop " + h + "x" + w + " to "
                + outH + "x" + outW, y.numel(), y, lowRes, B * C, H, W, padSize, h, w, outH, outW, threshold ? 1 : 0);
        return y;
    }

    // =================================================================== attention and positional encodings

    /**
     * v2/v3 (default, {@code segsam.cuda.attention=flash}): one launch of a fused flash kernel ({@code attention.cuh}):
     * online softmax over key tiles, the rel-pos bias built in the kernel from the unscaled q, no score tensor; fp32 FMAs,
     * or TF32 tensor cores when the GEMM mode is TF32. Used for head dims 16, 32, 64, 80 with d = dv and shared memory
     * under 48 KiB (rel-pos grids up to kh + kw = 128 at d = 80); anything else takes v1.
     *
     * <p>v1 ({@code segsam.cuda.attention=tiled}): query tiles of T rows: for each, {@code S = scale·q_tile·kᵀ} (GEMM "nt", all B at once), the rel-pos bias and the
     * softmax in place ({@code attn_softmax_f32}), then {@code out[:, tile] = S·v}. T is the largest multiple of 16 that
     * keeps the [B, T, Nk] tile under {@code segsam.cuda.attentionTileMiB} (64 MiB: SAM-B's global attention, 12 heads ×
     * 4096 keys, gets 341 → 336 rows per tile instead of one 805 MB score tensor). Scaling the product instead of q first
     * differs from the reference by rounding only (exactly nothing for SAM's power-of-two 0.125).
     */
    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, float scale, RelPos relPos) {
        dev("attention", q, k, v);
        Shapes.checkAttention(q, k, v, relPos);
        int B = q.size(0), Nq = q.size(1), d = q.size(2), Nk = k.size(1), dv = v.size(2);
        Tensor relH = null, relW = null;
        int qw = 1, kh = 1, kw = 1;
        if (relPos != null) {
            dev("attention rel-pos", relPos.relH(), relPos.relW());
            relH = relPos.relH();
            relW = relPos.relW();
            qw = relPos.qw();
            kh = relPos.kh();
            kw = relPos.kw();
        }
        if (B > 65535) throw new IllegalArgumentException("attention: batch·heads " + B + " exceeds one launch (65535)");
        int smem = relPos == null ? 0 : (d + kh + kw) * Float.BYTES;
        if (smem > 48 * 1024) throw new IllegalArgumentException("attention: rel-pos head dim " + d + " with " + kh + "+" + kw + " keys needs too much shared memory");
        Tensor out = rt.alloc(B, Nq, dv);
        if (out.numel() == 0) return out;
        if (flashAttention && Nk > 0) {
            Kernel fk = flashKernel(d, dv);
            int fsmem = fk == null ? 0 : flashSharedBytes(fk, d, relPos == null ? 0 : kh + kw);
            if (fk != null && fsmem <= FLASH_MAX_SMEM) {
                String what = "attention q " + str(q) + ", k " + str(k) + ", v " + str(v) + (relPos == null ? "" : " + rel-pos");
                // plain [B, N, d] operands: one head per batch item, rows of d floats
                rt.launch(fk, what, (Nq + FLASH_ROWS - 1) / FLASH_ROWS, B, 1, fk.threads, 1, fsmem, out, q, k, v, Nq, Nk, 1,
                        d, Nq * d, 0, d, Nk * d, 0, dv, Nk * dv, 0, dv, Nq * dv, 0, scale, relH, relW, qw, kh, kw);
                return out;
            }
        }
        int T = tileRows(B, Nq, Nk);
        String what = "attention q " + str(q) + ", k " + str(k) + ", v " + str(v) + (relPos == null ? "" : " + rel-pos");
        try (Tensor s = rt.alloc(B, T, Nk)) {
            for (int t0 = 0; t0 < Nq; t0 += T) {
                int tn = Math.min(T, Nq - t0);
                gemm.run(what + ", q·kᵀ rows " + t0 + "+" + tn, B, tn, Nk, d, Gemm.Mat.of(q, (long) t0 * d, d, (long) Nq * d),
                        Gemm.Mat.of(k, 0, d, (long) Nk * d).transposed(), Gemm.Mat.of(s, 0, Nk, (long) T * Nk), scale, null,
                        Gemm.BIAS_NONE, Gemm.ACT_NONE);
                rt.launch(Kernel.ATTN_SOFTMAX, what + ", softmax rows " + t0 + "+" + tn, tn, B, 1, 128, 1, smem, s, T, Nk, q, Nq, d, t0,
                        relH, relW, qw, kh, kw);
                gemm.run(what + ", p·v rows " + t0 + "+" + tn, B, tn, dv, Nk, Gemm.Mat.of(s, 0, Nk, (long) T * Nk),
                        Gemm.Mat.of(v, 0, dv, (long) Nk * dv), Gemm.Mat.of(out, (long) t0 * dv, dv, (long) Nq * dv), 1f, null,
                        Gemm.BIAS_NONE, Gemm.ACT_NONE);
            }
        }
        return out;
    }

    /**
     * Multi-head attention on head-interleaved projections, as SAM's mask decoder runs it between its projections:
     * {@code q [B, nq, heads·d], k [Bk, nk, heads·d], v [Bk, nk, heads·d] → [B, nq, heads·d]}, head h owning channels
     * {@code h·d … h·d + d − 1}, per head {@code softmax((q_h·scale)·k_hᵀ)·v_h}. {@code Bk} is B, or 1 to share one k / v
     * (one image embedding) between all B query batches (many prompts): batch stride 0, no copy.
     *
     * <p>With a flash kernel for d (16, 32, 64, 80): one launch reading the heads in place (row stride heads·d, head
     * offset h·d), no permute copies, no scores. Otherwise: split heads ({@link #permute}; k / v repeated B times when
     * shared), {@link #attention}, merge heads.
     */
    @Override
    public Tensor multiHeadAttention(Tensor q, Tensor k, Tensor v, int heads, float scale) {
        dev("multi-head attention", q, k, v);
        Shapes.requireRank(q, 3, "multi-head attention q");
        Shapes.requireRank(k, 3, "multi-head attention k");
        Shapes.requireRank(v, 3, "multi-head attention v");
        int B = q.size(0), nq = q.size(1), nk = k.size(1), Bk = k.size(0);
        if (heads <= 0 || q.size(2) % heads != 0 || v.size(2) % heads != 0) {
            throw new IllegalArgumentException("multi-head attention: " + heads + " heads do not divide q " + str(q) + " / v " + str(v));
        }
        int d = q.size(2) / heads, dv = v.size(2) / heads;
        if (k.size(2) != q.size(2) || v.size(1) != nk || v.size(0) != Bk || (Bk != B && Bk != 1)) {
            throw new IllegalArgumentException("multi-head attention: q " + str(q) + ", k " + str(k) + ", v " + str(v) + " do not match");
        }
        if ((long) B * heads > 65535) throw new IllegalArgumentException("multi-head attention: batch·heads " + B * heads + " exceeds one launch (65535)");
        Kernel fk = flashAttention && nk > 0 ? flashKernel(d, dv) : null;
        if (fk != null && nq > 0) {
            Tensor out = rt.alloc(B, nq, heads * dv);
            int hd = heads * d, hdv = heads * dv, shared = Bk == 1 ? 0 : 1;
            rt.launch(fk, "multi-head attention q " + str(q) + ", k " + str(k) + ", v " + str(v) + ", " + heads + " heads",
                    (nq + FLASH_ROWS - 1) / FLASH_ROWS, B * heads, 1, fk.threads, 1, flashSharedBytes(fk, d, 0), out, q, k, v, nq, nk,
                    heads, hd, nq * hd, d, hd, shared * nk * hd, d, hdv, shared * nk * hdv, dv, hdv, nq * hdv, dv, scale, null, null,
                    1, 1, 1);
            return out;
        }
        Tensor kk = k, vv = v;
        if (Bk != B) { // shared k / v on the fallback path: repeated per batch item
            kk = concat(java.util.Collections.nCopies(B, k), 0);
            vv = concat(java.util.Collections.nCopies(B, v), 0);
        }
        try (Tensor qh = permute(q.reshape(B, nq, heads, d), 0, 2, 1, 3);
             Tensor kh = permute(kk.reshape(B, nk, heads, d), 0, 2, 1, 3);
             Tensor vh = permute(vv.reshape(B, nk, heads, dv), 0, 2, 1, 3);
             Tensor o = attention(qh.reshape(B * heads, nq, d), kh.reshape(B * heads, nk, d), vh.reshape(B * heads, nk, dv), scale, null)) {
            return permute(o.reshape(B, heads, nq, dv), 0, 2, 1, 3).reshape(B, nq, heads * dv);
        } finally {
            if (kk != k) kk.close();
            if (vv != v) vv.close();
        }
    }

    /** Query rows per block of the flash kernels ({@code SEG_FA_BQ}); keys per tile are 32 as well. */
    static final int FLASH_ROWS = 32;
    /** Shared memory a launch may use without the opt-in attribute. */
    static final int FLASH_MAX_SMEM = 48 * 1024;

    /**
     * The flash kernel for head dim {@code d} (= {@code dv}) in this backend's precision (TF32 tensor cores when the GEMM
     * mode is TF32), or null where only v1 applies (other head dims, d ≠ dv).
     */
    Kernel flashKernel(int d, int dv) {
        if (d != dv) return null;
        boolean tf32 = gemm.mode.tf32();
        return switch (d) {
            case 16 -> tf32 ? Kernel.FLASH_ATTN_TF32_D16 : Kernel.FLASH_ATTN_F32_D16;
            case 32 -> tf32 ? Kernel.FLASH_ATTN_TF32_D32 : Kernel.FLASH_ATTN_F32_D32;
            case 64 -> tf32 ? Kernel.FLASH_ATTN_TF32_D64 : Kernel.FLASH_ATTN_F32_D64;
            case 80 -> tf32 ? Kernel.FLASH_ATTN_TF32_D80 : Kernel.FLASH_ATTN_F32_D80;
            default -> null;
        };
    }

    /** Dynamic shared memory of a flash launch (the layouts in attention.cuh); {@code nb = kh + kw}, 0 without rel-pos. */
    static int flashSharedBytes(Kernel k, int d, int nb) {
        int bq = FLASH_ROWS, bk = FLASH_ROWS;
        long floats = k.threads == 64
                ? (long) bk * (d + 4) + (long) bk * (d + 8) + 2L * 16 * (bk + 4) // tf32: K, V, P slabs (q staged in their place)
                : (long) bq * (d + 1) + Math.max((long) bk * (d + 1), (long) bq * (bk + 1)) + (long) bk * d; // fp32: Q, K/P, V
        floats += (long) bq * nb;
        return (int) Math.min(Integer.MAX_VALUE, floats * Float.BYTES);
    }

    /** Rows per attention tile (see {@link #attention}). */
    int tileRows(int B, int Nq, int Nk) {
        long perRow = Math.max(1L, (long) B * Math.max(Nk, 1) * Float.BYTES);
        long t = Math.max(1, Math.min(Nq, attentionTileBytes / perRow));
        if (t >= 16 && t < Nq) t -= t % 16;
        return (int) t;
    }

    @Override
    public Tensor relPosLookup(Tensor table, int qSize, int kSize) {
        dev("rel_pos lookup", table);
        Shapes.requireRank(table, 2, "rel_pos table");
        if (qSize <= 0 || kSize <= 0) throw new IllegalArgumentException("rel_pos sizes " + qSize + ", " + kSize);
        int maxDist = 2 * Math.max(qSize, kSize) - 1;
        int L = table.size(0), d = table.size(1);
        if (L == 0) throw new IllegalArgumentException("empty rel_pos table");
        String what = "rel_pos lookup " + str(table) + " for " + qSize + "x" + kSize;
        Tensor t = table;
        if (L != maxDist) {
            t = rt.alloc(maxDist, d);
            rt.launch1d(Kernel.RELPOS_RESIZE, what + " (resize to " + maxDist + ")", t.numel(), t, table, L, maxDist, d);
        }
        // the reference's float32 index maths, scales computed here exactly as it does
        float qScale = (float) Math.max((double) kSize / qSize, 1.0);
        float kScale = (float) Math.max((double) qSize / kSize, 1.0);
        float shift = (float) ((kSize - 1) * Math.max((double) qSize / kSize, 1.0));
        Tensor out = rt.alloc(qSize, kSize, d);
        rt.launch1d(Kernel.RELPOS_GATHER, what, out.numel(), out, t, maxDist, qSize, kSize, d, qScale, kScale, shift);
        if (t != table) t.close();
        return out;
    }

    @Override
    public Tensor fourierPositionEncoding(Tensor coords, Tensor gaussian) {
        dev("position encoding", coords, gaussian);
        if (coords.rank() < 1 || coords.size(-1) != 2) {
            throw new IllegalArgumentException("position encoding coords must end in 2, got " + str(coords));
        }
        Shapes.requireRank(gaussian, 2, "gaussian matrix");
        if (gaussian.size(0) != 2) throw new IllegalArgumentException("gaussian matrix must be [2, F], got " + str(gaussian));
        int F = gaussian.size(1), np = (int) (coords.numel() / 2);
        int[] s = coords.shape();
        s[s.length - 1] = 2 * F;
        Tensor out = rt.alloc(s);
        rt.launch1d(Kernel.FOURIER_PE, "position encoding " + str(coords) + " · " + str(gaussian), (long) np * F, out, coords,
                gaussian, np, F, (float) (2 * Math.PI));
        return out;
    }

    @Override
    public int[] argmax(Tensor x) {
        dev("argmax", x);
        if (x.rank() == 0) return new int[] {0};
        int D = x.size(-1);
        if (D == 0) throw new IllegalArgumentException("argmax over an empty dimension");
        int rows = (int) (x.numel() / D);
        int[] idx = new int[rows];
        if (rows == 0) return idx;
        try (Tensor out = rt.alloc(rows)) { // int32 results in a float-sized buffer
            rt.launchRows(Kernel.ARGMAX, "argmax " + str(x), rows, out, x, rows, D);
            rt.copyToHost(MemorySegment.ofArray(idx), CudaRuntime.address(out, 0), (long) rows * Integer.BYTES, "argmax " + str(x));
        }
        return idx;
    }
}
