package dev.segsam.model.sam;

import dev.segsam.model.nn.LayerNorm;
import dev.segsam.model.nn.Linear;
import dev.segsam.model.nn.Params;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorScope;

/**
 * A pre-norm ViT block of SAM's image encoder (sam.md §5.2–5.3):
 * <pre>
 * y = LN1(x)  [eps 1e-6];  windowed blocks: pad bottom/right with zeros to a multiple of the window and cut windows
 *                          (padded tokens take part in attention unmasked, as in SAM)
 * x = x + unpartition(Attention(y))
 * x = x + Linear(4D → D)(GELU(Linear(D → 4D)(LN2(x))))
 * </pre>
 */
final class EncoderBlock {
    private final LayerNorm norm1, norm2;
    private final EncoderAttention attn;
    private final Linear lin1, lin2;

    EncoderBlock(Params p, SamConfig c, int index) {
        int D = c.embedDim();
        boolean global = c.isGlobal(index);
        this.norm1 = LayerNorm.load(p, "norm1", D, 1e-6f);
        this.attn = new EncoderAttention(p.at("attn."), D, c.heads(), global ? 0 : c.window(), global ? 2 * c.grid() - 1 : 2 * c.window() - 1);
        this.norm2 = LayerNorm.load(p, "norm2", D, 1e-6f);
        this.lin1 = Linear.load(p, "mlp.lin1", D, c.mlpHidden());
        this.lin2 = Linear.load(p, "mlp.lin2", c.mlpHidden(), D);
    }

    /** {@code x [B, H, W, D] → [B, H, W, D]}; the block's temporaries are freed when it returns. */
    Tensor forward(Backend b, Tensor x) {
        try (TensorScope s = TensorScope.open()) {
            Tensor x1 = b.add(x, attn.forward(b, norm1.forward(b, x)));
            Tensor h = b.linearGelu(norm2.forward(b, x1), lin1.weight(), lin1.bias()); // lin1 then GELU, fused by a fast backend
            return s.keep(b.add(x1, lin2.forward(b, h)));
        }
    }
}
