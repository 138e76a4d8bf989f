package dev.segsam.model.sam;

import dev.segsam.model.nn.LayerNorm;
import dev.segsam.model.nn.Params;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorScope;

/**
 * The mask decoder's upscaling (docs/design/sam.md §7.1), {@code output_upscaling.{0,1,3}}:
 * {@code U = GELU(ConvT(C/4 → C/8, k2 s2)(GELU(LN2d(ConvT(C → C/4, k2 s2)(src)))))}, {@code [1, C, g, g] → [1, C/8, 4g, 4g]}.
 * SEG-SAM's semantic-aware decoder has its own copy.
 */
public final class OutputUpscaling {
    private final Tensor w0, b0, w3, b3;
    private final LayerNorm ln;

    public OutputUpscaling(Params p, int C) {
        this.w0 = p.get("output_upscaling.0.weight", C, C / 4, 2, 2);
        this.b0 = p.get("output_upscaling.0.bias", C / 4);
        this.ln = LayerNorm.load(p, "output_upscaling.1", C / 4, 1e-6f);
        this.w3 = p.get("output_upscaling.3.weight", C / 4, C / 8, 2, 2);
        this.b3 = p.get("output_upscaling.3.bias", C / 8);
    }

    /**
     * {@code hyper [B, M, C/8] · U} for {@code src [B, C, g, g]}: {@code [B, M, 4g, 4g]}, SAM's masks, without storing
     * U where the backend fuses the product into the last stage ({@code Backend.convTranspose2dGeluProject}).
     */
    public Tensor project(Backend b, Tensor src, Tensor hyper) {
        try (TensorScope s = TensorScope.open()) {
            Tensor u = b.convTranspose2dLayerNormGelu(src, w0, b0, 2, ln.weight(), ln.bias(), ln.eps());
            return s.keep(b.convTranspose2dGeluProject(u, w3, b3, 2, hyper));
        }
    }

    /** {@code src [1, C, g, g] → U [1, C/8, 4g, 4g]}. */
    public Tensor forward(Backend b, Tensor src) {
        try (TensorScope s = TensorScope.open()) {
            Tensor u = b.convTranspose2dLayerNormGelu(src, w0, b0, 2, ln.weight(), ln.bias(), ln.eps()); // [1, C/4, 2g, 2g]
            return s.keep(b.convTranspose2dGelu(u, w3, b3, 2));
        }
    }
}
