package dev.segsam.tensor.contract;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Backend.RelPos;
import dev.segsam.tensor.Shapes;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.contract.OpCase.Op;
import dev.segsam.tensor.contract.OpCase.Size;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.function.Function;

/**
 * The one list of op cases every backend runs against the reference (in the spirit of ggml's test-backend-ops): each
 * op of {@link Backend} at tiny, odd, tile-aligned, one-past-a-tile, empty and SAM-like shapes, special values (±0, ±Inf,
 * NaN) where an op must pass them through, and the parameters that select different code paths in the backends
 * (broadcast patterns that merge or do not, rel-pos grids, head dims with and without a flash kernel, key counts over
 * one online-softmax chunk, crops). Inputs are Gaussian (or uniform where the op wants [0, 1]), seeded by the case.
 */
public final class OpCases {
    private OpCases() {}

    // ------------------------------------------------------------------ tolerances (see Tolerance)

    static final Tolerance EXACT = Tolerance.EXACT;
    /** Activations and softmax: the same formula in another float order (or with double sums). */
    static final Tolerance CLOSE = new Tolerance.Close(1e-5, 1e-7);
    /**
     * Layer norms, {@code y = w·x̂ + b}: ≤ 1e-5·(|w·x̂| + |w| + |b|), the terms of the final affine step with x̂ counted as
     * at least one unit (x̂ is computed with double sums by the reference, float sums of another order by the fast CPU
     * backend). {@code channels}: the affine parameters apply along dim 1 (LayerNorm2d), else along the last dim.
     */
    static Tolerance norm(boolean channels, float eps) {
        return new Tolerance.Scaled(1e-5, 1e-5, 1, (ref, c, t) -> {
            Tensor x = t[0], w = t.length > 1 ? t[1] : null, b = t.length > 2 ? t[2] : null;
            int n = channels ? x.size(1) : x.size(-1);
            Tensor wAbs = w == null ? Tensor.zeros(n).fill(1f) : Tolerance.abs(w);
            Tensor terms = Tolerance.abs(channels ? ref.layerNorm2d(x, w, null, eps) : ref.layerNorm(x, w, null, eps));
            Tensor affine = b == null ? wAbs : ref.add(wAbs, Tolerance.abs(b));
            return ref.add(terms, channels ? affine.reshape(n, 1, 1) : affine);
        });
    }

    /** {@code gelu(layerNorm2d(convTranspose2d(…)))} on unit-scale inputs: the GEMM's rounding over the channel spread. */
    static final Tolerance UPSCALE_NORM = new Tolerance.Close(1e-4, 1e-4);

    /** GEMM-shaped ops: rtol·Σ|a||b|, 1e-4 fp32, 3e-3 TF32. */
    static final Tolerance DOT = Tolerance.dot(1e-4, 3e-3);

    /**
     * Attention (v = input 2): fp32 differs from the reference only in summation order (online rescaling, fp32 instead of
     * double softmax sums): a few ulps of max|v|, growing like √Nk; TF32 rounds q·scale, k, P and v to 10-bit mantissas:
     * 3e-3·max|v|, the TF32 GEMM bound.
     */
    static Tolerance attentionTol(int nk) {
        return new Tolerance.ValueScale(1e-5, 2e-6 * Math.max(1, Math.sqrt(nk / 300.0)), 3e-3, 2);
    }

    /** Every case, in a fixed order (after the tolerances: static initialisation runs in text order). */
    public static final List<OpCase> ALL = Collections.unmodifiableList(build());

    // ------------------------------------------------------------------ input generators

    static Tensor randn(Random r, float scale, int... shape) {
        float[] v = new float[Math.toIntExact(Shapes.numel(shape))];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian() * scale;
        return Tensor.of(v, shape);
    }

    static Tensor uniform(Random r, int... shape) {
        float[] v = new float[Math.toIntExact(Shapes.numel(shape))];
        for (int i = 0; i < v.length; i++) v[i] = r.nextFloat();
        return Tensor.of(v, shape);
    }

    /** Gaussian values plus ±0, ±Inf, NaN, tiny and large ones, where the shape has room. */
    static Tensor withSpecials(Random r, int... shape) {
        Tensor t = randn(r, 3f, shape);
        float[] sp = {0f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, 1e-30f, -1e-30f, 80f, -80f, -9f, 9f};
        for (int i = 0; i < Math.min(sp.length, t.numel() / 2); i++) t.set(i * 2L, sp[i]);
        return t;
    }

    static Tensor plus(Tensor t, float c) {
        float[] v = t.toArray();
        for (int i = 0; i < v.length; i++) v[i] += c;
        return Tensor.of(v, t.shape());
    }

    static String s(int... shape) {
        return Shapes.str(shape);
    }

    // ------------------------------------------------------------------ the list

    private static List<OpCase> build() {
        List<OpCase> l = new ArrayList<>();
        elementwise(l);
        norms(l);
        layout(l);
        classMaps(l);
        resize(l);
        gemm(l);
        convolutions(l);
        attention(l);
        positional(l);
        backward(l);
        optimizer(l);
        return l;
    }

    private static void add(List<OpCase> l, String op, String label, Size size, Tolerance tol, Function<Random, Tensor[]> in, Op run,
                            String... tags) {
        l.add(new OpCase(op, label, size, in, run, tol, Set.of(tags)));
    }

    private static void elementwise(List<OpCase> l) {
        for (int[] sh : new int[][] {{1}, {7}, {3, 5, 17}, {1000}, {2, 3, 4, 5}, {}}) {
            Function<Random, Tensor[]> x = r -> new Tensor[] {withSpecials(r, sh)};
            add(l, "relu", s(sh) + " with ±0, ±Inf, NaN", Size.SMALL, EXACT, x, (b, t) -> b.relu(t[0]));
            add(l, "scale", s(sh) + " · -0.37 with ±0, ±Inf, NaN", Size.SMALL, EXACT, x, (b, t) -> b.scale(t[0], -0.37f));
            add(l, "gelu", s(sh) + " with ±0, ±Inf, NaN", Size.SMALL, CLOSE, x, (b, t) -> b.gelu(t[0]));
            add(l, "sigmoid", s(sh) + " with ±0, ±Inf, NaN", Size.SMALL, CLOSE, x, (b, t) -> b.sigmoid(t[0]));
        }
        add(l, "gelu", s(2, 70, 50, 24), Size.LARGE, CLOSE, r -> new Tensor[] {randn(r, 1f, 2, 70, 50, 24)}, (b, t) -> b.gelu(t[0]));
        int[][][] pairs = {{{3, 4}, {3, 4}}, {{7, 13}, {13}}, {{3, 1}, {1, 4}}, {{2, 3, 5}, {3, 1}}, {{1}, {5, 6}}, {{}, {2, 3}},
                {{2, 1, 3, 1, 5}, {1, 4, 1, 6, 5}}, // five merged groups: more than one launch on CUDA
                {{4, 1, 1, 9}, {4, 3, 7, 9}}, {{0, 3}, {3}},
                {{2, 5, 3, 7}, {1, 5, 1, 1}}, {{2, 5, 3, 7}, {5, 1, 1}}}; // per-channel values (the decoder's dense prompt)
        for (int[][] p : pairs) {
            Function<Random, Tensor[]> ab = r -> new Tensor[] {randn(r, 2f, p[0]), randn(r, 2f, p[1])};
            String lab = s(p[0]) + ", " + s(p[1]);
            add(l, "add", lab, Size.SMALL, EXACT, ab, (b, t) -> b.add(t[0], t[1]));
            add(l, "sub", "b − a for " + lab, Size.SMALL, EXACT, ab, (b, t) -> b.sub(t[1], t[0]));
            add(l, "mul", lab, Size.SMALL, EXACT, ab, (b, t) -> b.mul(t[0], t[1]));
            add(l, "div", lab, Size.SMALL, EXACT, ab, (b, t) -> b.div(t[0], t[1]));
        }
        int[][][] big = {{{2, 70, 50, 24}, {2, 70, 50, 24}}, {{2, 70, 50, 24}, {24}}, {{2, 70, 50, 24}, {1, 70, 50, 24}}};
        for (int[][] p : big) {
            add(l, "add", s(p[0]) + ", " + s(p[1]), Size.LARGE, EXACT, r -> new Tensor[] {randn(r, 1f, p[0]), randn(r, 1f, p[1])},
                    (b, t) -> b.add(t[0], t[1]));
        }
    }

