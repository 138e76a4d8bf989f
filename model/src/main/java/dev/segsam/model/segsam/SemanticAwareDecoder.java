package dev.segsam.model.segsam;

import dev.segsam.model.nn.Mlp;
import dev.segsam.model.nn.Params;
import dev.segsam.model.sam.MaskDecoder;
import dev.segsam.model.sam.OutputUpscaling;
import dev.segsam.model.sam.SamConfig;
import dev.segsam.model.sam.TwoWayTransformer;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorScope;
import java.util.List;

/**
 * Dec_saw, the semantic-aware decoder (paper §3.2; our choices in docs/design/segsam.md §2.5). A segmentation token t_so segments
 * the prompted object semantically; one classification token t_co per class says whether that class is present among
 * the objects that were not prompted; the class predictions Ĉ_s are fused back into t_so as a semantic prior.
 * <pre>
 * tokens   = [t_so ; t_co (K) ; t'_p (Np)]                         [B, 1+K+Np, C]  (B prompts on one image)
 * hs, src  = TwoWayTransformer_saw(f_v + dense, dense PE, tokens)   SAM's structure, its own weights
 * Ĉ_s      = sigmoid(CO_head(hs[1..K]))                             CO_head: C → C → 1 (ReLU), shared by the classes
 * t_so'    = hs[0] + MLP_prior(Ĉ_s)                                 MLP_prior: K → C → C (ReLU)
 * U        = Upscaling_saw(src)                                     [1, C/8, 4g, 4g]
 * W        = SO_hyper(t_so') as [K+1, C/8]                          SO_hyper: C → C → C → (K+1)·C/8 (ReLU)
 * M̂_s      = W · U                                                  [1, K+1, 4g, 4g]; channel 0 background
 * </pre>
 * Weights under {@code semantic_decoder.}.
 */
public final class SemanticAwareDecoder {
    private final Tensor soToken, coTokens;
    private final TwoWayTransformer transformer;
    private final OutputUpscaling upscaling;
    private final Mlp coHead, priorMlp, soHyper;
    private final int C, K, g;
    private final boolean useCoTokens;

    public SemanticAwareDecoder(Params p, SamConfig s, int numClasses) {
        this(p, s, numClasses, true);
    }

    /** With {@code useCoTokens} false the decoder runs SO-token only: no CO-tokens, no Ĉ_s, no prior (an ablation). */
    public SemanticAwareDecoder(Params p, SamConfig s, int numClasses, boolean useCoTokens) {
        this.useCoTokens = useCoTokens;
        this.C = s.outChans();
        this.K = numClasses;
        this.g = s.grid();
        this.soToken = p.get("so_token.weight", 1, C);
        this.coTokens = p.get("co_tokens.weight", K, C);
        this.transformer = new TwoWayTransformer(p.at("transformer."), s);
        this.upscaling = new OutputUpscaling(p, C);
        this.coHead = Mlp.load(p, "co_head", C, C, 1);
        this.priorMlp = Mlp.load(p, "prior_mlp", K, C, C);
        this.soHyper = Mlp.load(p, "so_hypernetwork", C, C, C, (K + 1) * (C / 8));
    }

    /** M̂_s logits {@code [1, K+1, 4g, 4g]}, Ĉ_s probabilities {@code [1, K]} and their logits (both null without CO-tokens). */
    public record Output(Tensor semanticLogits, Tensor classPresence, Tensor classLogits) implements AutoCloseable {
        @Override
        public void close() {
            semanticLogits.close();
            if (classPresence != null) classPresence.close();
            if (classLogits != null) classLogits.close();
        }
    }

