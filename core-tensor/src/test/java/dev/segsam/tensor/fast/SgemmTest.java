package dev.segsam.tensor.fast;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.segsam.tensor.Parallel;
import dev.segsam.tensor.fast.Sgemm.Mat;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The fast SGEMM against a double-accumulated reference.
 *
 * <p><b>Error bound.</b> Every C element is a float32 sum of K + 1 terms (bias and the K products, each product
 * rounded at most once, FMA rounds it zero times) in some order. For any order, the rounding error of such a sum is
 * at most γ(K+1)·Σ|term| with γ(n) = n·u/(1 − n·u), u = 2⁻²⁴ (Higham, Accuracy and Stability of Numerical
 * Algorithms, §3.1). So the test accepts |c − ref| ≤ γ(K+1)·(|bias_j| + Σₖ|a_ik·b_kj|): rigorous for any blocking or
 * thread count, so it cannot flake, and still far below the effect of a wrong, missing or doubled term for the K used
 * here (one product of a random row is ~Σ|ab|/K ≫ K·u·Σ|ab| while K² ≪ 1/u). The double reference's own error
 * (~K·2⁻⁵³) is negligible. C is poisoned with NaN first, so an element that is not written fails.
 */
class SgemmTest {
    private static final int[] SIZES = {1, 2, 3, 7, 15, 16, 17, 31, 33, 64, 100, 127, 129, 257};
    private static final double U = 0x1p-24;
    /** The threads of the parallel runs: at least two, so the parallel paths run even on a one-core machine. */
    private static final Parallel PAR = Parallel.of(Math.max(2, Runtime.getRuntime().availableProcessors()));

    @Test
    void vectorApiIsPresentUnderSurefire() {
        assertTrue(Sgemm.available(), "surefire's argLine must add jdk.incubator.vector: " + Sgemm.describe());
    }

    @Test
    void absentModuleIsDetected() {
        assertFalse(Sgemm.vectorModulePresent(ModuleLayer.empty()));
        assertTrue(Sgemm.vectorModulePresent(ModuleLayer.boot()));
    }

    /**
     * A JVM without the module reports the fast path off, picks the reference backend and does not crash; with
     * {@code -Dsegsam.cpu=reference} mapped onto {@link dev.segsam.tensor.Options} the reference backend is chosen although
     * the module is there.
     */
    @Test
    void fastPathOffWithoutModuleOrWhenReferenceChosen() throws Exception {
        assertEquals("available=false backend=cpu-reference gemm=IllegalStateException", probe());
        assertEquals("available=true backend=cpu-reference gemm=ok", probe("--add-modules=jdk.incubator.vector", "-Dsegsam.cpu=reference"));
        assertEquals("available=true backend=cpu-fast gemm=ok", probe("--add-modules=jdk.incubator.vector"));
    }

