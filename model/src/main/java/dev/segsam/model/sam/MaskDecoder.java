package dev.segsam.model.sam;

import dev.segsam.model.nn.Mlp;
import dev.segsam.model.nn.Params;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorScope;
import java.util.ArrayList;
import java.util.List;

/**
 * SAM's mask decoder (docs/design/sam.md §7.1) — in SEG-SAM, the semantic-agnostic decoder Dec_sag that produces M̂_b.
 * <pre>
 * tokens = [iou_token; mask_tokens (4); sparse t_p]          [B, 5 + Nt, C]  (B prompts on one image)
 * hs, src = TwoWayTransformer(f_v + dense, dense_pe, tokens)  f_v + dense repeated per prompt
 * up     = GELU(ConvT(64 → 32)(GELU(LN2d(ConvT(C → 64)(src)))))          [B, C/8, 4g, 4g]
 * masks  = [HyperMLP_i(hs[1 + i])]_i · up                               [B, 4, 4g, 4g]  (low-res logits)
 * iou    = IoUHead(hs[0])                                               [B, 4]
 * </pre>
 */
public final class MaskDecoder {
    private final SamConfig c;
    private final Tensor iouToken, maskTokens;
    private final OutputUpscaling upscaling;
    private final TwoWayTransformer transformer;
    private final Mlp[] hyper;
    private final Mlp iouHead;

    public MaskDecoder(Params p, SamConfig c) {
        this.c = c;
        int C = c.outChans(), nm = c.maskTokens();
        this.transformer = new TwoWayTransformer(p.at("transformer."), c);
        this.iouToken = p.get("iou_token.weight", 1, C);
        this.maskTokens = p.get("mask_tokens.weight", nm, C);
        this.upscaling = new OutputUpscaling(p, C);
        this.hyper = new Mlp[nm];
        for (int i = 0; i < nm; i++) hyper[i] = Mlp.load(p, "output_hypernetworks_mlps." + i, C, C, C, C / 8);
        this.iouHead = Mlp.load(p, "iou_prediction_head", C, c.iouHidden(), c.iouHidden(), nm);
    }

    /** Low-res logits of all mask tokens {@code [B, 4, 4g, 4g]} and their IoU predictions {@code [B, 4]}. */
    public record Output(Tensor lowRes, Tensor iou) implements AutoCloseable {
        @Override
        public void close() {
            lowRes.close();
            iou.close();
        }
    }

    /**
     * Decodes B prompts on one image at once (B = {@code sparse.size(0)}; SAM's {@code predict_torch} batching: the
     * image embedding is repeated per prompt).
     *
     * @param embedding f_v {@code [1, C, g, g]}, shared by any number of prompts and never modified
     * @param densePe   {@code [1, C, g, g]}
     * @param sparse    {@code [B, Nt, C]}
     * @param dense     {@code [1, C, g, g]} (shared) or {@code [B, C, g, g]}
     */
    public Output forward(Backend b, Tensor embedding, Tensor densePe, Tensor sparse, Tensor dense) {
        int B = sparse.size(0);
        try (TensorScope scope = TensorScope.open()) {
            TwoWayTransformer.Output t;
            try (TensorScope in = TensorScope.open()) { // the transformer's inputs (4 MB a prompt) go once it has run
                Tensor src = repeat(b, b.add(dense, embedding), B); // dense + f_v: the same sum as f_v + dense, with f_v broadcast
                t = in.keep(transformer.forward(b, src, densePe, tokens(b, sparse)));
            }
            return scope.keep(heads(b, t, B));
        }
    }

    /**
     * The prompt-independent part of decoding on one image, made once and shared by every prompt without a mask input
     * ({@link #forward(Backend, TwoWayTransformer.ImageContext, Tensor)}): see {@link TwoWayTransformer#imageContext}.
     *
     * @param embedding f_v {@code [1, C, g, g]}
     * @param densePe   {@code [1, C, g, g]}
     * @param noMask    the dense embedding of a prompt without a mask input {@code [1, C, g, g]} (no_mask_embed everywhere)
     */
    public TwoWayTransformer.ImageContext imageContext(Backend b, Tensor embedding, Tensor densePe, Tensor noMask) {
        try (TensorScope s = TensorScope.open()) {
            return s.keep(transformer.imageContext(b, b.add(noMask, embedding), densePe));
        }
    }

    /**
     * {@link #forward(Backend, Tensor, Tensor, Tensor, Tensor)} for B prompts without mask inputs ({@code sparse [B, Nt, C]})
     * on the image of {@code ctx} (from {@link #imageContext}): the same outputs, the image side computed once per image.
     */
    public Output forward(Backend b, TwoWayTransformer.ImageContext ctx, Tensor sparse) {
        int B = sparse.size(0);
        try (TensorScope scope = TensorScope.open()) {
            TwoWayTransformer.Output t;
            try (TensorScope in = TensorScope.open()) {
                t = in.keep(transformer.forward(b, ctx, tokens(b, sparse)));
            }
            return scope.keep(heads(b, t, B));
        }
    }

    /** {@code [iou_token; mask_tokens; sparse]} {@code [B, 5 + Nt, C]}. */
    private Tensor tokens(Backend b, Tensor sparse) {
        int C = c.outChans(), nm = c.maskTokens(), B = sparse.size(0);
        Tensor own = b.concat(List.of(iouToken, maskTokens), 0).reshape(1, 1 + nm, C);
        return b.concat(List.of(repeat(b, own, B), sparse), 1);
    }

    /** Upscaling, hypernetworks and IoU head on the transformer's output (call inside a scope). */
    private Output heads(Backend b, TwoWayTransformer.Output t, int B) {
        int C = c.outChans(), nm = c.maskTokens(), g = c.grid();
        Tensor hs = t.queries();
        List<Tensor> hyperIn = new ArrayList<>();
        for (int i = 0; i < nm; i++) hyperIn.add(hyper[i].forward(b, b.slice(hs, 1, 1 + i, 1).reshape(B, C)).reshape(B, 1, C / 8));
        // masks = hyper_in · upscaled embedding [B, nm, 4g, 4g]; the fast CPU backend projects each block as it is made
        Tensor masks = upscaling.project(b, b.permute(t.keys(), 0, 2, 1).reshape(B, C, g, g), b.concat(hyperIn, 1));
        Tensor iou = iouHead.forward(b, b.slice(hs, 1, 0, 1).reshape(B, C)).reshape(B, nm);
        return new Output(masks, iou);
    }

    /**
     * {@code x [1, ...]} repeated to {@code [B, ...]} (one prompt's copy of the image-side input per batch entry, as SAM's
     * {@code torch.repeat_interleave}); {@code x} itself when it has B already, so call it inside a {@link TensorScope}
     * (which closes only what it allocated) rather than closing the result by hand. Also used by SEG-SAM's
     * semantic-aware decoder.
     */
    public static Tensor repeat(Backend b, Tensor x, int B) {
        return x.size(0) == B ? x : b.concat(java.util.Collections.nCopies(B, x), 0);
    }
}
