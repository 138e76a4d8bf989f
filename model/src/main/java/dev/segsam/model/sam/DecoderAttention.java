package dev.segsam.model.sam;

import dev.segsam.model.nn.Linear;
import dev.segsam.model.nn.Params;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Tensor;

/**
 * The mask decoder's attention (sam.md §7.4): project q, k, v from C to {@code C/downsample}, split into heads
 * (channel h·(c/heads) + d), {@code softmax(q·kᵀ/√(c/heads))·v}, merge heads, project back to C. No mask anywhere.
 * All inputs are {@code [B, n, C]}.
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
        int B = qIn.size(0), nq = qIn.size(1), nk = kIn.size(1), inner = q.out(), dh = inner / heads;
        try (Tensor qh = split(b, q.forward(b, qIn), B, nq, dh);
             Tensor kh = split(b, k.forward(b, kIn), B, nk, dh);
             Tensor vh = split(b, v.forward(b, vIn), B, nk, dh);
             // PyTorch divides the scores by √dh; the backend scales q instead (the same up to rounding)
             Tensor o = b.attention(qh, kh, vh, (float) (1.0 / Math.sqrt(dh)), null);
             Tensor merged = b.permute(o.reshape(B, heads, nq, dh), 0, 2, 1, 3)) {
            return out.forward(b, merged.reshape(B, nq, inner));
        }
    }

    /** {@code [B, n, heads·dh] → [B·heads, n, dh]}; closes its input. */
    private Tensor split(Backend b, Tensor x, int B, int n, int dh) {
        try (x) {
            return b.permute(x.reshape(B, n, heads, dh), 0, 2, 1, 3).reshape(B * heads, n, dh);
        }
    }
}