    private static void norms(List<OpCase> l) {
        for (int[] sh : new int[][] {{1, 1}, {3, 7}, {5, 768}, {2, 3, 257}, {1, 33}}) {
            int D = sh[sh.length - 1];
            // offset mean: the variance must not cancel
            add(l, "layerNorm", s(sh) + " mean 5, affine, eps 1e-6", Size.SMALL, norm(false, 1e-6f),
                    r -> new Tensor[] {plus(randn(r, 2f, sh), 5f), randn(r, 1f, D), randn(r, 1f, D)},
                    (b, t) -> b.layerNorm(t[0], t[1], t[2], 1e-6f));
            add(l, "layerNorm", s(sh) + " mean 5, no affine, eps 1e-5", Size.SMALL, norm(false, 1e-5f), r -> new Tensor[] {plus(randn(r, 2f, sh), 5f)},
                    (b, t) -> b.layerNorm(t[0], null, null, 1e-5f));
        }
        add(l, "layerNorm", s(2, 70, 50, 24) + " mean 300", Size.LARGE, norm(false, 1e-6f),
                r -> new Tensor[] {plus(randn(r, 1f, 2, 70, 50, 24), 300f), randn(r, 1f, 24), randn(r, 1f, 24)},
                (b, t) -> b.layerNorm(t[0], t[1], t[2], 1e-6f));
        for (int[] sh : new int[][] {{1, 3, 5, 7}, {2, 256, 9, 13}, {1, 64, 33, 1}, {3, 1, 2, 2}, {1, 64, 20, 30}, {2, 5, 3, 7}, {1, 3, 17, 17}}) {
            add(l, "layerNorm2d", s(sh) + " mean −3, affine", Size.SMALL, norm(true, 1e-6f),
                    r -> new Tensor[] {plus(randn(r, 1.5f, sh), -3f), randn(r, 1f, sh[1]), randn(r, 1f, sh[1])},
                    (b, t) -> b.layerNorm2d(t[0], t[1], t[2], 1e-6f));
            add(l, "layerNorm2d", s(sh) + " mean 300, no affine", Size.SMALL, norm(true, 1e-6f), r -> new Tensor[] {plus(randn(r, 1f, sh), 300f)},
                    (b, t) -> b.layerNorm2d(t[0], null, null, 1e-6f));
        }
        for (int[] sh : new int[][] {{1, 1}, {3, 7}, {4, 33}, {2, 1000}, {3, 4096}, {2, 2, 5}, {2, 4700, 7}, {9, 16}, {5, 17}}) {
            add(l, "softmax", s(sh) + " with a −Inf entry", Size.SMALL, CLOSE, r -> {
                Tensor x = randn(r, 8f, sh);
                if (x.numel() > 3) x.set(1, Float.NEGATIVE_INFINITY); // a masked entry
                return new Tensor[] {x};
            }, (b, t) -> b.softmax(t[0]));
        }
        // short rows far from zero: the fast CPU backend's unshifted exponentials must fall back to the max-subtracted form
        for (float shift : new float[] {-90f, 75f, 300f}) {
            add(l, "softmax", s(300, 7) + " shifted by " + shift, Size.SMALL, CLOSE, r -> new Tensor[] {plus(randn(r, 3f, 300, 7), shift)},
                    (b, t) -> b.softmax(t[0]));
        }
    }

