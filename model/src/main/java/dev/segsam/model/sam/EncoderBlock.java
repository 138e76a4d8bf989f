package dev.segsam.model.sam;

import dev.segsam.model.nn.LayerNorm;
import dev.segsam.model.nn.Linear;
import dev.segsam.model.nn.Params;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorScope;
import java.util.function.UnaryOperator;

/**
 * A pre-norm ViT block of SAM's image encoder (docs/design/sam.md §5.2–5.3):
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

    /** {@code x [B, H, W, D] → [B, H, W, D]}. */
    Tensor forward(Backend b, Tensor x) {
        try (TensorScope s = TensorScope.open()) {
            Tensor x1 = residual(b, x, t -> attention(b, t));
            return s.keep(residual(b, x1, t -> mlp(b, t)));
        }
    }

    /**
     * {@code x + f(x)}; f's temporaries and its output go as soon as the sum exists (at ViT-B an activation is 12.6 MB,
     * the MLP's hidden one 50 MB), so a block holds about as much memory at once as the sum needs.
     */
    private static Tensor residual(Backend b, Tensor x, UnaryOperator<Tensor> f) {
        try (TensorScope s = TensorScope.open()) {
            return s.keep(b.add(x, f.apply(x)));
        }
    }

    /** {@code Attention(LN1(x))}; LN1's output goes before the residual sum is made. */
    private Tensor attention(Backend b, Tensor x) {
        try (TensorScope s = TensorScope.open()) {
            return s.keep(attn.forward(b, norm1.forward(b, x)));
        }
    }

    /** {@code Linear(4D → D)(GELU(Linear(D → 4D)(LN2(x))))}; lin1 then GELU is one op, fused by a fast backend. */
    private Tensor mlp(Backend b, Tensor x) {
        try (TensorScope s = TensorScope.open()) {
            Tensor n = norm2.forward(b, x);
            Tensor h = b.linearGelu(n, lin1.weight(), lin1.bias());
            n.close(); // not needed any more: freed before lin2 (peak memory as before scopes, measured in docs/PERF.md)
            return s.keep(lin2.forward(b, h));
        }
    }
}
