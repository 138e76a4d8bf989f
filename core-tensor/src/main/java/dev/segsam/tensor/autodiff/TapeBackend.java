package dev.segsam.tensor.autodiff;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Device;
import dev.segsam.tensor.Shapes;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorScope;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The recording {@link Backend} of a {@link Tape}: forward values come from the wrapped backend; each op whose inputs
 * the tape tracks also registers its backward formula. Values needed by a backward formula are copied at forward
 * time, so the model may free its inputs as it goes.
 */
final class TapeBackend implements Backend {
    private final Tape tape;
    private final Backend b;
    private final Grads grads;

    TapeBackend(Tape tape) {
        this.tape = tape;
        this.b = tape.base;
        this.grads = new Grads(b.parallel(), !(b instanceof dev.segsam.tensor.CpuBackend));
    }

    @Override
    public dev.segsam.tensor.Parallel parallel() {
        return b.parallel();
    }

    @Override
    public String name() {
        return "tape(" + b.name() + ")";
    }

    @Override
    public Device device() {
        return Device.CPU;
    }

    /** Constants entering the graph are copied into tape-owned memory (the caller may close theirs). */
    @Override
    public Tensor upload(Tensor host) {
        return tape.tracks(host) ? host : tape.constant(host.copy());
    }

    @Override
    public Tensor download(Tensor t) {
        return t;
    }

    @Override
    public Tensor zeros(int... shape) {
        return tape.constant(b.zeros(shape));
    }

    private boolean any(Tensor... ts) {
        for (Tensor t : ts) if (t != null && tape.tracks(t)) return true;
        return false;
    }

    private static float[] v(Tensor t) {
        return t == null ? null : t.toArray();
    }

    // ------------------------------------------------------------------ linear algebra

    @Override
    public Tensor matmul(Tensor a, Tensor bb) {
        Tensor y = b.matmul(a, bb);
        if (!any(a, bb)) return tape.constant(y);
        int[] as = a.shape(), bs = bb.shape(), ys = y.shape();
        int M = as[as.length - 2], K = as[as.length - 1], N = bs[bs.length - 1];
        float[] av = v(a), bv = v(bb);
        int[] batch = Arrays.copyOf(ys, ys.length - 2);
        int[] batchA = Arrays.copyOf(as, as.length - 2), batchB = Arrays.copyOf(bs, bs.length - 2);
        return tape.record(y, n -> {
            int nb = Math.toIntExact(Shapes.numel(batch));
            long[] sa = Shapes.broadcastStrides(batchA, batch), sb = Shapes.broadcastStrides(batchB, batch);
            float[] ga = tape.tracks(a) ? new float[av.length] : null, gb = tape.tracks(bb) ? new float[bv.length] : null;
            for (int i = 0; i < nb; i++) {
                int ao = (int) (flatOffset(i, batch, sa) * M * K), bo = (int) (flatOffset(i, batch, sb) * K * N), yo = i * M * N;
                if (ga != null) grads.gemm(n.grad, yo, false, bv, bo, true, ga, ao, M, N, K);   // dA = dY·Bᵀ
                if (gb != null) grads.gemm(av, ao, true, n.grad, yo, false, gb, bo, K, M, N);   // dB = Aᵀ·dY
            }
            if (ga != null) tape.accumulate(a, ga);
            if (gb != null) tape.accumulate(bb, gb);
        });
    }

    private static long flatOffset(long flat, int[] shape, long[] strides) {
        long off = 0;
        for (int d = shape.length - 1; d >= 0; d--) {
            off += (flat % shape[d]) * strides[d];
            flat /= shape[d];
        }
        return off;
    }

