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
