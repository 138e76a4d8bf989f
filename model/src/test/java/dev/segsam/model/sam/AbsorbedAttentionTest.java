package dev.segsam.model.sam;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.model.nn.Params;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Backends;
import dev.segsam.tensor.CpuBackend;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorSource;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The decoder's cross attentions with the image-side projections absorbed into the few tokens
 * ({@link DecoderAttention#tokensToImage}, {@link DecoderAttention#imageToTokens}) against the plain
 * {@link DecoderAttention#forward} on random weights (biases included, large enough that dropping k_proj's bias or
 * misplacing q_proj's or v_proj's would show) and random inputs, at SAM's head layout (C 64 → inner 32, 8 heads) with
 * 300 image tokens and 7 prompt tokens, on the reference and the fast CPU backend. The two forms are equal in exact
 * arithmetic; float32 sums in another order: relative L2 ≤ 1e-5 (measured ~1e-7).
 */
class AbsorbedAttentionTest {
    static final int C = 64, INNER = 32, HEADS = 8, N = 300, M = 7;

    @Test
    void reference() {
        check(new CpuBackend());
    }

    @Test
    void fastCpu() {
        check(Backends.cpu());
    }

    static void check(Backend b) {
        Random r = new Random(11);
        Map<String, Tensor> w = new HashMap<>();
        for (String p : new String[] {"q_proj", "k_proj", "v_proj"}) {
            w.put(p + ".weight", rnd(r, 0.2f, INNER, C));
            w.put(p + ".bias", rnd(r, 1f, INNER));
        }
        w.put("out_proj.weight", rnd(r, 0.2f, C, INNER));
        w.put("out_proj.bias", rnd(r, 1f, C));
        DecoderAttention a = new DecoderAttention(new Params(TensorSource.of(w, Map.of()), b, ""), C, INNER, HEADS);
        Tensor image = rnd(r, 1f, 1, N, C), image2 = rnd(r, 1f, 1, N, C), tokens = rnd(r, 1f, 1, M, C), tokens2 = rnd(r, 1f, 1, M, C);

        close(a.forward(b, tokens, image, image2), a.tokensToImage(b, tokens, image, image2), b.name() + " token→image");
        close(a.forward(b, image, tokens, tokens2), a.imageToTokens(b, image, null, tokens, tokens2), b.name() + " image→token");
        close(a.forward(b, image, tokens, tokens2), a.imageToTokens(b, null, a.projectQ(b, image), tokens, tokens2),
                b.name() + " image→token, q projected");
    }

    static void close(Tensor expected, Tensor actual, String what) {
        assertTrue(java.util.Arrays.equals(expected.shape(), actual.shape()), what + ": shape");
        float[] e = expected.toArray(), g = actual.toArray();
        double num = 0, den = 0;
        for (int i = 0; i < e.length; i++) {
            num += (e[i] - g[i]) * (double) (e[i] - g[i]);
            den += e[i] * (double) e[i];
        }
        double rel = Math.sqrt(num / den);
        assertTrue(rel <= 1e-5, what + ": relative L2 " + rel);
    }

    static Tensor rnd(Random r, float s, int... shape) {
        float[] v = new float[Math.toIntExact(dev.segsam.tensor.Shapes.numel(shape))];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian() * s;
        return Tensor.of(v, shape);
    }
}
