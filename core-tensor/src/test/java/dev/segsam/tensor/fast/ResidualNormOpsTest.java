package dev.segsam.tensor.fast;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.segsam.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@code linearAddLayerNorm} on the fast CPU backend ({@link ResidualNormOps}) gives bit for bit what the same
 * backend's separate {@code layerNorm(add(residual, linear(…)))} gives when its last row block has at least 6 rows (to
 * 1e-5 otherwise): SAM's image→token output shape (4 096 × 56 →
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
                // bit for bit when the last block has at least a GEMM tile's 6 rows (SAM: 4 096 = 42 × 96 + 64); a last
                // block of fewer rows goes through the GEMM's small-M path, whose sums differ in the last bits
                int last = c[0] % ResidualNormOps.ROWS == 0 ? ResidualNormOps.ROWS : c[0] % ResidualNormOps.ROWS;
                float tol = last >= 6 ? 0f : 1e-5f;
                assertArrayEquals(b.layerNorm(b.add(res, b.linear(x, w, bias)), lw, lb, 1e-5f).toArray(),
                        b.linearAddLayerNorm(x, w, bias, res, lw, lb, 1e-5f).toArray(), tol, what);
                assertArrayEquals(b.layerNorm(b.add(res, b.linear(x, w, null)), null, null, 1e-5f).toArray(),
                        b.linearAddLayerNorm(x, w, null, res, null, null, 1e-5f).toArray(), tol, what + ", no bias, no affine");
            }
        }
    }

    static Tensor rnd(Random r, int... shape) {
        float[] v = new float[Math.toIntExact(dev.segsam.tensor.Shapes.numel(shape))];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        return Tensor.of(v, shape);
    }
}
