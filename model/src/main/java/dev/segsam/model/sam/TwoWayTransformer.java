package dev.segsam.model.sam;

import dev.segsam.model.nn.LayerNorm;
import dev.segsam.model.nn.Linear;
import dev.segsam.model.nn.Params;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Device;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorScope;

/**
 * SAM's two-way transformer (docs/design/sam.md §7.2–7.3): tokens (queries) and image embedding (keys) attend to each other in
 * two blocks, then a final token→image attention. {@code query_pe} is the original tokens in every layer; all norms
 * use eps 1e-5.
 * <pre>
 * keys = image as tokens [B, g², C], kpe = image PE as tokens, qpe = tokens
 * block (×2):  queries = LN1(SelfAttn(q+qpe, q+qpe, q) [+ queries, except in layer 0, which also drops the PE])
 *              queries = LN2(queries + CrossT2I(q = queries+qpe, k = keys+kpe, v = keys))
 *              queries = LN3(queries + Linear(ReLU(Linear(queries))))
 *              keys    = LN4(keys + CrossI2T(q = keys+kpe, k = queries+qpe, v = queries))
 * final:       queries = LN(queries + FinalT2I(q = queries+qpe, k = keys+kpe, v = keys))
 * </pre>
 */
public final class TwoWayTransformer {
    private final Block[] layers = new Block[2];
    private final DecoderAttention finalAttn;
    private final LayerNorm normFinal;

    /** Loads {@code layers.0/1}, {@code final_attn_token_to_image} and {@code norm_final_attn} under {@code p}, SAM sizes from {@code c}. */
    public TwoWayTransformer(Params p, SamConfig c) {
        int C = c.outChans(), inner = C / c.attnDownsample();
        for (int i = 0; i < 2; i++) layers[i] = new Block(p.at("layers." + i + "."), c, i == 0);
        this.finalAttn = new DecoderAttention(p.at("final_attn_token_to_image."), C, inner, c.decoderHeads());
        this.normFinal = LayerNorm.load(p, "norm_final_attn", C, 1e-5f);
    }

    /** The result: processed tokens {@code [B, Nt, C]} and image keys {@code [B, g², C]}. */
    public record Output(Tensor queries, Tensor keys) {}

    /**
     * @param image    {@code [B, C, g, g]} (embedding + dense prompt)
     * @param imagePe  {@code [B, C, g, g]} or {@code [1, C, g, g]} (shared by the batch)
     * @param tokens   {@code [B, Nt, C]}
     */
    public Output forward(Backend b, Tensor image, Tensor imagePe, Tensor tokens) {
        int B = image.size(0), C = image.size(1), n = image.size(2) * image.size(3);
        try (TensorScope s = TensorScope.open()) {
            Tensor keys = b.permute(image.reshape(B, C, n), 0, 2, 1);
            Tensor keyPe = b.permute(imagePe.reshape(imagePe.size(0), C, n), 0, 2, 1);
            return s.keep(run(b, keys, keyPe, tokens, null));
        }
    }

    /**
     * The part of a forward pass that does not depend on the prompt tokens, for one image {@code [1, C, g, g]}
     * (embedding + a dense prompt shared by every prompt, i.e. SAM's no_mask_embed) and its positional encoding
     * {@code [1, C, g, g]}: the image and the PE as tokens, and layer 0's three projections of them — token→image
     * {@code k_proj(keys + kpe)}, {@code v_proj(keys)} and image→token {@code q_proj(keys + kpe)}. Made once per image
     * (and per transformer: SEG-SAM's Dec_saw has its own weights) and given to {@link #forward(Backend, ImageContext,
     * Tensor)} for every prompt or batch of prompts on it. The caller owns it (close it with the image).
     */
    public ImageContext imageContext(Backend b, Tensor image, Tensor imagePe) {
        int C = image.size(1), n = image.size(2) * image.size(3);
        if (image.size(0) != 1 || imagePe.size(0) != 1) throw new IllegalArgumentException("an image context is made for one image");
        Block l0 = layers[0];
        try (TensorScope s = TensorScope.open()) {
            Tensor keys = b.permute(image.reshape(1, C, n), 0, 2, 1);
            Tensor keyPe = b.permute(imagePe.reshape(1, C, n), 0, 2, 1);
            Tensor kpe = b.add(keys, keyPe);
            return s.keep(new ImageContext(keys, keyPe, l0.t2i.projectK(b, kpe), l0.t2i.projectV(b, keys), l0.i2t.projectQ(b, kpe)));
        }
    }

    /**
     * {@link #forward(Backend, Tensor, Tensor, Tensor)} for {@code tokens [B, Nt, C]} on the image of {@code ctx}: the same
     * result as passing that image repeated B times, without repeating it or recomputing its projections.
     */
    public Output forward(Backend b, ImageContext ctx, Tensor tokens) {
        try (TensorScope s = TensorScope.open()) {
            return s.keep(run(b, ctx.keys(), ctx.keyPe(), tokens, ctx));
        }
    }

    /**
     * {@code -Dsegsam.decoder.absorb=false} (lab knob): decode with the cross attentions' image-side projections computed
     * as written (k_proj/v_proj/q_proj/out_proj of all g² image tokens) instead of absorbed into the few prompt tokens
     * ({@link DecoderAttention#tokensToImage}, {@link DecoderAttention#imageToTokens}). The absorbed forms are used
     * only where this is on, an image context is given (no mask input, no training tape), one prompt per pass and a
     * CPU backend; elsewhere the plain path runs, which stays the reference (docs/PERF.md "decode II").
     */
    static final boolean ABSORB = Boolean.parseBoolean(System.getProperty("segsam.decoder.absorb", "true"));

