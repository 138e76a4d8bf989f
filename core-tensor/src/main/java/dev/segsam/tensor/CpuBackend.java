package dev.segsam.tensor;

import java.util.List;

/**
 * The CPU reference backend: plain loops that mirror PyTorch's definitions, written to be read beside every fast
 * path and used as the oracle in tests (llm.c's {@code train_gpt2.c} in spirit). Each op states its shapes and the
 * PyTorch function it mirrors. Inner loops run over Java arrays in an order the JIT can vectorise (the i-k-j
 * matmul), and the outer loops are split across threads with {@link Parallel}; nothing else is clever.
 *
 * <p>Numerics: float32 values; matmul-like sums accumulate in float (as PyTorch does); normalisation statistics,
 * softmax denominators and GELU are computed in double and rounded once. Results therefore agree with PyTorch to a
 * few ulps, not bit for bit (PyTorch's blocked GEMMs sum in another order).
 */
public final class CpuBackend implements Backend {

    /** Rows of queries processed together by {@link #attention}: the score buffer is {@code ATTN_TILE × Nk}. */
    static final int ATTN_TILE = 64;

    private final Parallel par;

    /** The reference backend on every available processor ({@link Options#defaults()}). */
    public CpuBackend() {
        this(Options.defaults().threads());
    }

    /** The reference backend with its loops split over {@code threads} threads (1 = sequential). */
    public CpuBackend(int threads) {
        this.par = Parallel.of(threads);
    }

    @Override
    public Parallel parallel() {
        return par;
    }

    @Override
    public String name() {
        return "cpu-reference";
    }

    @Override
    public Device device() {
        return Device.CPU;
    }

    @Override
    public Tensor upload(Tensor host) {
        requireHost(host);
        return host;
    }

    @Override
    public Tensor download(Tensor t) {
        requireHost(t);
        return t;
    }

    @Override
    public Tensor zeros(int... shape) {
        return Tensor.zeros(shape);
    }

    private static void requireHost(Tensor t) {
        if (!t.isHost()) throw new IllegalArgumentException("the CPU backend got a tensor on " + t.device());
    }

    private static float[] values(Tensor t) {
        requireHost(t);
        return t.toArray();
    }

    // =================================================================== linear algebra

    /**
     * {@code c[M,N] += a[M,K]·b[K,N]} on row-major arrays at the given offsets, i-k-j order (the inner loop streams a
     * row of b and a row of c, which the JIT vectorises). Rows of c are independent.
     */
    static void gemmRow(float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int K, int N, int i) {
        int ci = cOff + i * N;
        int ai = aOff + i * K;
        for (int k = 0; k < K; k++) {
            float aik = a[ai + k];
            int bk = bOff + k * N;
            for (int j = 0; j < N; j++) c[ci + j] += aik * b[bk + j];
        }
    }

    /**
     * {@code torch.matmul}: {@code a [..., M, K] · b [..., K, N] → [..., M, N]}, batch dims broadcast.
     * <pre>{@code for each batch: for i < M: for k < K: for j < N: c[i][j] += a[i][k] * b[k][j]}</pre>
     */
    @Override
    public Tensor matmul(Tensor a, Tensor b) {
        if (a.rank() < 2 || b.rank() < 2) {
            throw new IllegalArgumentException("matmul needs rank ≥ 2 operands, got " + Shapes.str(a.shape()) + " and " + Shapes.str(b.shape()));
        }
        int[] as = a.shape(), bs = b.shape();
        int M = as[as.length - 2], K = as[as.length - 1], K2 = bs[bs.length - 2], N = bs[bs.length - 1];
        if (K != K2) {
            throw new IllegalArgumentException("matmul: inner dimensions differ, " + Shapes.str(as) + " · " + Shapes.str(bs));
        }
        int[] batchA = java.util.Arrays.copyOf(as, as.length - 2);
        int[] batchB = java.util.Arrays.copyOf(bs, bs.length - 2);
        int[] batch = Shapes.broadcast(batchA, batchB);
        long[] strideA = Shapes.broadcastStrides(batchA, batch); // in matrices
        long[] strideB = Shapes.broadcastStrides(batchB, batch);
        int nb = Math.toIntExact(Shapes.numel(batch));

        float[] av = values(a), bv = values(b);
        float[] cv = new float[Math.toIntExact((long) nb * M * N)];
        par.forRange(nb * M, r -> {
            int bi = r / M, i = r % M;
            int ao = Math.toIntExact(offsetOf(bi, batch, strideA) * M * K);
            int bo = Math.toIntExact(offsetOf(bi, batch, strideB) * K * N);
            gemmRow(av, ao, bv, bo, cv, bi * M * N, K, N, i);
        });
        int[] out = java.util.Arrays.copyOf(batch, batch.length + 2);
        out[batch.length] = M;
        out[batch.length + 1] = N;
        return Tensor.of(cv, out);
    }