    private static void layout(List<OpCase> l) {
        Object[][] perms = {{new int[] {2, 3, 4}, new int[] {2, 0, 1}}, {new int[] {1, 5, 1, 7}, new int[] {3, 1, 0, 2}},
                {new int[] {2, 3, 4, 5, 6}, new int[] {4, 2, 0, 3, 1}}, {new int[] {3, 4, 5, 6}, new int[] {0, 1, 3, 2}},
                {new int[] {7}, new int[] {0}}, {new int[] {2, 3, 5, 2, 3, 2}, new int[] {5, 3, 1, 4, 2, 0}},
                {new int[] {1, 64, 64, 7}, new int[] {0, 3, 1, 2}},
                // short (gathered) and long (copied) contiguous runs
                {new int[] {3, 50, 7, 16}, new int[] {0, 2, 1, 3}}, {new int[] {3, 50, 7, 16}, new int[] {3, 1, 2, 0}},
                {new int[] {3, 50, 7, 16}, new int[] {1, 0, 3, 2}}, {new int[] {3, 50, 7, 16}, new int[] {2, 0, 1, 3}},
                {new int[] {3, 50, 7, 16}, new int[] {0, 1, 2, 3}}};
        for (Object[] p : perms) {
            int[] sh = (int[]) p[0], dims = (int[]) p[1];
            add(l, "permute", s(sh) + " by " + Arrays.toString(dims), Size.SMALL, EXACT, r -> new Tensor[] {randn(r, 1f, sh)},
                    (b, t) -> b.permute(t[0], dims));
        }
        for (int[] dims : new int[][] {{0, 3, 1, 2}, {2, 0, 1, 3}}) {
            add(l, "permute", s(2, 70, 50, 24) + " by " + Arrays.toString(dims), Size.LARGE, EXACT,
                    r -> new Tensor[] {randn(r, 1f, 2, 70, 50, 24)}, (b, t) -> b.permute(t[0], dims));
        }
        add(l, "permute", s(1, 256, 4096) + " by [0, 2, 1] (the decoder's keys)", Size.LARGE, EXACT,
                r -> new Tensor[] {randn(r, 1f, 1, 256, 4096)}, (b, t) -> b.permute(t[0], 0, 2, 1));

        add(l, "concat", "[2, 3, 4], [2, 5, 4], [2, 1, 4] dim 1", Size.SMALL, EXACT,
                r -> new Tensor[] {randn(r, 1f, 2, 3, 4), randn(r, 1f, 2, 5, 4), randn(r, 1f, 2, 1, 4)},
                (b, t) -> b.concat(List.of(t[0], t[1], t[2]), 1));
        add(l, "concat", "[2, 3, 4], [3, 3, 4] dim 0", Size.SMALL, EXACT, r -> new Tensor[] {randn(r, 1f, 2, 3, 4), randn(r, 1f, 3, 3, 4)},
                (b, t) -> b.concat(List.of(t[0], t[1]), 0));
        add(l, "concat", "[2, 3, 9], [2, 3, 4] dim -1", Size.SMALL, EXACT, r -> new Tensor[] {randn(r, 1f, 2, 3, 9), randn(r, 1f, 2, 3, 4)},
                (b, t) -> b.concat(List.of(t[0], t[1]), -1));
        add(l, "concat", "[2, 70, 50, 24], [2, 70, 9, 24] dim 2", Size.LARGE, EXACT,
                r -> new Tensor[] {randn(r, 1f, 2, 70, 50, 24), randn(r, 1f, 2, 70, 9, 24)}, (b, t) -> b.concat(List.of(t[0], t[1]), 2));
        for (int[] p : new int[][] {{0, 1, 2}, {1, 3, 4}, {2, 0, 5}, {-1, 4, 1}, {1, 7, 0}}) {
            add(l, "slice", "[4, 7, 5] dim " + p[0] + " from " + p[1] + " length " + p[2], Size.SMALL, EXACT,
                    r -> new Tensor[] {randn(r, 1f, 4, 7, 5)}, (b, t) -> b.slice(t[0], p[0], p[1], p[2]));
        }
        add(l, "slice", "[2, 70, 50, 24] dim 2 from 7 length 30", Size.LARGE, EXACT, r -> new Tensor[] {randn(r, 1f, 2, 70, 50, 24)},
                (b, t) -> b.slice(t[0], 2, 7, 30));

        Object[][] windows = {{new int[] {1, 5, 7, 3}, 3, Size.SMALL}, {new int[] {2, 14, 14, 4}, 14, Size.SMALL},
                {new int[] {1, 9, 4, 2}, 4, Size.SMALL}, {new int[] {1, 64, 64, 3}, 14, Size.SMALL}, {new int[] {2, 70, 50, 24}, 14, Size.LARGE}};
        for (Object[] w : windows) {
            int[] sh = (int[]) w[0];
            int ws = (int) w[1];
            int hp = (sh[1] + ws - 1) / ws * ws, wp = (sh[2] + ws - 1) / ws * ws;
            add(l, "windowPartition", s(sh) + " window " + ws, (Size) w[2], EXACT, r -> new Tensor[] {randn(r, 1f, sh)},
                    (b, t) -> b.windowPartition(t[0], ws));
            int[] wsh = {sh[0] * (hp / ws) * (wp / ws), ws, ws, sh[3]};
            add(l, "windowUnpartition", s(wsh) + " to " + sh[1] + "x" + sh[2], (Size) w[2], EXACT, r -> new Tensor[] {randn(r, 1f, wsh)},
                    (b, t) -> b.windowUnpartition(t[0], ws, hp, wp, sh[1], sh[2]));
        }

        Object[] argmax = {new int[] {5, 7}, new int[] {3, 1}, new int[] {1}, new int[] {2, 3, 100}, new int[] {4, 1000},
                new float[] {1, 3, 3, 2, 3, 0}, new float[] {1, Float.NaN, 5, Float.NaN, 2, 7},
                new float[] {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY}, new float[] {4f}};
        for (Object a : argmax) {
            String lab;
            Function<Random, Tensor[]> in;
            if (a instanceof int[] sh) {
                lab = s(sh);
                in = r -> new Tensor[] {randn(r, 1f, sh)};
            } else {
                float[] v = (float[]) a;
                int[] sh = v.length == 1 ? new int[] {} : v.length == 6 && Float.isNaN(v[1]) ? new int[] {2, 3} : new int[] {1, v.length};
                lab = Arrays.toString(v) + " as " + s(sh) + (v.length == 6 && !Float.isNaN(v[1]) ? " (ties: the first maximum)" : "");
                in = r -> new Tensor[] {Tensor.of(v.clone(), sh)};
            }
            add(l, "argmax", lab, Size.SMALL, EXACT, in, (b, t) -> b.argmax(t[0]));
        }
    }

    /** classMaps: B, K, H, W, and how the region is made (null: labels decide; "empty": no label ≠ 0 and no region). */
    private static void classMaps(List<OpCase> l) {
        Object[][] cases = {{1, 4, 5, 7, "random"}, {2, 3, 6, 4, "random"}, {1, 1, 3, 3, "random"}, {2, 6, 16, 16, "random"},
                {1, 3, 4, 5, "background"}, {1, 3, 4, 4, "empty"}};
        for (Object[] c : cases) {
            int B = (int) c[0], K = (int) c[1], H = (int) c[2], W = (int) c[3];
            String kind = (String) c[4];
            Function<Random, Tensor[]> in = r -> {
                Tensor logits = randn(r, 2f, B, K, H, W), region = randn(r, 1f, B, 1, H, W);
                if (!kind.equals("random")) { // class 0 wins everywhere: the means fall back to the region
                    for (long i = 0; i < (long) H * W; i++) logits.set(i, 50f);
                    if (B == 1 && kind.equals("empty")) region.fill(-1f);
                }
                return new Tensor[] {logits, region};
            };
            // labels, foreground and means as one tensor (labels are whole numbers, compared within the same tolerance)
            add(l, "classMaps", B + "x" + K + "x" + H + "x" + W + " " + kind, Size.SMALL, CLOSE, in, (b, t) -> {
                try (Backend.ClassMaps m = b.classMaps(t[0], t[1])) {
                    return b.concat(List.of(m.labels().reshape(-1), m.foreground().reshape(-1), m.means().reshape(-1)), 0);
                }
            });
        }
    }