    private static String probe(String... jvmArgs) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of(jvmArgs));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), SgemmProbe.class.getName()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        // the last line; the JVM may print "WARNING: Using incubator modules" first
        String[] lines = out.strip().split("\\R");
        return lines[lines.length - 1];
    }

    // ------------------------------------------------------------------ correctness

    @Test
    void edgeShapesPlainAndTransposed() {
        Random r = new Random(42);
        int cases = 0;
        for (int m : SIZES) {
            for (int n : SIZES) {
                // two depths per (m, n), rotating through the list so that every K is used with many (m, n)
                for (int t = 0; t < 2; t++) {
                    int k = SIZES[(m + 3 * n + 5 * t) % SIZES.length];
                    check(r, 1, m, n, k, (m + n + t) % 2 == 0, (m + t) % 3 == 0, true);
                    cases++;
                }
            }
        }
        assertEquals(2 * SIZES.length * SIZES.length, cases);
    }

    @Test
    void deepAndWideBlocksCrossKcMcAndPanels() {
        Random r = new Random(7);
        // K across several KC blocks (and not a multiple of KC), M across MC blocks, N across many panels
        check(r, 1, 300, 200, 3 * VectorSgemm.KC + 5, false, true, true);
        check(r, 1, 2 * VectorSgemm.MC + 1, 97, 2 * VectorSgemm.KC, true, true, true);
        check(r, 1, 5, 1000, 70, true, false, true); // few rows: columns are split across tasks
        check(r, 1, 1, 513, 129, false, true, true);
    }

    @Test
    void samShapesScaledDown() {
        Random r = new Random(3);
        check(r, 1, 512, 288, 96, true, true, true);  // qkv linear: 4096×768 → 2304, / 8
        check(r, 1, 490, 96, 384, true, true, true);  // MLP down, windowed tokens 4900 / 10, 3072 / 8 → 768 / 8
        check(r, 12, 49, 49, 64, true, false, true);  // Q·Kᵀ for 12 heads of 7×7 windows
        check(r, 3, 196, 64, 196, false, false, true); // P·V for 3 heads of 14×14 windows
        check(r, 2, 64, 48, 40, false, true, true);   // batch = thread count: one item per task
    }

    /** Views: offsets, row strides wider than the matrix (a column slice, like one head of qkv), batch strides. */
    @Test
    void stridedViewsAndOffHeapUnalignedSegments() {
        Random r = new Random(11);
        int batch = 3, m = 37, n = 45, k = 70, lda = 100, ldb = 3 * k, ldc = 50;
        try (Arena arena = Arena.ofShared()) { // shared: pool threads read and write it
            float[] av = rand(r, 5 + 2 * (batch * m * lda)), bv = rand(r, 7 + batch * n * ldb), bias = rand(r, n);
            // off-heap, starting 2 bytes into an allocation: as a tensor at an unaligned offset in a mapped file
            MemorySegment bSeg = arena.allocate(bv.length * 4L + 2).asSlice(2);
            MemorySegment.copy(bv, 0, bSeg, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, bv.length);
            MemorySegment cSeg = arena.allocate((3L + batch * m * ldc) * 4 + 2).asSlice(2);
            cSeg.fill((byte) 0xff); // 0xffffffff is a NaN
            Mat a = new Mat(MemorySegment.ofArray(av), 5, lda, 2L * m * lda);
            Mat b = new Mat(bSeg, 7 + k, ldb, (long) n * ldb); // the middle K columns of each row
            Mat c = new Mat(cSeg, 3, ldc, (long) m * ldc);
            Sgemm.gemm(PAR, batch, m, n, k, a, b, true, c, MemorySegment.ofArray(bias));
            for (int i = 0; i < batch; i++) {
                int ai = i, bi = i;
                float[] got = new float[m * n];
                for (int y = 0; y < m; y++) {
                    MemorySegment.copy(cSeg, ValueLayout.JAVA_FLOAT_UNALIGNED, (3L + i * m * ldc + y * ldc) * 4, got, y * n, n);
                }
                compare(got, m, n, k, bias, (y, t) -> av[5 + ai * 2 * m * lda + y * lda + t],
                        (t, x) -> bv[7 + k + bi * n * ldb + x * ldb + t], "strided item " + i);
            }
            // the gaps between rows (ld > n) must be left alone
            assertTrue(Float.isNaN(cSeg.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 3 + n)), "wrote past a row");
        }
    }

    @Test
    void zeroDepthGivesBiasAndEmptyShapesDoNothing() {
        float[] c = new float[6], bias = {1, 2, 3};
        java.util.Arrays.fill(c, Float.NaN);
        Sgemm.linear(PAR, 2, 3, 0, new float[0], new float[0], bias, c);
        assertArrayEquals(new float[] {1, 2, 3, 1, 2, 3}, c);
        Sgemm.matmul(PAR, 0, 3, 4, new float[0], new float[12], new float[0]);
        assertThrows(IndexOutOfBoundsException.class, () -> Sgemm.matmul(PAR, 2, 2, 2, new float[3], new float[4], new float[4]));
    }

    /** Parallel and single-thread runs give the same bits: the blocking alone fixes each element's sum order. */
    @Test
    void threadCountDoesNotChangeBits() {
        Random r = new Random(5);
        int[][] shapes = {{1, 300, 301, 257}, {4, 100, 129, 77}, {1, 3, 700, 600}};
        for (int[] s : shapes) {
            int batch = s[0], m = s[1], n = s[2], k = s[3];
            float[] a = rand(r, batch * m * k), b = rand(r, batch * k * n), bias = rand(r, n);
            float[] c1 = new float[batch * m * n], cn = new float[batch * m * n];
            Sgemm.gemm(Parallel.SEQUENTIAL, batch, m, n, k, new Mat(MemorySegment.ofArray(a), 0, k, (long) m * k),
                    new Mat(MemorySegment.ofArray(b), 0, n, (long) k * n), false, new Mat(MemorySegment.ofArray(c1), 0, n, (long) m * n),
                    MemorySegment.ofArray(bias));
            for (int threads : new int[] {2, 3, 5}) {
                java.util.Arrays.fill(cn, Float.NaN);
                Sgemm.gemm(Parallel.of(threads), batch, m, n, k, new Mat(MemorySegment.ofArray(a), 0, k, (long) m * k),
                        new Mat(MemorySegment.ofArray(b), 0, n, (long) k * n), false, new Mat(MemorySegment.ofArray(cn), 0, n, (long) m * n),
                        MemorySegment.ofArray(bias));
                assertArrayEquals(c1, cn, java.util.Arrays.toString(s) + ", " + threads + " threads");
            }
        }
    }

    /**
     * GELU fused into the store ({@code gelu=true}) against the plain GEMM followed by the same vector GELU, on every
     * path: small M (≤ {@link VectorSgemm#SMALL_M} rows), packed blocks, K over two blocks of {@link VectorSgemm#KC}
     * (GELU only after the last one), right-edge columns, K = 0 (GELU of the bias), batched items, with and without
     * bias. The sums are the same in both runs; only the exponential may differ by an ulp (Vector API intrinsic vs
     * its Java fallback, depending on JIT tier), hence a few-ulp relative bound instead of bit equality: a GELU that
     * is missing, doubled or applied to a partial K block is off by far more.
     */
    @Test
    void fusedGeluMatchesGemmThenGelu() {
        Random r = new Random(11);
        int[][] shapes = {{1, 3, 19, 50}, {1, 8, 33, 7}, {1, 9, 40, VectorSgemm.KC + 76}, {1, 100, 129, 77}, {2, 13, 17, 0},
            {1, 5, 6, 0}, {6, 20, 31, 64}};
        for (int[] s : shapes) {
            int batch = s[0], m = s[1], n = s[2], k = s[3];
            for (boolean transposed : new boolean[] {false, true}) {
                for (boolean withBias : new boolean[] {false, true}) {
                    float[] a = rand(r, batch * m * k), b = rand(r, batch * k * n), bias = withBias ? rand(r, n) : null;
                    float[] plain = new float[batch * m * n], fused = new float[batch * m * n];
                    java.util.Arrays.fill(fused, Float.NaN);
                    for (boolean gelu : new boolean[] {false, true}) {
                        Sgemm.gemm(PAR, batch, m, n, k, new Mat(MemorySegment.ofArray(a), 0, k, (long) m * k),
                                new Mat(MemorySegment.ofArray(b), 0, transposed ? k : n, (long) k * n), transposed,
                                new Mat(MemorySegment.ofArray(gelu ? fused : plain), 0, n, (long) m * n),
                                bias == null ? null : MemorySegment.ofArray(bias), gelu);
                    }
                    VectorMath.gelu(plain, plain, plain.length);
                    String what = java.util.Arrays.toString(s) + (transposed ? " A·Bᵀ" : " A·B") + (withBias ? " +bias" : "");
                    for (int i = 0; i < plain.length; i++) {
                        float d = Math.abs(fused[i] - plain[i]);
                        if (!(d <= 1e-6f * Math.abs(plain[i]) + Float.MIN_NORMAL)) { // !(≤) also catches NaN (not written)
                            fail(what + ": element " + i + " fused " + fused[i] + ", gemm then gelu " + plain[i]);
                        }
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------------ helpers

    private interface Elem {
        double at(int i, int j);
    }

    private static float[] rand(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    /** Random contiguous operands; C poisoned with NaN; run; compare every item with the double reference. */
    private static void check(Random r, int batch, int m, int n, int k, boolean transposed, boolean withBias, boolean parallel) {
        float[] a = rand(r, batch * m * k), b = rand(r, batch * k * n), bias = withBias ? rand(r, n) : null;
        float[] c = new float[batch * m * n];
        java.util.Arrays.fill(c, Float.NaN);
        Sgemm.gemm(parallel ? PAR : Parallel.SEQUENTIAL, batch, m, n, k, new Mat(MemorySegment.ofArray(a), 0, k, (long) m * k),
                new Mat(MemorySegment.ofArray(b), 0, transposed ? k : n, (long) k * n), transposed,
                new Mat(MemorySegment.ofArray(c), 0, n, (long) m * n), bias == null ? null : MemorySegment.ofArray(bias));
        for (int i = 0; i < batch; i++) {
            int ao = i * m * k, bo = i * k * n;
            float[] got = java.util.Arrays.copyOfRange(c, i * m * n, (i + 1) * m * n);
            compare(got, m, n, k, bias, (y, t) -> a[ao + y * k + t],
                    transposed ? (t, x) -> b[bo + x * k + t] : (t, x) -> b[bo + t * n + x],
                    (transposed ? "A·Bᵀ " : "A·B ") + batch + "×" + m + "×" + n + "×" + k + (bias != null ? " +bias" : "") + " item " + i);
        }
    }

    private static void compare(float[] got, int m, int n, int k, float[] bias, Elem a, Elem b, String what) {
        double gamma = (k + 1) * U / (1 - (k + 1) * U);
        int bad = 0;
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double ref = bias == null ? 0 : bias[j], mag = Math.abs(ref);
                for (int t = 0; t < k; t++) {
                    double p = a.at(i, t) * b.at(t, j);
                    ref += p;
                    mag += Math.abs(p);
                }
                double err = Math.abs(got[i * n + j] - ref);
                if (!(err <= gamma * mag) && bad++ < 5) { // !(≤) also catches NaN
                    sb.append(String.format("%n  [%d,%d] expected %.9g, got %.9g (bound %.3g)", i, j, ref, got[i * n + j], gamma * mag));
                }
            }
        }
        if (bad > 0) fail(what + ": " + bad + " of " + m * n + " elements out of bound" + sb);
    }
}