    /** Flat offset (in units of the strides) of output index {@code flat} of shape {@code shape}. */
    private static long offsetOf(long flat, int[] shape, long[] strides) {
        long off = 0;
        for (int d = shape.length - 1; d >= 0; d--) {
            long i = flat % shape[d];
            flat /= shape[d];
            off += i * strides[d];
        }
        return off;
    }

    /**
     * {@code torch.nn.functional.linear}: {@code x [..., in], w [out, in], bias [out] → [..., out]},
     * {@code y = x·wᵀ + bias}. Computed as a matmul with {@code wᵀ} (transposed once) so the inner loop is contiguous.
     */
    @Override
    public Tensor linear(Tensor x, Tensor w, Tensor bias) {
        Shapes.requireRank(w, 2, "linear weight");
        int in = w.size(1), outF = w.size(0);
        if (x.rank() < 1 || x.size(-1) != in) {
            throw new IllegalArgumentException("linear: input " + Shapes.str(x.shape()) + " does not end in " + in
                    + " (weight " + Shapes.str(w.shape()) + ")");
        }
        if (bias != null && (bias.rank() != 1 || bias.size(0) != outF)) {
            throw new IllegalArgumentException("linear: bias " + Shapes.str(bias.shape()) + " for " + outF + " outputs");
        }
        int rows = Math.toIntExact(x.numel() / in);
        float[] xv = values(x), wt = transpose2d(values(w), outF, in);
        float[] bv = bias == null ? null : values(bias);
        float[] y = new float[Math.toIntExact((long) rows * outF)];
        par.forRange(rows, r -> {
            if (bv != null) System.arraycopy(bv, 0, y, r * outF, outF);
            gemmRow(xv, 0, wt, 0, y, 0, in, outF, r);
        });
        int[] s = x.shape();
        s[s.length - 1] = outF;
        return Tensor.of(y, s);
    }

