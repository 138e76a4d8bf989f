package dev.segsam.tensor.fast;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.segsam.tensor.Parallel;
import dev.segsam.tensor.Tensor;
import java.util.Arrays;
import java.util.Random;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/**
 * {@link ShortKeyAttention}'s scalar path for fewer query rows than a vector has lanes gives bit for bit what its
 * vector kernel gives on the same inputs (the kernel the fast backend used for every row count before), and both agree
 * with attention computed in double precision from the definition. The backend contract suite compares the op with the
 * reference backend on more shapes, to a tolerance.
 */
class ShortKeyAttentionTest {
    private static final int L = FloatVector.SPECIES_PREFERRED.length();

    @Test
    void fewRowsEqualVectorKernelBitForBit() {
        Random r = new Random(11);
        // B, nq, nk, heads, d, dv: SAM's token self-attention (7 tokens, 8 heads of 32), one row, a full set of 16 keys,
        // dv ≠ d, odd widths, batch 2
        int[][] cases = {{1, 7, 7, 8, 32, 32}, {1, 1, 1, 1, 4, 4}, {2, 5, 16, 3, 16, 9}, {2, L - 1, 11, 2, 5, 7}, {1, 6, 6, 8, 32, 32}};
        Parallel par = Parallel.of(2);
        for (int[] c : cases) {
            int B = c[0], nq = c[1], nk = c[2], heads = c[3], d = c[4], dv = c[5];
            Tensor q = UpscaleOpsTest.rnd(r, B, nq, heads * d), k = UpscaleOpsTest.rnd(r, B, nk, heads * d), v = UpscaleOpsTest.rnd(r, B, nk, heads * dv);
            float scale = (float) (1 / Math.sqrt(d));
            Tensor few = Tensor.empty(B, nq, heads * dv), vec = Tensor.empty(B, nq, heads * dv);
            ShortKeyAttention.fewRows(q.data(), k.data(), v.data(), few.data(), B, nq, nk, heads, d, dv, scale);
            ShortKeyAttention.vectors(par, q.data(), k.data(), v.data(), vec.data(), B, nq, nk, heads, d, dv, scale);
            String what = Arrays.toString(c);
            assertArrayEquals(vec.toArray(), few.toArray(), what);
            double[] ref = reference(q.toArray(), k.toArray(), v.toArray(), B, nq, nk, heads, d, dv);
            float[] got = few.toArray();
            assertEquals(ref.length, got.length, what);
            for (int i = 0; i < got.length; i++) assertEquals(ref[i], got[i], 1e-5 * (1 + Math.abs(ref[i])), what + " at " + i);
        }
    }

    /** softmax(q·kᵀ/√d)·v per batch item and head, in double precision. */
    private static double[] reference(float[] q, float[] k, float[] v, int B, int nq, int nk, int heads, int d, int dv) {
        double[] out = new double[B * nq * heads * dv];
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < nq; i++) {
                    double[] s = new double[nk];
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (int j = 0; j < nk; j++) {
                        for (int c = 0; c < d; c++) s[j] += (double) q[(b * nq + i) * heads * d + h * d + c] * k[(b * nk + j) * heads * d + h * d + c];
                        s[j] /= Math.sqrt(d);
                        max = Math.max(max, s[j]);
                    }
                    for (int j = 0; j < nk; j++) sum += s[j] = Math.exp(s[j] - max);
                    for (int j = 0; j < nk; j++) {
                        for (int c = 0; c < dv; c++) out[(b * nq + i) * heads * dv + h * dv + c] += s[j] / sum * v[(b * nk + j) * heads * dv + h * dv + c];
                    }
                }
            }
        }
        return out;
    }
}
