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
        // GELU fused into the GEMM's store: against the reference's linear then gelu; K over one block (KC) too
        same(ref.linearGelu(big, w2, b2), fast.linearGelu(big, w2, b2), "linear + gelu");
        same(ref.linearGelu(x, w, null), fast.linearGelu(x, w, null), "linear + gelu, 19 columns (scalar edge)");
        Tensor deep = rand(20, 1100), wd = rand(40, 1100);
        same(ref.linearGelu(deep, wd, null), fast.linearGelu(deep, wd, null), "linear + gelu, two K blocks");
        Tensor few = rand(3, 50);
        same(ref.linearGelu(few, w, bias), fast.linearGelu(few, w, bias), "linear + gelu, small M");
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
        // several row tiles per image (the last one short), two images
        Tensor big = rand(2, 8, 40, 30), wb = rand(8, 3, 2, 2), bb = rand(3);
        same(ref.convTranspose2d(big, wb, bb, 2), fast.convTranspose2d(big, wb, bb, 2), "2x2 stride 2, row tiles");
        // rows of whole vectors plus a tail (the vector interleave of the two column taps, then scalars), and SAM's width
        for (int width : new int[] {37, 64}) {
            Tensor xw = rand(1, 8, 6, width), ww = rand(8, 5, 2, 2), bw = rand(5);
            same(ref.convTranspose2d(xw, ww, bw, 2), fast.convTranspose2d(xw, ww, bw, 2), "2x2 stride 2, width " + width);
        }
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

    /** Several key chunks of the online softmax (Nk > 512), odd head sizes, dv wider than one panel, rel-pos grids. */
    @Test
    void flashAttentionChunksAndOddSizes() {
        Tensor q = rand(2, 37, 5), k = rand(2, 1100, 5), v = rand(2, 1100, 40);
        same(ref.attention(q, k, v, 0.4f, null), fast.attention(q, k, v, 0.4f, null), "1100 keys, d 5, dv 40");
        int qh = 3, qw = 13, kh = 40, kw = 30, d = 6;
        Tensor q2 = rand(3, qh * qw, d), k2 = rand(3, kh * kw, d), v2 = rand(3, kh * kw, 7);
        Backend.RelPos rel = new Backend.RelPos(rand(qh, kh, d), rand(qw, kw, d), qh, qw, kh, kw);
        same(ref.attention(q2, k2, v2, 0.3f, rel), fast.attention(q2, k2, v2, 0.3f, rel), "rel-pos 3x13 → 40x30 (chunks cut key rows)");
    }

    /** The fused multi-head path against the reference's composition (split permute, attention, merge permute). */
    @Test
    void multiHeadAttention() {
        for (int[] c : new int[][] {{2, 7, 300, 8, 16, 16}, {1, 4096 / 8, 7, 8, 16, 16}, {3, 5, 9, 3, 4, 11}}) {
            int B = c[0], nq = c[1], nk = c[2], heads = c[3], d = c[4], dv = c[5];
            Tensor q = rand(B, nq, heads * d), k = rand(B, nk, heads * d), v = rand(B, nk, heads * dv);
            same(ref.multiHeadAttention(q, k, v, heads, 0.25f), fast.multiHeadAttention(q, k, v, heads, 0.25f),
                    "multi-head " + java.util.Arrays.toString(c));
        }
    }

    /**
     * The fused encoder attention branch against the reference's composition (window partition, qkv, permute, slices,
     * rel-pos attention, merge, proj, unpartition): global and windowed, windows that need padding on both sides, B 2.
     */
    @Test
    void encoderAttention() {
        int D = 24, heads = 3, hd = D / heads;
        // weights at nn.Linear's scale (~1/√D): unit-variance q·k scores, so float rounding is not amplified by a
        // saturated softmax (with N(0, 1) weights the scores reach ~±100 and both sides differ by ~3e-4 relative)
        float ws = (float) (1 / Math.sqrt(D));
        Tensor qkvW = fast.scale(rand(3 * D, D), ws), qkvB = rand(3 * D), projW = fast.scale(rand(D, D), ws), projB = rand(D);
        for (int[] c : new int[][] {{2, 9, 11, 4}, {1, 6, 5, 0}, {1, 8, 8, 4}, {2, 3, 7, 5}}) {
            int B = c[0], H = c[1], W = c[2], window = c[3], S = window > 0 ? window : Math.max(H, W);
            Tensor x = rand(B, H, W, D), rh = rand(2 * S - 1, hd), rw = rand(2 * S - 1, hd);
            same(ref.encoderAttention(x, qkvW, qkvB, projW, projB, heads, window, rh, rw),
                    fast.encoderAttention(x, qkvW, qkvB, projW, projB, heads, window, rh, rw), "encoder attention " + java.util.Arrays.toString(c));
        }
        Tensor x = rand(1, 5, 5, D), rh = rand(5, hd), rw = rand(5, hd); // rel-pos tables of another length: resized
        same(ref.encoderAttention(x, qkvW, null, projW, null, heads, 3, rh, rw),
                fast.encoderAttention(x, qkvW, null, projW, null, heads, 3, rh, rw), "no biases, resized tables");
    }

    /** A few rows of A: the unpacked small-M GEMM path (decoder tokens, hypernetwork rows, the mask product). */
    @Test
    void smallRowCounts() {
        for (int m : new int[] {1, 4, 7, 8}) {
            Tensor x = rand(m, 37), w = rand(70, 37), bias = rand(70);
            same(ref.linear(x, w, bias), fast.linear(x, w, bias), "linear, " + m + " rows");
            same(ref.linear(x, w, null), fast.linear(x, w, null), "linear without bias, " + m + " rows");
            Tensor b = rand(37, 45);
            same(ref.matmul(x, b), fast.matmul(x, b), "matmul, " + m + " rows");
        }
        Tensor h = rand(4, 32), up = rand(32, 4096 + 5);
        same(ref.matmul(h, up), fast.matmul(h, up), "mask product");
    }

    /** Mask postprocessing (resize, crop, resize) computed on the crop only: equal to the default composition. */
    @Test
    void postprocessMasks() {
        Tensor low = rand(1, 3, 16, 16);
        for (boolean threshold : new boolean[] {false, true}) {
            same(ref.postprocessMasks(low, 64, 48, 37, 45, 60, threshold), fast.postprocessMasks(low, 64, 48, 37, 45, 60, threshold),
                    "postprocess crop 48x37" + (threshold ? " thresholded" : ""));
            same(ref.postprocessMasks(low, 64, 64, 64, 30, 30, threshold), fast.postprocessMasks(low, 64, 64, 64, 30, 30, threshold),
                    "postprocess no crop" + (threshold ? " thresholded" : ""));
        }
    }

    /** A per-channel value broadcast over the pixels ([1, C, 1, 1] or [C, 1, 1]: the decoder's dense prompt embedding). */
    @Test
    void addPerChannel() {
        Tensor x = rand(2, 5, 3, 7);
        Tensor b = rand(1, 5, 1, 1);
        same(ref.add(x, b), fast.add(x, b), "add [1, C, 1, 1]");
        Tensor c = rand(5, 1, 1);
        same(ref.add(x, c), fast.add(x, c), "add [C, 1, 1]");
    }

    /** Vectorised LayerNorm2d (whole vectors and the scalar tail of a pixel block), far from zero too. */
    @Test
    void layerNorm2d() {
        for (int[] sh : new int[][] {{1, 64, 20, 30}, {2, 5, 3, 7}, {1, 3, 17, 17}}) {
            Tensor x = rand(sh), w = rand(sh[1]), b = rand(sh[1]);
            same(ref.layerNorm2d(x, w, b, 1e-6f), fast.layerNorm2d(x, w, b, 1e-6f), "layerNorm2d " + java.util.Arrays.toString(sh));
            Tensor shifted = fast.add(x, Tensor.zeros(sh[3]).fill(300f));
            same(ref.layerNorm2d(shifted, null, null, 1e-6f), fast.layerNorm2d(shifted, null, null, 1e-6f), "layerNorm2d far from 0");
        }
    }

    /** Permutes whose contiguous runs are short (gathered) or long (copied), bit-exact. */
    @Test
    void permuteRunLengths() {
        Tensor x = rand(3, 50, 7, 16);
        for (int[] p : new int[][] {{0, 2, 1, 3}, {3, 1, 2, 0}, {1, 0, 3, 2}, {2, 0, 1, 3}, {0, 1, 2, 3}}) {
            Compare.exact(ref.permute(x, p), fast.permute(x, p), "permute " + java.util.Arrays.toString(p));
        }
        Tensor img = rand(1, 256, 4096);
        Compare.exact(ref.permute(img, 0, 2, 1), fast.permute(img, 0, 2, 1), "decoder keys transpose");
    }

    /** Separable bilinear resize: bit-identical to the reference (same float expression), up, down, odd sizes. */
    @Test
    void interpolateBilinear() {
        for (int[] c : new int[][] {{1, 1, 64, 64, 256, 256}, {2, 3, 17, 9, 5, 31}, {1, 2, 48, 64, 27, 36}, {1, 1, 1, 7, 4, 3}}) {
            Tensor x = rand(c[0], c[1], c[2], c[3]);
            Compare.exact(ref.interpolateBilinear(x, c[4], c[5]), fast.interpolateBilinear(x, c[4], c[5]), "resize " + java.util.Arrays.toString(c));
        }
    }
}