    private static void resize(List<OpCase> l) {
        int[][] interp = {{1, 2, 5, 7, 11, 3}, {2, 1, 4, 4, 8, 8}, {1, 1, 3, 3, 1, 1}, {1, 3, 64, 64, 256, 256}, {1, 1, 256, 256, 37, 1024},
                {2, 3, 17, 9, 5, 31}, {1, 2, 48, 64, 27, 36}, {1, 1, 1, 7, 4, 3}};
        for (int[] c : interp) {
            int[] sh = {c[0], c[1], c[2], c[3]};
            add(l, "interpolateBilinear", s(sh) + " to " + c[4] + "x" + c[5], Size.SMALL, EXACT, r -> new Tensor[] {randn(r, 1f, sh)},
                    (b, t) -> b.interpolateBilinear(t[0], c[4], c[5]));
        }
        // lowRes shape, then padSize, crop h, crop w, outH, outW
        int[][][] masks = {{{1, 3, 16, 16}, {64, 48, 40, 37, 53}}, {{2, 1, 8, 8}, {32, 32, 32, 32, 32}}, {{1, 2, 8, 12}, {40, 1, 40, 5, 3}},
                {{1, 1, 16, 16}, {64, 64, 21, 200, 17}}, {{1, 1, 256, 256}, {1024, 1024, 683, 300, 200}},
                {{1, 3, 16, 16}, {64, 48, 37, 45, 60}}, {{1, 3, 16, 16}, {64, 64, 64, 30, 30}}};
        for (int[][] m : masks) {
            int[] sh = m[0], p = m[1];
            for (boolean threshold : new boolean[] {false, true}) {
                add(l, "postprocessMasks", s(sh) + " via " + p[0] + "² crop " + p[1] + "x" + p[2] + " to " + p[3] + "x" + p[4]
                        + (threshold ? ", thresholded" : ""), Size.SMALL, EXACT, r -> {
                    Tensor x = randn(r, 4f, sh);
                    x.set(0, 0f); // an exact zero: the threshold is strict
                    return new Tensor[] {x};
                }, (b, t) -> b.postprocessMasks(t[0], p[0], p[1], p[2], p[3], p[4], threshold));
            }
        }
    }

    private static void gemm(List<OpCase> l) {
        // matmul: batch broadcasting (strided, shared operand, the general per-item path), empty dimensions, few rows
        int[][][] mm = {{{3, 17, 33}, {3, 33, 19}}, {{4, 5, 6}, {6, 7}}, {{5, 6}, {2, 6, 9}}, {{2, 1, 5, 6}, {3, 6, 7}}, {{1, 1}, {1, 1}},
                {{2, 0, 3}, {2, 3, 4}}, {{2, 4, 0}, {2, 0, 3}}, {{7, 13}, {13, 5}}, {{3, 33, 70}, {3, 70, 17}}, {{2, 5, 9}, {9, 4}},
                {{6, 1}, {1, 40}}, {{2, 1, 4, 5}, {3, 5, 2}}, {{1, 37}, {37, 45}}, {{4, 37}, {37, 45}}, {{7, 37}, {37, 45}},
                {{8, 37}, {37, 45}}, {{4, 32}, {32, 4101}}}; // the last: the decoder's mask product
        for (int[][] p : mm) {
            add(l, "matmul", s(p[0]) + " · " + s(p[1]), Size.SMALL, DOT, r -> new Tensor[] {randn(r, 1f, p[0]), randn(r, 1f, p[1])},
                    (b, t) -> b.matmul(t[0], t[1]));
        }
        // matmulNT: a·bᵀ with b [..., N, K]: equal batches, b shared, a shared, the general broadcast (the default), empty,
        // K over one CPU block (conv-weight gradient shapes), few rows
        int[][][] nt = {{{3, 17, 33}, {3, 19, 33}}, {{4, 5, 6}, {7, 6}}, {{5, 6}, {2, 9, 6}}, {{2, 1, 5, 6}, {3, 7, 6}}, {{1, 1}, {1, 1}},
                {{2, 0, 3}, {2, 4, 3}}, {{2, 4, 0}, {2, 3, 0}}, {{2, 8, 1100}, {2, 9, 1100}}, {{3, 70, 33}, {3, 17, 33}}, {{1, 37}, {45, 37}}};
        for (int[][] p : nt) {
            add(l, "matmulNT", s(p[0]) + " · " + s(p[1]) + "ᵀ", Size.SMALL, DOT, r -> new Tensor[] {randn(r, 1f, p[0]), randn(r, 1f, p[1])},
                    (b, t) -> b.matmulNT(t[0], t[1]));
        }
        // linear: rows × in → out; tiny, odd, one past a tile, few rows (the small-M paths), K over one CPU block
        Object[][] lin = {{new int[] {1, 1}, 1, Size.SMALL}, {new int[] {7, 33}, 65, Size.SMALL}, {new int[] {130, 64}, 130, Size.SMALL},
                {new int[] {2, 5, 768}, 2, Size.SMALL}, {new int[] {2, 37, 50}, 19, Size.SMALL}, {new int[] {1, 37}, 70, Size.SMALL},
                {new int[] {4, 37}, 70, Size.SMALL}, {new int[] {7, 37}, 70, Size.SMALL}, {new int[] {8, 37}, 70, Size.SMALL},
                {new int[] {3, 50}, 19, Size.SMALL}, {new int[] {20, 1100}, 40, Size.SMALL}, {new int[] {2, 3, 4, 5}, 6, Size.SMALL},
                {new int[] {300, 96}, 288, Size.LARGE}};
        for (Object[] c : lin) {
            int[] xs = (int[]) c[0];
            int out = (int) c[1], in = xs[xs.length - 1];
            Size size = (Size) c[2];
            String lab = s(xs) + " · [" + out + ", " + in + "]ᵀ";
            Function<Random, Tensor[]> withBias = r -> new Tensor[] {randn(r, 1f, xs), randn(r, 1f, out, in), randn(r, 1f, out)};
            add(l, "linear", lab + " + bias", size, DOT, withBias, (b, t) -> b.linear(t[0], t[1], t[2]));
            add(l, "linear", lab, size, DOT, r -> new Tensor[] {randn(r, 1f, xs), randn(r, 1f, out, in)}, (b, t) -> b.linear(t[0], t[1], null));
            // GELU is 1-Lipschitz up to 1.13: the GEMM bound holds after it with that factor, scale from the linear alone
            add(l, "linearGelu", lab + " + bias", size, Tolerance.dot(1e-4, 3e-3, 1.2, (b, t) -> b.linear(t[0], t[1], t[2])),
                    withBias, (b, t) -> b.linearGelu(t[0], t[1], t[2]));
        }
        add(l, "linearGelu", "[2, 37, 50] · [19, 50]ᵀ (no bias)", Size.SMALL, Tolerance.dot(1e-4, 3e-3, 1.2, (b, t) -> b.linear(t[0], t[1], null)),
                r -> new Tensor[] {randn(r, 1f, 2, 37, 50), randn(r, 1f, 19, 50)}, (b, t) -> b.linearGelu(t[0], t[1], null));
    }

