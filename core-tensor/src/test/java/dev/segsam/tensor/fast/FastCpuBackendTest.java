package dev.segsam.tensor.fast;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Compare;
import dev.segsam.tensor.CpuBackend;
import dev.segsam.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The fast backend's own ops against the reference on the same random inputs, at odd sizes and SAM-like ones. Bound:
 * |err| ≤ 1e-5 + 1e-4·|ref| (float32 sums in another order).
 */
class FastCpuBackendTest {
    final Backend ref = new CpuBackend();
    FastCpuBackend fast;
    final Random rnd = new Random(42);

    @BeforeEach
    void need() {
        assumeTrue(Sgemm.available(), "Vector API not present");
        fast = new FastCpuBackend();
    }

    Tensor rand(int... shape) {
        float[] v = new float[Math.toIntExact(dev.segsam.tensor.Shapes.numel(shape))];
        for (int i = 0; i < v.length; i++) v[i] = (float) rnd.nextGaussian();
        return Tensor.of(v, shape);
    }

    void same(Tensor expected, Tensor actual, String what) {
        Compare.close(expected, actual, 1e-4, 1e-5, what);
    }

    @Test
    void matmul() {
        for (int[][] s : new int[][][] {{{7, 13}, {13, 5}}, {{3, 33, 70}, {3, 70, 17}}, {{2, 5, 9}, {9, 4}}, {{6, 1}, {1, 40}}}) {
            Tensor a = rand(s[0]), b = rand(s[1]);
            same(ref.matmul(a, b), fast.matmul(a, b), "matmul " + java.util.Arrays.deepToString(s));
        }
        Tensor a = rand(2, 1, 4, 5), b = rand(3, 5, 2); // general broadcast: handled by the reference path
        same(ref.matmul(a, b), fast.matmul(a, b), "broadcast matmul");
    }

    @Test
    void linear() {
        Tensor x = rand(2, 37, 50), w = rand(19, 50), bias = rand(19);
        same(ref.linear(x, w, bias), fast.linear(x, w, bias), "linear + bias");
        same(ref.linear(x, w, null), fast.linear(x, w, null), "linear");
        Tensor big = rand(300, 96), w2 = rand(288, 96), b2 = rand(288);
        same(ref.linear(big, w2, b2), fast.linear(big, w2, b2), "qkv-like");
    }

    @Test
    void conv2d() {
        Tensor x = rand(2, 3, 32, 48), w = rand(8, 3, 16, 16), b = rand(8);
        same(ref.conv2d(x, w, b, 16, 16, 0, 0), fast.conv2d(x, w, b, 16, 16, 0, 0), "patch embed");
        Tensor y = rand(1, 6, 9, 7), w3 = rand(5, 6, 3, 3);
        same(ref.conv2d(y, w3, null, 1, 1, 1, 1), fast.conv2d(y, w3, null, 1, 1, 1, 1), "3x3 pad 1");
        Tensor m = rand(2, 1, 16, 16), w2 = rand(4, 1, 2, 2), b2 = rand(4);
        same(ref.conv2d(m, w2, b2, 2, 2, 0, 0), fast.conv2d(m, w2, b2, 2, 2, 0, 0), "2x2 stride 2");
    }

    /** Layout and element-wise ops at sizes past the chunking thresholds (bit-exact for layout ops). */
    @Test
    void layoutAndElementwiseAtScale() {
        Tensor x = rand(2, 70, 50, 24);
        Compare.exact(ref.permute(x, 0, 3, 1, 2), fast.permute(x, 0, 3, 1, 2), "permute");
        Compare.exact(ref.permute(x, 2, 0, 1, 3), fast.permute(x, 2, 0, 1, 3), "permute keeping the last dim");
        Compare.exact(ref.slice(x, 2, 7, 30), fast.slice(x, 2, 7, 30), "slice");
        Tensor y = rand(2, 70, 9, 24);
        Compare.exact(ref.concat(java.util.List.of(x, y), 2), fast.concat(java.util.List.of(x, y), 2), "concat");
        Backend.Windows rw = ref.windowPartition(x, 14), fw = fast.windowPartition(x, 14);
        Compare.exact(rw.windows(), fw.windows(), "window partition");
        Compare.exact(ref.windowUnpartition(rw.windows(), 14, rw.paddedH(), rw.paddedW(), 70, 50),
                fast.windowUnpartition(rw.windows(), 14, rw.paddedH(), rw.paddedW(), 70, 50), "window unpartition");
        Tensor bias = rand(24), pos = rand(1, 70, 50, 24);
        same(ref.add(x, x), fast.add(x, x), "add");
        same(ref.add(x, bias), fast.add(x, bias), "add bias");
        same(ref.add(x, pos), fast.add(x, pos), "add position table");
        Tensor shifted = fast.add(x, Tensor.zeros(24).fill(300f));
        same(ref.layerNorm(shifted, bias, bias, 1e-6f), fast.layerNorm(shifted, bias, bias, 1e-6f), "layer norm far from 0");
        same(ref.gelu(x), fast.gelu(x), "gelu");
    }

    @Test
    void convTranspose2d() {
        Tensor x = rand(2, 16, 5, 7), w = rand(16, 4, 2, 2), b = rand(4);
        same(ref.convTranspose2d(x, w, b, 2), fast.convTranspose2d(x, w, b, 2), "2x2 stride 2");
        Tensor w3 = rand(16, 3, 3, 3);
        same(ref.convTranspose2d(x, w3, null, 2), fast.convTranspose2d(x, w3, null, 2), "3x3 stride 2 (overlapping)");
    }

    @Test
    void attention() {
        Tensor q = rand(3, 300, 16), k = rand(3, 70, 16), v = rand(3, 70, 8);
        same(ref.attention(q, k, v, 0.25f, null), fast.attention(q, k, v, 0.25f, null), "cross, several row blocks");
        int side = 20, d = 8;
        Tensor q2 = rand(2, side * side, d), k2 = rand(2, side * side, d), v2 = rand(2, side * side, d);
        Backend.RelPos rel = new Backend.RelPos(ref.relPosLookup(rand(2 * side - 1, d), side, side),
                ref.relPosLookup(rand(2 * side - 1, d), side, side), side, side, side, side);
        same(ref.attention(q2, k2, v2, 0.35f, rel), fast.attention(q2, k2, v2, 0.35f, rel), "rel-pos, 400 queries");
    }
}
