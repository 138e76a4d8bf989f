package dev.segsam.model.sam;

import dev.segsam.model.nn.Linear;
import dev.segsam.model.nn.Params;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorScope;

/**
 * The mask decoder's attention (docs/design/sam.md §7.4): project q, k, v from C to {@code C/downsample}, split into heads
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
        int dh = q.out() / heads;
        try (TensorScope s = TensorScope.open()) {
            // PyTorch divides the scores by √dh; the backend scales q instead (the same up to rounding)
            Tensor o = b.multiHeadAttention(q.forward(b, qIn), k.forward(b, kIn), v.forward(b, vIn), heads, (float) (1.0 / Math.sqrt(dh)));
            return s.keep(out.forward(b, o));
        }
    }
}