    private static void convolutions(List<OpCase> l) {
        // x shape, w shape, stride h/w, pad h/w
        Object[][] convs = {{new int[] {1, 3, 8, 9}, new int[] {4, 3, 3, 3}, new int[] {1, 1, 1, 1}},
                {new int[] {2, 2, 7, 5}, new int[] {3, 2, 2, 3}, new int[] {2, 1, 0, 1}},
                {new int[] {1, 3, 32, 32}, new int[] {8, 3, 16, 16}, new int[] {16, 16, 0, 0}},
                {new int[] {2, 6, 5, 4}, new int[] {5, 6, 1, 1}, new int[] {1, 1, 0, 0}}, // pointwise: no im2col on CUDA
                {new int[] {1, 4, 6, 6}, new int[] {2, 4, 3, 3}, new int[] {2, 2, 1, 1}},
                {new int[] {2, 3, 32, 48}, new int[] {8, 3, 16, 16}, new int[] {16, 16, 0, 0}}, // patch embedding
                {new int[] {1, 6, 9, 7}, new int[] {5, 6, 3, 3}, new int[] {1, 1, 1, 1}},
                {new int[] {2, 1, 16, 16}, new int[] {4, 1, 2, 2}, new int[] {2, 2, 0, 0}},
                // padding wider than the image: output rows and columns that see no input at all, a kernel wider than W
                {new int[] {1, 2, 3, 2}, new int[] {3, 2, 4, 4}, new int[] {1, 2, 2, 3}},
                {new int[] {2, 3, 5, 6}, new int[] {2, 3, 3, 2}, new int[] {3, 1, 4, 2}}};
        for (Object[] c : convs) {
            int[] xs = (int[]) c[0], ws = (int[]) c[1], sp = (int[]) c[2];
            String lab = s(xs) + " * " + s(ws) + " stride " + sp[0] + "x" + sp[1] + " pad " + sp[2] + "x" + sp[3];
            add(l, "im2col", s(xs) + " kernel " + ws[2] + "x" + ws[3] + " stride " + sp[0] + "x" + sp[1] + " pad " + sp[2] + "x" + sp[3],
                    Size.SMALL, EXACT, r -> new Tensor[] {randn(r, 1f, xs)}, (b, t) -> b.im2col(t[0], ws[2], ws[3], sp[0], sp[1], sp[2], sp[3]));
            add(l, "conv2d", lab + " + bias", Size.SMALL, DOT, r -> new Tensor[] {randn(r, 1f, xs), randn(r, 1f, ws), randn(r, 1f, ws[0])},
                    (b, t) -> b.conv2d(t[0], t[1], t[2], sp[0], sp[1], sp[2], sp[3]));
            add(l, "conv2d", lab, Size.SMALL, DOT, r -> new Tensor[] {randn(r, 1f, xs), randn(r, 1f, ws)},
                    (b, t) -> b.conv2d(t[0], t[1], null, sp[0], sp[1], sp[2], sp[3]));
        }
        // layerNorm(residual + linear(x, w, bias)): the decoder's image→token output, residual and norm4
        for (int[] c : new int[][] {{1, 70, 56, 64}, {2, 33, 9, 40}}) { // B, rows, K, N
            add(l, "linearAddLayerNorm", s(c[0], c[1], c[2]) + " → " + c[3] + " + residual, affine", Size.SMALL, UPSCALE_NORM,
                    r -> new Tensor[] {randn(r, 1f, c[0], c[1], c[2]), randn(r, 0.3f, c[3], c[2]), randn(r, 1f, c[3]), randn(r, 1f, c[0], c[1], c[3]),
                            randn(r, 1f, c[3]), randn(r, 1f, c[3])},
                    (b, t) -> b.linearAddLayerNorm(t[0], t[1], t[2], t[3], t[4], t[5], 1e-5f));
        }
        // x shape, w shape [C, O, kh, kw], stride
        Object[][] convT = {{new int[] {1, 4, 3, 5}, new int[] {4, 3, 2, 2}, 2}, {new int[] {2, 3, 4, 4}, new int[] {3, 2, 3, 3}, 2},
                {new int[] {1, 5, 2, 3}, new int[] {5, 4, 1, 1}, 1}, {new int[] {1, 2, 3, 2}, new int[] {2, 3, 3, 2}, 1},
                {new int[] {1, 16, 8, 8}, new int[] {16, 8, 2, 2}, 2}, {new int[] {2, 16, 5, 7}, new int[] {16, 4, 2, 2}, 2},
                {new int[] {2, 16, 5, 7}, new int[] {16, 3, 3, 3}, 2}, // overlapping taps
                {new int[] {2, 8, 40, 30}, new int[] {8, 3, 2, 2}, 2}, // several CPU row tiles, the last one short
                // rows of whole vectors plus a tail (the fast path interleaves the two column taps), and SAM's width
                {new int[] {1, 8, 6, 37}, new int[] {8, 5, 2, 2}, 2}, {new int[] {1, 8, 6, 64}, new int[] {8, 5, 2, 2}, 2}};
        for (Object[] c : convT) {
            int[] xs = (int[]) c[0], ws = (int[]) c[1];
            int st = (int) c[2];
            String lab = s(xs) + " * " + s(ws) + " stride " + st;
            add(l, "convTranspose2d", lab + " + bias", Size.SMALL, DOT,
                    r -> new Tensor[] {randn(r, 1f, xs), randn(r, 1f, ws), randn(r, 1f, ws[1])}, (b, t) -> b.convTranspose2d(t[0], t[1], t[2], st));
            add(l, "convTranspose2d", lab, Size.SMALL, DOT, r -> new Tensor[] {randn(r, 1f, xs), randn(r, 1f, ws)},
                    (b, t) -> b.convTranspose2d(t[0], t[1], null, st));
            // SAM's upscaling stages, fused on the fast backend where kernel = stride (the reference: the separate ops)
            add(l, "convTranspose2dGelu", lab + " + bias", Size.SMALL, DOT,
                    r -> new Tensor[] {randn(r, 1f, xs), randn(r, 1f, ws), randn(r, 1f, ws[1])}, (b, t) -> b.convTranspose2dGelu(t[0], t[1], t[2], st));
            // SAM's masks: the last stage projected by the hypernetworks' outputs [B, M, O] (fast: per block, never storing U)
            for (int m : new int[] {1, 4}) {
                add(l, "convTranspose2dGeluProject", lab + " + bias, M " + m, Size.SMALL, DOT,
                        r -> new Tensor[] {randn(r, 1f, xs), randn(r, 1f, ws), randn(r, 1f, ws[1]), randn(r, 1f, xs[0], m, ws[1])},
                        (b, t) -> b.convTranspose2dGeluProject(t[0], t[1], t[2], st, t[3]));
            }
            // the norm divides the GEMM's rounding by the channel spread (order 1 here): 1e-4 relative and absolute
            add(l, "convTranspose2dLayerNormGelu", lab + " + bias, affine", Size.SMALL, UPSCALE_NORM,
                    r -> new Tensor[] {randn(r, 1f, xs), randn(r, 1f, ws), randn(r, 1f, ws[1]), randn(r, 1f, ws[1]), randn(r, 1f, ws[1])},
                    (b, t) -> b.convTranspose2dLayerNormGelu(t[0], t[1], t[2], st, t[3], t[4], 1e-6f));
            add(l, "convTranspose2dLayerNormGelu", lab + ", no affine", Size.SMALL, UPSCALE_NORM,
                    r -> new Tensor[] {randn(r, 1f, xs), randn(r, 1f, ws)}, (b, t) -> b.convTranspose2dLayerNormGelu(t[0], t[1], null, st, null, null, 1e-6f));
        }
    }

