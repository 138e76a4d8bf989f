package dev.segsam.model.sam;

import dev.segsam.model.nn.LayerNorm;
import dev.segsam.model.nn.Linear;
import dev.segsam.model.nn.Params;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorScope;

/**
 * The mask decoder's attention (docs/design/sam.md §7.4): project q, k, v from C to {@code C/downsample}, split into heads
 * (channel h·(c/heads) + d), {@code softmax(q·kᵀ/√(c/heads))·v}, merge heads, project back to C. No mask anywhere.
 * All inputs are {@code [B, n, C]}.
 *
 * <p>The projections are also exposed one by one ({@link #projectQ}, {@link #projectK}, {@link #projectV}) and the rest
 * as {@link #attend}, so a caller can project an input that does not depend on the prompt once per image and reuse it
 * ({@link TwoWayTransformer.ImageContext}); {@code forward} is exactly {@code attend(projectQ, projectK, projectV)}.
 */
public final class DecoderAttention {
    private final Linear q, k, v, out;
    private final int heads;

    public DecoderAttention(Params p, int dim, int inner, int heads) {
        this.heads = heads;
        this.q = Linear.load(p, "q_proj", dim, inner);
        this.k = Linear.load(p, "k_proj", dim, inner);
        this.v = Linear.load(p, "v_proj", dim, inner);
        this.out = Linear.load(p, "out_proj", inner, dim);
    }

    public Tensor forward(Backend b, Tensor qIn, Tensor kIn, Tensor vIn) {
        try (TensorScope s = TensorScope.open()) {
            return s.keep(attend(b, projectQ(b, qIn), projectK(b, kIn), projectV(b, vIn)));
        }
    }

    /** {@code q_proj(x)}: {@code [B, n, C] → [B, n, inner]}. */
    public Tensor projectQ(Backend b, Tensor x) {
        return q.forward(b, x);
    }

    /** {@code k_proj(x)}. */
    public Tensor projectK(Backend b, Tensor x) {
        return k.forward(b, x);
    }

    /** {@code v_proj(x)}. */
    public Tensor projectV(Backend b, Tensor x) {
        return v.forward(b, x);
    }

    /**
     * Token→image attention of one prompt with the key and value projections absorbed into the few tokens
     * ({@code qIn [1, m, C]}, {@code kIn, vIn [1, n, C]}, n ≫ m): per head h with {@code W_k^h, W_v^h [dh, C]},
     * <pre>
     * scores_h = (q_h·W_k^h/√dh)·kInᵀ            (k_proj's bias adds q_h·b_k^h to a whole row: softmax drops it)
     * out_h    = W_v^h·(softmax(scores_h)·vIn) + b_v^h     (the softmax rows sum to 1)
     * </pre>
     * so the image side costs two GEMMs with H·m = 56 rows ({@code [56, C]·kInᵀ}, {@code P·vIn}) instead of k_proj and
     * v_proj of all n rows (2 × n·C·C/2). The same value as {@link #forward} in exact arithmetic; in float32 the sums go
     * in another order (measured against the plain path in docs/PERF.md "decode II"). The small per-head products
     * ({@code H·m·dh·C}) run on the host: CPU backends only.
     */
    public Tensor tokensToImage(Backend b, Tensor qIn, Tensor kIn, Tensor vIn) {
        int m = qIn.size(1), C = kIn.size(2), H = heads, inner = q.out(), dh = inner / H;
        float scale = (float) (1.0 / Math.sqrt(dh));
        // the weights are read on every call (~0.3 MB, microseconds): training updates them in place
        float[] wk = k.weight().toArray(), wv = v.weight().toArray(), bv = v.bias() == null ? null : v.bias().toArray();
        try (TensorScope s = TensorScope.open()) {
            float[] qa = projectQ(b, qIn).toArray(); // [m, inner]
            float[] qk = new float[H * m * C];        // [H·m, C]: q_h·W_k^h, scaled
            for (int h = 0; h < H; h++) {
                for (int i = 0; i < m; i++) {
                    int row = (h * m + i) * C;
                    for (int d = 0; d < dh; d++) {
                        float a = qa[i * inner + h * dh + d] * scale;
                        int wr = (h * dh + d) * C;
                        for (int c = 0; c < C; c++) qk[row + c] += a * wk[wr + c];
                    }
                }
            }
            Tensor p = b.softmax(b.matmulNT(Tensor.of(qk, 1, H * m, C), kIn)); // [1, H·m, n]
            float[] z = b.matmul(p, vIn).toArray();                           // [H·m, C]: softmax-weighted sums of vIn
            float[] o = new float[m * inner];
            for (int h = 0; h < H; h++) {
                for (int i = 0; i < m; i++) {
                    int zr = (h * m + i) * C;
                    for (int d = 0; d < dh; d++) {
                        int wr = (h * dh + d) * C;
                        float acc = 0f;
                        for (int c = 0; c < C; c++) acc += wv[wr + c] * z[zr + c];
                        o[i * inner + h * dh + d] = acc + (bv == null ? 0f : bv[h * dh + d]);
                    }
                }
            }
            return s.keep(out.forward(b, Tensor.of(o, 1, m, inner)));
        }
    }