    /** The layers and the final attention; {@code keys} may be {@code [1, n, C]} for a batch when {@code ctx} is given. */
    private Output run(Backend b, Tensor keys, Tensor keyPe, Tensor tokens, ImageContext ctx) {
        boolean absorb = ABSORB && ctx != null && tokens.size(0) == 1 && b.device() == Device.CPU;
        Tensor queries = tokens;
        for (Block layer : layers) {
            Output o = layer.forward(b, queries, keys, tokens, keyPe, layer == layers[0] ? ctx : null, absorb);
            queries = o.queries();
            keys = o.keys();
        }
        Tensor a = absorb ? finalAttn.tokensToImage(b, b.add(queries, tokens), b.add(keys, keyPe), keys)
                : finalAttn.forward(b, b.add(queries, tokens), b.add(keys, keyPe), keys);
        return new Output(normFinal.forward(b, b.add(queries, a)), keys);
    }

    /**
     * The prompt-independent inputs of a decode on one image (see {@link #imageContext}), all {@code [1, g², ·]}: the
     * keys (image as tokens), the key PE, and layer 0's {@code k0 = t2i.k_proj(keys + kpe)}, {@code v0 = t2i.v_proj(keys)},
     * {@code q0 = i2t.q_proj(keys + kpe)}. Owns its tensors.
     */
    public record ImageContext(Tensor keys, Tensor keyPe, Tensor k0, Tensor v0, Tensor q0) implements AutoCloseable {
        @Override
        public void close() {
            keys.close();
            keyPe.close();
            k0.close();
            v0.close();
            q0.close();
        }
    }

    /** One {@code TwoWayAttentionBlock}. */
    private static final class Block {
        private final boolean skipFirstLayerPe;
        private final DecoderAttention self, t2i, i2t;
        private final LayerNorm n1, n2, n3, n4;
        private final Linear lin1, lin2;

        Block(Params p, SamConfig c, boolean skipFirstLayerPe) {
            int C = c.outChans(), inner = C / c.attnDownsample(), h = c.decoderHeads();
            this.skipFirstLayerPe = skipFirstLayerPe;
            this.self = new DecoderAttention(p.at("self_attn."), C, C, h);
            this.n1 = LayerNorm.load(p, "norm1", C, 1e-5f);
            this.t2i = new DecoderAttention(p.at("cross_attn_token_to_image."), C, inner, h);
            this.n2 = LayerNorm.load(p, "norm2", C, 1e-5f);
            this.lin1 = Linear.load(p, "mlp.lin1", C, c.decoderMlp());
            this.lin2 = Linear.load(p, "mlp.lin2", c.decoderMlp(), C);
            this.n3 = LayerNorm.load(p, "norm3", C, 1e-5f);
            this.n4 = LayerNorm.load(p, "norm4", C, 1e-5f);
            this.i2t = new DecoderAttention(p.at("cross_attn_image_to_token."), C, inner, h);
        }

        /**
         * One block. With {@code ctx} (layer 0 only) {@code keys} is the context's {@code [1, n, C]} and the three
         * projections of the image side come from it, repeated to the batch; the residual {@code keys + …} broadcasts.
         */
        Output forward(Backend b, Tensor queries, Tensor keys, Tensor queryPe, Tensor keyPe, ImageContext ctx, boolean absorb) {
            int B = queries.size(0);
            try (TensorScope s = TensorScope.open()) {
                Tensor q1;
                if (skipFirstLayerPe) {
                    q1 = n1.forward(b, self.forward(b, queries, queries, queries));
                } else {
                    Tensor q = b.add(queries, queryPe);
                    q1 = n1.forward(b, b.add(queries, self.forward(b, q, q, queries)));
                }
                Tensor q3, k4;
                if (ctx == null) {
                    // keys + key PE is the key input of both cross attentions (keys change only after the second)
                    Tensor kpe = b.add(keys, keyPe);
                    Tensor t = absorb ? t2i.tokensToImage(b, b.add(q1, queryPe), kpe, keys) : t2i.forward(b, b.add(q1, queryPe), kpe, keys);
                    Tensor q2 = n2.forward(b, b.add(q1, t));
                    q3 = n3.forward(b, b.add(q2, lin2.forward(b, b.relu(lin1.forward(b, q2)))));
                    k4 = absorb ? i2t.imageToTokens(b, kpe, null, b.add(q3, queryPe), q3, keys, n4) // norm4(keys + …) fused
                            : n4.forward(b, b.add(keys, i2t.forward(b, kpe, b.add(q3, queryPe), q3)));
                } else {
                    Tensor t = t2i.attend(b, t2i.projectQ(b, b.add(q1, queryPe)), MaskDecoder.repeat(b, ctx.k0(), B), MaskDecoder.repeat(b, ctx.v0(), B));
                    Tensor q2 = n2.forward(b, b.add(q1, t));
                    q3 = n3.forward(b, b.add(q2, lin2.forward(b, b.relu(lin1.forward(b, q2)))));
                    k4 = absorb ? i2t.imageToTokens(b, null, ctx.q0(), b.add(q3, queryPe), q3, keys, n4)
                            : n4.forward(b, b.add(keys, i2t.attend(b, MaskDecoder.repeat(b, ctx.q0(), B), i2t.projectK(b, b.add(q3, queryPe)), i2t.projectV(b, q3))));
                }
                return new Output(s.keep(q3), s.keep(k4));
            }
        }
    }
}
