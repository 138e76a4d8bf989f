package dev.segsam.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Compare;
import dev.segsam.tensor.CpuBackend;
import dev.segsam.tensor.Golden;
import dev.segsam.tensor.OpsGoldenTest;
import dev.segsam.tensor.Shapes;
import dev.segsam.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every op of the CUDA backend against its CPU twin ({@link CpuBackend}) on fresh random inputs, several shapes each,
 * odd ones included. Runs on a real GPU ({@link CudaGpuTest}, tag {@code gpu}) and on the CPU emulator of the same
 * kernels ({@link CudaEmuTest}, tag {@code emu}).
 *
 * <p>Every device allocation is filled with NaN first (the pool's poison mode) and every launch is synchronised, so an
 * element a kernel forgets to write fails the comparison and a faulting kernel is named. Bounds (|gpu − cpu|):
 * <ul>
 *   <li>data movement, index maths, IEEE single operations (permute, concat, windows, interpolation, add…): bit-exact;</li>
 *   <li>other element-wise ops and reductions: ≤ 1e-5·|cpu| + 1e-7;</li>
 *   <li>GEMM-shaped ops: ≤ rtol·Σ_k |a||b| (the natural scale of a dot product's rounding error, which stays meaningful
 *       under cancellation), rtol 1e-4 for fp32 and 3e-3 for TF32; integer-valued inputs must give exact results in
 *       every mode (TF32 represents them exactly), which pins down layout and fragment bugs independently of rounding.</li>
 * </ul>
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class CudaOpsContract {
    final CpuBackend cpu = new CpuBackend();

    /** The runtime under test: poisoning, synchronous launches. */
    abstract CudaRuntime runtime();

    /** GEMM modes to test (all the kernels this device can run). */
    abstract List<GemmMode> gemmModes();

    /** A multiplier for the larger test shapes (the emulator is slow). */
    abstract int size();

    CudaBackend cuda() {
        return new CudaBackend(runtime(), GemmMode.FP32);
    }

    // ------------------------------------------------------------------ helpers

    static Tensor randn(Random r, float scale, int... shape) {
        float[] v = new float[(int) Shapes.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian() * scale;
        return Tensor.of(v, shape);
    }

    static Tensor ints(Random r, int bound, int... shape) {
        float[] v = new float[(int) Shapes.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = r.nextInt(2 * bound + 1) - bound;
        return Tensor.of(v, shape);
    }

    static Tensor abs(Tensor t) {
        float[] v = t.toArray();
        for (int i = 0; i < v.length; i++) v[i] = Math.abs(v[i]);
        return Tensor.of(v, t.shape());
    }

    /** Runs {@code op} on the GPU with uploaded copies of {@code inputs} and returns the downloaded result. */
    Tensor onGpu(Backend g, Function<Tensor[], Tensor> op, Tensor... inputs) {
        Tensor[] d = new Tensor[inputs.length];
        for (int i = 0; i < inputs.length; i++) d[i] = inputs[i] == null ? null : g.upload(inputs[i]);
        try (Tensor out = op.apply(d)) {
            return g.download(out);
        } finally {
            for (Tensor t : d) if (t != null) t.close();
        }
    }

    /** Element-wise bound ≤ 1e-5·|cpu| + 1e-7. */
    void close(Tensor expected, Tensor actual, String what) {
        Compare.close(expected, actual, 1e-5, 1e-7, what);
    }

    /** |actual − expected| ≤ rtol·scale + 1e-30 element by element, scale = Σ_k |a||b| (or its analogue). */
    static void withinScale(Tensor expected, Tensor scale, Tensor actual, double rtol, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        float[] e = expected.toArray(), s = scale.toArray(), a = actual.toArray();
        int bad = 0;
        double worst = 0;
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < e.length; i++) {
            double err = Math.abs((double) a[i] - e[i]), lim = rtol * s[i] + 1e-30;
            if (!(err <= lim)) { // also catches NaN
                if (bad++ < 5) sb.append(String.format("%n  [%d] expected %.9g, got %.9g (bound %.3g)", i, e[i], a[i], lim));
            }
            if (s[i] > 0) worst = Math.max(worst, err / s[i]);
        }
        if (bad > 0) fail(what + ": " + bad + " of " + e.length + " elements out of bounds (worst err/scale " + worst + ")" + sb);
    }

    static double rtol(GemmMode m) {
        return m.tf32() ? 3e-3 : 1e-4;
    }

    // ------------------------------------------------------------------ element-wise

    static Stream<int[]> elementShapes() {
        return Stream.of(new int[] {1}, new int[] {7}, new int[] {3, 5, 17}, new int[] {1000}, new int[] {2, 3, 4, 5}, new int[] {});
    }

    /** Random values plus the special ones: ±0, ±Inf, NaN, tiny, large, where the shape has room. */
    static Tensor withSpecials(Random r, int... shape) {
        Tensor t = randn(r, 3f, shape);
        float[] sp = {0f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, 1e-30f, -1e-30f, 80f, -80f, -9f, 9f};
        for (int i = 0; i < Math.min(sp.length, t.numel() / 2); i++) t.set(i * 2L, sp[i]);
        return t;
    }

    @ParameterizedTest
    @MethodSource("elementShapes")
    void unaryOps(int[] shape) {
        Random r = new Random(Arrays.hashCode(shape));
        Tensor x = withSpecials(r, shape);
        CudaBackend g = cuda();
        String s = Shapes.str(shape);
        Compare.exact(cpu.relu(x), onGpu(g, t -> g.relu(t[0]), x), "relu " + s);
        Compare.exact(cpu.scale(x, -0.37f), onGpu(g, t -> g.scale(t[0], -0.37f), x), "scale " + s);
        close(cpu.gelu(x), onGpu(g, t -> g.gelu(t[0]), x), "gelu " + s);
        close(cpu.sigmoid(x), onGpu(g, t -> g.sigmoid(t[0]), x), "sigmoid " + s);
    }

    static Stream<Arguments> broadcastPairs() {
        return Stream.of(
                Arguments.of(new int[] {3, 4}, new int[] {3, 4}),
                Arguments.of(new int[] {7, 13}, new int[] {13}),
                Arguments.of(new int[] {3, 1}, new int[] {1, 4}),
                Arguments.of(new int[] {2, 3, 5}, new int[] {3, 1}),
                Arguments.of(new int[] {1}, new int[] {5, 6}),
                Arguments.of(new int[] {}, new int[] {2, 3}),
                Arguments.of(new int[] {2, 1, 3, 1, 5}, new int[] {1, 4, 1, 6, 5}), // five merged groups: the outer loop
                Arguments.of(new int[] {4, 1, 1, 9}, new int[] {4, 3, 7, 9}),
                Arguments.of(new int[] {0, 3}, new int[] {3}));
    }

    @ParameterizedTest
    @MethodSource("broadcastPairs")
    void binaryOpsBroadcast(int[] sa, int[] sb) {
        Random r = new Random(Arrays.hashCode(sa) * 31 + Arrays.hashCode(sb));
        Tensor a = randn(r, 2f, sa), b = randn(r, 2f, sb);
        CudaBackend g = cuda();
        String s = Shapes.str(sa) + " " + Shapes.str(sb);
        Compare.exact(cpu.add(a, b), onGpu(g, t -> g.add(t[0], t[1]), a, b), "add " + s);
        Compare.exact(cpu.sub(b, a), onGpu(g, t -> g.sub(t[1], t[0]), a, b), "sub " + s);
        Compare.exact(cpu.mul(a, b), onGpu(g, t -> g.mul(t[0], t[1]), a, b), "mul " + s);
        Compare.exact(cpu.div(a, b), onGpu(g, t -> g.div(t[0], t[1]), a, b), "div " + s);
    }

    // ------------------------------------------------------------------ normalisation, softmax

    static Stream<int[]> normShapes() {
        return Stream.of(new int[] {1, 1}, new int[] {3, 7}, new int[] {5, 768}, new int[] {2, 3, 257}, new int[] {1, 33});
    }

    @ParameterizedTest
    @MethodSource("normShapes")
    void layerNorm(int[] shape) {
        Random r = new Random(Arrays.hashCode(shape));
        int D = shape[shape.length - 1];
        Tensor x = cpu.add(randn(r, 2f, shape), Tensor.scalar(5f)); // offset mean: the variance must not cancel
        Tensor w = randn(r, 1f, D), b = randn(r, 1f, D);
        CudaBackend g = cuda();
        String s = Shapes.str(shape);
        close(cpu.layerNorm(x, w, b, 1e-6f), onGpu(g, t -> g.layerNorm(t[0], t[1], t[2], 1e-6f), x, w, b), "layer_norm " + s);
        close(cpu.layerNorm(x, null, null, 1e-5f), onGpu(g, t -> g.layerNorm(t[0], null, null, 1e-5f), x), "layer_norm no affine " + s);
    }

    static Stream<int[]> norm2dShapes() {
        return Stream.of(new int[] {1, 3, 5, 7}, new int[] {2, 256, 9, 13}, new int[] {1, 64, 33, 1}, new int[] {3, 1, 2, 2});
    }

    @ParameterizedTest
    @MethodSource("norm2dShapes")
    void layerNorm2d(int[] shape) {
        Random r = new Random(Arrays.hashCode(shape));
        Tensor x = cpu.add(randn(r, 1.5f, shape), Tensor.scalar(-3f));
        Tensor w = randn(r, 1f, shape[1]), b = randn(r, 1f, shape[1]);
        CudaBackend g = cuda();
        String s = Shapes.str(shape);
        close(cpu.layerNorm2d(x, w, b, 1e-6f), onGpu(g, t -> g.layerNorm2d(t[0], t[1], t[2], 1e-6f), x, w, b), "layer_norm2d " + s);
        close(cpu.layerNorm2d(x, null, null, 1e-6f), onGpu(g, t -> g.layerNorm2d(t[0], null, null, 1e-6f), x), "layer_norm2d no affine " + s);
    }

    static Stream<int[]> softmaxShapes() {
        return Stream.of(new int[] {1, 1}, new int[] {3, 7}, new int[] {4, 33}, new int[] {2, 1000}, new int[] {3, 4096}, new int[] {2, 2, 5});
    }

    @ParameterizedTest
    @MethodSource("softmaxShapes")
    void softmax(int[] shape) {
        Random r = new Random(Arrays.hashCode(shape));
        Tensor x = randn(r, 8f, shape);
        if (x.numel() > 3) x.set(1, Float.NEGATIVE_INFINITY); // a masked entry
        CudaBackend g = cuda();
        close(cpu.softmax(x), onGpu(g, t -> g.softmax(t[0]), x), "softmax " + Shapes.str(shape));
    }

    // ------------------------------------------------------------------ layout

    static Stream<Arguments> permutations() {
        return Stream.of(
                Arguments.of(new int[] {2, 3, 4}, new int[] {2, 0, 1}),
                Arguments.of(new int[] {1, 5, 1, 7}, new int[] {3, 1, 0, 2}),
                Arguments.of(new int[] {2, 3, 4, 5, 6}, new int[] {4, 2, 0, 3, 1}),
                Arguments.of(new int[] {3, 4, 5, 6}, new int[] {0, 1, 3, 2}),
                Arguments.of(new int[] {7}, new int[] {0}),
                Arguments.of(new int[] {2, 3, 5, 2, 3, 2}, new int[] {5, 3, 1, 4, 2, 0}),
                Arguments.of(new int[] {1, 64, 64, 7}, new int[] {0, 3, 1, 2}));
    }

    @ParameterizedTest
    @MethodSource("permutations")
    void permute(int[] shape, int[] dims) {
        Tensor x = randn(new Random(Arrays.hashCode(shape)), 1f, shape);
        CudaBackend g = cuda();
        Compare.exact(cpu.permute(x, dims), onGpu(g, t -> g.permute(t[0], dims), x), "permute " + Shapes.str(shape) + " " + Arrays.toString(dims));
    }

    @Test
    void concatAndSlice() {
        Random r = new Random(5);
        CudaBackend g = cuda();
        Tensor a = randn(r, 1f, 2, 3, 4), b = randn(r, 1f, 2, 5, 4), c = randn(r, 1f, 2, 1, 4);
        Compare.exact(cpu.concat(List.of(a, b, c), 1), onGpu(g, t -> g.concat(List.of(t[0], t[1], t[2]), 1), a, b, c), "concat dim 1");
        Tensor d = randn(r, 1f, 3, 3, 4);
        Compare.exact(cpu.concat(List.of(a, d), 0), onGpu(g, t -> g.concat(List.of(t[0], t[1]), 0), a, d), "concat dim 0");
        Tensor e = randn(r, 1f, 2, 3, 9);
        Compare.exact(cpu.concat(List.of(e, a), -1), onGpu(g, t -> g.concat(List.of(t[0], t[1]), -1), e, a), "concat dim -1");
        Tensor x = randn(r, 1f, 4, 7, 5);
        for (int[] s : new int[][] {{0, 1, 2}, {1, 3, 4}, {2, 0, 5}, {-1, 4, 1}, {1, 7, 0}}) {
            Compare.exact(cpu.slice(x, s[0], s[1], s[2]), onGpu(g, t -> g.slice(t[0], s[0], s[1], s[2]), x), "slice " + Arrays.toString(s));
        }
    }

    static Stream<Arguments> windows() {
        return Stream.of(Arguments.of(new int[] {1, 5, 7, 3}, 3), Arguments.of(new int[] {2, 14, 14, 4}, 14),
                Arguments.of(new int[] {1, 9, 4, 2}, 4), Arguments.of(new int[] {1, 64, 64, 3}, 14));
    }

    @ParameterizedTest
    @MethodSource("windows")
    void windowPartitionAndUnpartition(int[] shape, int ws) {
        Tensor x = randn(new Random(ws), 1f, shape);
        CudaBackend g = cuda();
        Backend.Windows w = cpu.windowPartition(x, ws);
        Tensor got = onGpu(g, t -> g.windowPartition(t[0], ws).windows(), x);
        Compare.exact(w.windows(), got, "window_partition " + Shapes.str(shape) + " ws " + ws);
        Tensor back = onGpu(g, t -> g.windowUnpartition(t[0], ws, w.paddedH(), w.paddedW(), shape[1], shape[2]), w.windows());
        Compare.exact(x, back, "window_unpartition");
        try (Tensor d = g.upload(x)) {
            Backend.Windows dw = g.windowPartition(d, ws);
            assertEquals(w.paddedH(), dw.paddedH());
            assertEquals(w.paddedW(), dw.paddedW());
            dw.windows().close();
        }
    }

    static Stream<Arguments> interpolations() {
        return Stream.of(Arguments.of(new int[] {1, 2, 5, 7}, 11, 3), Arguments.of(new int[] {2, 1, 4, 4}, 8, 8),
                Arguments.of(new int[] {1, 1, 3, 3}, 1, 1), Arguments.of(new int[] {1, 3, 64, 64}, 256, 256),
                Arguments.of(new int[] {1, 1, 256, 256}, 37, 1024));
    }

    @ParameterizedTest
    @MethodSource("interpolations")
    void interpolateBilinear(int[] shape, int oh, int ow) {
        Tensor x = randn(new Random(oh * 31 + ow), 1f, shape);
        CudaBackend g = cuda();
        Compare.exact(cpu.interpolateBilinear(x, oh, ow), onGpu(g, t -> g.interpolateBilinear(t[0], oh, ow), x),
                "interpolate " + Shapes.str(shape) + " → " + oh + "x" + ow);
    }

    // ------------------------------------------------------------------ GEMM

    /** {@code M, N, K} triples: tiny, odd, tile-aligned, one past a tile, K not a multiple of 8 or 16. */
    List<int[]> gemmSizes() {
        List<int[]> s = new ArrayList<>(List.of(new int[] {1, 1, 1}, new int[] {17, 33, 65}, new int[] {64, 64, 64},
                new int[] {127, 129, 31}, new int[] {130, 70, 257}, new int[] {3, 200, 5}, new int[] {1, 129, 16}, new int[] {65, 1, 8}));
        if (size() > 1) s.addAll(List.of(new int[] {300, 257, 300}, new int[] {513, 384, 1000}));
        return s;
    }

    Stream<Arguments> gemmCases() {
        return gemmModes().stream().flatMap(m -> gemmSizes().stream()
                .filter(s -> size() > 1 || !m.tf32() || (long) s[0] * s[1] * s[2] < 1_000_000) // the emulated mma is slow
                .map(s -> Arguments.of(m, s[0], s[1], s[2])));
    }

    /**
     * All three operand layouts on one shape through {@link Gemm#run} directly, with an offset, padded leading
     * dimensions and a batch of 3 (B shared by stride 0 in one of them), integer inputs (exact in every mode) and then
     * Gaussian inputs (bounded by rtol·Σ|a||b|); the poisoned output padding between rows must stay NaN (untouched).
     */
    @ParameterizedTest(name = "{0} {1}x{2}x{3}")
    @MethodSource("gemmCases")
    void gemmLayouts(GemmMode mode, int M, int N, int K) {
        Gemm gemm = new Gemm(runtime(), mode);
        Random r = new Random(M * 7919 + N * 31 + K);
        int batch = 3, off = 5, pad = 3;
        for (boolean integer : new boolean[] {true, false}) {
            for (int layout = 0; layout < 3; layout++) {
                boolean ta = layout == 2, tb = layout == 1;
                int ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
                int lda = ac + pad, ldb = bc + pad, ldc = N + pad;
                long sA = (long) ar * lda, sB = layout == 0 ? 0 : (long) br * ldb, sC = (long) M * ldc;
                Tensor A = integer ? ints(r, 4, (int) (off + batch * sA)) : randn(r, 1f, (int) (off + batch * sA));
                Tensor B = integer ? ints(r, 4, (int) (off + br * ldb + (batch - 1) * sB)) : randn(r, 1f, (int) (off + br * ldb + (batch - 1) * sB));
                float alpha = integer ? 1f : 0.75f;
                // reference in double, and the scale Σ|a||b|
                float[] av = A.toArray(), bv = B.toArray();
                float[] ref = new float[(int) (batch * sC)], scale = new float[ref.length];
                Arrays.fill(ref, Float.NaN);
                Arrays.fill(scale, Float.NaN);
                for (int z = 0; z < batch; z++) {
                    for (int m = 0; m < M; m++) {
                        for (int n = 0; n < N; n++) {
                            double acc = 0, sc = 0;
                            for (int k = 0; k < K; k++) {
                                double a = av[(int) (off + z * sA + (ta ? (long) k * lda + m : (long) m * lda + k))];
                                double b = bv[(int) (off + z * sB + (tb ? (long) n * ldb + k : (long) k * ldb + n))];
                                acc += a * b;
                                sc += Math.abs(a * b);
                            }
                            ref[(int) (z * sC + (long) m * ldc + n)] = (float) (alpha * acc);
                            scale[(int) (z * sC + (long) m * ldc + n)] = (float) (Math.abs(alpha) * sc);
                        }
                    }
                }
                CudaBackend g = new CudaBackend(runtime(), mode);
                Tensor got;
                try (Tensor dA = g.upload(A); Tensor dB = g.upload(B); Tensor dC = runtime().alloc((int) (batch * sC))) {
                    gemm.run("test", batch, M, N, K, new Gemm.Mat(dA, off, lda, sA, ta), new Gemm.Mat(dB, off, ldb, sB, tb),
                            Gemm.Mat.of(dC, 0, ldc, sC), alpha, null, Gemm.BIAS_NONE, Gemm.ACT_NONE);
                    got = g.download(dC);
                }
                String what = mode + " " + (ta ? "tn" : tb ? "nt" : "nn") + " " + M + "x" + N + "x" + K + (integer ? " integers" : "");
                float[] gv = got.toArray();
                for (int i = 0; i < ref.length; i++) {
                    if (Float.isNaN(ref[i]) && !Float.isNaN(gv[i])) fail(what + ": wrote outside C at " + i);
                    if (Float.isNaN(ref[i])) gv[i] = ref[i] = scale[i] = 0f; // padding: checked above, now neutral
                }
                Tensor refT = Tensor.of(ref, ref.length), gotT = Tensor.of(gv, gv.length);
                if (integer && !mode.cublas()) Compare.exact(refT, gotT, what);
                else withinScale(refT, Tensor.of(scale, scale.length), gotT, integer ? 1e-6 : rtol(mode), what);
            }
        }
    }

    /** matmul with batch broadcasting (strided, shared operand, and the per-item general path). */
    @ParameterizedTest
    @MethodSource("modes")
    void matmulBroadcast(GemmMode mode) {
        CudaBackend g = new CudaBackend(runtime(), mode);
        Random r = new Random(11);
        int[][][] cases = {{{3, 17, 33}, {3, 33, 19}}, {{4, 5, 6}, {6, 7}}, {{5, 6}, {2, 6, 9}}, {{2, 1, 5, 6}, {3, 6, 7}},
                {{1, 1}, {1, 1}}, {{2, 0, 3}, {2, 3, 4}}, {{2, 4, 0}, {2, 0, 3}}};
        for (int[][] c : cases) {
            Tensor a = randn(r, 1f, c[0]), b = randn(r, 1f, c[1]);
            withinScale(cpu.matmul(a, b), cpu.matmul(abs(a), abs(b)), onGpu(g, t -> g.matmul(t[0], t[1]), a, b), rtol(mode),
                    mode + " matmul " + Shapes.str(c[0]) + " · " + Shapes.str(c[1]));
        }
    }

    Stream<GemmMode> modes() {
        return gemmModes().stream();
    }

    /** linear with and without bias, and the fused GELU and ReLU epilogues. */
    @ParameterizedTest
    @MethodSource("modes")
    void linearAndEpilogues(GemmMode mode) {
        CudaBackend g = new CudaBackend(runtime(), mode);
        Random r = new Random(13);
        int[][] shapes = {{1, 1, 1}, {7, 33, 65}, {130, 64, 130}, {2, 5, 768}};
        for (int[] s : shapes) {
            Tensor x = randn(r, 1f, s[0], s[1]), w = randn(r, 1f, s[2], s[1]), b = randn(r, 1f, s[2]);
            Tensor scale = cpu.add(cpu.linear(abs(x), abs(w), null), abs(b));
            String what = mode + " linear " + Arrays.toString(s);
            withinScale(cpu.linear(x, w, b), scale, onGpu(g, t -> g.linear(t[0], t[1], t[2]), x, w, b), rtol(mode), what);
            withinScale(cpu.linear(x, w, null), scale, onGpu(g, t -> g.linear(t[0], t[1], null), x, w), rtol(mode), what + " no bias");
            // GELU and ReLU are 1-Lipschitz (GELU: ≤ 1.13): the same bound holds after them, up to that factor
            withinScale(cpu.gelu(cpu.linear(x, w, b)), scale, onGpu(g, t -> g.linearGelu(t[0], t[1], t[2]), x, w, b), 1.2 * rtol(mode), what + " gelu");
            withinScale(cpu.relu(cpu.linear(x, w, b)), scale, onGpu(g, t -> g.linearRelu(t[0], t[1], t[2]), x, w, b), rtol(mode), what + " relu");
        }
        Tensor x3 = randn(r, 1f, 2, 3, 4, 5), w3 = randn(r, 1f, 6, 5);
        withinScale(cpu.linear(x3, w3, null), cpu.linear(abs(x3), abs(w3), null), onGpu(g, t -> g.linear(t[0], t[1], null), x3, w3),
                rtol(mode), mode + " linear rank 4");
    }

    // ------------------------------------------------------------------ convolutions

    static Stream<Arguments> convs() {
        return Stream.of( // x shape, w shape, stride h/w, pad h/w
                Arguments.of(new int[] {1, 3, 8, 9}, new int[] {4, 3, 3, 3}, new int[] {1, 1, 1, 1}),
                Arguments.of(new int[] {2, 2, 7, 5}, new int[] {3, 2, 2, 3}, new int[] {2, 1, 0, 1}),
                Arguments.of(new int[] {1, 3, 32, 32}, new int[] {8, 3, 16, 16}, new int[] {16, 16, 0, 0}),
                Arguments.of(new int[] {2, 6, 5, 4}, new int[] {5, 6, 1, 1}, new int[] {1, 1, 0, 0}),
                Arguments.of(new int[] {1, 4, 6, 6}, new int[] {2, 4, 3, 3}, new int[] {2, 2, 1, 1}));
    }

    @ParameterizedTest
    @MethodSource("convs")
    void im2colAndConv2d(int[] xs, int[] ws, int[] sp) {
        Random r = new Random(Arrays.hashCode(xs));
        Tensor x = randn(r, 1f, xs), w = randn(r, 1f, ws), b = randn(r, 1f, ws[0]);
        CudaBackend g = cuda();
        String what = "conv2d " + Shapes.str(xs) + " * " + Shapes.str(ws) + " " + Arrays.toString(sp);
        Compare.exact(cpu.im2col(x, ws[2], ws[3], sp[0], sp[1], sp[2], sp[3]),
                onGpu(g, t -> g.im2col(t[0], ws[2], ws[3], sp[0], sp[1], sp[2], sp[3]), x), "im2col of " + what);
        Tensor scale = cpu.conv2d(abs(x), abs(w), abs(b), sp[0], sp[1], sp[2], sp[3]);
        withinScale(cpu.conv2d(x, w, b, sp[0], sp[1], sp[2], sp[3]), scale,
                onGpu(g, t -> g.conv2d(t[0], t[1], t[2], sp[0], sp[1], sp[2], sp[3]), x, w, b), 1e-4, what);
        withinScale(cpu.conv2d(x, w, null, sp[0], sp[1], sp[2], sp[3]), scale,
                onGpu(g, t -> g.conv2d(t[0], t[1], null, sp[0], sp[1], sp[2], sp[3]), x, w), 1e-4, what + " no bias");
    }

    static Stream<Arguments> convTransposes() {
        return Stream.of( // x shape, w shape [C, O, kh, kw], stride
                Arguments.of(new int[] {1, 4, 3, 5}, new int[] {4, 3, 2, 2}, 2),
                Arguments.of(new int[] {2, 3, 4, 4}, new int[] {3, 2, 3, 3}, 2),
                Arguments.of(new int[] {1, 5, 2, 3}, new int[] {5, 4, 1, 1}, 1),
                Arguments.of(new int[] {1, 2, 3, 2}, new int[] {2, 3, 3, 2}, 1),
                Arguments.of(new int[] {1, 16, 8, 8}, new int[] {16, 8, 2, 2}, 2));
    }

    @ParameterizedTest
    @MethodSource("convTransposes")
    void convTranspose2d(int[] xs, int[] ws, int s) {
        Random r = new Random(Arrays.hashCode(ws));
        Tensor x = randn(r, 1f, xs), w = randn(r, 1f, ws), b = randn(r, 1f, ws[1]);
        CudaBackend g = cuda();
        Tensor scale = cpu.convTranspose2d(abs(x), abs(w), abs(b), s);
        String what = "conv_transpose2d " + Shapes.str(xs) + " * " + Shapes.str(ws) + " stride " + s;
        withinScale(cpu.convTranspose2d(x, w, b, s), scale, onGpu(g, t -> g.convTranspose2d(t[0], t[1], t[2], s), x, w, b), 1e-4, what);
        withinScale(cpu.convTranspose2d(x, w, null, s), scale, onGpu(g, t -> g.convTranspose2d(t[0], t[1], null, s), x, w), 1e-4, what + " no bias");
    }

    // ------------------------------------------------------------------ attention and positional encodings

    record AttnCase(int B, int Nq, int Nk, int d, int dv, int[] rel) {} // rel: qh, qw, kh, kw or null

    List<AttnCase> attentionCases() {
        List<AttnCase> c = new ArrayList<>(List.of(new AttnCase(2, 7, 9, 5, 3, null), new AttnCase(1, 1, 1, 1, 1, null),
                new AttnCase(2, 12, 10, 8, 8, new int[] {3, 4, 2, 5}), new AttnCase(3, 49, 49, 16, 16, new int[] {7, 7, 7, 7}),
                new AttnCase(2, 5, 300, 16, 4, null)));
        if (size() > 1) c.add(new AttnCase(12, 196, 196, 64, 64, new int[] {14, 14, 14, 14}));
        return c;
    }

    Stream<Arguments> attentionArgs() {
        return attentionCases().stream().map(Arguments::of);
    }

    @ParameterizedTest
    @MethodSource("attentionArgs")
    void attention(AttnCase c) {
        Random r = new Random(c.Nq() * 131 + c.Nk());
        Tensor q = randn(r, 1f, c.B(), c.Nq(), c.d()), k = randn(r, 1f, c.B(), c.Nk(), c.d()), v = randn(r, 1f, c.B(), c.Nk(), c.dv());
        Tensor rh = c.rel() == null ? null : randn(r, 0.5f, c.rel()[0], c.rel()[2], c.d());
        Tensor rw = c.rel() == null ? null : randn(r, 0.5f, c.rel()[1], c.rel()[3], c.d());
        float scale = (float) (1 / Math.sqrt(c.d()));
        BiFunction<Backend, Tensor[], Tensor> op = (be, t) -> be.attention(t[0], t[1], t[2], scale,
                t[3] == null ? null : new Backend.RelPos(t[3], t[4], c.rel()[0], c.rel()[1], c.rel()[2], c.rel()[3]));
        Tensor expected = op.apply(cpu, new Tensor[] {q, k, v, rh, rw});
        CudaBackend g = cuda();
        // softmax rows are convex weights: |error| ≤ a small multiple of max|v| (scores err ~1e-6, exp amplifies ≤ e^{err})
        float vmax = 0;
        for (float x : v.toArray()) vmax = Math.max(vmax, Math.abs(x));
        Tensor got = onGpu(g, t -> op.apply(g, t), q, k, v, rh, rw);
        Compare.close(expected, got, 1e-4, 1e-4 * vmax, "attention " + c);
        // a tiny tile budget (a few query rows per tile): many tiles, and a short last one, must give the same answer
        CudaBackend small = new CudaBackend(runtime(), GemmMode.FP32, 3L * c.B() * c.Nk() * Float.BYTES);
        assertEquals(Math.min(3, c.Nq()), small.tileRows(c.B(), c.Nq(), c.Nk()));
        Tensor tiled = onGpu(small, t -> op.apply(small, t), q, k, v, rh, rw);
        Compare.close(expected, tiled, 1e-4, 1e-4 * vmax, "attention in 3-row tiles " + c);
    }

    // ------------------------------------------------------------------ fused (flash) attention

    /** rel: qh, qw, kh, kw or null; padded: rows of the 7×7 q/k/v grid at y or x ≥ 5 are one shared "bias token". */
    record FlashCase(int B, int Nq, int Nk, int d, int[] rel, boolean padded) {
        @Override
        public String toString() {
            return "B " + B + ", Nq " + Nq + ", Nk " + Nk + ", d " + d + (rel == null ? "" : ", rel-pos " + Arrays.toString(rel))
                    + (padded ? ", zero-padded window tokens" : "");
        }
    }

    /** One and many query / key tiles (32 each), odd sizes, every head dim with a flash kernel. */
    List<FlashCase> flashCases() {
        List<FlashCase> c = new ArrayList<>(List.of(
                new FlashCase(2, 37, 45, 16, null, false),            // decoder self-attention-like, 2×2 tiles
                new FlashCase(3, 5, 300, 16, null, false),            // tokens → image: few queries, 10 key tiles
                new FlashCase(2, 70, 6, 16, null, false),             // image → tokens: 3 query tiles, one short key tile
                new FlashCase(2, 33, 33, 32, null, false),            // decoder self-attention, d 32
                new FlashCase(2, 12, 10, 64, new int[] {3, 4, 2, 5}, false), // q grid ≠ k grid
                new FlashCase(2, 49, 49, 64, new int[] {7, 7, 7, 7}, true),  // a window with zero-padded tokens
                new FlashCase(1, 40, 40, 80, new int[] {5, 8, 5, 8}, false), // SAM-H head dim
                new FlashCase(1, 1, 1, 64, null, false)));
        if (size() > 1) {
            c.add(new FlashCase(12, 196, 196, 64, new int[] {14, 14, 14, 14}, true));
            c.add(new FlashCase(2, 1024, 1024, 80, new int[] {32, 32, 32, 32}, false));
            c.add(new FlashCase(8, 7, 4096, 16, null, false));
        }
        return c;
    }

    Stream<Arguments> flashArgs() {
        return Stream.of(GemmMode.FP32, GemmMode.TF32).flatMap(m -> flashCases().stream().map(c -> Arguments.of(m, c)));
    }

    /**
     * The flash kernels against the CPU reference ({@link CpuBackend#attention}: scores, rel-pos, double softmax, P·V).
     * The output is a convex combination of v rows, so errors are bounded in units of max|v|: fp32 differs from the
     * reference only in summation order (FMA chains over d for the scores, online rescaling, fp32 instead of double
     * softmax sums over ≤ 300 keys here): a few ulps of max|v|, bound 2e-6·max|v| + 1e-5·|cpu|. TF32 rounds q·scale, k,
     * P and v to 10-bit mantissas (relative 2^−11 each): score errors up to ~2^−10·Σ|q·scale||k| (≤ 5e-3 for d 64
     * standard normals, typically 10× less: random signs) move the weights by that relative amount, plus 2^−10 on P·V:
     * bound 3e-3·max|v|, the TF32 GEMM bound (observed on the emulator: ≤ 3.3e-4·max|v| TF32, ≤ 3.6e-7·max|v| fp32).
     */
    @ParameterizedTest
    @MethodSource("flashArgs")
    void flashAttention(GemmMode mode, FlashCase c) {
        Random r = new Random(c.Nq() * 131 + c.Nk() * 7 + c.d());
        Tensor q = randn(r, 1f, c.B(), c.Nq(), c.d()), k = randn(r, 1f, c.B(), c.Nk(), c.d()), v = randn(r, 1f, c.B(), c.Nk(), c.d());
        if (c.padded()) { // SAM pads windows with zeros before qkv: padded tokens all become the qkv bias (sam.md §5.3)
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
        float scale = (float) (1 / Math.sqrt(c.d()));
        BiFunction<Backend, Tensor[], Tensor> op = (be, t) -> be.attention(t[0], t[1], t[2], scale,
                t[3] == null ? null : new Backend.RelPos(t[3], t[4], c.rel()[0], c.rel()[1], c.rel()[2], c.rel()[3]));
        Tensor expected = op.apply(cpu, new Tensor[] {q, k, v, rh, rw});
        CudaBackend g = new CudaBackend(runtime(), mode, 64L << 20, true);
        Kernel fk = g.flashKernel(c.d(), c.d());
        assertTrue(fk != null && fk.symbol.startsWith(mode.tf32() ? "flash_attn_tf32" : "flash_attn_f32"), "flash kernel for " + c);
        Tensor got = onGpu(g, t -> op.apply(g, t), q, k, v, rh, rw);
        assertTrue(runtime().lastLaunch().contains(fk.symbol), "the flash kernel ran: " + runtime().lastLaunch());
        float vmax = 0;
        for (float x : v.toArray()) vmax = Math.max(vmax, Math.abs(x));
        // fp32: the online sums run over the keys in order, their rounding grows like √Nk (GPU-only cases have 4096)
        double bound = mode.tf32() ? 3e-3 : 2e-6 * Math.max(1, Math.sqrt(c.Nk() / 300.0));
        Compare.close(expected, got, 1e-5, bound * vmax, mode + " flash attention " + c);
    }

    /** Same inputs through the flash kernel and the v1 query tiles: the property switch reaches both paths. */
    @Test
    void flashAndTiledAgreeAndTheSwitchSelects() {
        Random r = new Random(17);
        Tensor q = randn(r, 1f, 2, 21, 16), k = randn(r, 1f, 2, 19, 16), v = randn(r, 1f, 2, 19, 16);
        CudaBackend flash = new CudaBackend(runtime(), GemmMode.FP32, 64L << 20, true);
        CudaBackend tiled = new CudaBackend(runtime(), GemmMode.FP32, 64L << 20, false);
        Tensor a = onGpu(flash, t -> flash.attention(t[0], t[1], t[2], 0.25f, null), q, k, v);
        assertTrue(runtime().lastLaunch().contains("flash_attn_f32_d16"), runtime().lastLaunch());
        Tensor b = onGpu(tiled, t -> tiled.attention(t[0], t[1], t[2], 0.25f, null), q, k, v);
        assertTrue(!runtime().lastLaunch().contains("flash_attn"), runtime().lastLaunch());
        Compare.close(b, a, 1e-5, 1e-6, "flash vs tiled");
        String before = System.getProperty("segsam.cuda.attention");
        try {
            System.setProperty("segsam.cuda.attention", "tiled");
            assertTrue(!CudaBackend.flashFromProperties());
            System.setProperty("segsam.cuda.attention", "flash");
            assertTrue(CudaBackend.flashFromProperties());
            System.setProperty("segsam.cuda.attention", "fast");
            assertThrows(IllegalArgumentException.class, CudaBackend::flashFromProperties);
        } finally {
            if (before == null) System.clearProperty("segsam.cuda.attention");
            else System.setProperty("segsam.cuda.attention", before);
        }
        // a head dim without a flash kernel (5) falls back to v1 even with flash on
        Tensor q5 = randn(r, 1f, 1, 9, 5), k5 = randn(r, 1f, 1, 8, 5), v5 = randn(r, 1f, 1, 8, 5);
        Tensor f5 = onGpu(flash, t -> flash.attention(t[0], t[1], t[2], 0.4f, null), q5, k5, v5);
        assertTrue(!runtime().lastLaunch().contains("flash_attn"), runtime().lastLaunch());
        Compare.close(cpu.attention(q5, k5, v5, 0.4f, null), f5, 1e-4, 1e-4, "d 5 through v1");
    }

    /** The CPU twin of {@link CudaBackend#multiHeadAttention}: split heads, attention, merge heads (k / v broadcast). */
    Tensor cpuMultiHead(Tensor q, Tensor k, Tensor v, int heads, float scale) {
        int B = q.size(0), nq = q.size(1), nk = k.size(1), d = q.size(2) / heads;
        if (k.size(0) != B) {
            k = cpu.concat(java.util.Collections.nCopies(B, k), 0);
            v = cpu.concat(java.util.Collections.nCopies(B, v), 0);
        }
        Tensor qh = cpu.permute(q.reshape(B, nq, heads, d), 0, 2, 1, 3).reshape(B * heads, nq, d);
        Tensor kh = cpu.permute(k.reshape(B, nk, heads, d), 0, 2, 1, 3).reshape(B * heads, nk, d);
        Tensor vh = cpu.permute(v.reshape(B, nk, heads, d), 0, 2, 1, 3).reshape(B * heads, nk, d);
        Tensor o = cpu.attention(qh, kh, vh, scale, null);
        return cpu.permute(o.reshape(B, heads, nq, d), 0, 2, 1, 3).reshape(B, nq, heads * d);
    }

    static Stream<Arguments> multiHeadCases() { // B, Bk (1: shared k / v), nq, nk, heads, d
        return Stream.of(Arguments.of(new int[] {1, 1, 7, 64, 8, 16}), Arguments.of(new int[] {3, 1, 6, 45, 8, 16}),
                Arguments.of(new int[] {2, 2, 70, 5, 8, 16}), Arguments.of(new int[] {2, 2, 9, 9, 8, 32}),
                Arguments.of(new int[] {2, 1, 4, 11, 2, 5})); // d 5: the permute fallback, k / v repeated
    }

    @ParameterizedTest
    @MethodSource("multiHeadCases")
    void multiHeadAttentionReadsHeadsInPlace(int[] s) {
        int B = s[0], Bk = s[1], nq = s[2], nk = s[3], heads = s[4], d = s[5];
        Random r = new Random(Arrays.hashCode(s));
        Tensor q = randn(r, 1f, B, nq, heads * d), k = randn(r, 1f, Bk, nk, heads * d), v = randn(r, 1f, Bk, nk, heads * d);
        float scale = (float) (1 / Math.sqrt(d));
        Tensor expected = cpuMultiHead(q, k, v, heads, scale);
        for (GemmMode mode : List.of(GemmMode.FP32, GemmMode.TF32)) {
            CudaBackend g = new CudaBackend(runtime(), mode, 64L << 20, true);
            Tensor got = onGpu(g, t -> g.multiHeadAttention(t[0], t[1], t[2], heads, scale), q, k, v);
            boolean flash = g.flashKernel(d, d) != null;
            assertEquals(flash, runtime().lastLaunch().contains("flash_attn"), runtime().lastLaunch());
            float vmax = 0;
            for (float x : v.toArray()) vmax = Math.max(vmax, Math.abs(x));
            double bound = flash ? (mode.tf32() ? 3e-3 : 2e-6) : (mode.tf32() ? 3e-3 : 1e-4);
            Compare.close(expected, got, 1e-5, bound * vmax, mode + " multi-head attention " + Arrays.toString(s));
        }
    }

    // ------------------------------------------------------------------ mask postprocessing

    static Stream<Arguments> maskCases() { // lowRes shape, padSize, crop h, crop w, outH, outW
        return Stream.of(Arguments.of(new int[] {1, 3, 16, 16}, new int[] {64, 48, 40, 37, 53}),
                Arguments.of(new int[] {2, 1, 8, 8}, new int[] {32, 32, 32, 32, 32}),
                Arguments.of(new int[] {1, 2, 8, 12}, new int[] {40, 1, 40, 5, 3}),
                Arguments.of(new int[] {1, 1, 16, 16}, new int[] {64, 64, 21, 200, 17}),
                Arguments.of(new int[] {1, 1, 256, 256}, new int[] {1024, 1024, 683, 300, 200}));
    }

    /**
     * The fused kernel against the CPU two-stage sequence ({@link Backend#postprocessMasks}'s default: interpolate to
     * padSize², crop, interpolate): bit-equal logits (same float operations in the same order), identical masks.
     */
    @ParameterizedTest
    @MethodSource("maskCases")
    void postprocessMasks(int[] shape, int[] p) {
        Random r = new Random(Arrays.hashCode(p));
        Tensor x = randn(r, 4f, shape);
        x.set(0, 0f); // exact zeros: the threshold is strict
        CudaBackend g = cuda();
        String what = "postprocess_masks " + Shapes.str(shape) + " " + Arrays.toString(p);
        Tensor expected = cpu.postprocessMasks(x, p[0], p[1], p[2], p[3], p[4], false);
        Tensor twoStage = cpu.interpolateBilinear(cpu.slice(cpu.slice(cpu.interpolateBilinear(x, p[0], p[0]), 2, 0, p[1]), 3, 0, p[2]), p[3], p[4]);
        Compare.exact(twoStage, expected, what + ": the CPU default is the two-stage sequence");
        Compare.exact(expected, onGpu(g, t -> g.postprocessMasks(t[0], p[0], p[1], p[2], p[3], p[4], false), x), what);
        assertTrue(runtime().lastLaunch().contains("mask_postprocess_f32"), runtime().lastLaunch());
        Tensor masks = cpu.postprocessMasks(x, p[0], p[1], p[2], p[3], p[4], true);
        float[] e = expected.toArray(), m = masks.toArray();
        for (int i = 0; i < e.length; i++) assertEquals(e[i] > 0f ? 1f : 0f, m[i], "CPU threshold at " + i);
        Compare.exact(masks, onGpu(g, t -> g.postprocessMasks(t[0], p[0], p[1], p[2], p[3], p[4], true), x), what + " threshold");
        assertThrows(IllegalArgumentException.class, () -> cpu.postprocessMasks(x, p[0], p[0] + 1, p[2], p[3], p[4], false));
    }

    @Test
    void relPosLookup() {
        Random r = new Random(3);
        CudaBackend g = cuda();
        int[][] cases = {{5, 5, 9}, {3, 6, 11}, {6, 3, 11}, {6, 6, 7}, {14, 14, 27}, {4, 4, 20}, {1, 1, 1}};
        for (int[] c : cases) {
            Tensor table = randn(r, 1f, c[2], 6);
            Compare.exact(cpu.relPosLookup(table, c[0], c[1]), onGpu(g, t -> g.relPosLookup(t[0], c[0], c[1]), table),
                    "rel_pos lookup q " + c[0] + " k " + c[1] + " L " + c[2]);
        }
    }

    @Test
    void fourierPositionEncoding() {
        Random r = new Random(4);
        CudaBackend g = cuda();
        Tensor gauss = randn(r, 1f, 2, 7);
        for (int[] s : new int[][] {{5, 2}, {2, 3, 2}, {1, 2}, {64, 64, 2}}) {
            float[] v = new float[(int) Shapes.numel(s)];
            for (int i = 0; i < v.length; i++) v[i] = r.nextFloat();
            Tensor coords = Tensor.of(v, s);
            Compare.close(cpu.fourierPositionEncoding(coords, gauss), onGpu(g, t -> g.fourierPositionEncoding(t[0], t[1]), coords, gauss),
                    1e-5, 1e-6, "fourier pe " + Shapes.str(s));
        }
    }

    @Test
    void argmax() {
        CudaBackend g = cuda();
        Random r = new Random(6);
        List<Tensor> xs = new ArrayList<>(List.of(randn(r, 1f, 5, 7), randn(r, 1f, 3, 1), randn(r, 1f, 1), randn(r, 1f, 2, 3, 100),
                Tensor.of(new float[] {1, 3, 3, 2, 3, 0}, 1, 6), // ties: the first maximum
                Tensor.of(new float[] {1, Float.NaN, 5, Float.NaN, 2, 7}, 2, 3), // NaN is the maximum, first NaN
                Tensor.of(new float[] {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY}, 1, 2), Tensor.scalar(4f),
                randn(r, 1f, 4, 1000)));
        for (Tensor x : xs) {
            try (Tensor d = g.upload(x)) {
                assertArrayEquals(cpu.argmax(x), g.argmax(d), "argmax " + Shapes.str(x.shape()));
            }
        }
    }

    // ------------------------------------------------------------------ memory, transfers, errors

    @Test
    void uploadDownloadZeros() {
        CudaBackend g = cuda();
        Random r = new Random(8);
        for (int n : new int[] {0, 1, 5, 1 << 16, size() > 1 ? 3_000_001 : 70_001}) { // 3M floats > one 8 MiB staging buffer
            Tensor x = randn(r, 1f, n);
            try (Tensor d = g.upload(x)) {
                Compare.exact(x, g.download(d), "round trip of " + n);
            }
            try (Tensor z = g.zeros(n, 1)) {
                Compare.exact(Tensor.zeros(n, 1), g.download(z), "zeros " + n);
            }
        }
        try (Tensor d = g.upload(Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 3, 2))) {
            Compare.exact(Tensor.of(new float[] {3, 4, 5, 6}, 2, 2), g.download(d.narrow0(1, 2)), "a narrow0 view");
            Tensor view = d.narrow0(2, 1);
            Compare.exact(Tensor.of(new float[] {10, 12}, 1, 2), g.download(g.scale(view, 2f)), "an op on a view");
        }
    }

    @Test
    void hostInputsAreRefusedWithOneLine() {
        CudaBackend g = cuda();
        Tensor host = Tensor.of(new float[] {1, 2}, 2);
        var e = assertThrows(IllegalArgumentException.class, () -> g.gelu(host));
        assertTrue(e.getMessage().contains("upload it first") && !e.getMessage().contains("\n"), e.getMessage());
        try (Tensor d = g.upload(host)) {
            assertThrows(IllegalStateException.class, d::data, "device tensors have no host view");
            assertEquals(dev.segsam.tensor.Device.CUDA, d.device());
        }
    }

    @Test
    void errorsNameTheKernelAndTheShapes() {
        CudaRuntime rt = runtime();
        try (Tensor x = rt.alloc(4)) {
            var e = assertThrows(CudaOpException.class, () -> rt.launch(Kernel.RELU, "x [4] (a zero-sized grid)", 0, 1, 1, 256, 1, 0, x, x, 4));
            assertTrue(e.getMessage().contains("relu_f32") && e.getMessage().contains("x [4] (a zero-sized grid)"), e.getMessage());
            var w = assertThrows(IllegalArgumentException.class, () -> rt.launch(Kernel.RELU, "wrong width", 1, 1, 1, 256, 1, 0, x, x, 4L));
            assertTrue(w.getMessage().contains("argument 2 must be an Integer"), w.getMessage());
        }
        CudaBackend g = cuda();
        try (Tensor a = g.upload(randn(new Random(1), 1f, 3, 4)); Tensor b = g.upload(randn(new Random(2), 1f, 5, 6))) {
            var e = assertThrows(IllegalArgumentException.class, () -> g.matmul(a, b));
            assertTrue(e.getMessage().contains("[3, 4]") && e.getMessage().contains("[5, 6]"), e.getMessage());
        }
        Gemm gemm = new Gemm(rt, GemmMode.FP32);
        try (Tensor t = rt.alloc(10)) {
            var e = assertThrows(IllegalArgumentException.class, () -> gemm.run("too small", 1, 4, 4, 4, Gemm.Mat.of(t, 0, 4, 0),
                    Gemm.Mat.of(t, 0, 4, 0), Gemm.Mat.of(t, 0, 4, 0), 1f, null, 0, 0));
            assertTrue(e.getMessage().contains("too small") && e.getMessage().contains("operand A"), e.getMessage());
        }
    }

    @Test
    void closedTensorsFailAndDoubleCloseIsAnError() {
        CudaBackend g = cuda();
        Tensor d = g.upload(Tensor.of(new float[] {1, 2}, 2));
        d.close();
        var twice = assertThrows(IllegalStateException.class, d::close);
        assertTrue(twice.getMessage().contains("tensor [2] on cuda") && twice.getMessage().contains("closed twice"), twice.getMessage());
        var used = assertThrows(IllegalStateException.class, () -> g.relu(d));
        assertTrue(used.getMessage().contains("tensor [2] on cuda") && used.getMessage().contains("used after close()"), used.getMessage());
    }

    /**
     * A predict-like sequence repeated: after the first round the pool serves every allocation from its free lists
     * (no new cuMemAlloc, constant reserved bytes).
     */
    @Test
    void repeatedCallsDoNotGrowDeviceMemory() {
        CudaRuntime rt = cachingRuntime();
        CudaBackend g = new CudaBackend(rt, GemmMode.FP32);
        Random r = new Random(9);
        try (Tensor x = g.upload(randn(r, 1f, 2, 49, 32)); Tensor w1 = g.upload(randn(r, 0.2f, 64, 32));
             Tensor b1 = g.upload(randn(r, 0.2f, 64)); Tensor w2 = g.upload(randn(r, 0.2f, 32, 64))) {
            long allocsAfterFirst = -1, reservedAfterFirst = -1;
            int rounds = size() > 1 ? 1000 : 8;
            for (int i = 0; i < rounds; i++) {
                try (Tensor h = g.linearGelu(x, w1, b1); Tensor y = g.linear(h, w2, null); Tensor n = g.layerNorm(y, null, null, 1e-6f);
                     Tensor a = g.attention(n, n, n, 0.125f, null); Tensor s = g.add(a, x); Tensor p = g.permute(s, 0, 2, 1)) {
                    g.argmax(p);
                }
                if (i == 0) {
                    allocsAfterFirst = g.memoryStats().driverAllocations();
                    reservedAfterFirst = g.memoryStats().reservedBytes();
                }
            }
            DevicePool.Stats st = g.memoryStats();
            assertEquals(allocsAfterFirst, st.driverAllocations(), "no new device allocations after the first round: " + st);
            assertEquals(reservedAfterFirst, st.reservedBytes(), "reserved bytes constant: " + st);
            assertTrue(st.reuses() > rounds, st.toString());
        }
    }

    /** A tensor nobody closes goes back to the pool once unreachable (the cleaner: a safety net, not the plan). */
    @Test
    void cleanerReturnsForgottenTensors() throws InterruptedException {
        CudaBackend g = new CudaBackend(cachingRuntime(), GemmMode.FP32);
        long base = g.memoryStats().inUseBytes();
        for (int i = 0; i < 10; i++) g.zeros(1 << 16); // never closed
        assertTrue(g.memoryStats().inUseBytes() >= base + (10L << 18));
        for (int i = 0; i < 200 && g.memoryStats().inUseBytes() > base; i++) {
            System.gc();
            Thread.sleep(10);
        }
        assertTrue(g.memoryStats().inUseBytes() <= base, "forgotten tensors returned by the cleaner: " + g.memoryStats());
    }

    /** A runtime on the same device with a caching (non-exact) pool. */
    abstract CudaRuntime cachingRuntime();

    /** The PyTorch op goldens (core-tensor's ops.json) through the CUDA backend. */
    @Test
    void pytorchGoldens() {
        CudaBackend g = cuda();
        List<String> failures = new ArrayList<>();
        for (Golden.Case c : OpsGoldenTest.CASES) {
            try {
                // GEMM-shaped ops sum in another order than PyTorch's CPU GEMM: the fp32 GEMM bound 1e-4
                boolean gemmish = List.of("matmul", "linear", "conv2d", "conv_transpose2d", "attention").contains(c.op());
                OpsGoldenTest.check(c, g, gemmish ? 1e-4 : 1e-5, gemmish ? 1e-5 : 1e-6);
            } catch (AssertionError | RuntimeException e) {
                failures.add(c + ": " + e.getMessage());
            }
        }
        if (!failures.isEmpty()) fail(failures.size() + " of " + OpsGoldenTest.CASES.size() + " goldens failed:\n" + String.join("\n", failures));
    }
}
