package dev.segsam.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Small cases whose answers are worked out by hand (in the comments), plus error messages and invariants. */
class CpuBackendTest {
    final Backend b = new CpuBackend();

    static Tensor t(float[] v, int... shape) {
        return Tensor.of(v, shape);
    }

    @Test
    void matmulByHand() {
        // [1 2; 3 4]·[5 6; 7 8] = [19 22; 43 50]
        Tensor c = b.matmul(t(new float[] {1, 2, 3, 4}, 2, 2), t(new float[] {5, 6, 7, 8}, 2, 2));
        assertArrayEquals(new float[] {19, 22, 43, 50}, c.toArray());
    }

    @Test
    void matmulRejectsMismatchedInnerDims() {
        var e = assertThrows(IllegalArgumentException.class, () -> b.matmul(Tensor.zeros(2, 3), Tensor.zeros(4, 5)));
        assertTrue(e.getMessage().contains("[2, 3]") && e.getMessage().contains("[4, 5]"), e.getMessage());
    }

    @Test
    void linearByHand() {
        // x = [1 2], W = [[1 0]; [1 1]; [0 -1]], b = [10 20 30] → [1+10, 3+20, -2+30]
        Tensor y = b.linear(t(new float[] {1, 2}, 1, 2), t(new float[] {1, 0, 1, 1, 0, -1}, 3, 2), t(new float[] {10, 20, 30}, 3));
        assertArrayEquals(new float[] {11, 23, 28}, y.toArray());
        assertArrayEquals(new int[] {1, 3}, y.shape());
    }

    @Test
    void conv3x3Pad1OnOnesCountsNeighbours() {
        // all-ones 3x3 image, all-ones 3x3 kernel, padding 1: each output = number of in-image neighbours
        Tensor y = b.conv2d(Tensor.zeros(1, 1, 3, 3).fill(1), Tensor.zeros(1, 1, 3, 3).fill(1), null, 1, 1, 1, 1);
        assertArrayEquals(new float[] {4, 6, 4, 6, 9, 6, 4, 6, 4}, y.toArray());
    }

    @Test
    void convTransposeStride2PlacesKernelCopies() {
        // one input pixel of value 2 and a 2x2 kernel [1 2; 3 4] with bias 1 → 2·k + 1
        Tensor y = b.convTranspose2d(t(new float[] {2}, 1, 1, 1, 1), t(new float[] {1, 2, 3, 4}, 1, 1, 2, 2), t(new float[] {1}, 1), 2);
        assertArrayEquals(new float[] {3, 5, 7, 9}, y.toArray());
    }

    @Test
    void layerNormOfOneTwoThree() {
        // mean 2, biased var 2/3 → (x−2)/sqrt(2/3) = ∓1.2247449, 0
        Tensor y = b.layerNorm(t(new float[] {1, 2, 3}, 1, 3), null, null, 0f);
        assertArrayEquals(new float[] {-1.2247449f, 0f, 1.2247449f}, y.toArray(), 1e-6f);
    }

    @Test
    void layerNorm2dNormalisesAcrossChannelsPerPixel() {
        // two channels, one pixel each with values (1, 3): mean 2, var 1 → (−1, 1), then w = (2, 3), b = (0, 1)
        Tensor y = b.layerNorm2d(t(new float[] {1, 3}, 1, 2, 1, 1), t(new float[] {2, 3}, 2), t(new float[] {0, 1}, 2), 0f);
        assertArrayEquals(new float[] {-2f, 4f}, y.toArray(), 1e-6f);
    }

    @Test
    void softmaxOfEqualValuesIsUniformAndRowsSumToOne() {
        assertArrayEquals(new float[] {0.25f, 0.25f, 0.25f, 0.25f}, b.softmax(Tensor.zeros(1, 4).fill(1000f)).toArray());
        Random r = new Random(1);
        float[] v = new float[3 * 50];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian() * 20;
        float[] p = b.softmax(t(v, 3, 50)).toArray();
        for (int row = 0; row < 3; row++) {
            double s = 0;
            for (int j = 0; j < 50; j++) s += p[row * 50 + j];
            assertEquals(1.0, s, 1e-6);
        }
    }

    @Test
    void activationsByHand() {
        Tensor x = t(new float[] {-2, 0, 3}, 3);
        assertArrayEquals(new float[] {0, 0, 3}, b.relu(x).toArray());
        assertArrayEquals(new float[] {0.11920292f, 0.5f, 0.95257413f}, b.sigmoid(x).toArray(), 1e-7f);
        assertArrayEquals(new float[] {-0.04550026f, 0f, 2.9959502f}, b.gelu(x).toArray(), 1e-7f);
    }

