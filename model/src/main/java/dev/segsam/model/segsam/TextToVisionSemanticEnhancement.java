package dev.segsam.model.segsam;

import dev.segsam.model.nn.LayerNorm;
import dev.segsam.model.nn.Linear;
import dev.segsam.model.nn.Mlp;
import dev.segsam.model.nn.Params;
import dev.segsam.model.sam.DecoderAttention;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorScope;
import java.util.List;

/**
 * T2VSE, text-to-vision semantic enhancement (paper §3.3; our choices in docs/design/segsam.md §2.3). The class descriptions'
 * text embeddings f_t and a learned text summary token t_text interact with the image features f_v by
 * cross-attention; the summary t'_text is fused into the prompt tokens t_p:
 * <pre>
 * S      = [t_text ; Linear(D_t → C)(f_t)]                                   [1, K+1, C]
 * S      = LN1(S + Attn(q = S, k = f_v + PE, v = f_v))                      8 heads, internal dim C/2
 * S      = LN2(S + Linear(M → C)(ReLU(Linear(C → M)(S))))                   M = 2048
 * t'_text = S[0]                                                            depends on the image only
 * t'_p   = t_p + MLP_fuse([t_p ; t'_text])                                  MLP_fuse: 2C → C → C, ReLU; last layer
 *                                                                           zero-initialised, so a fresh T2VSE leaves
 *                                                                           t_p (and SAM's outputs) unchanged
 * </pre>
 * Weights under {@code t2vse.}; f_t itself is stored as {@code t2vse.text_embeddings} [K, D_t] (data, not trained).
 */
public final class TextToVisionSemanticEnhancement {
    private final Tensor textEmbeddings, textToken;
    private final Linear textProj, lin1, lin2;
    private final DecoderAttention crossAttn;
    private final LayerNorm norm1, norm2;
    private final Mlp fuse;
    private final int C;

    public TextToVisionSemanticEnhancement(Params p, int C, int textDim, int numClasses, int mlpDim, int attnDownsample, int heads) {
        this.C = C;
        this.textEmbeddings = p.get("text_embeddings", numClasses, textDim);
        this.textProj = Linear.load(p, "text_proj", textDim, C);
        this.textToken = p.get("text_token.weight", 1, C);
        this.crossAttn = new DecoderAttention(p.at("cross_attn."), C, C / attnDownsample, heads);
        this.norm1 = LayerNorm.load(p, "norm1", C, 1e-5f);
        this.lin1 = Linear.load(p, "mlp.lin1", C, mlpDim);
        this.lin2 = Linear.load(p, "mlp.lin2", mlpDim, C);
        this.norm2 = LayerNorm.load(p, "norm2", C, 1e-5f);
        this.fuse = Mlp.load(p, "fuse", 2 * C, C, C);
    }

    /** f_t, the class text embeddings {@code [K, D_t]}. */
    public Tensor textEmbeddings() {
        return textEmbeddings;
    }

    /**
     * t'_text for one image: {@code fv [1, C, g, g]}, {@code pe [1, C, g, g]} → {@code [1, C]}. Computed once per image
     * and reused for all its prompts.
     */
    public Tensor summarize(Backend b, Tensor fv, Tensor pe) {
        int g2 = fv.size(2) * fv.size(3), K = textEmbeddings.size(0);
        try (TensorScope scope = TensorScope.open()) {
            Tensor S = b.concat(List.of(textToken, textProj.forward(b, textEmbeddings)), 0).reshape(1, K + 1, C);
            Tensor v = b.permute(fv.reshape(1, C, g2), 0, 2, 1);                    // f_v as tokens [1, g², C]
            Tensor k = b.add(v, b.permute(pe.reshape(1, C, g2), 0, 2, 1));
            S = norm1.forward(b, b.add(S, crossAttn.forward(b, S, k, v)));
            S = norm2.forward(b, b.add(S, lin2.forward(b, b.relu(lin1.forward(b, S)))));
            return scope.keep(b.slice(S, 1, 0, 1).reshape(1, C));
        }
    }

    /** t'_p = t_p + MLP_fuse([t_p ; t'_text]): {@code tp [1, Np, C]}, {@code textSummary [1, C]} → {@code [1, Np, C]}. */
    public Tensor enhance(Backend b, Tensor tp, Tensor textSummary) {
        int B = tp.size(0), n = tp.size(1);
        if (n == 0) return b.slice(tp, 1, 0, 0);
        try (TensorScope s = TensorScope.open()) {
            Tensor text = b.add(b.zeros(B, n, C), textSummary.reshape(1, 1, C));   // t'_text beside every token
            return s.keep(b.add(tp, fuse.forward(b, b.concat(List.of(tp, text), 2))));
        }
    }
}