    @Override
    public Tensor linear(Tensor x, Tensor w, Tensor bias) {
        Tensor y = b.linear(x, w, bias);
        if (!any(x, w, bias)) return tape.constant(y);
        int in = w.size(1), out = w.size(0), rows = Math.toIntExact(x.numel() / in);
        float[] xv = v(x), wv = v(w);
        return tape.record(y, n -> {
            if (tape.tracks(x)) {
                float[] gx = new float[xv.length];
                grads.gemm(n.grad, 0, false, wv, 0, false, gx, 0, rows, out, in);        // dX = dY·W
                tape.accumulate(x, gx);
            }
            if (tape.tracks(w)) {
                float[] gw = new float[wv.length];
                grads.gemm(n.grad, 0, true, xv, 0, false, gw, 0, out, rows, in);         // dW = dYᵀ·X
                tape.accumulate(w, gw);
            }
            if (bias != null && tape.tracks(bias)) {
                float[] gb = new float[out];
                for (int r = 0; r < rows; r++) for (int o = 0; o < out; o++) gb[o] += n.grad[r * out + o];
                tape.accumulate(bias, gb);
            }
        });
    }

    @Override
    public Tensor im2col(Tensor x, int kh, int kw, int sh, int sw, int ph, int pw) {
        Tensor y = b.im2col(x, kh, kw, sh, sw, ph, pw);
        if (!any(x)) return tape.constant(y);
        int[] xs = x.shape();
        return tape.record(y, n -> tape.accumulate(x, col2im(n.grad, xs, kh, kw, sh, sw, ph, pw)));
    }

    /** The adjoint of im2col: scatter-add every column entry back to its input pixel. */
    static float[] col2im(float[] cols, int[] xs, int kh, int kw, int sh, int sw, int ph, int pw) {
        int B = xs[0], C = xs[1], H = xs[2], W = xs[3];
        int Ho = (H + 2 * ph - kh) / sh + 1, Wo = (W + 2 * pw - kw) / sw + 1, rows = C * kh * kw, L = Ho * Wo;
        float[] gx = new float[B * C * H * W];
        for (int b = 0; b < B; b++) {
            for (int row = 0; row < rows; row++) {
                int c = row / (kh * kw), i = (row / kw) % kh, j = row % kw;
                for (int oy = 0; oy < Ho; oy++) {
                    int y = oy * sh - ph + i;
                    if (y < 0 || y >= H) continue;
                    for (int ox = 0; ox < Wo; ox++) {
                        int xx = ox * sw - pw + j;
                        if (xx >= 0 && xx < W) gx[((b * C + c) * H + y) * W + xx] += cols[(b * rows + row) * L + oy * Wo + ox];
                    }
                }
            }
        }
        return gx;
    }

    @Override
    public Tensor conv2d(Tensor x, Tensor w, Tensor bias, int sh, int sw, int ph, int pw) {
        Tensor y = b.conv2d(x, w, bias, sh, sw, ph, pw);
        if (!any(x, w, bias)) return tape.constant(y);
        int[] xs = x.shape();
        int B = xs[0], O = w.size(0), C = w.size(1), kh = w.size(2), kw = w.size(3), Ho = y.size(2), Wo = y.size(3);
        int CKK = C * kh * kw, L = Ho * Wo;
        float[] cols;
        try (Tensor c = b.im2col(x, kh, kw, sh, sw, ph, pw)) {
            cols = c.toArray();
        }
        float[] wv = v(w);
        return tape.record(y, n -> {
            if (tape.tracks(w)) {
                float[] gw = new float[wv.length];
                for (int bi = 0; bi < B; bi++) grads.gemm(n.grad, bi * O * L, false, cols, bi * CKK * L, true, gw, 0, O, L, CKK); // dW += dY·colsᵀ
                tape.accumulate(w, gw);
            }
            if (bias != null && tape.tracks(bias)) {
                float[] gb = new float[O];
                for (int bi = 0; bi < B; bi++) for (int o = 0; o < O; o++) for (int l = 0; l < L; l++) gb[o] += n.grad[(bi * O + o) * L + l];
                tape.accumulate(bias, gb);
            }
            if (tape.tracks(x)) {
                float[] gcols = new float[B * CKK * L];
                for (int bi = 0; bi < B; bi++) grads.gemm(wv, 0, true, n.grad, bi * O * L, false, gcols, bi * CKK * L, CKK, O, L); // Wᵀ·dY
                tape.accumulate(x, col2im(gcols, xs, kh, kw, sh, sw, ph, pw));
            }
        });
    }

