package dev.segsam.model.sam;

import dev.segsam.model.nn.Linear;
import dev.segsam.model.nn.Params;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Tensor;

/**
 * Multi-head self-attention of an image-encoder block, with SAM's decomposed relative-position bias (docs/design/sam.md §5.4–5.5),
 * windowed or global. One backend op ({@link Backend#encoderAttention}) runs it, so a fast backend can fuse the window
 * partition, the head split and merge into the attention kernel:
 * <pre>
 * x [B, H, W, D] → (windows) → qkv = Linear(D → 3D)(x), output feature s·D + h·hd + c (s: q/k/v, h: head)
 * q, k, v [B·heads, H·W, hd];  A = (q·hd^−½)·kᵀ + rel_h(q) + rel_w(q)   (rel terms from the unscaled q)
 * out = Linear(D → D)(softmax(A)·v merged back to channel h·hd + c) → (unpartition, crop)
 * </pre>
 */
final class EncoderAttention {
    private final int heads, window;
    private final Linear qkv, proj;
    private final Tensor relPosH, relPosW; // [2·S − 1, hd] tables, looked up for the actual size at each call

    EncoderAttention(Params p, int dim, int heads, int window, int relPosLength) {
        this.heads = heads;
        this.window = window;
        int hd = dim / heads;
        this.qkv = Linear.load(p, "qkv", dim, 3 * dim);
        this.proj = Linear.load(p, "proj", dim, dim);
        this.relPosH = p.get("rel_pos_h", relPosLength, hd);
        this.relPosW = p.get("rel_pos_w", relPosLength, hd);
    }

    /** {@code x [B, H, W, D]} (normalised) → {@code [B, H, W, D]}; {@code window} 0 = global attention. */
    Tensor forward(Backend b, Tensor x) {
        return b.encoderAttention(x, qkv.weight(), qkv.bias(), proj.weight(), proj.bias(), heads, window, relPosH, relPosW);
    }
}