    /** B, Nq, Nk, d, dv, rel-pos grid (qh, qw, kh, kw) or null, zero-padded window tokens, size. */
    private record Attn(int B, int Nq, int Nk, int d, int dv, int[] rel, boolean padded, Size size) {
        @Override
        public String toString() {
            return "B " + B + ", " + Nq + " queries, " + Nk + " keys, d " + d + (dv == d ? "" : ", dv " + dv)
                    + (rel == null ? "" : ", rel-pos " + Arrays.toString(rel)) + (padded ? ", zero-padded window tokens" : "");
        }
    }

    private static void attention(List<OpCase> l) {
        List<Attn> cases = List.of(
                new Attn(2, 7, 9, 5, 3, null, false, Size.SMALL),               // no flash kernel (d 5, d ≠ dv)
                new Attn(1, 1, 1, 1, 1, null, false, Size.SMALL),
                new Attn(2, 12, 10, 8, 8, new int[] {3, 4, 2, 5}, false, Size.SMALL), // q grid ≠ k grid
                new Attn(3, 49, 49, 16, 16, new int[] {7, 7, 7, 7}, false, Size.SMALL),
                new Attn(2, 5, 300, 16, 4, null, false, Size.SMALL),
                new Attn(2, 37, 45, 16, 16, null, false, Size.SMALL),           // decoder self-attention-like, 2×2 flash tiles
                new Attn(3, 5, 300, 16, 16, null, false, Size.SMALL),           // tokens → image: few queries, 10 key tiles
                new Attn(2, 70, 6, 16, 16, null, false, Size.SMALL),            // image → tokens: one short key tile
                new Attn(2, 33, 33, 32, 32, null, false, Size.SMALL),           // decoder self-attention, d 32
                new Attn(2, 12, 10, 64, 64, new int[] {3, 4, 2, 5}, false, Size.SMALL),
                new Attn(2, 49, 49, 64, 64, new int[] {7, 7, 7, 7}, true, Size.SMALL), // a window with padded tokens
                new Attn(1, 40, 40, 80, 80, new int[] {5, 8, 5, 8}, false, Size.SMALL), // SAM-H head dim
                new Attn(1, 1, 1, 64, 64, null, false, Size.SMALL),
                new Attn(3, 300, 70, 16, 8, null, false, Size.SMALL),           // cross, several CPU row blocks
                new Attn(3, 39, 1200, 6, 7, new int[] {3, 13, 40, 30}, false, Size.SMALL), // CPU key chunks cut key rows
                new Attn(2, 37, 1100, 5, 40, null, false, Size.LARGE),          // several CPU online-softmax chunks, dv 40
                new Attn(2, 400, 400, 8, 8, new int[] {20, 20, 20, 20}, false, Size.LARGE),
                new Attn(12, 196, 196, 64, 64, new int[] {14, 14, 14, 14}, true, Size.LARGE),
                new Attn(2, 1024, 1024, 80, 80, new int[] {32, 32, 32, 32}, false, Size.LARGE),
                new Attn(8, 7, 4096, 16, 16, null, false, Size.LARGE));
        for (Attn c : cases) {
            float scale = (float) (1 / Math.sqrt(c.d()));
            add(l, "attention", c.toString(), c.size(), attentionTol(c.Nk()), r -> attentionInputs(r, c), (b, t) -> b.attention(t[0], t[1], t[2], scale,
                    t[3] == null ? null : new RelPos(t[3], t[4], c.rel()[0], c.rel()[1], c.rel()[2], c.rel()[3])));
        }
        // B, nq, nk, heads, d, dv
        int[][] mha = {{1, 7, 64, 8, 16, 16}, {2, 70, 5, 8, 16, 16}, {2, 9, 9, 8, 32, 32}, {2, 4, 11, 2, 5, 5}, {2, 7, 300, 8, 16, 16},
                {1, 512, 7, 8, 16, 16}, {3, 5, 9, 3, 4, 11},
                // few keys (the fast backend's short-key kernel: at most one vector of keys), odd widths, scalar tails
                {2, 300, 1, 2, 3, 21}, {1, 257, 16, 4, 16, 17}, {2, 33, 8, 8, 16, 16}, {1, 40, 17, 2, 8, 8},
                // few queries, many keys, key counts off the vector width
                {2, 1, 64, 2, 16, 16}, {1, 16, 100, 3, 5, 19}, {2, 7, 517, 8, 16, 16}, {1, 17, 64, 1, 4, 4}};
        for (int[] c : mha) {
            int B = c[0], nq = c[1], nk = c[2], heads = c[3], d = c[4], dv = c[5];
            add(l, "multiHeadAttention", "B " + B + ", " + nq + " queries, " + nk + " keys, " + heads + " heads of " + d
                    + (dv == d ? "" : ", dv " + dv), Size.SMALL, attentionTol(nk),
                    r -> new Tensor[] {randn(r, 1f, B, nq, heads * d), randn(r, 1f, B, nk, heads * d), randn(r, 1f, B, nk, heads * dv)},
                    (b, t) -> b.multiHeadAttention(t[0], t[1], t[2], heads, (float) (1 / Math.sqrt(d))));
        }
        // the encoder's attention branch: D 24, 3 heads; windows that need padding on both sides, global, batch 2;
        int D = 24, heads = 3, hd = D / heads;
        float ws = (float) (1 / Math.sqrt(D)); // nn.Linear's scale: unit-variance scores, no saturated softmax
        Tolerance encTol = new Tolerance.Close(1e-4, 1e-5, 2e-2, 2e-2);
        // 24×24 and 23×21 global: more keys (with the fast path's padded grid, 768 and 736) than one key chunk of its
        // online softmax (512), so the running max / sum and the output rescale between chunks are exercised with rel-pos
        for (int[] c : new int[][] {{2, 9, 11, 4}, {1, 6, 5, 0}, {1, 8, 8, 4}, {2, 3, 7, 5}, {1, 24, 24, 0}, {1, 23, 21, 0}}) {
            int B = c[0], H = c[1], W = c[2], window = c[3], S = window > 0 ? window : Math.max(H, W);
            // global attention on a non-square grid resizes the shorter side's table
            String[] tags = window == 0 && H != W ? new String[] {OpCase.RESIZED_REL_POS} : new String[0];
            add(l, "encoderAttention", "[" + B + ", " + H + ", " + W + ", " + D + "], " + heads + " heads, " + (window > 0 ? "window " + window : "global"),
                    Size.SMALL, encTol, r -> new Tensor[] {randn(r, 1f, B, H, W, D), randn(r, ws, 3 * D, D), randn(r, 1f, 3 * D),
                            randn(r, ws, D, D), randn(r, 1f, D), randn(r, 1f, 2 * S - 1, hd), randn(r, 1f, 2 * S - 1, hd)},
                    (b, t) -> b.encoderAttention(t[0], t[1], t[2], t[3], t[4], heads, window, t[5], t[6]), tags);
        }
        add(l, "encoderAttention", "[1, 5, 5, 24], 3 heads, window 3, no biases", Size.SMALL, encTol,
                r -> new Tensor[] {randn(r, 1f, 1, 5, 5, D), randn(r, ws, 3 * D, D), randn(r, ws, D, D), randn(r, 1f, 5, hd), randn(r, 1f, 5, hd)},
                (b, t) -> b.encoderAttention(t[0], t[1], null, t[2], null, heads, 3, t[3], t[4]));
    }

