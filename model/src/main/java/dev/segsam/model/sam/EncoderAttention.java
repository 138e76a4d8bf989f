package dev.segsam.model.sam;

import dev.segsam.model.nn.Linear;
import dev.segsam.model.nn.Params;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Tensor;

/**
 * Multi-head self-attention of an image-encoder block, with SAM's decomposed relative-position bias (sam.md §5.4–5.5).
 * <pre>
 * x [B, H, W, D] → qkv = Linear(D → 3D)(x), output feature s·D + h·hd + c (s: q/k/v, h: head)
 * q, k, v [B·heads, H·W, hd];  A = (q·hd^−½)·kᵀ + rel_h(q) + rel_w(q)   (rel terms from the unscaled q)
 * out = Linear(D → D)(softmax(A)·v merged back to channel h·hd + c)
 * </pre>
 */
final class EncoderAttention {
    private final int heads;
    private final Linear qkv, proj;
    private final Tensor relPosH, relPosW; // [2·S − 1, hd] tables, looked up for the actual size at each call

    EncoderAttention(Params p, int dim, int heads, int relPosLength) {
        this.heads = heads;
        int hd = dim / heads;
        this.qkv = Linear.load(p, "qkv", dim, 3 * dim);
        this.proj = Linear.load(p, "proj", dim, dim);
        this.relPosH = p.get("rel_pos_h", relPosLength, hd);
        this.relPosW = p.get("rel_pos_w", relPosLength, hd);
    }

    Tensor forward(Backend b, Tensor x) {
        int B = x.size(0), H = x.size(1), W = x.size(2), D = x.size(3), hd = D / heads, N = H * W;
        Tensor q, k, v;
        try (Tensor t = qkv.forward(b, x.reshape(B * N, D));
             Tensor p = b.permute(t.reshape(B, N, 3, heads, hd), 2, 0, 3, 1, 4)) { // [3, B, heads, N, hd]
            q = b.slice(p, 0, 0, 1).reshape(B * heads, N, hd);
            k = b.slice(p, 0, 1, 1).reshape(B * heads, N, hd);
            v = b.slice(p, 0, 2, 1).reshape(B * heads, N, hd);
        }
        Tensor o;
        try (Tensor rh = b.relPosLookup(relPosH, H, H); Tensor rw = b.relPosLookup(relPosW, W, W)) {
            o = b.attention(q, k, v, (float) Math.pow(hd, -0.5), new Backend.RelPos(rh, rw, H, W, H, W));
        } finally {
            q.close();
            k.close();
            v.close();
        }
        try (o; Tensor merged = b.permute(o.reshape(B, heads, H, W, hd), 0, 2, 3, 1, 4)) { // [B, H, W, heads, hd]
            return proj.forward(b, merged.reshape(B, H, W, D));
        }
    }
}
