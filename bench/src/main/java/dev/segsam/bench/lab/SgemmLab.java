package dev.segsam.bench.lab;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Kernel lab for the CPU SGEMM (llm.c's dev/ style): the stepping stones to {@code dev.segsam.tensor.fast.Sgemm},
 * frozen, single-threaded, {@code c[M,N] = a[M,K]·b[K,N]} on contiguous row-major arrays, N a multiple of 2V.
 * Measured by {@code SgemmLabBench}; versions, numbers and verdicts are in docs/kernels-cpu.md.
 * <ol start="0">
 *   <li>v0: not a GEMM: the v3 register tile run on one 6×256 A panel and one 256×2V B panel (L1-resident), as many
 *       times as an M×N×K GEMM needs: the ceiling for this kernel on this core.</li>
 *   <li>v1: vectorised i-k-j: broadcast a[i][k], FMA a row of B into a row of C (C row streams through L1/L2).</li>
 *   <li>v2: 6×2V register tile over unpacked A and B (rows of A broadcast in place, B rows loaded in place).</li>
 *   <li>v3: v2 with A and B packed into k-major panels (full K, no cache blocking).</li>
 *   <li>v4: + K/M cache blocking, v5: + threads: the product ({@code Sgemm}, 1 thread / all threads).</li>
 * </ol>
 */
public final class SgemmLab {
    private SgemmLab() {}

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int V = S.length(), MR = 6, NR = 2 * V;

    public static void run(int version, int m, int n, int k, float[] a, float[] b, float[] c) {
        if (n % NR != 0) throw new IllegalArgumentException("lab kernels need N % " + NR + " == 0");
        switch (version) {
            case 0 -> v0(m, n, k, a, b, c);
            case 1 -> v1(m, n, k, a, b, c);
            case 2 -> v2(m, n, k, a, b, c);
            case 3 -> v3(m, n, k, a, b, c);
            default -> throw new IllegalArgumentException("lab version " + version);
        }
    }

    static void v0(int m, int n, int k, float[] a, float[] b, float[] c) {
        int kc = Math.min(k, 256);
        for (int i = 0; i + MR <= m; i += MR) {
            for (int j = 0; j < n; j += NR) {
                for (int p = 0; p < k; p += kc) tile(a, 0, MR, 1, b, 0, NR, kc, c, 0, NR);
            }
        }
    }

    static void v1(int m, int n, int k, float[] a, float[] b, float[] c) {
        for (int i = 0; i < m; i++) row(i, n, k, a, b, c);
    }

    /** c[i, :] = a[i, :]·b, one broadcast-FMA sweep over a row of C per k (v1, and the rows v2/v3 tiles leave). */
    private static void row(int i, int n, int k, float[] a, float[] b, float[] c) {
        java.util.Arrays.fill(c, i * n, (i + 1) * n, 0f);
        for (int p = 0; p < k; p++) {
            FloatVector x = FloatVector.broadcast(S, a[i * k + p]);
            for (int j = 0; j < n; j += V) {
                x.fma(FloatVector.fromArray(S, b, p * n + j), FloatVector.fromArray(S, c, i * n + j)).intoArray(c, i * n + j);
            }
        }
    }

    static void v2(int m, int n, int k, float[] a, float[] b, float[] c) {
        int m6 = m / MR * MR;
        for (int i = 0; i < m6; i += MR) {
            for (int j = 0; j < n; j += NR) tile(a, i * k, 1, k, b, j, n, k, c, i * n + j, n);
        }
        for (int i = m6; i < m; i++) row(i, n, k, a, b, c);
    }

    static void v3(int m, int n, int k, float[] a, float[] b, float[] c) {
        float[] ap = new float[MR * k], bp = new float[k * n];
        for (int j = 0; j < n; j += NR) { // B → panels of NR columns, k-major
            for (int p = 0; p < k; p++) System.arraycopy(b, p * n + j, bp, j * k + p * NR, NR);
        }
        int m6 = m / MR * MR;
        for (int i = 0; i < m6; i += MR) {
            for (int r = 0; r < MR; r++) { // A rows i..i+5 → one k-major panel
                for (int p = 0; p < k; p++) ap[p * MR + r] = a[(i + r) * k + p];
            }
            for (int j = 0; j < n; j += NR) tile(ap, 0, MR, 1, bp, j * k, NR, k, c, i * n + j, n);
        }
        for (int i = m6; i < m; i++) row(i, n, k, a, b, c);
    }

    /**
     * c[6, 2V] (row stride ldc) = Σ_p a(r, p)·b(p, ·): A element (r, p) at {@code ao + p·aStep + r·aRow}, B row p at
     * {@code bo + p·ldb}.
     */
    private static void tile(float[] a, int ao, int aStep, int aRow, float[] b, int bo, int ldb, int k, float[] c, int co, int ldc) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        for (int p = 0; p < k; p++, ao += aStep, bo += ldb) {
            FloatVector b0 = FloatVector.fromArray(S, b, bo), b1 = FloatVector.fromArray(S, b, bo + V);
            FloatVector x = FloatVector.broadcast(S, a[ao]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[ao + aRow]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[ao + 2 * aRow]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[ao + 3 * aRow]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, a[ao + 4 * aRow]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, a[ao + 5 * aRow]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
        }
        c00.intoArray(c, co);
        c01.intoArray(c, co + V);
        c10.intoArray(c, co + ldc);
        c11.intoArray(c, co + ldc + V);
        c20.intoArray(c, co + 2 * ldc);
        c21.intoArray(c, co + 2 * ldc + V);
        c30.intoArray(c, co + 3 * ldc);
        c31.intoArray(c, co + 3 * ldc + V);
        c40.intoArray(c, co + 4 * ldc);
        c41.intoArray(c, co + 4 * ldc + V);
        c50.intoArray(c, co + 5 * ldc);
        c51.intoArray(c, co + 5 * ldc + V);
    }
}