    /** q, k, v [B, N, d] and the rel-pos tables (or nulls); padded: grid tokens at y or x ≥ 5 all carry one "qkv bias" row. */
    private static Tensor[] attentionInputs(Random r, Attn c) {
        Tensor q = randn(r, 1f, c.B(), c.Nq(), c.d()), k = randn(r, 1f, c.B(), c.Nk(), c.d()), v = randn(r, 1f, c.B(), c.Nk(), c.dv());
        if (c.padded()) { // SAM pads windows with zeros before qkv: padded tokens all become the qkv bias
            float[] bq = randn(r, 1f, c.d()).toArray(), bk = randn(r, 1f, c.d()).toArray(), bv = randn(r, 1f, c.d()).toArray();
            int side = c.rel()[1];
            for (int b = 0; b < c.B(); b++) {
                for (int i = 0; i < c.Nq(); i++) {
                    if (i / side < 5 && i % side < 5) continue;
                    for (int ch = 0; ch < c.d(); ch++) {
                        long at = ((long) b * c.Nq() + i) * c.d() + ch;
                        q.set(at, bq[ch]);
                        k.set(at, bk[ch]);
                        v.set(at, bv[ch]);
                    }
                }
            }
        }
        Tensor rh = c.rel() == null ? null : randn(r, 0.5f, c.rel()[0], c.rel()[2], c.d());
        Tensor rw = c.rel() == null ? null : randn(r, 0.5f, c.rel()[1], c.rel()[3], c.d());
        return new Tensor[] {q, k, v, rh, rw};
    }

    private static void positional(List<OpCase> l) {
        // q size, k size, table length (≠ 2·max − 1: resized first)
        for (int[] c : new int[][] {{5, 5, 9}, {3, 6, 11}, {6, 3, 11}, {6, 6, 7}, {14, 14, 27}, {4, 4, 20}, {1, 1, 1}}) {
            boolean resized = c[2] != 2 * Math.max(c[0], c[1]) - 1;
            String[] tags = resized ? new String[] {OpCase.RESIZED_REL_POS} : new String[0];
            add(l, "relPosLookup", "q " + c[0] + ", k " + c[1] + ", table [" + c[2] + ", 6]" + (resized ? " (resized)" : ""), Size.SMALL, EXACT,
                    r -> new Tensor[] {randn(r, 1f, c[2], 6)}, (b, t) -> b.relPosLookup(t[0], c[0], c[1]), tags);
        }
        for (int[] sh : new int[][] {{5, 2}, {2, 3, 2}, {1, 2}, {64, 64, 2}}) {
            add(l, "fourierPositionEncoding", s(sh) + " · [2, 7]", Size.SMALL, new Tolerance.Close(1e-5, 1e-6),
                    r -> new Tensor[] {uniform(r, sh), randn(r, 1f, 2, 7)}, (b, t) -> b.fourierPositionEncoding(t[0], t[1]));
        }
    }

