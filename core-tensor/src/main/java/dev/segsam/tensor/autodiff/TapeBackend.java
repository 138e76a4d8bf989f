package dev.segsam.tensor.autodiff;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.BackwardOps;
import dev.segsam.tensor.Device;
import dev.segsam.tensor.Shapes;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorScope;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The recording {@link Backend} of a {@link Tape}: forward values come from the wrapped backend; each op whose inputs
 * the tape tracks also registers its backward formula, written with the wrapped backend's ops (forward ops with
 * transposes for the products, its backward ops for the rest), so gradients never leave that backend. Forward values
 * a formula needs are {@linkplain Tape#hold held}.
 */
final class TapeBackend implements Backend {
    private final Tape tape;
    private final Backend b;

    TapeBackend(Tape tape) {
        this.tape = tape;
        this.b = tape.base;
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
        return b.device();
    }

    /** Constants entering the graph are copied into tape-owned memory (the caller may close theirs). */
    @Override
    public Tensor upload(Tensor host) {
        if (tape.tracks(host)) return host;
        try (TensorScope s = TensorScope.open()) {
            Tensor u = b.upload(host);
            return tape.constant(s.keep(u == host ? host.copy() : u));
        }
    }

    @Override
    public Tensor download(Tensor t) {
        return b.download(t);
    }

    @Override
    public Tensor zeros(int... shape) {
        return tape.constant(b.zeros(shape));
    }

    private boolean any(Tensor... ts) {
        for (Tensor t : ts) if (t != null && tape.tracks(t)) return true;
        return false;
    }

    private Tensor transposeLast(Tensor t) {
        int r = t.rank();
        int[] dims = new int[r];
        for (int i = 0; i < r; i++) dims[i] = i;
        dims[r - 2] = r - 1;
        dims[r - 1] = r - 2;
        return b.permute(t, dims);
    }

    // ------------------------------------------------------------------ linear algebra

    @Override
    public Tensor matmul(Tensor a, Tensor bb) {
        Tensor y = b.matmul(a, bb);
        if (!any(a, bb)) return tape.constant(y);
        Tensor av = tape.hold(a), bv = tape.hold(bb);
        int[] as = a.shape(), bs = bb.shape();
        return tape.record(y, g -> {
            if (tape.tracks(a)) tape.accumulate(a, b.sumTo(b.matmulNT(g, bv), as));                  // dA = dY·Bᵀ
            if (tape.tracks(bb)) tape.accumulate(bb, b.sumTo(b.matmul(transposeLast(av), g), bs)); // dB = Aᵀ·dY
        });
    }

    @Override
    public Tensor linear(Tensor x, Tensor w, Tensor bias) {
        Tensor y = b.linear(x, w, bias);
        if (!any(x, w, bias)) return tape.constant(y);
        int in = w.size(1), out = w.size(0), rows = Math.toIntExact(x.numel() / in);
        Tensor xv = tape.hold(x), wv = tape.hold(w);
        return tape.record(y, g -> {
            Tensor g2 = g.reshape(rows, out);
            if (tape.tracks(x)) tape.accumulate(x, b.matmul(g2, wv));                                  // dX = dY·W
            if (tape.tracks(w)) tape.accumulate(w, b.matmul(b.permute(g2, 1, 0), xv.reshape(rows, in))); // dW = dYᵀ·X
            if (bias != null && tape.tracks(bias)) tape.accumulate(bias, b.sumTo(g2, out));
        });
    }

    @Override
    public Tensor im2col(Tensor x, int kh, int kw, int sh, int sw, int ph, int pw) {
        Tensor y = b.im2col(x, kh, kw, sh, sw, ph, pw);
        if (!any(x)) return tape.constant(y);
        int[] xs = x.shape();
        return tape.record(y, g -> tape.accumulate(x, b.col2im(g, xs, kh, kw, sh, sw, ph, pw)));
    }

    @Override
    public Tensor conv2d(Tensor x, Tensor w, Tensor bias, int sh, int sw, int ph, int pw) {
        Tensor y = b.conv2d(x, w, bias, sh, sw, ph, pw);
        if (!any(x, w, bias)) return tape.constant(y);
        int[] xs = x.shape(), wsh = w.shape();
        int B = xs[0], O = wsh[0], kh = wsh[2], kw = wsh[3], L = y.size(2) * y.size(3), CKK = wsh[1] * kh * kw;
        Tensor xv = tape.hold(x), wv = tape.hold(w);
        return tape.record(y, g -> {
            Tensor g3 = g.reshape(B, O, L);
            if (tape.tracks(w)) {
                Tensor cols = b.im2col(xv, kh, kw, sh, sw, ph, pw);                                   // [B, CKK, L]
                tape.accumulate(w, b.sumTo(b.matmulNT(g3, cols), O, CKK));                           // dW = Σ_b dY·colsᵀ
            }
            if (bias != null && tape.tracks(bias)) tape.accumulate(bias, b.sumTo(g3, 1, O, 1));
            if (tape.tracks(x)) {
                Tensor gcols = b.matmul(b.permute(wv.reshape(O, CKK), 1, 0), g3);                      // Wᵀ·dY [B, CKK, L]
                tape.accumulate(x, b.col2im(gcols, xs, kh, kw, sh, sw, ph, pw));
            }
        });
    }

    /**
     * Backward of the transposed convolution (padding 0): {@code dX = conv2d(dY, w, stride s)} (w {@code [C, O, kh, kw]}
     * read as a convolution weight with C outputs), {@code dW = Σ_b X_b·im2col(dY_b, kh, kw, s)ᵀ}.
     */
    @Override
    public Tensor convTranspose2d(Tensor x, Tensor w, Tensor bias, int s) {
        Tensor y = b.convTranspose2d(x, w, bias, s);
        if (!any(x, w, bias)) return tape.constant(y);
        int B = x.size(0), C = x.size(1), HW = x.size(2) * x.size(3), O = w.size(1), kh = w.size(2), kw = w.size(3);
        Tensor xv = tape.hold(x), wv = tape.hold(w);
        return tape.record(y, g -> {
            if (tape.tracks(x)) tape.accumulate(x, b.conv2d(g, wv, null, s, s, 0, 0));
            if (tape.tracks(w)) {
                Tensor cols = b.im2col(g, kh, kw, s, s, 0, 0);                                         // [B, O·kh·kw, HW]
                tape.accumulate(w, b.sumTo(b.matmulNT(xv.reshape(B, C, HW), cols), C, O * kh * kw));
            }
            if (bias != null && tape.tracks(bias)) tape.accumulate(bias, b.sumTo(g.reshape(B, O, -1), 1, O, 1));
        });
    }

    // ------------------------------------------------------------------ normalisation and activations

    @Override
    public Tensor layerNorm(Tensor x, Tensor w, Tensor bias, float eps) {
        Tensor y = b.layerNorm(x, w, bias, eps);
        if (!any(x, w, bias)) return tape.constant(y);
        Tensor xv = tape.hold(x), wv = tape.hold(w);
        return tape.record(y, g -> {
            LayerNormGrads r = b.layerNormBackward(xv, wv, g, eps);
            tape.accumulate(x, r.dx());
            if (w != null) tape.accumulate(w, r.dw());
            if (bias != null) tape.accumulate(bias, r.db());
        });
    }

    /** Backward as {@link #layerNorm}'s on the channels-last permutation. */
    @Override
    public Tensor layerNorm2d(Tensor x, Tensor w, Tensor bias, float eps) {
        Tensor y = b.layerNorm2d(x, w, bias, eps);
        if (!any(x, w, bias)) return tape.constant(y);
        Tensor xv = tape.hold(x), wv = tape.hold(w);
        return tape.record(y, g -> {
            LayerNormGrads r = b.layerNormBackward(b.permute(xv, 0, 2, 3, 1), wv, b.permute(g, 0, 2, 3, 1), eps);
            tape.accumulate(x, b.permute(r.dx(), 0, 3, 1, 2));
            if (w != null) tape.accumulate(w, r.dw());
            if (bias != null) tape.accumulate(bias, r.db());
        });
    }

    @Override
    public Tensor gelu(Tensor x) {
        Tensor y = b.gelu(x);
        if (!any(x)) return tape.constant(y);
        Tensor xv = tape.hold(x);
        return tape.record(y, g -> tape.accumulate(x, b.geluBackward(xv, g)));
    }

    @Override
    public Tensor relu(Tensor x) {
        Tensor y = b.relu(x);
        if (!any(x)) return tape.constant(y);
        Tensor xv = tape.hold(x);
        return tape.record(y, g -> tape.accumulate(x, b.reluBackward(xv, g)));
    }

    @Override
    public Tensor sigmoid(Tensor x) {
        Tensor y = b.sigmoid(x);
        if (!any(x)) return tape.constant(y);
        return tape.record(y, (g, out) -> tape.accumulate(x, b.sigmoidBackward(out, g)));
    }

    @Override
    public Tensor softmax(Tensor x) {
        Tensor y = b.softmax(x);
        if (!any(x)) return tape.constant(y);
        return tape.record(y, (g, out) -> tape.accumulate(x, b.softmaxBackward(out, g)));
    }

    // ------------------------------------------------------------------ element-wise

    @Override
    public Tensor add(Tensor a, Tensor c) {
        Tensor y = b.add(a, c);
        if (!any(a, c)) return tape.constant(y);
        int[] sa = a.shape(), sc = c.shape(), ys = y.shape();
        return tape.record(y, g -> {
            passTo(a, g, sa, ys);
            passTo(c, g, sc, ys);
        });
    }

    /** Passes {@code g} (the output's gradient, shape {@code ys}) to an operand of shape {@code s} that was broadcast. */
    private void passTo(Tensor t, Tensor g, int[] s, int[] ys) {
        if (!tape.tracks(t)) return;
        if (Arrays.equals(s, ys)) tape.accumulateCopy(t, g);
        else tape.accumulate(t, b.sumTo(g, s));
    }

    @Override
    public Tensor sub(Tensor a, Tensor c) {
        Tensor y = b.sub(a, c);
        if (!any(a, c)) return tape.constant(y);
        int[] sa = a.shape(), sc = c.shape(), ys = y.shape();
        return tape.record(y, g -> {
            passTo(a, g, sa, ys);
            if (tape.tracks(c)) tape.accumulate(c, b.sumTo(b.scale(g, -1f), sc));
        });
    }

    @Override
    public Tensor mul(Tensor a, Tensor c) {
        Tensor y = b.mul(a, c);
        if (!any(a, c)) return tape.constant(y);
        int[] sa = a.shape(), sc = c.shape();
        Tensor av = tape.tracks(c) ? tape.hold(a) : null, cv = tape.tracks(a) ? tape.hold(c) : null;
        return tape.record(y, g -> {
            if (tape.tracks(a)) tape.accumulate(a, b.sumTo(b.mul(g, cv), sa));
            if (tape.tracks(c)) tape.accumulate(c, b.sumTo(b.mul(g, av), sc));
        });
    }

    @Override
    public Tensor div(Tensor a, Tensor c) {
        Tensor y = b.div(a, c);
        if (!any(a, c)) return tape.constant(y);
        int[] sa = a.shape(), sc = c.shape();
        Tensor cv = tape.hold(c);
        return tape.record(y, (g, out) -> {
            if (tape.tracks(a)) tape.accumulate(a, b.sumTo(b.div(g, cv), sa));                           // da = g/c
            if (tape.tracks(c)) tape.accumulate(c, b.sumTo(b.scale(b.div(b.mul(g, out), cv), -1f), sc)); // dc = −g·y/c
        });
    }

    @Override
    public Tensor scale(Tensor x, float s) {
        Tensor y = b.scale(x, s);
        if (!any(x)) return tape.constant(y);
        return tape.record(y, g -> tape.accumulate(x, b.scale(g, s)));
    }

    // ------------------------------------------------------------------ layout

    @Override
    public Tensor permute(Tensor x, int... dims) {
        Tensor y = b.permute(x, dims);
        if (!any(x)) return tape.constant(y);
        int[] inverse = new int[dims.length];
        for (int i = 0; i < dims.length; i++) inverse[Shapes.axis(dims[i], dims.length)] = i;
        return tape.record(y, g -> tape.accumulate(x, b.permute(g, inverse)));
    }

    @Override
    public Tensor concat(List<Tensor> tensors, int dim) {
        Tensor y = b.concat(tensors, dim);
        if (!any(tensors.toArray(new Tensor[0]))) return tape.constant(y);
        List<Tensor> parts = new ArrayList<>(tensors);
        int d = Shapes.axis(dim, y.rank());
        return tape.record(y, g -> {
            int at = 0;
            for (Tensor t : parts) {
                int len = t.size(d);
                if (tape.tracks(t)) tape.accumulate(t, b.slice(g, d, at, len));
                at += len;
            }
        });
    }

    /** Backward: the gradient zero-padded back to the input's extent along {@code dim} (a concat with zeros). */
    @Override
    public Tensor slice(Tensor x, int dim, int start, int length) {
        Tensor y = b.slice(x, dim, start, length);
        if (!any(x)) return tape.constant(y);
        int[] xs = x.shape();
        int d = Shapes.axis(dim, xs.length);
        return tape.record(y, g -> {
            List<Tensor> parts = new ArrayList<>(3);
            if (start > 0) parts.add(b.zeros(withDim(xs, d, start)));
            parts.add(g);
            int after = xs[d] - start - length;
            if (after > 0) parts.add(b.zeros(withDim(xs, d, after)));
            tape.accumulate(x, parts.size() == 1 ? b.scale(g, 1f) : b.concat(parts, d));
        });
    }

    private static int[] withDim(int[] s, int d, int n) {
        int[] r = s.clone();
        r[d] = n;
        return r;
    }

    @Override
    public Windows windowPartition(Tensor x, int ws) {
        Windows w = b.windowPartition(x, ws);
        if (!any(x)) return new Windows(tape.constant(w.windows()), w.paddedH(), w.paddedW());
        int h = x.size(1), wd = x.size(2), hp = w.paddedH(), wp = w.paddedW();
        Tensor y = tape.record(w.windows(), g -> tape.accumulate(x, b.windowUnpartition(g, ws, hp, wp, h, wd)));
        return new Windows(y, hp, wp);
    }

    @Override
    public Tensor windowUnpartition(Tensor windows, int ws, int hp, int wp, int h, int w) {
        Tensor y = b.windowUnpartition(windows, ws, hp, wp, h, w);
        if (!any(windows)) return tape.constant(y);
        // the adjoint of the crop-and-copy is the zero-padded partition
        return tape.record(y, g -> tape.accumulate(windows, b.windowPartition(g, ws).windows()));
    }

    @Override
    public Tensor interpolateBilinear(Tensor x, int outH, int outW) {
        Tensor y = b.interpolateBilinear(x, outH, outW);
        if (!any(x)) return tape.constant(y);
        int H = x.size(2), W = x.size(3);
        return tape.record(y, g -> tape.accumulate(x, b.interpolateBilinearBackward(g, H, W)));
    }

    // ------------------------------------------------------------------ attention and positional encodings

    /**
     * Without a relative-position bias: the wrapped backend's attention forward, {@link Backend#attentionBackward}
     * backward. With one (the image encoder): composed of this tape's own ops, {@code S = (q·scale)·kᵀ},
     * {@code (S + q·Rhᵀ) + q·Rwᵀ} per query row and key row/column, softmax, {@code ·v} — so its backward is theirs.
     */
    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, float scale, RelPos rel) {
        boolean relTracked = rel != null && any(rel.relH(), rel.relW());
        if (!any(q, k, v) && !relTracked) return tape.constant(b.attention(q, k, v, scale, rel));
        if (rel == null) {
            Tensor y = b.attention(q, k, v, scale, null);
            Tensor qv = tape.hold(q), kv = tape.hold(k), vv = tape.hold(v);
            return tape.record(y, g -> {
                AttentionGrads r = b.attentionBackward(qv, kv, vv, scale, g);
                tape.accumulate(q, r.dq());
                tape.accumulate(k, r.dk());
                tape.accumulate(v, r.dv());
            });
        }
        int B = q.size(0), Nq = q.size(1), d = q.size(2), Nk = k.size(1);
        int qh = rel.qh(), qw = rel.qw(), kh = rel.kh(), kw = rel.kw();
        Tensor s = matmul(scale(q, scale), permute(k, 0, 2, 1));                                   // [B, Nq, Nk]
        Tensor qg = q.reshape(B, qh, qw, d);
        Tensor bh = matmul(qg, permute(rel.relH(), 0, 2, 1));                                      // [B, qh, qw, kh]
        Tensor bw = permute(matmul(permute(qg, 0, 2, 1, 3), permute(rel.relW(), 0, 2, 1)), 0, 2, 1, 3); // [B, qh, qw, kw]
        Tensor s5 = add(add(s.reshape(B, qh, qw, kh, kw), bh.reshape(B, qh, qw, kh, 1)), bw.reshape(B, qh, qw, 1, kw));
        return matmul(softmax(s5.reshape(B, Nq, Nk)), v);
    }

    @Override
    public Tensor relPosLookup(Tensor table, int qSize, int kSize) {
        Tensor y = b.relPosLookup(table, qSize, kSize);
        if (!any(table)) return tape.constant(y);
        int L = table.size(0);
        if (L != 2 * Math.max(qSize, kSize) - 1) throw new UnsupportedOperationException("gradient of a resized rel-pos table is not implemented");
        return tape.record(y, g -> tape.accumulate(table, b.relPosLookupBackward(g, L, qSize, kSize)));
    }

    /** Backward on the host ({@link BackwardOps#fourierPositionEncodingBackward}): the prompt encoder's Gaussian is frozen in training. */
    @Override
    public Tensor fourierPositionEncoding(Tensor coords, Tensor gaussian) {
        Tensor y = b.fourierPositionEncoding(coords, gaussian);
        if (!any(coords, gaussian)) return tape.constant(y);
        Tensor cv = tape.hold(coords), gv = tape.hold(gaussian);
        return tape.record(y, g -> {
            Tensor[] r = BackwardOps.fourierPositionEncodingBackward(b.download(cv), b.download(gv), b.download(g));
            tape.accumulate(coords, b.upload(r[0]));
            tape.accumulate(gaussian, b.upload(r[1]));
        });
    }

    @Override
    public int[] argmax(Tensor x) {
        return b.argmax(x);
    }
}
