package dev.segsam.tensor.fast;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.segsam.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The fused upscaling stages of the fast CPU backend ({@link UpscaleOps}) give bit for bit what the same backend's
 * separate ops give — {@code gelu(layerNorm2d(convTranspose2d(…)))} and {@code gelu(convTranspose2d(…))} — at SAM's
 * kernel = stride = 2 with rows of whole vectors, on one thread and on two (the backend contract suite compares both
 * with the reference to a tolerance, other shapes included).
 */
class UpscaleOpsTest {
    @Test
    void fusedEqualsSeparateOps() {
        for (int threads : new int[] {1, 2}) {
            FastCpuBackend b = new FastCpuBackend(threads);
            Random r = new Random(3);
            // SAM ViT-B's stages at a quarter of the grid: [1, 256, 16, 16] → [1, 64, 32, 32] → [1, 32, 64, 64]; then a batch of 2
            // (with a task's pixels not a whole number of vectors, e.g. 24-pixel rows, the norm's tail columns go another
            // way than the separate op's: equal to a tolerance only, which the contract cases check)
            for (int[] c : new int[][] {{1, 256, 16, 64}, {1, 64, 32, 32}, {2, 32, 16, 16}}) {
                Tensor x = rnd(r, c[0], c[1], c[2], c[2]), w = rnd(r, c[1], c[3], 2, 2), bias = rnd(r, c[3]), lw = rnd(r, c[3]), lb = rnd(r, c[3]);
                assertArrayEquals(b.gelu(b.convTranspose2d(x, w, bias, 2)).toArray(), b.convTranspose2dGelu(x, w, bias, 2).toArray(),
                        "GELU, " + threads + " threads, " + java.util.Arrays.toString(c));
                assertArrayEquals(b.gelu(b.convTranspose2d(x, w, null, 2)).toArray(), b.convTranspose2dGelu(x, w, null, 2).toArray(),
                        "GELU without bias, " + threads + " threads, " + java.util.Arrays.toString(c));
                assertArrayEquals(b.gelu(b.layerNorm2d(b.convTranspose2d(x, w, bias, 2), lw, lb, 1e-6f)).toArray(),
                        b.convTranspose2dLayerNormGelu(x, w, bias, 2, lw, lb, 1e-6f).toArray(), "norm + GELU, " + threads + " threads, " + java.util.Arrays.toString(c));
            }
        }
    }

    static Tensor rnd(Random r, int... shape) {
        float[] v = new float[Math.toIntExact(dev.segsam.tensor.Shapes.numel(shape))];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        return Tensor.of(v, shape);
    }
}