    /**
     * The autodiff tape's backward ops (their gradient checks against finite differences are core-tensor's
     * GradCheckTest, which runs the tape over each CPU backend): here every backend against the reference. Multi-output
     * ops have one case per output.
     */
    private static void backward(List<OpCase> l) {
        Backend ref = new dev.segsam.tensor.CpuBackend();
        for (int[] sh : new int[][] {{3, 7}, {2, 5, 300}, {1}}) {
            add(l, "softmaxBackward", s(sh), Size.SMALL, CLOSE, r -> new Tensor[] {ref.softmax(randn(r, 2f, sh)), randn(r, 1f, sh)},
                    (b, t) -> b.softmaxBackward(t[0], t[1]));
            add(l, "geluBackward", s(sh), Size.SMALL, CLOSE, r -> new Tensor[] {randn(r, 2f, sh), randn(r, 1f, sh)}, (b, t) -> b.geluBackward(t[0], t[1]));
            add(l, "reluBackward", s(sh), Size.SMALL, EXACT, r -> new Tensor[] {randn(r, 2f, sh), randn(r, 1f, sh)}, (b, t) -> b.reluBackward(t[0], t[1]));
            add(l, "sigmoidBackward", s(sh), Size.SMALL, CLOSE, r -> new Tensor[] {ref.sigmoid(randn(r, 2f, sh)), randn(r, 1f, sh)},
                    (b, t) -> b.sigmoidBackward(t[0], t[1]));
        }
        Tolerance lnTol = new Tolerance.Close(1e-4, 1e-5);
        for (int[] sh : new int[][] {{3, 8}, {2, 40, 256}}) {
            int d = sh[sh.length - 1];
            Function<Random, Tensor[]> in = r -> new Tensor[] {plus(randn(r, 2f, sh), 5f), randn(r, 1f, d), randn(r, 1f, sh)};
            add(l, "layerNormBackward", s(sh) + " dx", Size.SMALL, lnTol, in, (b, t) -> b.layerNormBackward(t[0], t[1], t[2], 1e-5f).dx());
            add(l, "layerNormBackward", s(sh) + " dw", Size.SMALL, lnTol, in, (b, t) -> b.layerNormBackward(t[0], t[1], t[2], 1e-5f).dw());
            add(l, "layerNormBackward", s(sh) + " db", Size.SMALL, lnTol, in, (b, t) -> b.layerNormBackward(t[0], t[1], t[2], 1e-5f).db());
            add(l, "layerNormBackward", s(sh) + " dx, no weight", Size.SMALL, lnTol, in, (b, t) -> b.layerNormBackward(t[0], null, t[2], 1e-5f).dx());
        }
        int[][][] sums = {{{2, 3, 4, 5}, {3, 1, 5}}, {{2, 3, 4, 5}, {5}}, {{1, 8, 6, 6}, {1, 8, 1, 1}}, {{7, 9}, {7, 9}}, {{4, 6}, {1}},
            {{2, 3, 4, 5, 6}, {3, 1, 5, 1}}, {{300, 33}, {33}}};
        for (int[][] c : sums) {
            add(l, "sumTo", s(c[0]) + " → " + s(c[1]), Size.SMALL, new Tolerance.Close(1e-5, 1e-6), r -> new Tensor[] {randn(r, 1f, c[0])},
                    (b, t) -> b.sumTo(t[0], c[1]));
        }
        // x shape, kh, kw, sh, sw, ph, pw
        for (int[] c : new int[][] {{1, 2, 4, 5, 2, 3, 1, 2, 1, 0}, {2, 3, 8, 8, 2, 2, 2, 2, 0, 0}, {1, 1, 5, 5, 3, 3, 1, 1, 1, 1}}) {
            int[] xs = {c[0], c[1], c[2], c[3]};
            int Ho = (c[2] + 2 * c[8] - c[4]) / c[6] + 1, Wo = (c[3] + 2 * c[9] - c[5]) / c[7] + 1;
            add(l, "col2im", "to " + s(xs) + " k " + c[4] + "x" + c[5] + " s " + c[6] + "x" + c[7] + " p " + c[8] + "x" + c[9], Size.SMALL,
                    new Tolerance.Close(1e-5, 1e-6), r -> new Tensor[] {randn(r, 1f, c[0], c[1] * c[4] * c[5], Ho * Wo)},
                    (b, t) -> b.col2im(t[0], xs, c[4], c[5], c[6], c[7], c[8], c[9]));
        }
        for (int[] c : new int[][] {{3, 4, 7, 5}, {8, 8, 16, 16}, {5, 5, 3, 2}, {5, 6, 20, 24}}) {
            add(l, "interpolateBilinearBackward", s(1, 2, c[2], c[3]) + " → " + c[0] + "x" + c[1], Size.SMALL, new Tolerance.Close(1e-5, 1e-6),
                    r -> new Tensor[] {randn(r, 1f, 1, 2, c[2], c[3])}, (b, t) -> b.interpolateBilinearBackward(t[0], c[0], c[1]));
        }
        for (int[] c : new int[][] {{3, 3}, {2, 4}, {6, 3}}) {
            int L = 2 * Math.max(c[0], c[1]) - 1;
            add(l, "relPosLookupBackward", "q " + c[0] + ", k " + c[1], Size.SMALL, new Tolerance.Close(1e-5, 1e-6),
                    r -> new Tensor[] {randn(r, 1f, c[0], c[1], 6)}, (b, t) -> b.relPosLookupBackward(t[0], L, c[0], c[1]));
        }
        // B, Nq, Nk, d, dv
        Tolerance attTol = new Tolerance.Close(2e-4, 2e-5, 3e-2, 3e-3);
        for (int[] c : new int[][] {{2, 3, 5, 4, 3}, {8, 7, 300, 32, 32}, {8, 300, 7, 32, 32}}) {
            Function<Random, Tensor[]> in = r -> new Tensor[] {randn(r, 1f, c[0], c[1], c[3]), randn(r, 1f, c[0], c[2], c[3]),
                randn(r, 1f, c[0], c[2], c[4]), randn(r, 1f, c[0], c[1], c[4])};
            float sc = (float) (1 / Math.sqrt(c[3]));
            String lab = "q " + s(c[0], c[1], c[3]) + ", k " + s(c[0], c[2], c[3]) + ", dv " + c[4];
            Size size = c[1] * c[2] > 1000 ? Size.LARGE : Size.SMALL;
            add(l, "attentionBackward", lab + " dq", size, attTol, in, (b, t) -> b.attentionBackward(t[0], t[1], t[2], sc, t[3]).dq());
            add(l, "attentionBackward", lab + " dk", size, attTol, in, (b, t) -> b.attentionBackward(t[0], t[1], t[2], sc, t[3]).dk());
            add(l, "attentionBackward", lab + " dv", size, attTol, in, (b, t) -> b.attentionBackward(t[0], t[1], t[2], sc, t[3]).dv());
        }
    }

    /**
     * The optimiser ops (model/train's AdamW): Σ x² per tensor, and one AdamW step (in place, so each case updates
     * copies of its inputs and returns one of them) with and without clipping, weight decay, a gradient.
     */
    private static void optimizer(List<OpCase> l) {
        for (int[] sh : new int[][] {{7}, {3, 300}, {64, 65, 3}}) {
            add(l, "sumSquares", s(sh) + " and " + s(sh[0]), Size.SMALL, new Tolerance.Close(1e-6, 1e-9),
                    r -> new Tensor[] {randn(r, 2f, sh), randn(r, 1f, sh[0])}, (b, t) -> {
                        double[] q = b.sumSquares(java.util.Arrays.asList(t[0], null, t[1]));
                        return Tensor.of(new float[] {(float) q[0], (float) q[1], (float) q[2]}, 3);
                    });
        }
        // lr, weight decay, grad scale, step t (bias corrections from it)
        double[][] steps = {{1e-3, 1e-2, 1, 1}, {5e-4, 0, 0.37, 17}, {2e-2, 0.1, 1, 400}};
        for (int[] sh : new int[][] {{5}, {2, 3, 300}}) {
            for (double[] st : steps) {
                Backend.AdamWStep step = new Backend.AdamWStep(st[0], st[1], 0.9, 0.999, 1e-8, st[2], 1 - Math.pow(0.9, st[3]), 1 - Math.pow(0.999, st[3]));
                Function<Random, Tensor[]> in = r -> new Tensor[] {randn(r, 1f, sh), randn(r, 0.1f, sh), randn(r, 0.01f, sh),
                    absAll(randn(r, 1e-4f, sh))};
                String lab = s(sh) + " lr " + st[0] + " wd " + st[1] + " clip×" + st[2] + " t " + (int) st[3];
                for (int out = 0; out < 3; out++) {
                    int o = out;
                    add(l, "adamw", lab + " " + new String[] {"θ", "m", "v"}[o], Size.SMALL, new Tolerance.Close(1e-6, 1e-9), in, (b, t) -> {
                        Tensor p = b.scale(t[0], 1f), m = b.scale(t[2], 1f), v = b.scale(t[3], 1f);
                        b.adamw(p, t[1], m, v, step);
                        return new Tensor[] {p, m, v}[o];
                    });
                }
                if (st[3] == 17) {
                    add(l, "adamw", s(sh) + " no gradient θ", Size.SMALL, new Tolerance.Close(1e-6, 1e-9), in, (b, t) -> {
                        Tensor p = b.scale(t[0], 1f), m = b.scale(t[2], 1f), v = b.scale(t[3], 1f);
                        b.adamw(p, null, m, v, step);
                        return p;
                    });
                }
            }
        }
    }

    private static Tensor absAll(Tensor t) {
        float[] v = t.toArray();
        for (int i = 0; i < v.length; i++) v[i] = Math.abs(v[i]);
        return Tensor.of(v, t.shape());
    }
}
