package dev.segsam.tensor.fast;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.segsam.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@code linearAddLayerNorm} on the fast CPU backend ({@link ResidualNormOps}) gives bit for bit what the same
 * backend's separate {@code layerNorm(add(residual, linear(…)))} gives: SAM's image→token output shape (4 096 × 56 →
 * 256, residual = the keys) at a sixteenth, row counts that leave a short last block, no bias, no affine; one thread
 * and two (the contract cases compare it with the reference to a tolerance).
 */
class ResidualNormOpsTest {
    @Test
    void fusedEqualsSeparateOps() {
        for (int threads : new int[] {1, 2}) {
            FastCpuBackend b = new FastCpuBackend(threads);
            Random r = new Random(5);
            for (int[] c : new int[][] {{256, 56, 256}, {100, 56, 64}, {3, 7, 40}}) { // rows, K, N
                Tensor x = rnd(r, 1, c[0], c[1]), w = rnd(r, c[2], c[1]), bias = rnd(r, c[2]), res = rnd(r, 1, c[0], c[2]);
                Tensor lw = rnd(r, c[2]), lb = rnd(r, c[2]);
                String what = threads + " threads, " + java.util.Arrays.toString(c);
                assertArrayEquals(b.layerNorm(b.add(res, b.linear(x, w, bias)), lw, lb, 1e-5f).toArray(),
                        b.linearAddLayerNorm(x, w, bias, res, lw, lb, 1e-5f).toArray(), what);
                assertArrayEquals(b.layerNorm(b.add(res, b.linear(x, w, null)), null, null, 1e-5f).toArray(),
                        b.linearAddLayerNorm(x, w, null, res, null, null, 1e-5f).toArray(), what + ", no bias, no affine");
            }
        }
    }

    static Tensor rnd(Random r, int... shape) {
        float[] v = new float[Math.toIntExact(dev.segsam.tensor.Shapes.numel(shape))];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        return Tensor.of(v, shape);
    }
}