    @Override
    public Tensor convTranspose2d(Tensor x, Tensor w, Tensor bias, int s) {
        Tensor y = b.convTranspose2d(x, w, bias, s);
        if (!any(x, w, bias)) return tape.constant(y);
        int B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), O = w.size(1), kh = w.size(2), kw = w.size(3);
        int Ho = y.size(2), Wo = y.size(3);
        float[] xv = v(x), wv = v(w);
        int OKK = O * kh * kw, HW = H * W;
        return tape.record(y, n -> {
            float[] g = n.grad;
            float[] gx = tape.tracks(x) ? new float[xv.length] : null, gw = tape.tracks(w) ? new float[wv.length] : null;
            for (int bi = 0; bi < B; bi++) {
                // gcols[(o,i,j), (yy,xx)] = dY[o, yy·s + i, xx·s + j]: the adjoint of the forward scatter
                float[] gcols = new float[OKK * HW];
                for (int o = 0; o < O; o++) for (int i = 0; i < kh; i++) for (int j = 0; j < kw; j++) {
                    int row = ((o * kh + i) * kw + j) * HW;
                    for (int yy = 0; yy < H; yy++) for (int xx = 0; xx < W; xx++) {
                        gcols[row + yy * W + xx] = g[((bi * O + o) * Ho + yy * s + i) * Wo + xx * s + j];
                    }
                }
                if (gx != null) grads.gemm(wv, 0, false, gcols, 0, false, gx, bi * C * HW, C, OKK, HW);   // dX = W·gcols
                if (gw != null) grads.gemm(xv, bi * C * HW, false, gcols, 0, true, gw, 0, C, HW, OKK);   // dW = X·gcolsᵀ
            }
            if (gx != null) tape.accumulate(x, gx);
            if (gw != null) tape.accumulate(w, gw);
            if (bias != null && tape.tracks(bias)) {
                float[] gb = new float[O];
                for (int bi = 0; bi < B; bi++) for (int o = 0; o < O; o++) for (int p = 0; p < Ho * Wo; p++) gb[o] += g[(bi * O + o) * Ho * Wo + p];
                tape.accumulate(bias, gb);
            }
        });
    }

    // ------------------------------------------------------------------ normalisation and activations

    @Override
    public Tensor layerNorm(Tensor x, Tensor w, Tensor bias, float eps) {
        Tensor y = b.layerNorm(x, w, bias, eps);
        if (!any(x, w, bias)) return tape.constant(y);
        int D = x.size(-1), rows = Math.toIntExact(x.numel() / D);
        float[] xv = v(x), wv = v(w);
        return tape.record(y, n -> {
            float[] gx = new float[xv.length], gw = w == null ? null : new float[D], gb = bias == null ? null : new float[D];
            for (int r = 0; r < rows; r++) Grads.layerNormGroup(xv, n.grad, gx, wv, gw, gb, r * D, 1, D, eps);
            tape.accumulate(x, gx);
            if (w != null) tape.accumulate(w, gw);
            if (bias != null) tape.accumulate(bias, gb);
        });
    }

    @Override
    public Tensor layerNorm2d(Tensor x, Tensor w, Tensor bias, float eps) {
        Tensor y = b.layerNorm2d(x, w, bias, eps);
        if (!any(x, w, bias)) return tape.constant(y);
        int B = x.size(0), C = x.size(1), HW = x.size(2) * x.size(3);
        float[] xv = v(x), wv = v(w);
        return tape.record(y, n -> {
            float[] gx = new float[xv.length], gw = w == null ? null : new float[C], gb = bias == null ? null : new float[C];
            for (int p = 0; p < B * HW; p++) Grads.layerNormGroup(xv, n.grad, gx, wv, gw, gb, (p / HW) * C * HW + p % HW, HW, C, eps);
            tape.accumulate(x, gx);
            if (w != null) tape.accumulate(w, gw);
            if (bias != null) tape.accumulate(bias, gb);
        });
    }

    private interface Deriv {
        float at(int i);
    }

    private Tensor pointwise(Tensor x, Tensor y, Deriv d) {
        return tape.record(y, n -> {
            float[] gx = new float[n.numel];
            for (int i = 0; i < gx.length; i++) gx[i] = n.grad[i] * d.at(i);
            tape.accumulate(x, gx);
        });
    }

    @Override
    public Tensor gelu(Tensor x) {
        Tensor y = b.gelu(x);
        if (!any(x)) return tape.constant(y);
        float[] xv = v(x);
        return pointwise(x, y, i -> (float) Grads.geluPrime(xv[i]));
    }

    @Override
    public Tensor relu(Tensor x) {
        Tensor y = b.relu(x);
        if (!any(x)) return tape.constant(y);
        float[] xv = v(x);
        return pointwise(x, y, i -> xv[i] > 0 ? 1f : 0f);
    }

    @Override
    public Tensor sigmoid(Tensor x) {
        Tensor y = b.sigmoid(x);
        if (!any(x)) return tape.constant(y);
        float[] yv = v(y);
        return pointwise(x, y, i -> yv[i] * (1 - yv[i]));
    }

    @Override
    public Tensor softmax(Tensor x) {
        Tensor y = b.softmax(x);
        if (!any(x)) return tape.constant(y);
        int D = x.size(-1), rows = Math.toIntExact(x.numel() / D);
        float[] yv = v(y);
        return tape.record(y, n -> {
            float[] gx = new float[yv.length];
            for (int r = 0; r < rows; r++) softmaxBackwardRow(yv, n.grad, gx, r * D, D);
            tape.accumulate(x, gx);
        });
    }

    /** {@code dx = y ⊙ (dy − Σ dy·y)} for one row. */
    static void softmaxBackwardRow(float[] y, float[] gy, float[] gx, int off, int n) {
        double dot = 0;
        for (int i = 0; i < n; i++) dot += (double) gy[off + i] * y[off + i];
        for (int i = 0; i < n; i++) gx[off + i] = (float) (y[off + i] * (gy[off + i] - dot));
    }

    // ------------------------------------------------------------------ element-wise

    private interface Partial {
        float of(float a, float b, float g);
    }

    private Tensor binary(Tensor a, Tensor c, Tensor y, Partial da, Partial db) {
        int[] out = y.shape(), sa = a.shape(), sc = c.shape();
        float[] av = expand(v(a), sa, out), cv = expand(v(c), sc, out);
        return tape.record(y, n -> {
            if (tape.tracks(a)) {
                float[] g = new float[n.numel];
                for (int i = 0; i < g.length; i++) g[i] = da.of(av[i], cv[i], n.grad[i]);
                tape.accumulate(a, Grads.reduceTo(g, out, sa));
            }
            if (tape.tracks(c)) {
                float[] g = new float[n.numel];
                for (int i = 0; i < g.length; i++) g[i] = db.of(av[i], cv[i], n.grad[i]);
                tape.accumulate(c, Grads.reduceTo(g, out, sc));
            }
        });
    }

    /** Values of a tensor of shape {@code in} broadcast to {@code out}. */
    private static float[] expand(float[] v, int[] in, int[] out) {
        if (Arrays.equals(in, out)) return v;
        long[] s = Shapes.broadcastStrides(in, out);
        float[] r = new float[Math.toIntExact(Shapes.numel(out))];
        int[] idx = new int[out.length];
        for (int i = 0; i < r.length; i++) {
            long off = 0;
            for (int d = 0; d < out.length; d++) off += idx[d] * s[d];
            r[i] = v[(int) off];
            for (int d = out.length - 1; d >= 0; d--) {
                if (++idx[d] < out[d]) break;
                idx[d] = 0;
            }
        }
        return r;
    }

    @Override
    public Tensor add(Tensor a, Tensor c) {
        Tensor y = b.add(a, c);
        return any(a, c) ? binary(a, c, y, (x, z, g) -> g, (x, z, g) -> g) : tape.constant(y);
    }

    @Override
    public Tensor sub(Tensor a, Tensor c) {
        Tensor y = b.sub(a, c);
        return any(a, c) ? binary(a, c, y, (x, z, g) -> g, (x, z, g) -> -g) : tape.constant(y);
    }

    @Override
    public Tensor mul(Tensor a, Tensor c) {
        Tensor y = b.mul(a, c);
        return any(a, c) ? binary(a, c, y, (x, z, g) -> g * z, (x, z, g) -> g * x) : tape.constant(y);
    }

    @Override
    public Tensor div(Tensor a, Tensor c) {
        Tensor y = b.div(a, c);
        return any(a, c) ? binary(a, c, y, (x, z, g) -> g / z, (x, z, g) -> -g * x / (z * z)) : tape.constant(y);
    }

    @Override
    public Tensor scale(Tensor x, float s) {
        Tensor y = b.scale(x, s);
        return any(x) ? pointwise(x, y, i -> s) : tape.constant(y);
    }

    // ------------------------------------------------------------------ layout

    @Override
    public Tensor permute(Tensor x, int... dims) {
        Tensor y = b.permute(x, dims);
        if (!any(x)) return tape.constant(y);
        int[] inverse = new int[dims.length];
        for (int i = 0; i < dims.length; i++) inverse[Shapes.axis(dims[i], dims.length)] = i;
        int[] ys = y.shape();
        return tape.record(y, n -> {
            try (TensorScope _ = TensorScope.open()) {
                tape.accumulate(x, b.permute(Tensor.of(n.grad, ys), inverse).toArray());
            }
        });
    }

    @Override
    public Tensor concat(List<Tensor> tensors, int dim) {
        Tensor y = b.concat(tensors, dim);
        if (!any(tensors.toArray(new Tensor[0]))) return tape.constant(y);
        List<Tensor> parts = new ArrayList<>(tensors);
        int d = Shapes.axis(dim, y.rank());
        int[] ys = y.shape();
        return tape.record(y, n -> {
            try (TensorScope _ = TensorScope.open()) {
                Tensor g = Tensor.of(n.grad, ys);
                int at = 0;
                for (Tensor t : parts) {
                    int len = t.size(d);
                    if (tape.tracks(t)) tape.accumulate(t, b.slice(g, d, at, len).toArray());
                    at += len;
                }
            }
        });
    }

    @Override
    public Tensor slice(Tensor x, int dim, int start, int length) {
        Tensor y = b.slice(x, dim, start, length);
        if (!any(x)) return tape.constant(y);
        int[] xs = x.shape();
        int d = Shapes.axis(dim, xs.length);
        int outer = Math.toIntExact(Shapes.numel(xs, 0, d)), inner = Math.toIntExact(Shapes.numel(xs, d + 1, xs.length));
        return tape.record(y, n -> {
            float[] gx = new float[Math.toIntExact(Shapes.numel(xs))];
            for (int o = 0; o < outer; o++) System.arraycopy(n.grad, o * length * inner, gx, (o * xs[d] + start) * inner, length * inner);
            tape.accumulate(x, gx);
        });
    }

    @Override
    public Windows windowPartition(Tensor x, int ws) {
        Windows w = b.windowPartition(x, ws);
        if (!any(x)) return new Windows(tape.constant(w.windows()), w.paddedH(), w.paddedW());
        int h = x.size(1), wd = x.size(2);
        int[] ws4 = w.windows().shape();
        Tensor y = tape.record(w.windows(), n -> {
            try (TensorScope _ = TensorScope.open()) {
                tape.accumulate(x, b.windowUnpartition(Tensor.of(n.grad, ws4), ws, w.paddedH(), w.paddedW(), h, wd).toArray());
            }
        });
        return new Windows(y, w.paddedH(), w.paddedW());
    }

    @Override
    public Tensor windowUnpartition(Tensor windows, int ws, int hp, int wp, int h, int w) {
        Tensor y = b.windowUnpartition(windows, ws, hp, wp, h, w);
        if (!any(windows)) return tape.constant(y);
        int[] ys = y.shape();
        return tape.record(y, n -> {
            // the adjoint of the crop-and-copy is the zero-padded partition
            try (TensorScope _ = TensorScope.open()) {
                tape.accumulate(windows, b.windowPartition(Tensor.of(n.grad, ys), ws).windows().toArray());
            }
        });
    }

    @Override
    public Tensor interpolateBilinear(Tensor x, int outH, int outW) {
        Tensor y = b.interpolateBilinear(x, outH, outW);
        if (!any(x)) return tape.constant(y);
        int B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
        return tape.record(y, n -> {
            float[] gx = new float[B * C * H * W];
            float sh = (float) H / outH, sw = (float) W / outW;
            for (int p = 0; p < B * C; p++) {
                for (int oy = 0; oy < outH; oy++) {
                    float fy = Math.max(0f, sh * (oy + 0.5f) - 0.5f);
                    int y0 = (int) fy, y1 = y0 + (y0 < H - 1 ? 1 : 0);
                    float ly1 = fy - y0, ly0 = 1f - ly1;
                    for (int ox = 0; ox < outW; ox++) {
                        float fx = Math.max(0f, sw * (ox + 0.5f) - 0.5f);
                        int x0 = (int) fx, x1 = x0 + (x0 < W - 1 ? 1 : 0);
                        float lx1 = fx - x0, lx0 = 1f - lx1;
                        float g = n.grad[(p * outH + oy) * outW + ox];
                        int base = p * H * W;
                        gx[base + y0 * W + x0] += g * ly0 * lx0;
                        gx[base + y0 * W + x1] += g * ly0 * lx1;
                        gx[base + y1 * W + x0] += g * ly1 * lx0;
                        gx[base + y1 * W + x1] += g * ly1 * lx1;
                    }
                }
            }
            tape.accumulate(x, gx);
        });
    }

    // ------------------------------------------------------------------ attention and positional encodings

    /**
     * Attention computed here (not by the wrapped backend) so that the probabilities P can be kept for the backward
     * pass: {@code S = (q·scale)·kᵀ (+ rel-pos from the unscaled q)}, {@code P = softmax(S)} (double sums),
     * {@code O = P·v}. Backward: {@code dV = Pᵀ·dO}, {@code dP = dO·Vᵀ}, {@code dS = P ⊙ (dP − rowsum(dP ⊙ P))},
     * {@code dq = scale·dS·k + rel terms}, {@code dk = scale·dSᵀ·q}.
     */
    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, float scale, RelPos rel) {
        if (!any(q, k, v, rel == null ? null : rel.relH(), rel == null ? null : rel.relW())) return tape.constant(b.attention(q, k, v, scale, rel));
        int B = q.size(0), Nq = q.size(1), d = q.size(2), Nk = k.size(1), dv = v.size(2);
        if (k.size(0) != B || v.size(0) != B || k.size(2) != d || v.size(1) != Nk) return b.attention(q, k, v, scale, rel); // reports the error
        float[] qv = v(q), kv = v(k), vv = v(v);
        float[] rhT = rel == null ? null : transposeTable(v(rel.relH()), rel.qh(), rel.kh(), d);
        float[] rwT = rel == null ? null : transposeTable(v(rel.relW()), rel.qw(), rel.kw(), d);
        float[] probs = new float[B * Nq * Nk];
        float[] out = new float[B * Nq * dv];
        b.parallel().forRange(B, bi -> {
            float[] qs = new float[Nq * d];
            for (int i = 0; i < qs.length; i++) qs[i] = qv[bi * Nq * d + i] * scale;
            grads.gemmSerial(qs, 0, kv, bi * Nk * d, true, probs, bi * Nq * Nk, Nq, d, Nk);
            if (rel != null) relForward(probs, bi * Nq * Nk, qv, bi * Nq * d, Nq, d, Nk, rhT, rwT, rel);
            for (int i = 0; i < Nq; i++) softmaxRow(probs, bi * Nq * Nk + i * Nk, Nk);
            grads.gemmSerial(probs, bi * Nq * Nk, vv, bi * Nk * dv, false, out, bi * Nq * dv, Nq, Nk, dv);
        });
        Tensor y = Tensor.of(out, B, Nq, dv);
        return tape.record(y, n -> {
            float[] gq = new float[qv.length], gk = new float[kv.length], gv = new float[vv.length];
            float[] grhT = rel == null ? null : new float[rhT.length], grwT = rel == null ? null : new float[rwT.length];
            for (int bi = 0; bi < B; bi++) {
                int po = bi * Nq * Nk, go = bi * Nq * dv;
                grads.gemm(probs, po, true, n.grad, go, false, gv, bi * Nk * dv, Nk, Nq, dv);       // dV = Pᵀ·dO
                float[] dp = new float[Nq * Nk];
                grads.gemm(n.grad, go, false, vv, bi * Nk * dv, true, dp, 0, Nq, dv, Nk);         // dP = dO·Vᵀ
                float[] ds = new float[Nq * Nk];
                for (int i = 0; i < Nq; i++) softmaxBackwardRow(probs, po, dp, ds, i * Nk, Nk);
                float[] tmp = new float[Nq * d];
                grads.gemm(ds, 0, false, kv, bi * Nk * d, false, tmp, 0, Nq, Nk, d);
                for (int i = 0; i < tmp.length; i++) gq[bi * Nq * d + i] += scale * tmp[i];
                float[] tmpk = new float[Nk * d];
                grads.gemm(ds, 0, true, qv, bi * Nq * d, false, tmpk, 0, Nk, Nq, d);
                for (int i = 0; i < tmpk.length; i++) gk[bi * Nk * d + i] += scale * tmpk[i];
                if (rel != null) relBackward(ds, qv, gq, bi * Nq * d, Nq, Nk, d, rhT, rwT, grhT, grwT, rel);
            }
            tape.accumulate(q, gq);
            tape.accumulate(k, gk);
            tape.accumulate(v, gv);
            if (rel != null) {
                tape.accumulate(rel.relH(), untransposeTable(grhT, rel.qh(), rel.kh(), d));
                tape.accumulate(rel.relW(), untransposeTable(grwT, rel.qw(), rel.kw(), d));
            }
        });
    }

    /** {@code [n, k, d] → [n, d, k]}. */
    static float[] transposeTable(float[] t, int n, int k, int d) {
        float[] o = new float[t.length];
        for (int a = 0; a < n; a++) for (int j = 0; j < k; j++) for (int c = 0; c < d; c++) o[(a * d + c) * k + j] = t[(a * k + j) * d + c];
        return o;
    }

    /** {@code [n, d, k] → [n, k, d]}. */
    static float[] untransposeTable(float[] t, int n, int k, int d) {
        float[] o = new float[t.length];
        for (int a = 0; a < n; a++) for (int j = 0; j < k; j++) for (int c = 0; c < d; c++) o[(a * k + j) * d + c] = t[(a * d + c) * k + j];
        return o;
    }

    private static void softmaxRow(float[] s, int off, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, s[off + i]);
        double sum = 0;
        for (int i = 0; i < n; i++) {
            float e = (float) Math.exp((double) s[off + i] - max);
            s[off + i] = e;
            sum += e;
        }
        float inv = (float) (1.0 / sum);
        for (int i = 0; i < n; i++) s[off + i] *= inv;
    }

    /** {@code dx = y ⊙ (dy − Σ dy·y)} for one row, {@code y} read at {@code yo + off}. */
    static void softmaxBackwardRow(float[] y, int yo, float[] gy, float[] gx, int off, int n) {
        double dot = 0;
        for (int i = 0; i < n; i++) dot += (double) gy[off + i] * y[yo + off + i];
        for (int i = 0; i < n; i++) gx[off + i] = (float) (y[yo + off + i] * (gy[off + i] - dot));
    }

    /** Adds {@code q·Rh[y, ky] + q·Rw[x, kx]} (unscaled q) to each score row; tables transposed to [n, d, k]. */
    private static void relForward(float[] s, int so, float[] qv, int qo, int Nq, int d, int Nk, float[] rhT, float[] rwT, RelPos r) {
        int kh = r.kh(), kw = r.kw();
        float[] bh = new float[kh], bw = new float[kw];
        for (int i = 0; i < Nq; i++) {
            int y = i / r.qw(), x = i % r.qw();
            java.util.Arrays.fill(bh, 0f);
            java.util.Arrays.fill(bw, 0f);
            for (int c = 0; c < d; c++) {
                float qc = qv[qo + i * d + c];
                int h0 = (y * d + c) * kh, w0 = (x * d + c) * kw;
                for (int ky = 0; ky < kh; ky++) bh[ky] += qc * rhT[h0 + ky];
                for (int kx = 0; kx < kw; kx++) bw[kx] += qc * rwT[w0 + kx];
            }
            for (int ky = 0; ky < kh; ky++) {
                int row = so + i * Nk + ky * kw;
                for (int kx = 0; kx < kw; kx++) s[row + kx] = (s[row + kx] + bh[ky]) + bw[kx];
            }
        }
    }

    /** Gradients of the rel-pos bias for q and the transposed tables ({@code gq}, {@code grhT}, {@code grwT} accumulate). */
    private static void relBackward(float[] ds, float[] qv, float[] gq, int qo, int Nq, int Nk, int d, float[] rhT, float[] rwT,
                                    float[] grhT, float[] grwT, RelPos r) {
        int kh = r.kh(), kw = r.kw();
        float[] sh = new float[kh], sw = new float[kw];
        for (int i = 0; i < Nq; i++) {
            int y = i / r.qw(), x = i % r.qw();
            java.util.Arrays.fill(sh, 0f);
            java.util.Arrays.fill(sw, 0f);
            for (int ky = 0; ky < kh; ky++) {
                int row = i * Nk + ky * kw;
                for (int kx = 0; kx < kw; kx++) {
                    float g = ds[row + kx];
                    sh[ky] += g;
                    sw[kx] += g;
                }
            }
            for (int c = 0; c < d; c++) {
                float qc = qv[qo + i * d + c];
                int h0 = (y * d + c) * kh, w0 = (x * d + c) * kw;
                float acc = 0f;
                for (int ky = 0; ky < kh; ky++) {
                    acc += sh[ky] * rhT[h0 + ky];
                    grhT[h0 + ky] += sh[ky] * qc;
                }
                for (int kx = 0; kx < kw; kx++) {
                    acc += sw[kx] * rwT[w0 + kx];
                    grwT[w0 + kx] += sw[kx] * qc;
                }
                gq[qo + i * d + c] += acc;
            }
        }
    }

    @Override
    public Tensor relPosLookup(Tensor table, int qSize, int kSize) {
        Tensor y = b.relPosLookup(table, qSize, kSize);
        if (!any(table)) return tape.constant(y);
        int L = table.size(0), d = table.size(1), maxDist = 2 * Math.max(qSize, kSize) - 1;
        if (L != maxDist) throw new UnsupportedOperationException("gradient of a resized rel-pos table is not implemented");
        float qScale = (float) Math.max((double) kSize / qSize, 1.0), kScale = (float) Math.max((double) qSize / kSize, 1.0);
        float shift = (float) ((kSize - 1) * Math.max((double) qSize / kSize, 1.0));
        return tape.record(y, n -> {
            float[] gt = new float[L * d];
            for (int i = 0; i < qSize; i++) {
                for (int j = 0; j < kSize; j++) {
                    int idx = (int) ((i * qScale - j * kScale) + shift);
                    for (int c = 0; c < d; c++) gt[idx * d + c] += n.grad[(i * kSize + j) * d + c];
                }
            }
            tape.accumulate(table, gt);
        });
    }

    @Override
    public Tensor fourierPositionEncoding(Tensor coords, Tensor gaussian) {
        Tensor y = b.fourierPositionEncoding(coords, gaussian);
        if (!any(coords, gaussian)) return tape.constant(y);
        int F = gaussian.size(1), P = Math.toIntExact(coords.numel() / 2);
        float[] c = v(coords), g = v(gaussian);
        float twoPi = (float) (2 * Math.PI);
        return tape.record(y, n -> {
            float[] gc = new float[c.length], gg = new float[g.length];
            for (int p = 0; p < P; p++) {
                float cx = 2f * c[2 * p] - 1f, cy = 2f * c[2 * p + 1] - 1f;
                for (int j = 0; j < F; j++) {
                    double t = (cx * g[j] + cy * g[F + j]) * twoPi;
                    // y = [sin t, cos t]: dL/dt = g_sin·cos t − g_cos·sin t
                    double dt = (n.grad[p * 2 * F + j] * Math.cos(t) - n.grad[p * 2 * F + F + j] * Math.sin(t)) * twoPi;
                    gg[j] += (float) (dt * cx);
                    gg[F + j] += (float) (dt * cy);
                    gc[2 * p] += (float) (dt * g[j] * 2);
                    gc[2 * p + 1] += (float) (dt * g[F + j] * 2);
                }
            }
            tape.accumulate(coords, gc);
            tape.accumulate(gaussian, gg);
        });
    }

    @Override
    public int[] argmax(Tensor x) {
        return b.argmax(x);
    }
}
