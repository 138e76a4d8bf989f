package dev.segsam.model.sam;

import dev.segsam.model.nn.LayerNorm;
import dev.segsam.model.nn.Linear;
import dev.segsam.model.nn.Params;
import dev.segsam.tensor.Backend;
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
            Tensor queries = tokens;
            for (Block layer : layers) {
                Output o = layer.forward(b, queries, keys, tokens, keyPe);
                queries = o.queries();
                keys = o.keys();
            }
            Tensor a = finalAttn.forward(b, b.add(queries, tokens), b.add(keys, keyPe), keys);
            return new Output(s.keep(normFinal.forward(b, b.add(queries, a))), s.keep(keys));
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

        Output forward(Backend b, Tensor queries, Tensor keys, Tensor queryPe, Tensor keyPe) {
            try (TensorScope s = TensorScope.open()) {
                Tensor q1;
                if (skipFirstLayerPe) {
                    q1 = n1.forward(b, self.forward(b, queries, queries, queries));
                } else {
                    Tensor q = b.add(queries, queryPe);
                    q1 = n1.forward(b, b.add(queries, self.forward(b, q, q, queries)));
                }
                // keys + key PE is the key input of both cross attentions (keys change only after the second)
                Tensor kpe = b.add(keys, keyPe);
                Tensor q2 = n2.forward(b, b.add(q1, t2i.forward(b, b.add(q1, queryPe), kpe, keys)));
                Tensor q3 = n3.forward(b, b.add(q2, lin2.forward(b, b.relu(lin1.forward(b, q2)))));
                Tensor k4 = n4.forward(b, b.add(keys, i2t.forward(b, kpe, b.add(q3, queryPe), q3)));
                return new Output(s.keep(q3), s.keep(k4));
            }
        }
    }
}