    /**
     * Image→token attention of one prompt with the query and output projections absorbed into the few tokens
     * ({@code kIn, vIn [1, m, C]}): the image side is either the raw query input {@code qIn [1, n, C]} (then
     * {@code qProjected} is null) or, when its {@code q_proj} is already known (an image context), {@code qProjected
     * [1, n, inner]} (then {@code qIn} is null). Per head h with {@code W_q^h, W_o^h}:
     * <pre>
     * scores_h = qIn·(W_q^hᵀ·k_h/√dh) + b_q^h·k_h/√dh      (or q_h·k_h/√dh: one GEMM against a block-diagonal [H·m, inner])
     * out      = Σ_h softmax(scores_h)·(v_h·W_o^hᵀ) + b_o    (one GEMM of the n × H·m probabilities)
     * </pre>
     * two GEMMs of n rows with H·m = 56 columns or inner dims instead of q_proj and out_proj (2 × n·C·C/2); the same
     * value as {@link #forward} in exact arithmetic. CPU backends only (host-side per-head products).
     */
    public Tensor imageToTokens(Backend b, Tensor qIn, Tensor qProjected, Tensor kIn, Tensor vIn) {
        return imageToTokens(b, qIn, qProjected, kIn, vIn, null, null);
    }

    /**
     * {@link #imageToTokens(Backend, Tensor, Tensor, Tensor, Tensor)} followed by the block's residual and norm,
     * {@code norm(residual + attention)} ({@code residual [1, n, C]}, the image keys), as one backend op
     * ({@link Backend#linearAddLayerNorm}) when {@code residual} is given.
     */
    public Tensor imageToTokens(Backend b, Tensor qIn, Tensor qProjected, Tensor kIn, Tensor vIn, Tensor residual, LayerNorm norm) {
        int m = kIn.size(1), C = kIn.size(2), H = heads, inner = q.out(), dh = inner / H, n = (qIn != null ? qIn : qProjected).size(1);
        float scale = (float) (1.0 / Math.sqrt(dh));
        float[] wo = out.weight().toArray(); // read on every call, as in tokensToImage
        try (TensorScope s = TensorScope.open()) {
            float[] ka = projectK(b, kIn).toArray(), va = projectV(b, vIn).toArray(); // [m, inner]
            Tensor scores;
            if (qIn != null) {
                float[] wq = q.weight().toArray(), bq = q.bias() == null ? null : q.bias().toArray();
                float[] g = new float[H * m * C], cb = new float[H * m]; // [H·m, C]: W_q^hᵀ·k_h, and b_q^h·k_h, scaled
                for (int h = 0; h < H; h++) {
                    for (int j = 0; j < m; j++) {
                        int row = (h * m + j) * C;
                        float bias = 0f;
                        for (int d = 0; d < dh; d++) {
                            float a = ka[j * inner + h * dh + d] * scale;
                            int wr = (h * dh + d) * C;
                            for (int c = 0; c < C; c++) g[row + c] += a * wq[wr + c];
                            if (bq != null) bias += a * bq[h * dh + d];
                        }
                        cb[h * m + j] = bias;
                    }
                }
                scores = b.linear(qIn, Tensor.of(g, H * m, C), Tensor.of(cb, H * m));
            } else {
                float[] g = new float[H * m * inner]; // block-diagonal: row (h, j) holds k_h·scale in head h's columns
                for (int h = 0; h < H; h++) {
                    for (int j = 0; j < m; j++) {
                        for (int d = 0; d < dh; d++) g[(h * m + j) * inner + h * dh + d] = ka[j * inner + h * dh + d] * scale;
                    }
                }
                scores = b.linear(qProjected, Tensor.of(g, H * m, inner), null);
            }
            Tensor p = b.softmax(scores.reshape(1, n, H, m)).reshape(1, n, H * m);
            float[] u = new float[C * H * m]; // [C, H·m]: W_o^h·v_h
            for (int c = 0; c < C; c++) {
                int wr = c * inner;
                for (int h = 0; h < H; h++) {
                    for (int j = 0; j < m; j++) {
                        float acc = 0f;
                        for (int d = 0; d < dh; d++) acc += wo[wr + h * dh + d] * va[j * inner + h * dh + d];
                        u[c * H * m + h * m + j] = acc;
                    }
                }
            }
            Tensor uw = Tensor.of(u, C, H * m);
            return s.keep(residual == null ? b.linear(p, uw, out.bias())
                    : b.linearAddLayerNorm(p, uw, out.bias(), residual, norm.weight(), norm.bias(), norm.eps()));
        }
    }

    /** Multi-head attention of already projected {@code qp, kp, vp} (equal batch sizes), then {@code out_proj}. */
    public Tensor attend(Backend b, Tensor qp, Tensor kp, Tensor vp) {
        int dh = q.out() / heads;
        try (TensorScope s = TensorScope.open()) {
            // PyTorch divides the scores by √dh; the backend scales q instead (the same up to rounding)
            Tensor o = b.multiHeadAttention(qp, kp, vp, heads, (float) (1.0 / Math.sqrt(dh)));
            return s.keep(out.forward(b, o));
        }
    }
}
