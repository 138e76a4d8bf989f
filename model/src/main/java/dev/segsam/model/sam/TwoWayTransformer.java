package dev.segsam.model.sam;

import dev.segsam.model.nn.LayerNorm;
import dev.segsam.model.nn.Linear;
import dev.segsam.model.nn.Params;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Tensor;

/**
 * SAM's two-way transformer (docs/design/sam.md §7.2–7.3): tokens (queries) and image embedding (keys) attend to each other in
 * two blocks, then a final token→image attention. {@code query_pe} is the original tokens in every layer; all norms
 * use eps 1e-5.
 * <pre>
 * block:  queries = LN1(SelfAttn(q+qpe, q+qpe, q) [+ queries, except in layer 0])
 *         queries = LN2(queries + CrossT2I(q = queries+qpe, k = keys+kpe, v = keys))
 *         queries = LN3(queries + Linear(ReLU(Linear(queries))))
 *         keys    = LN4(keys + CrossI2T(q = keys+kpe, k = queries+qpe, v = queries))
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
        Tensor keys = b.permute(image.reshape(B, C, n), 0, 2, 1);
        Tensor keyPe = b.permute(imagePe.reshape(imagePe.size(0), C, n), 0, 2, 1);
        Tensor queries = tokens;
        for (Block layer : layers) {
            Output o = layer.forward(b, queries, keys, tokens, keyPe);
            if (queries != tokens) queries.close();
            keys.close();
            queries = o.queries();
            keys = o.keys();
        }
        try (Tensor q = b.add(queries, tokens); Tensor k = b.add(keys, keyPe); Tensor a = finalAttn.forward(b, q, k, keys);
             Tensor r = b.add(queries, a)) {
            return new Output(normFinal.forward(b, r), keys);
        } finally {
            queries.close();
            keyPe.close();
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
            Tensor q1;
            if (skipFirstLayerPe) {
                try (Tensor a = self.forward(b, queries, queries, queries)) {
                    q1 = n1.forward(b, a);
                }
            } else {
                try (Tensor q = b.add(queries, queryPe); Tensor a = self.forward(b, q, q, queries); Tensor r = b.add(queries, a)) {
                    q1 = n1.forward(b, r);
                }
            }
            // keys + key PE is the key input of both cross attentions (keys change only after the second)
            try (Tensor kpe = b.add(keys, keyPe)) {
                Tensor q2;
                try (q1; Tensor q = b.add(q1, queryPe); Tensor a = t2i.forward(b, q, kpe, keys); Tensor r = b.add(q1, a)) {
                    q2 = n2.forward(b, r);
                }
                Tensor q3;
                try (q2; Tensor h = lin1.forward(b, q2); Tensor hr = b.relu(h); Tensor m = lin2.forward(b, hr); Tensor r = b.add(q2, m)) {
                    q3 = n3.forward(b, r);
                }
                try (Tensor q = b.add(q3, queryPe); Tensor a = i2t.forward(b, kpe, q, q3); Tensor r = b.add(keys, a)) {
                    return new Output(q3, n4.forward(b, r));
                }
            }
        }
    }
}