    /**
     * @param fv      f_v {@code [1, C, g, g]} (shared by all B prompts)
     * @param densePe {@code [1, C, g, g]}
     * @param prompts t'_p {@code [B, Np, C]}: B prompts on one image, decoded in one batched pass
     * @param dense   the dense prompt embedding {@code [1 or B, C, g, g]}
     * @return M̂_s {@code [B, K+1, 4g, 4g]}, Ĉ_s {@code [B, K]} (as SAM's decoder, f_v + dense is repeated per prompt)
     */
    public Output forward(Backend b, Tensor fv, Tensor densePe, Tensor prompts, Tensor dense) {
        int B = prompts.size(0);
        try (TensorScope scope = TensorScope.open()) {
            TwoWayTransformer.Output t;
            try (TensorScope in = TensorScope.open()) { // the transformer's inputs (4 MB a prompt) go once it has run
                Tensor tokens = tokens(b, prompts);
                Tensor src = MaskDecoder.repeat(b, b.add(fv, dense), B);
                t = in.keep(transformer.forward(b, src, densePe, tokens));
            }
            return scope.keep(heads(b, t, B));
        }
    }

    /**
     * Dec_saw's own {@link TwoWayTransformer.ImageContext} for f_v {@code [1, C, g, g]} with the no-mask dense embedding
     * {@code noMask [1, C, g, g]} (see {@link MaskDecoder#imageContext}); the caller owns it.
     */
    public TwoWayTransformer.ImageContext imageContext(Backend b, Tensor fv, Tensor densePe, Tensor noMask) {
        try (TensorScope s = TensorScope.open()) {
            return s.keep(transformer.imageContext(b, b.add(fv, noMask), densePe));
        }
    }

    /**
     * {@link #forward(Backend, Tensor, Tensor, Tensor, Tensor)} for B prompts without mask inputs on the image of
     * {@code ctx} (from {@link #imageContext}): the same outputs, the image side computed once per image.
     */
    public Output forward(Backend b, TwoWayTransformer.ImageContext ctx, Tensor prompts) {
        int B = prompts.size(0);
        try (TensorScope scope = TensorScope.open()) {
            TwoWayTransformer.Output t;
            try (TensorScope in = TensorScope.open()) {
                t = in.keep(transformer.forward(b, ctx, tokens(b, prompts)));
            }
            return scope.keep(heads(b, t, B));
        }
    }

    /** {@code [t_so ; t_co (K) ; t'_p]} {@code [B, 1+K+Np, C]}. */
    private Tensor tokens(Backend b, Tensor prompts) {
        int own = useCoTokens ? 1 + K : 1, B = prompts.size(0);
        Tensor tok = useCoTokens ? b.concat(List.of(soToken, coTokens), 0) : b.slice(soToken, 0, 0, 1);
        return b.concat(List.of(MaskDecoder.repeat(b, tok.reshape(1, own, C), B), prompts), 1);
    }

    /** Ĉ_s, the prior, the upscaling and M̂_s from the transformer's output (call inside a scope). */
    private Output heads(Backend b, TwoWayTransformer.Output t, int B) {
        int s = 4 * g;
        Tensor hs = t.queries();
        Tensor so = b.slice(hs, 1, 0, 1).reshape(B, C);
        Tensor classLogits = null, presence = null, soPrime;
        if (useCoTokens) {
            classLogits = coHead.forward(b, b.slice(hs, 1, 1, K).reshape(B * K, C)).reshape(B, K);
            presence = b.sigmoid(classLogits);
            soPrime = b.add(so, priorMlp.forward(b, presence));
        } else {
            soPrime = b.add(so, b.zeros(B, C));
        }
        Tensor up;
        try (TensorScope u = TensorScope.open()) { // the keys' permuted copy goes once upscaled
            up = u.keep(upscaling.forward(b, b.permute(t.keys(), 0, 2, 1).reshape(B, C, g, g)));
        }
        t.keys().close(); // and the keys themselves (4 MB a prompt), before the masks are made
        Tensor w = soHyper.forward(b, soPrime).reshape(B, K + 1, C / 8);
        Tensor masks = b.matmul(w, up.reshape(B, C / 8, s * s)).reshape(B, K + 1, s, s);
        return new Output(masks, presence, classLogits);
    }
}