    @Test
    void broadcastingByHand() {
        // [[1 2 3]; [4 5 6]] + [10 20 30] ; · [[2]; [3]]
        Tensor a = t(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        assertArrayEquals(new float[] {11, 22, 33, 14, 25, 36}, b.add(a, t(new float[] {10, 20, 30}, 3)).toArray());
        assertArrayEquals(new float[] {2, 4, 6, 12, 15, 18}, b.mul(a, t(new float[] {2, 3}, 2, 1)).toArray());
        var e = assertThrows(IllegalArgumentException.class, () -> b.add(a, Tensor.zeros(2)));
        assertTrue(e.getMessage().contains("do not broadcast"), e.getMessage());
    }

    @Test
    void windowPartitionPadsWithZerosAndRoundTrips() {
        // 1x3x3x1 image 1..9, window 2 → padded 4x4, 4 windows; window 0 = [1 2; 4 5], window 3 = [9 0; 0 0]
        float[] v = {1, 2, 3, 4, 5, 6, 7, 8, 9};
        Backend.Windows w = b.windowPartition(t(v, 1, 3, 3, 1), 2);
        assertEquals(4, w.paddedH());
        assertArrayEquals(new int[] {4, 2, 2, 1}, w.windows().shape());
        assertArrayEquals(new float[] {1, 2, 4, 5, 3, 0, 6, 0, 7, 8, 0, 0, 9, 0, 0, 0}, w.windows().toArray());
        assertArrayEquals(v, b.windowUnpartition(w.windows(), 2, 4, 4, 3, 3).toArray());
    }

    @Test
    void bilinearToSameSizeIsIdentityAndUpsamplesByHand() {
        Tensor x = t(new float[] {0, 1, 2, 3}, 1, 1, 2, 2);
        assertArrayEquals(x.toArray(), b.interpolateBilinear(x, 2, 2).toArray());
        // 1x2 row [0 4] → width 4: src = 0.5·(d + 0.5) − 0.5 = −0.25→0, 0.25, 0.75, 1.25→i0 1 (clamped) → 0, 1, 3, 4
        assertArrayEquals(new float[] {0, 1, 3, 4}, b.interpolateBilinear(t(new float[] {0, 4}, 1, 1, 1, 2), 1, 4).toArray());
    }

    @Test
    void attentionWithOneKeyReturnsItsValue() {
        Tensor q = Tensor.zeros(1, 3, 2).fill(5), k = Tensor.zeros(1, 1, 2).fill(-1);
        Tensor v = t(new float[] {7, 8, 9}, 1, 1, 3);
        assertArrayEquals(new float[] {7, 8, 9, 7, 8, 9, 7, 8, 9}, b.attention(q, k, v, 0.5f, null).toArray());
    }

    @Test
    void attentionManyTilesEqualsDirectFormula() {
        // more queries than one tile, random data: compare with a direct per-row softmax written here
        Random r = new Random(7);
        int n = CpuBackend.ATTN_TILE * 2 + 5, m = 9, d = 4;
        float[] q = new float[n * d], k = new float[m * d], v = new float[m * d];
        for (float[] a : List.of(q, k, v)) for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian();
        float[] out = b.attention(t(q, 1, n, d), t(k, 1, m, d), t(v, 1, m, d), 0.5f, null).toArray();
        for (int i = 0; i < n; i++) {
            double[] s = new double[m];
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int j = 0; j < m; j++) {
                for (int c = 0; c < d; c++) s[j] += 0.5 * q[i * d + c] * k[j * d + c];
                max = Math.max(max, s[j]);
            }
            for (int j = 0; j < m; j++) sum += s[j] = Math.exp(s[j] - max);
            for (int c = 0; c < d; c++) {
                double o = 0;
                for (int j = 0; j < m; j++) o += s[j] / sum * v[j * d + c];
                assertEquals(o, out[i * d + c], 1e-5);
            }
        }
    }

    @Test
    void relPosLookupSquareIndexIsIMinusJPlusSizeMinusOne() {
        // table row r holds the value r; out[i][j] = table[i − j + 2] for q = k = 3
        Tensor y = b.relPosLookup(t(new float[] {0, 1, 2, 3, 4}, 5, 1), 3, 3);
        assertArrayEquals(new float[] {2, 1, 0, 3, 2, 1, 4, 3, 2}, y.toArray());
    }

    @Test
    void fourierEncodingOfCentreIsSinZeroCosOne() {
        // p = (0.5, 0.5) → c = (0, 0) → t = 0 → sin 0 = 0, cos 0 = 1
        Tensor pe = b.fourierPositionEncoding(t(new float[] {0.5f, 0.5f}, 1, 2), Tensor.zeros(2, 3).fill(1.7f));
        assertArrayEquals(new float[] {0, 0, 0, 1, 1, 1}, pe.toArray());
    }

    @Test
    void argmaxTakesFirstMaximum() {
        assertArrayEquals(new int[] {1, 0}, b.argmax(t(new float[] {1, 3, 3, 2, 2, 1}, 2, 3)));
    }

    @Test
    void permuteConcatSliceByHand() {
        Tensor x = t(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, b.permute(x, 1, 0).toArray());
        assertArrayEquals(new float[] {1, 2, 3, 9, 4, 5, 6, 9}, b.concat(List.of(x, Tensor.zeros(2, 1).fill(9)), 1).toArray());
        assertArrayEquals(new float[] {2, 3, 5, 6}, b.slice(x, 1, 1, 2).toArray());
    }

    @Test
    void inputsAreNeverModified() {
        Tensor x = t(new float[] {-1, 2, -3, 4}, 2, 2);
        b.relu(x);
        b.softmax(x);
        b.layerNorm(x, null, null, 1e-5f);
        assertArrayEquals(new float[] {-1, 2, -3, 4}, x.toArray());
    }
}
