package dev.segsam.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Compare;
import dev.segsam.tensor.CpuBackend;
import dev.segsam.tensor.Options;
import dev.segsam.tensor.Options.AttentionKind;
import dev.segsam.tensor.Shapes;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.contract.Tolerance;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What the backend contract ({@link dev.segsam.tensor.contract.OpCases}, run by {@link CudaEmuContractTest} and
 * {@link CudaGpuContractTest}) cannot show, because it is about this backend's kernels and not about an op's values:
 * the GEMM dispatch on raw strided operands (offsets, padded leading dimensions, batch stride 0, integer inputs that
 * must come out exact in every engine, untouched padding), the fused ReLU epilogue, which attention kernel runs for
 * which shapes and options, score tiles under a tiny budget, k / v shared by stride 0, the fused mask kernel,
 * transfers, errors, memory reuse, and two backends with different {@link Options} in one JVM. Runs on the emulator
 * ({@link CudaEmuTest}) and on a GPU ({@link CudaGpuTest}); every allocation is NaN-poisoned and every launch
 * synchronised.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class CudaKernelChecks {
    final CpuBackend cpu = new CpuBackend();

    /** The device under test; its pools are exact-sized on the emulator. */
    abstract CudaDevice device();

    /** A device whose pools cache and reuse blocks (the memory checks). */
    abstract CudaDevice cachingDevice();

    /** GEMM engines this device can run. */
    abstract List<GemmEngine> engines();

    /** A multiplier for the larger shapes (the emulator is slow). */
    abstract int size();

    /** A runtime on the device under test: poisoned, synchronous launches. */
    CudaRuntime runtime() {
        CudaRuntime rt = device().runtime(-1, true);
        rt.pool.poison = true;
        return rt;
    }

    CudaBackend cuda(GemmEngine engine, AttentionKind attention) {
        return new CudaBackend(runtime(), engine, attention, 64L << 20);
    }

    CudaBackend cuda() {
        return cuda(GemmEngine.FP32_TILED, AttentionKind.FLASH);
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

    /** Runs {@code op} on the device with uploaded copies of {@code inputs} and returns the downloaded result. */
    static Tensor onGpu(Backend g, Function<Tensor[], Tensor> op, Tensor... inputs) {
        Tensor[] d = new Tensor[inputs.length];
        for (int i = 0; i < inputs.length; i++) d[i] = inputs[i] == null ? null : g.upload(inputs[i]);
        try (Tensor out = op.apply(d)) {
            return g.download(out);
        } finally {
            for (Tensor t : d) if (t != null) t.close();
        }
    }

    static double rtol(GemmEngine e) {
        return e.tf32() ? 3e-3 : 1e-4;
    }

    static float maxAbs(Tensor t) {
        float m = 0;
        for (float x : t.toArray()) m = Math.max(m, Math.abs(x));
        return m;
    }

    // ------------------------------------------------------------------ GEMM dispatch

    /** {@code M, N, K} triples: tiny, odd, tile-aligned, one past a tile, K not a multiple of 8 or 16. */
    List<int[]> gemmSizes() {
        List<int[]> s = new ArrayList<>(List.of(new int[] {1, 1, 1}, new int[] {17, 33, 65}, new int[] {64, 64, 64},
                new int[] {127, 129, 31}, new int[] {130, 70, 257}, new int[] {3, 200, 5}, new int[] {1, 129, 16}, new int[] {65, 1, 8}));
        if (size() > 1) s.addAll(List.of(new int[] {300, 257, 300}, new int[] {513, 384, 1000}));
        return s;
    }

    Stream<Arguments> gemmCases() {
        return engines().stream().flatMap(e -> gemmSizes().stream()
                .filter(s -> size() > 1 || !e.tf32() || (long) s[0] * s[1] * s[2] < 1_000_000) // the emulated mma is slow
                .map(s -> Arguments.of(e, s[0], s[1], s[2])));
    }

    /**
     * All three operand layouts on one shape through {@link Gemm#run} directly, with an offset, padded leading
     * dimensions and a batch of 3 (B shared by stride 0 in one of them), integer inputs (exact in every engine: TF32
     * represents them exactly, which pins down layout and fragment bugs independently of rounding) and then Gaussian
     * inputs (bounded by rtol·Σ|a||b|); the poisoned output padding between rows must stay NaN (untouched).
     */
    @ParameterizedTest(name = "{0} {1}x{2}x{3}")
    @MethodSource("gemmCases")
    void gemmLayouts(GemmEngine engine, int M, int N, int K) {
        CudaRuntime rt = runtime();
        Gemm gemm = new Gemm(rt, engine);
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
                Tensor got;
                try (Tensor dA = rt.upload(A); Tensor dB = rt.upload(B); Tensor dC = rt.alloc((int) (batch * sC))) {
                    gemm.run("test", batch, M, N, K, new Gemm.Mat(dA, off, lda, sA, ta), new Gemm.Mat(dB, off, ldb, sB, tb),
                            Gemm.Mat.of(dC, 0, ldc, sC), alpha, null, Gemm.BIAS_NONE, Gemm.ACT_NONE);
                    got = rt.download(dC);
                }
                String what = engine + " " + (ta ? "tn" : tb ? "nt" : "nn") + " " + M + "x" + N + "x" + K + (integer ? " integers" : "");
                float[] gv = got.toArray();
                for (int i = 0; i < ref.length; i++) {
                    if (Float.isNaN(ref[i]) && !Float.isNaN(gv[i])) fail(what + ": wrote outside C at " + i);
                    if (Float.isNaN(ref[i])) gv[i] = ref[i] = scale[i] = 0f; // padding: checked above, now neutral
                }
                Tensor refT = Tensor.of(ref, ref.length), gotT = Tensor.of(gv, gv.length);
                if (integer && !engine.cublas()) Compare.exact(refT, gotT, what);
                else Tolerance.withinScale(refT, Tensor.of(scale, scale.length), gotT, integer ? 1e-6 : rtol(engine), what);
            }
        }
    }

    Stream<GemmEngine> engineArgs() {
        return engines().stream();
    }

    /** {@link CudaBackend#linearRelu} (a CUDA-only op: the ReLU is the GEMM's epilogue) against relu(linear) on the CPU. */
    @ParameterizedTest
    @MethodSource("engineArgs")
    void linearReluEpilogue(GemmEngine engine) {
        CudaBackend g = cuda(engine, AttentionKind.FLASH);
        Random r = new Random(13);
        for (int[] s : new int[][] {{1, 1, 1}, {7, 33, 65}, {130, 64, 130}, {2, 5, 768}}) {
            Tensor x = randn(r, 1f, s[0], s[1]), w = randn(r, 1f, s[2], s[1]), b = randn(r, 1f, s[2]);
            Tensor scale = cpu.add(cpu.linear(Tolerance.abs(x), Tolerance.abs(w), null), Tolerance.abs(b));
            Tolerance.withinScale(cpu.relu(cpu.linear(x, w, b)), scale, onGpu(g, t -> g.linearRelu(t[0], t[1], t[2]), x, w, b), rtol(engine),
                    engine + " linear+relu " + Arrays.toString(s));
        }
    }

    // ------------------------------------------------------------------ which attention runs

    /** The flash kernel of the backend's precision runs for head dims 16, 32, 64, 80; others take score tiles. */
    @Test
    void flashKernelsRunWhereTheyApply() {
        Random r = new Random(17);
        for (GemmEngine engine : List.of(GemmEngine.FP32_TILED, GemmEngine.TF32_TENSOR_CORES)) {
            CudaBackend g = cuda(engine, AttentionKind.FLASH);
            for (int d : new int[] {16, 32, 64, 80, 5, 8}) {
                Tensor q = randn(r, 1f, 2, 9, d), k = randn(r, 1f, 2, 7, d), v = randn(r, 1f, 2, 7, d);
                Kernel fk = g.flashKernel(d, d);
                Tensor got = onGpu(g, t -> g.attention(t[0], t[1], t[2], 0.3f, null), q, k, v);
                String last = g.runtime().lastLaunch();
                if (d == 5 || d == 8) {
                    assertNull(fk, "no flash kernel for d " + d);
                    assertTrue(last.contains("sgemm") || last.contains("tf32gemm"), "score tiles end with the P·V GEMM: " + last);
                } else {
                    assertTrue(fk.symbol.startsWith(engine.tf32() ? "flash_attn_tf32_d" + d : "flash_attn_f32_d" + d), fk.symbol);
                    assertTrue(last.contains(fk.symbol), "the flash kernel ran: " + last);
                }
                Compare.close(cpu.attention(q, k, v, 0.3f, null), got, 1e-5, (engine.tf32() ? 3e-3 : 1e-5) * maxAbs(v), engine + " d " + d);
            }
            assertNull(g.flashKernel(16, 8), "d ≠ dv: no flash kernel");
        }
        // a rel-pos grid whose bias rows do not fit the flash kernel's shared memory (d 80, kh + kw = 144)
        CudaBackend g = cuda();
        int kh = 72, kw = 72;
        Tensor q = randn(r, 1f, 1, 2, 80), k = randn(r, 1f, 1, kh * kw, 80), v = randn(r, 1f, 1, kh * kw, 80);
        Tensor rh = randn(r, 0.3f, 1, kh, 80), rw = randn(r, 0.3f, 2, kw, 80);
        Backend.RelPos rel = new Backend.RelPos(rh, rw, 1, 2, kh, kw);
        Tensor got = onGpu(g, t -> g.attention(t[0], t[1], t[2], 0.1f, new Backend.RelPos(t[3], t[4], 1, 2, kh, kw)), q, k, v, rh, rw);
        assertTrue(g.runtime().lastLaunch().contains("sgemm"), "score tiles for a grid too large for flash: " + g.runtime().lastLaunch());
        Compare.close(cpu.attention(q, k, v, 0.1f, rel), got, 1e-5, 1e-5 * maxAbs(v), "rel-pos 72x72 keys at d 80");
    }

    /** A tiny score-tile budget (3 query rows per tile): many tiles and a short last one give the same answer. */
    @Test
    void scoreTilesUnderATinyBudget() {
        Random r = new Random(5);
        int[][] cases = {{2, 7, 9, 5, 3}, {2, 12, 10, 8, 8}, {3, 49, 49, 16, 16}, {2, 5, 300, 16, 4}}; // B, Nq, Nk, d, dv
        for (int[] c : cases) {
            int B = c[0], Nq = c[1], Nk = c[2], d = c[3], dv = c[4];
            Tensor q = randn(r, 1f, B, Nq, d), k = randn(r, 1f, B, Nk, d), v = randn(r, 1f, B, Nk, dv);
            Tensor rh = Nq == 12 ? randn(r, 0.5f, 3, 2, d) : null, rw = Nq == 12 ? randn(r, 0.5f, 4, 5, d) : null;
            Function<Backend, Function<Tensor[], Tensor>> op = be -> t -> be.attention(t[0], t[1], t[2], 0.35f,
                    t[3] == null ? null : new Backend.RelPos(t[3], t[4], 3, 4, 2, 5));
            CudaBackend small = new CudaBackend(runtime(), GemmEngine.FP32_TILED, AttentionKind.TILED, 3L * B * Nk * Float.BYTES);
            assertEquals(Math.min(3, Nq), small.tileRows(B, Nq, Nk));
            Tensor got = onGpu(small, op.apply(small), q, k, v, rh, rw);
            assertTrue(small.runtime().lastLaunch().contains("sgemm"), small.runtime().lastLaunch());
            Compare.close(op.apply(cpu).apply(new Tensor[] {q, k, v, rh, rw}), got, 1e-5, 1e-5 * maxAbs(v), "attention in 3-row tiles " + Arrays.toString(c));
        }
    }

    /** The CPU twin of sharing k / v between batch items: repeat them, then the reference's multi-head attention. */
    Tensor cpuMultiHead(Tensor q, Tensor k, Tensor v, int heads, float scale) {
        int B = q.size(0);
        if (k.size(0) != B) {
            k = cpu.concat(Collections.nCopies(B, k), 0);
            v = cpu.concat(Collections.nCopies(B, v), 0);
        }
        return cpu.multiHeadAttention(q, k, v, heads, scale);
    }

    /**
     * k / v with batch 1 shared by B query batches (a CUDA extension of {@link Backend#multiHeadAttention}: many prompts,
     * one embedding, batch stride 0), and the flash kernel reading the heads in place where d has one.
     */
    @ParameterizedTest
    @MethodSource("sharedKv")
    void multiHeadAttentionSharesKeysAndValues(int B, int nq, int nk, int heads, int d) {
        Random r = new Random(B * 31 + nq * 7 + d);
        Tensor q = randn(r, 1f, B, nq, heads * d), k = randn(r, 1f, 1, nk, heads * d), v = randn(r, 1f, 1, nk, heads * d);
        float scale = (float) (1 / Math.sqrt(d));
        Tensor expected = cpuMultiHead(q, k, v, heads, scale);
        for (GemmEngine engine : List.of(GemmEngine.FP32_TILED, GemmEngine.TF32_TENSOR_CORES)) {
            CudaBackend g = cuda(engine, AttentionKind.FLASH);
            Tensor got = onGpu(g, t -> g.multiHeadAttention(t[0], t[1], t[2], heads, scale), q, k, v);
            boolean flash = g.flashKernel(d, d) != null;
            assertEquals(flash, g.runtime().lastLaunch().contains("flash_attn"), g.runtime().lastLaunch());
            Compare.close(expected, got, 1e-5, (engine.tf32() ? 3e-3 : flash ? 2e-6 : 1e-5) * maxAbs(v),
                    engine + " shared k/v, B " + B + ", d " + d);
        }
    }

    static Stream<Arguments> sharedKv() { // B, nq, nk, heads, d
        return Stream.of(Arguments.of(1, 7, 64, 8, 16), Arguments.of(3, 6, 45, 8, 16), Arguments.of(2, 4, 11, 2, 5));
    }

    /** The fused mask kernel runs (one launch), and the CPU default it must equal is the two-stage sequence. */
    @Test
    void postprocessMasksIsOneKernel() {
        Random r = new Random(3);
        Tensor x = randn(r, 4f, 1, 3, 16, 16);
        CudaBackend g = cuda();
        Tensor got = onGpu(g, t -> g.postprocessMasks(t[0], 64, 48, 40, 37, 53, false), x);
        assertTrue(g.runtime().lastLaunch().contains("mask_postprocess_f32"), g.runtime().lastLaunch());
        Tensor twoStage = cpu.interpolateBilinear(cpu.slice(cpu.slice(cpu.interpolateBilinear(x, 64, 64), 2, 0, 48), 3, 0, 40), 37, 53);
        Compare.exact(twoStage, cpu.postprocessMasks(x, 64, 48, 40, 37, 53, false), "the CPU default is the two-stage sequence");
        Compare.exact(twoStage, got, "fused kernel");
        assertThrows(IllegalArgumentException.class, () -> onGpu(g, t -> g.postprocessMasks(t[0], 64, 65, 40, 37, 53, false), x));
    }

    // ------------------------------------------------------------------ options

    /**
     * Two backends with different {@link Options} on one device in one JVM: GEMM engine, attention kind, score-tile
     * budget, pool cache limit and per-launch synchronisation each take effect in their own backend only.
     */
    @Test
    void twoBackendsWithDifferentOptionsBehaveDifferently() {
        Options base = Options.defaults();
        Options a = base.withGemm(Options.GemmEngine.OURS, Options.GemmPrecision.TF32).withCudaAttention(AttentionKind.TILED, 1)
                .withCudaPoolCacheMiB(0).withCudaSync(true);
        Options b = base.withCudaAttention(AttentionKind.FLASH, 64);
        CudaBackend ga = CudaBackend.create(cachingDevice(), a), gb = CudaBackend.create(cachingDevice(), b);
        assertEquals(GemmEngine.TF32_TENSOR_CORES, ga.gemmEngine());
        assertEquals(GemmEngine.FP32_TILED, gb.gemmEngine());
        assertNotEquals(ga.name(), gb.name());
        assertTrue(ga.name().contains("tf32 tensor cores") && ga.name().contains("score tiles"), ga.name());
        assertTrue(gb.name().contains("fp32 tiles") && gb.name().contains("fused flash"), gb.name());
        assertTrue(ga.runtime().syncEachLaunch && !gb.runtime().syncEachLaunch, "cudaSync");
        // attention: score tiles with TF32 products vs the fp32 flash kernel, both right
        Random r = new Random(23);
        Tensor q = randn(r, 1f, 2, 40, 16), k = randn(r, 1f, 2, 33, 16), v = randn(r, 1f, 2, 33, 16);
        Tensor expected = cpu.attention(q, k, v, 0.25f, null);
        Tensor ya = onGpu(ga, t -> ga.attention(t[0], t[1], t[2], 0.25f, null), q, k, v);
        String lastA = ga.runtime().lastLaunch();
        Tensor yb = onGpu(gb, t -> gb.attention(t[0], t[1], t[2], 0.25f, null), q, k, v);
        String lastB = gb.runtime().lastLaunch();
        assertTrue(lastA.contains("tf32gemm"), "A: score tiles, TF32 products: " + lastA);
        assertTrue(lastB.contains("flash_attn_f32_d16"), "B: fp32 flash kernel: " + lastB);
        Compare.close(expected, ya, 1e-5, 3e-3 * maxAbs(v), "A");
        Compare.close(expected, yb, 1e-5, 2e-6 * maxAbs(v), "B");
        // score-tile budget: 1 MiB against 64 MiB
        assertEquals(336, gb.tileRows(12, 4096, 4096), "64 MiB: 336 rows of 12 × 4096 scores");
        assertEquals(5, ga.tileRows(12, 4096, 4096), "1 MiB: 5 rows");
        // pool cache limit: A (0 MiB) frees every block on close, B (unlimited) keeps it for reuse
        Tensor ta = ga.zeros(1000), tb = gb.zeros(1000);
        long cachedA = ga.memoryStats().cachedBytes(), cachedB = gb.memoryStats().cachedBytes();
        ta.close();
        tb.close();
        assertEquals(cachedA, ga.memoryStats().cachedBytes(), "A caches nothing: " + ga.memoryStats());
        assertTrue(gb.memoryStats().cachedBytes() > cachedB, "B keeps the block: " + gb.memoryStats());
    }

    // ------------------------------------------------------------------ transfers, errors, memory

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
            KernelArgs.Unary args = new KernelArgs.Unary(KernelArgs.out(x), KernelArgs.in(x), 4);
            var e = assertThrows(CudaOpException.class, () -> rt.launch(Kernel.RELU, "x [4] (a zero-sized grid)", 0, 1, 1, 256, 1, 0, args));
            assertTrue(e.getMessage().contains("relu_f32") && e.getMessage().contains("x [4] (a zero-sized grid)"), e.getMessage());
            var w = assertThrows(IllegalArgumentException.class, () -> rt.launch(Kernel.SOFTMAX, "wrong record", 1, 1, 1, 256, 1, 0, args));
            assertTrue(w.getMessage().contains("softmax_f32 takes Softmax arguments, got Unary"), w.getMessage());
            var n = assertThrows(IllegalArgumentException.class,
                    () -> rt.launch(Kernel.RELU, "null output", 1, 1, 1, 256, 1, 0, new KernelArgs.Unary(null, KernelArgs.in(x), 4)));
            assertTrue(n.getMessage().contains("Unary: an output pointer argument is null"), n.getMessage());
            var b = assertThrows(IllegalStateException.class, () -> rt.launch(Kernel.RELU, "block", 1, 1, 1, 128, 1, 0, args));
            assertTrue(b.getMessage().contains("written for 256 threads"), b.getMessage());
        }
        CudaBackend g = cuda();
        try (Tensor a = g.upload(randn(new Random(1), 1f, 3, 4)); Tensor b = g.upload(randn(new Random(2), 1f, 5, 6))) {
            var e = assertThrows(IllegalArgumentException.class, () -> g.matmul(a, b));
            assertTrue(e.getMessage().contains("[3, 4]") && e.getMessage().contains("[5, 6]"), e.getMessage());
        }
        Gemm gemm = new Gemm(rt, GemmEngine.FP32_TILED);
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
        CudaRuntime rt = cachingDevice().runtime(-1, false);
        rt.pool.poison = true;
        CudaBackend g = new CudaBackend(rt, GemmEngine.FP32_TILED);
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
        CudaBackend g = new CudaBackend(cachingDevice().runtime(-1, false), GemmEngine.FP32_TILED);
        long base = g.memoryStats().inUseBytes();
        for (int i = 0; i < 10; i++) g.zeros(1 << 16); // never closed
        assertTrue(g.memoryStats().inUseBytes() >= base + (10L << 18));
        for (int i = 0; i < 200 && g.memoryStats().inUseBytes() > base; i++) {
            System.gc();
            Thread.sleep(10);
        }
        assertTrue(g.memoryStats().inUseBytes() <= base, "forgotten tensors returned by the cleaner: " + g.memoryStats());
    }

    /** The backend's name says what it computes with, and the default engine has no lab-version name in it. */
    @Test
    void nameSaysWhatTheEnginesAre() {
        String n = cuda().name();
        assertTrue(n.contains("gemm fp32 tiles") && n.contains("attention fused flash"), n);
        assertFalse(n.matches(".*\\bv[0-9]\\b.*"), n);
        assertArrayEquals(new String[] {"fp32 one thread per output", "fp32 64x64 tiles"},
                new String[] {GemmEngine.FP32_PER_OUTPUT.label(), GemmEngine.FP32_TILED_64.label()});
    }
}