    private static float[] transpose2d(float[] m, int rows, int cols) {
        float[] t = new float[m.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c];
        }
        return t;
    }

    /**
     * {@code torch.nn.functional.unfold}: {@code x [B, C, H, W] → [B, C·kh·kw, Ho·Wo]} with zero padding;
     * row {@code (c·kh + i)·kw + j}, column {@code oy·Wo + ox} holds {@code x[b, c, oy·sh − ph + i, ox·sw − pw + j]}.
     */
    @Override
    public Tensor im2col(Tensor x, int kh, int kw, int sh, int sw, int ph, int pw) {
        Shapes.requireRank(x, 4, "im2col input");
        int B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
        int Ho = Shapes.convOut(H, kh, sh, ph, "height"), Wo = Shapes.convOut(W, kw, sw, pw, "width");
        float[] xv = values(x);
        int rowsPerImage = C * kh * kw, L = Ho * Wo;
        float[] cols = new float[Math.toIntExact((long) B * rowsPerImage * L)];
        par.forRange(B * rowsPerImage, r -> {
            int b = r / rowsPerImage, row = r % rowsPerImage;
            int c = row / (kh * kw), i = (row / kw) % kh, j = row % kw;
            int src = (b * C + c) * H * W;
            int dst = r * L;
            for (int oy = 0; oy < Ho; oy++) {
                int y = oy * sh - ph + i;
                for (int ox = 0; ox < Wo; ox++) {
                    int xx = ox * sw - pw + j;
                    cols[dst + oy * Wo + ox] = (y >= 0 && y < H && xx >= 0 && xx < W) ? xv[src + y * W + xx] : 0f;
                }
            }
        });
        return Tensor.of(cols, B, rowsPerImage, L);
    }

    /**
     * {@code torch.nn.functional.conv2d}: {@code x [B, C, H, W], w [O, C, kh, kw], bias [O] → [B, O, Ho, Wo]} as
     * {@code out[b] = w.reshape(O, C·kh·kw) · im2col(x)[b] + bias}.
     */
    @Override
    public Tensor conv2d(Tensor x, Tensor w, Tensor bias, int sh, int sw, int ph, int pw) {
        int[] os = Shapes.conv2d(x, w, sh, sw, ph, pw);
        int B = x.size(0), O = w.size(0), C = w.size(1), kh = w.size(2), kw = w.size(3), Ho = os[2], Wo = os[3];
        Tensor cols = im2col(x, kh, kw, sh, sw, ph, pw);
        float[] cv = cols.toArray();
        cols.close();
        float[] wv = values(w);
        float[] bv = bias == null ? null : values(bias);
        int CKK = C * kh * kw, L = Ho * Wo;
        float[] out = new float[Math.toIntExact((long) B * O * L)];
        par.forRange(B * O, r -> {
            int b = r / O, o = r % O;
            if (bv != null) java.util.Arrays.fill(out, r * L, (r + 1) * L, bv[o]);
            // out[b][o][:] += Σ_k w[o][k] · cols[b][k][:]
            gemmRow(wv, 0, cv, b * CKK * L, out, b * O * L, CKK, L, o);
        });
        return Tensor.of(out, B, O, Ho, Wo);
    }

    /**
     * {@code torch.nn.functional.conv_transpose2d} (padding 0): {@code x [B, C, H, W], w [C, O, kh, kw], bias [O]
     * → [B, O, (H−1)·s + kh, (W−1)·s + kw]} with
     * {@code out[b, o, y·s + i, x·s + j] += Σ_c x[b, c, y, x]·w[c, o, i, j]}.
     */
    @Override
    public Tensor convTranspose2d(Tensor x, Tensor w, Tensor bias, int s) {
        int[] os = Shapes.convTranspose2d(x, w, s);
        int B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
        int O = w.size(1), kh = w.size(2), kw = w.size(3), Ho = os[2], Wo = os[3];
        float[] xv = values(x), wv = values(w);
        float[] bv = bias == null ? null : values(bias);
        float[] out = new float[Math.toIntExact((long) B * O * Ho * Wo)];
        par.forRange(B * O, r -> {
            int b = r / O, o = r % O;
            int ob = r * Ho * Wo;
            if (bv != null) java.util.Arrays.fill(out, ob, ob + Ho * Wo, bv[o]);
            for (int c = 0; c < C; c++) {
                int xb = (b * C + c) * H * W;
                for (int i = 0; i < kh; i++) {
                    for (int j = 0; j < kw; j++) {
                        float wcoij = wv[((c * O + o) * kh + i) * kw + j];
                        for (int y = 0; y < H; y++) {
                            int orow = ob + (y * s + i) * Wo + j;
                            int xrow = xb + y * W;
                            for (int xx = 0; xx < W; xx++) out[orow + xx * s] += xv[xrow + xx] * wcoij;
                        }
                    }
                }
            }
        });
        return Tensor.of(out, B, O, Ho, Wo);
    }

    // =================================================================== normalisation and activations

    /**
     * {@code torch.nn.functional.layer_norm(x, [D], w, b, eps)} over the last dimension D:
     * {@code y = (x − mean)/sqrt(var + eps)·w + b}, biased variance, statistics in double.
     */
    @Override
    public Tensor layerNorm(Tensor x, Tensor w, Tensor b, float eps) {
        int D = x.size(-1);
        float[] wv = affine(w, D, "layer_norm weight"), bv = affine(b, D, "layer_norm bias");
        float[] v = values(x);
        int rows = Math.toIntExact(x.numel() / Math.max(D, 1));
        par.forRange(rows, r -> normalise(v, r * D, 1, D, wv, bv, eps));
        return Tensor.of(v, x.shape());
    }

    /**
     * SAM's {@code LayerNorm2d}: {@code x [B, C, H, W]}; at every pixel, over the C channels (stride H·W):
     * {@code u = mean(x), s = mean((x − u)²), y = w[c]·(x − u)/sqrt(s + eps) + b[c]}.
     */
    @Override
    public Tensor layerNorm2d(Tensor x, Tensor w, Tensor b, float eps) {
        Shapes.requireRank(x, 4, "layer_norm2d input");
        int B = x.size(0), C = x.size(1), HW = x.size(2) * x.size(3);
        float[] wv = affine(w, C, "layer_norm2d weight"), bv = affine(b, C, "layer_norm2d bias");
        float[] v = values(x);
        par.forRange(B * HW, r -> normalise(v, (r / HW) * C * HW + r % HW, HW, C, wv, bv, eps));
        return Tensor.of(v, x.shape());
    }

    /** Normalises {@code n} values {@code v[start + i·stride]} in place (shared by both layer norms). */
    private static void normalise(float[] v, int start, int stride, int n, float[] w, float[] b, float eps) {
        double mean = 0;
        for (int i = 0; i < n; i++) mean += v[start + i * stride];
        mean /= n;
        double var = 0;
        for (int i = 0; i < n; i++) {
            double d = v[start + i * stride] - mean;
            var += d * d;
        }
        var /= n;
        double inv = 1.0 / Math.sqrt(var + eps);
        for (int i = 0; i < n; i++) {
            double y = (v[start + i * stride] - mean) * inv;
            if (w != null) y *= w[i];
            if (b != null) y += b[i];
            v[start + i * stride] = (float) y;
        }
    }

    private static float[] affine(Tensor t, int n, String what) {
        if (t == null) return null;
        if (t.numel() != n) throw new IllegalArgumentException(what + " has shape " + Shapes.str(t.shape()) + ", expected [" + n + "]");
        return values(t);
    }

    /** {@code torch.nn.functional.gelu(x)} (approximate='none'): {@code 0.5·x·(1 + erf(x/√2))}, in double. */
    @Override
    public Tensor gelu(Tensor x) {
        return map(x, v -> (float) Erf.gelu(v));
    }

    /** {@code torch.relu(x) = max(x, 0)}. */
    @Override
    public Tensor relu(Tensor x) {
        return map(x, v -> v > 0f ? v : (Float.isNaN(v) ? v : 0f));
    }

    /** {@code torch.sigmoid(x) = 1/(1 + e^{−x})}, in double. */
    @Override
    public Tensor sigmoid(Tensor x) {
        return map(x, v -> (float) (1.0 / (1.0 + Math.exp(-(double) v))));
    }

    private interface FloatOp {
        float apply(float v);
    }

    private Tensor map(Tensor x, FloatOp f) {
        float[] v = values(x);
        int chunk = 1 << 14;
        par.forRange((v.length + chunk - 1) / chunk, c -> {
            for (int i = c * chunk, end = Math.min(v.length, i + chunk); i < end; i++) v[i] = f.apply(v[i]);
        });
        return Tensor.of(v, x.shape());
    }

    /** {@code torch.softmax(x, dim=-1)}: {@code e^{x − max} / Σ e^{x − max}} per row, exponentials in double. */
    @Override
    public Tensor softmax(Tensor x) {
        int D = x.size(-1);
        float[] v = values(x);
        int rows = Math.toIntExact(x.numel() / Math.max(D, 1));
        par.forRange(rows, r -> softmaxRow(v, r * D, D));
        return Tensor.of(v, x.shape());
    }

    private static void softmaxRow(float[] v, int off, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, v[off + i]);
        double sum = 0;
        double[] e = new double[n];
        for (int i = 0; i < n; i++) {
            e[i] = Math.exp((double) v[off + i] - max);
            sum += e[i];
        }
        for (int i = 0; i < n; i++) v[off + i] = (float) (e[i] / sum);
    }

    // =================================================================== element-wise with broadcasting

    private interface BinaryOp {
        float apply(float a, float b);
    }

    /**
     * Applies {@code op} element-wise under NumPy/PyTorch broadcasting: the output has the broadcast shape; each
     * input is read through strides that are 0 along broadcast dimensions.
     */
    private Tensor broadcastBinary(Tensor a, Tensor b, BinaryOp op) {
        int[] out = Shapes.broadcast(a.shape(), b.shape());
        long[] sa = Shapes.broadcastStrides(a.shape(), out), sb = Shapes.broadcastStrides(b.shape(), out);
        float[] av = values(a), bv = values(b);
        int last = out.length == 0 ? 1 : out[out.length - 1];
        int rows = last == 0 ? 0 : Math.toIntExact(Shapes.numel(out) / last);
        int[] outer = out.length == 0 ? new int[0] : java.util.Arrays.copyOf(out, out.length - 1);
        long[] saOuter = java.util.Arrays.copyOf(sa, Math.max(0, sa.length - 1));
        long[] sbOuter = java.util.Arrays.copyOf(sb, Math.max(0, sb.length - 1));
        int ia = out.length == 0 ? 0 : (int) sa[sa.length - 1], ib = out.length == 0 ? 0 : (int) sb[sb.length - 1];
        float[] c = new float[Math.toIntExact(Shapes.numel(out))];
        par.forRange(rows, r -> {
            int oa = (int) offsetOf(r, outer, saOuter), ob = (int) offsetOf(r, outer, sbOuter);
            for (int j = 0; j < last; j++) c[r * last + j] = op.apply(av[oa + j * ia], bv[ob + j * ib]);
        });
        return Tensor.of(c, out);
    }

    @Override
    public Tensor add(Tensor a, Tensor b) {
        return broadcastBinary(a, b, (x, y) -> x + y);
    }

    @Override
    public Tensor sub(Tensor a, Tensor b) {
        return broadcastBinary(a, b, (x, y) -> x - y);
    }

    @Override
    public Tensor mul(Tensor a, Tensor b) {
        return broadcastBinary(a, b, (x, y) -> x * y);
    }

    @Override
    public Tensor div(Tensor a, Tensor b) {
        return broadcastBinary(a, b, (x, y) -> x / y);
    }

    @Override
    public Tensor scale(Tensor x, float s) {
        return map(x, v -> v * s);
    }

    // =================================================================== layout

    /**
     * {@code x.permute(dims).contiguous()}: output dimension {@code i} is input dimension {@code dims[i]}; the output
     * is walked in order and each element fetched through the permuted input strides.
     */
    @Override
    public Tensor permute(Tensor x, int... dims) {
        int r = x.rank();
        Shapes.Permutation p = Shapes.permute(x.shape(), dims);
        int[] out = p.shape();
        long[] stride = p.strides();
        float[] xv = values(x);
        int last = r == 0 ? 1 : out[r - 1];
        int rows = last == 0 ? 0 : Math.toIntExact(x.numel() / last);
        int lastStride = r == 0 ? 0 : (int) stride[r - 1];
        int[] outer = r == 0 ? new int[0] : java.util.Arrays.copyOf(out, r - 1);
        long[] outerStride = java.util.Arrays.copyOf(stride, Math.max(0, r - 1));
        float[] y = new float[xv.length];
        par.forRange(rows, row -> {
            int src = (int) offsetOf(row, outer, outerStride);
            for (int j = 0; j < last; j++) y[row * last + j] = xv[src + j * lastStride];
        });
        return Tensor.of(y, out);
    }

    /** {@code torch.cat(tensors, dim)}: shapes must agree except along {@code dim}. */
    @Override
    public Tensor concat(List<Tensor> tensors, int dim) {
        int[] out = Shapes.concat(tensors, dim);
        int[] first = tensors.get(0).shape();
        int d = Shapes.axis(dim, first.length), total = out[d];
        int outer = Math.toIntExact(Shapes.numel(first, 0, d)), inner = Math.toIntExact(Shapes.numel(first, d + 1, first.length));
        float[] y = new float[Math.toIntExact(Shapes.numel(out))];
        int at = 0;
        for (Tensor t : tensors) {
            float[] v = values(t);
            int len = t.size(d) * inner;
            for (int o = 0; o < outer; o++) System.arraycopy(v, o * len, y, (o * total + at) * inner, len);
            at += t.size(d);
        }
        return Tensor.of(y, out);
    }

    /** {@code x.narrow(dim, start, length)} as a new contiguous tensor. */
    @Override
    public Tensor slice(Tensor x, int dim, int start, int length) {
        int[] s = x.shape();
        int d = Shapes.axis(dim, s.length);
        if (start < 0 || length < 0 || start + length > s[d]) {
            throw new IndexOutOfBoundsException("slice(" + dim + ", " + start + ", " + length + ") of shape " + Shapes.str(s));
        }
        int outer = Math.toIntExact(Shapes.numel(s, 0, d)), inner = Math.toIntExact(Shapes.numel(s, d + 1, s.length));
        float[] v = values(x);
        int[] out = s.clone();
        out[d] = length;
        float[] y = new float[Math.toIntExact(Shapes.numel(out))];
        for (int o = 0; o < outer; o++) System.arraycopy(v, (o * s[d] + start) * inner, y, o * length * inner, length * inner);
        return Tensor.of(y, out);
    }

    /**
     * SAM {@code window_partition(x, ws)}: {@code x [B, H, W, C]} → pad bottom/right with zeros to
     * {@code Hp = ⌈H/ws⌉·ws, Wp} → {@code [B·(Hp/ws)·(Wp/ws), ws, ws, C]}; window {@code b·nH·nW + wr·nW + wc}, position
     * {@code (i, j)} holds padded pixel {@code (wr·ws + i, wc·ws + j)}.
     */
    @Override
    public Windows windowPartition(Tensor x, int ws) {
        Shapes.requireRank(x, 4, "window_partition input");
        if (ws <= 0) throw new IllegalArgumentException("window size " + ws);
        int B = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3);
        int hp = (H + ws - 1) / ws * ws, wp = (W + ws - 1) / ws * ws;
        int nH = hp / ws, nW = wp / ws;
        float[] xv = values(x);
        float[] y = new float[Math.toIntExact((long) B * hp * wp * C)];
        par.forRange(B * nH * nW, n -> {
            int b = n / (nH * nW), wr = (n / nW) % nH, wc = n % nW;
            for (int i = 0; i < ws; i++) {
                int py = wr * ws + i;
                for (int j = 0; j < ws; j++) {
                    int px = wc * ws + j;
                    if (py < H && px < W) {
                        System.arraycopy(xv, ((b * H + py) * W + px) * C, y, ((n * ws + i) * ws + j) * C, C);
                    } // else: zero padding (the array starts zeroed)
                }
            }
        });
        return new Windows(Tensor.of(y, B * nH * nW, ws, ws, C), hp, wp);
    }

    /**
     * SAM {@code window_unpartition}: {@code windows [B·nH·nW, ws, ws, C]} back to {@code [B, Hp, Wp, C]}, then cropped
     * to {@code [B, h, w, C]}.
     */
    @Override
    public Tensor windowUnpartition(Tensor windows, int ws, int hp, int wp, int h, int w) {
        int B = Shapes.windowUnpartitionBatch(windows, ws, hp, wp, h, w);
        int nH = hp / ws, nW = wp / ws, C = windows.size(3);
        float[] v = values(windows);
        float[] y = new float[Math.toIntExact((long) B * h * w * C)];
        par.forRange(B * h, r -> {
            int b = r / h, py = r % h, wr = py / ws, i = py % ws;
            for (int px = 0; px < w; px++) {
                int wc = px / ws, j = px % ws;
                int n = (b * nH + wr) * nW + wc;
                System.arraycopy(v, ((n * ws + i) * ws + j) * C, y, ((b * h + py) * w + px) * C, C);
            }
        });
        return Tensor.of(y, B, h, w, C);
    }

    /**
     * {@code F.interpolate(x, (outH, outW), mode="bilinear", align_corners=False)}, float32 index maths as in
     * PyTorch's {@code UpSample.h}: {@code src = max(0, (in/out)·(dst + 0.5) − 0.5)}, {@code i0 = ⌊src⌋},
     * {@code i1 = min(i0 + 1, in − 1)}, {@code λ = src − i0};
     * {@code out = (1−λh)·((1−λw)·x00 + λw·x01) + λh·((1−λw)·x10 + λw·x11)}.
     */
    @Override
    public Tensor interpolateBilinear(Tensor x, int outH, int outW) {
        Shapes.requireRank(x, 4, "interpolate input");
        if (outH <= 0 || outW <= 0) throw new IllegalArgumentException("interpolate: output size " + outH + "x" + outW);
        int B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
        if (H == 0 || W == 0) throw new IllegalArgumentException("interpolate: empty input " + Shapes.str(x.shape()));
        Lerp hy = Lerp.of(H, outH), wx = Lerp.of(W, outW);
        float[] v = values(x);
        float[] y = new float[Math.toIntExact((long) B * C * outH * outW)];
        par.forRange(B * C * outH, r -> {
            int plane = r / outH, oy = r % outH;
            int base = plane * H * W;
            int r0 = base + hy.i0[oy] * W, r1 = base + hy.i1[oy] * W;
            float h0 = hy.l0[oy], h1 = hy.l1[oy];
            int dst = r * outW;
            for (int ox = 0; ox < outW; ox++) {
                int c0 = wx.i0[ox], c1 = wx.i1[ox];
                float w0 = wx.l0[ox], w1 = wx.l1[ox];
                y[dst + ox] = h0 * (w0 * v[r0 + c0] + w1 * v[r0 + c1]) + h1 * (w0 * v[r1 + c0] + w1 * v[r1 + c1]);
            }
        });
        return Tensor.of(y, B, C, outH, outW);
    }

    /** Source indices and weights for one axis of align_corners=False linear interpolation (float32 maths). */
    record Lerp(int[] i0, int[] i1, float[] l0, float[] l1) {
        static Lerp of(int in, int out) {
            float scale = (float) in / (float) out;
            int[] i0 = new int[out], i1 = new int[out];
            float[] l0 = new float[out], l1 = new float[out];
            for (int d = 0; d < out; d++) {
                float src = scale * (d + 0.5f) - 0.5f;
                if (src < 0f) src = 0f;
                int a = (int) src;
                i0[d] = a;
                i1[d] = a + (a < in - 1 ? 1 : 0);
                l1[d] = src - a;
                l0[d] = 1f - l1[d];
            }
            return new Lerp(i0, i1, l0, l1);
        }
    }

    // =================================================================== attention and positional encodings

    /**
     * Attention {@code softmax((q·scale)·kᵀ [+ rel-pos bias])·v}, {@code q [B, Nq, d], k [B, Nk, d], v [B, Nk, dv] →
     * [B, Nq, dv]}, as SAM's encoder computes it: q is multiplied by {@code scale} first, and the decomposed
     * relative-position terms use the unscaled q ({@code add_decomposed_rel_pos}).
     *
     * <p>Memory: queries are processed in tiles of {@link #ATTN_TILE} rows, so only a {@code [tile, Nk]} score buffer
     * exists at a time (for SAM-B's global blocks: 1 MB instead of the 805 MB of {@code [12, 4096, 4096]}).
     */
    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, float scale, RelPos relPos) {
        Shapes.checkAttention(q, k, v, relPos);
        int B = q.size(0), Nq = q.size(1), d = q.size(2), Nk = k.size(1), dv = v.size(2);
        float[] qv = values(q), kv = values(k), vv = values(v);
        float[] rh = null, rw = null;
        if (relPos != null) {
            rh = values(relPos.relH());
            rw = values(relPos.relW());
        }
        final float[] relH = rh, relW = rw;
        // kᵀ per batch, so that a row of scores is produced by the contiguous i-k-j loop
        float[] kt = new float[kv.length];
        par.forRange(B, b -> {
            for (int j = 0; j < Nk; j++) {
                for (int c = 0; c < d; c++) kt[b * d * Nk + c * Nk + j] = kv[(b * Nk + j) * d + c];
            }
        });
        float[] out = new float[Math.toIntExact((long) B * Nq * dv)];
        int tiles = (Nq + ATTN_TILE - 1) / ATTN_TILE;
        par.forRange(B * tiles, job -> {
            int b = job / tiles, t0 = (job % tiles) * ATTN_TILE, tn = Math.min(ATTN_TILE, Nq - t0);
            float[] qs = new float[tn * d];
            for (int i = 0; i < tn * d; i++) qs[i] = qv[(b * Nq + t0) * d + i] * scale;
            float[] s = new float[tn * Nk];
            for (int i = 0; i < tn; i++) gemmRow(qs, 0, kt, b * d * Nk, s, 0, d, Nk, i); // S = (q·scale)·kᵀ
            if (relH != null) addRelPos(s, qv, (b * Nq + t0) * d, t0, tn, d, Nk, relH, relW, relPos);
            for (int i = 0; i < tn; i++) softmaxRow(s, i * Nk, Nk);
            for (int i = 0; i < tn; i++) gemmRow(s, 0, vv, b * Nk * dv, out, (b * Nq + t0) * dv, Nk, dv, i); // O = P·v
        });
        return Tensor.of(out, B, Nq, dv);
    }

    /**
     * Adds SAM's decomposed relative-position bias to a tile of scores, in PyTorch's order
     * {@code (score + rel_h[ky]) + rel_w[kx]}, where for query (y, x) with unscaled q:
     * {@code rel_h[ky] = Σ_c q[c]·Rh[y, ky, c]}, {@code rel_w[kx] = Σ_c q[c]·Rw[x, kx, c]}.
     */
    private static void addRelPos(float[] s, float[] qv, int qOff, int t0, int tn, int d, int Nk,
                                  float[] relH, float[] relW, RelPos r) {
        int kh = r.kh(), kw = r.kw();
        float[] bh = new float[kh], bw = new float[kw];
        for (int i = 0; i < tn; i++) {
            int qi = t0 + i, y = qi / r.qw(), x = qi % r.qw();
            int qo = qOff + i * d;
            for (int ky = 0; ky < kh; ky++) {
                float acc = 0f;
                for (int c = 0; c < d; c++) acc += qv[qo + c] * relH[(y * kh + ky) * d + c];
                bh[ky] = acc;
            }
            for (int kx = 0; kx < kw; kx++) {
                float acc = 0f;
                for (int c = 0; c < d; c++) acc += qv[qo + c] * relW[(x * kw + kx) * d + c];
                bw[kx] = acc;
            }
            for (int ky = 0; ky < kh; ky++) {
                for (int kx = 0; kx < kw; kx++) {
                    int j = i * Nk + ky * kw + kx;
                    s[j] = (s[j] + bh[ky]) + bw[kx];
                }
            }
        }
    }

    /**
     * SAM {@code get_rel_pos(q_size, k_size, rel_pos)}: {@code table [L, d] → [q, k, d]}. If L ≠ 2·max(q, k) − 1 the
     * table is first resized along L by linear interpolation (align_corners=False). Then
     * {@code out[i][j] = table[long((i·max(k/q,1) − j·max(q/k,1)) + (k−1)·max(q/k,1))]}, in float32 as PyTorch does.
     */
    @Override
    public Tensor relPosLookup(Tensor table, int qSize, int kSize) {
        Shapes.requireRank(table, 2, "rel_pos table");
        if (qSize <= 0 || kSize <= 0) throw new IllegalArgumentException("rel_pos sizes " + qSize + ", " + kSize);
        int maxDist = 2 * Math.max(qSize, kSize) - 1;
        int L = table.size(0), d = table.size(1);
        float[] t = values(table);
        if (L != maxDist) {
            if (L == 0) throw new IllegalArgumentException("empty rel_pos table");
            Lerp lerp = Lerp.of(L, maxDist);
            float[] r = new float[maxDist * d];
            for (int i = 0; i < maxDist; i++) {
                for (int c = 0; c < d; c++) {
                    r[i * d + c] = lerp.l0[i] * t[lerp.i0[i] * d + c] + lerp.l1[i] * t[lerp.i1[i] * d + c];
                }
            }
            t = r;
        }
        float qScale = (float) Math.max((double) kSize / qSize, 1.0);
        float kScale = (float) Math.max((double) qSize / kSize, 1.0);
        float shift = (float) ((kSize - 1) * Math.max((double) qSize / kSize, 1.0));
        float[] out = new float[qSize * kSize * d];
        for (int i = 0; i < qSize; i++) {
            for (int j = 0; j < kSize; j++) {
                int idx = (int) ((i * qScale - j * kScale) + shift);
                System.arraycopy(t, idx * d, out, (i * kSize + j) * d, d);
            }
        }
        return Tensor.of(out, qSize, kSize, d);
    }

    /**
     * SAM {@code PositionEmbeddingRandom._pe_encoding}: {@code coords [..., 2]} (x, y in [0, 1]), {@code G [2, F]} →
     * {@code [..., 2F]}: {@code c = 2·p − 1}, {@code t_j = (c_x·G[0,j] + c_y·G[1,j])·float(2π)},
     * output {@code [sin t_0..t_{F−1}, cos t_0..t_{F−1}]}.
     */
    @Override
    public Tensor fourierPositionEncoding(Tensor coords, Tensor gaussian) {
        if (coords.rank() < 1 || coords.size(-1) != 2) {
            throw new IllegalArgumentException("position encoding coords must end in 2, got " + Shapes.str(coords.shape()));
        }
        Shapes.requireRank(gaussian, 2, "gaussian matrix");
        if (gaussian.size(0) != 2) throw new IllegalArgumentException("gaussian matrix must be [2, F], got " + Shapes.str(gaussian.shape()));
        int F = gaussian.size(1);
        int n = Math.toIntExact(coords.numel() / 2);
        float[] c = values(coords), g = values(gaussian);
        float twoPi = (float) (2 * Math.PI);
        float[] out = new float[n * 2 * F];
        par.forRange(n, p -> {
            float cx = 2f * c[2 * p] - 1f, cy = 2f * c[2 * p + 1] - 1f;
            for (int j = 0; j < F; j++) {
                float t = (cx * g[j] + cy * g[F + j]) * twoPi;
                out[p * 2 * F + j] = (float) Math.sin(t);
                out[p * 2 * F + F + j] = (float) Math.cos(t);
            }
        });
        int[] s = coords.shape();
        s[s.length - 1] = 2 * F;
        return Tensor.of(out, s);
    }

    /** {@code torch.argmax(x, dim=-1)}: first index of the maximum per row (NaN counts as the maximum, as in PyTorch). */
    @Override
    public int[] argmax(Tensor x) {
        if (x.rank() == 0) return new int[] {0};
        int D = x.size(-1);
        if (D == 0) throw new IllegalArgumentException("argmax over an empty dimension");
        float[] v = values(x);
        int rows = v.length / D;
        int[] idx = new int[rows];
        for (int r = 0; r < rows; r++) {
            int best = 0;
            float bv = v[r * D];
            for (int j = 1; j < D && !Float.isNaN(bv); j++) {
                float c = v[r * D + j];
                if (c > bv || Float.isNaN(c)) {
                    best = j;
                    bv = c;
                }
            }
            idx[r] = best;
        }
        return idx;
    }

    /**
     * See {@link Backend#classMaps}; the reference: per pixel the maximum and the exponentials {@code e^{x − max}} in
     * double, {@code p = e/Σe}, one rounding to float per output; the region sums in double in pixel order. Images run
     * in parallel, the pixels of one image in order.
     */
    @Override
    public ClassMaps classMaps(Tensor logits, Tensor region) {
        int[] s = classMapsShape(logits, region);
        int B = s[0], K = s[1], hw = s[2] * s[3];
        float[] v = values(logits), r = values(region);
        float[] labels = new float[B * hw], fg = new float[B * hw], means = new float[B * K];
        par.forRange(B, b -> classMapsImage(v, b * K * hw, r, b * hw, K, hw, labels, fg, means, b * K));
        return new ClassMaps(Tensor.of(labels, s[0], s[2], s[3]), Tensor.of(fg, s[0], s[2], s[3]), Tensor.of(means, B, K));
    }

    /** Checks {@link Backend#classMaps}' arguments and returns {@code {B, K, H, W}}. */
    static int[] classMapsShape(Tensor logits, Tensor region) {
        Shapes.requireRank(logits, 4, "class maps logits");
        int[] s = logits.shape();
        if (s[1] < 1) throw new IllegalArgumentException("class maps need at least one class, got logits " + Shapes.str(s));
        if (!region.hasShape(s[0], 1, s[2], s[3])) {
            throw new IllegalArgumentException("class maps region must be [" + s[0] + ", 1, " + s[2] + ", " + s[3] + "], got " + Shapes.str(region.shape()));
        }
        return s;
    }

    /** One image of {@link #classMaps}: K planes of hw logits from {@code v[vo]}, the region plane from {@code r[ro]}. */
    static void classMapsImage(float[] v, int vo, float[] r, int ro, int K, int hw, float[] labels, float[] fg, float[] means, int mo) {
        double[][] sums = new double[2][K]; // [0]: pixels with label ≠ 0, [1]: pixels of the region
        int[] counts = new int[2];
        double[] p = new double[K];
        for (int i = 0; i < hw; i++) {
            double max = Double.NEGATIVE_INFINITY;
            int arg = 0;
            for (int k = 0; k < K; k++) {
                double x = v[vo + k * hw + i];
                if (x > max) {
                    max = x;
                    arg = k;
                }
            }
            double z = 0;
            for (int k = 0; k < K; k++) z += p[k] = Math.exp(v[vo + k * hw + i] - max);
            labels[ro + i] = arg;
            fg[ro + i] = (float) (1 - p[0] / z);
            for (int set = 0; set < 2; set++) {
                if (set == 0 ? arg != 0 : r[ro + i] > 0f) {
                    counts[set]++;
                    for (int k = 0; k < K; k++) sums[set][k] += p[k] / z;
                }
            }
        }
        int set = counts[0] > 0 ? 0 : 1;
        if (counts[set] > 0) for (int k = 0; k < K; k++) means[mo + k] = (float) (sums[set][k] / counts[set]);
    }
}
