package dev.segsam.tensor.autodiff;

import dev.segsam.tensor.Erf;
import dev.segsam.tensor.Parallel;
import dev.segsam.tensor.Shapes;

/** The backward formulas, as plain loops over float arrays (row-major), one static method per op family. */
final class Grads {
    private final Parallel par;
    private final boolean fast;

    /**
     * The GEMM formulas ({@link #gemm}, {@link #gemmSerial}) of a tape over some backend: loops spread over {@code par}
     * (the backend's threads), and on the fast SGEMM when {@code fast} (every backend but the CPU reference, whose
     * tapes stay plain loops).
     */
    Grads(Parallel par, boolean fast) {
        this.par = par;
        this.fast = fast && dev.segsam.tensor.fast.Sgemm.available();
    }

    /**
     * {@code c[M,N] += op(a)·op(b)}, where op(a) is {@code a [M,K]} or, with {@code ta}, {@code aᵀ} of {@code a [K,M]};
     * likewise for b. Rows of c are computed in parallel.
     */
    void gemm(float[] a, int ao, boolean ta, float[] b, int bo, boolean tb, float[] c, int co, int M, int K, int N) {
        if (fast && (long) M * N * K >= 1 << 15) {
            // the fast SGEMM (B transposed natively; A transposed by a copy), accumulated into c
            float[] aa = a;
            int aoff = ao;
            if (ta) {
                aa = new float[M * K];
                for (int k = 0; k < K; k++) for (int i = 0; i < M; i++) aa[i * K + k] = a[ao + k * M + i];
                aoff = 0;
            }
            float[] tmp = new float[M * N];
            dev.segsam.tensor.fast.Sgemm.gemm(par, 1, M, N, K, new dev.segsam.tensor.fast.Sgemm.Mat(java.lang.foreign.MemorySegment.ofArray(aa), aoff, K, 0),
                    new dev.segsam.tensor.fast.Sgemm.Mat(java.lang.foreign.MemorySegment.ofArray(b), bo, tb ? K : N, 0), tb,
                    dev.segsam.tensor.fast.Sgemm.Mat.of(tmp, N), null);
            for (int i = 0; i < tmp.length; i++) c[co + i] += tmp[i];
            return;
        }
        if (tb) {
            // transpose b [N,K] once so the inner loop streams contiguous rows (the JIT vectorises it)
            float[] bt = new float[K * N];
            for (int j = 0; j < N; j++) for (int k = 0; k < K; k++) bt[k * N + j] = b[bo + j * K + k];
            gemm(a, ao, ta, bt, 0, false, c, co, M, K, N);
            return;
        }
        if (ta) {
            float[] at = new float[M * K];
            for (int k = 0; k < K; k++) for (int i = 0; i < M; i++) at[i * K + k] = a[ao + k * M + i];
            gemm(at, 0, false, b, bo, false, c, co, M, K, N);
            return;
        }
        par.forRange(M, i -> {
            int ci = co + i * N;
            for (int k = 0; k < K; k++) {
                float aik = ta ? a[ao + k * M + i] : a[ao + i * K + k];
                if (aik == 0f) continue;
                if (tb) {
                    for (int j = 0; j < N; j++) c[ci + j] += aik * b[bo + j * K + k];
                } else {
                    int bk = bo + k * N;
                    for (int j = 0; j < N; j++) c[ci + j] += aik * b[bk + j];
                }
            }
        });
    }

    /** {@code c[M,N] = a[M,K]·op(b)} on the calling thread only (for use inside parallel jobs); overwrites c. */
    void gemmSerial(float[] a, int ao, float[] b, int bo, boolean tb, float[] c, int co, int M, int K, int N) {
        if (fast) {
            dev.segsam.tensor.fast.Sgemm.gemmSerial(M, N, K, a, ao, b, bo, tb, c, co);
            return;
        }
        java.util.Arrays.fill(c, co, co + M * N, 0f);
        for (int i = 0; i < M; i++) {
            int ci = co + i * N;
            for (int k = 0; k < K; k++) {
                float aik = a[ao + i * K + k];
                if (tb) {
                    for (int j = 0; j < N; j++) c[ci + j] += aik * b[bo + j * K + k];
                } else {
                    int bk = bo + k * N;
                    for (int j = 0; j < N; j++) c[ci + j] += aik * b[bk + j];
                }
            }
        }
    }

    /** Sums {@code g} (of the broadcast shape {@code out}) down to {@code in}'s shape. */
    static float[] reduceTo(float[] g, int[] out, int[] in) {
        if (java.util.Arrays.equals(out, in)) return g;
        long[] s = Shapes.broadcastStrides(in, out);
        float[] r = new float[Math.toIntExact(Shapes.numel(in))];
        int rank = out.length;
        int[] idx = new int[rank];
        for (int i = 0; i < g.length; i++) {
            long off = 0;
            for (int d = 0; d < rank; d++) off += idx[d] * s[d];
            r[(int) off] += g[i];
            for (int d = rank - 1; d >= 0; d--) {
                if (++idx[d] < out[d]) break;
                idx[d] = 0;
            }
        }
        return r;
    }

    /** d/dx of the exact GELU: {@code Φ(x) + x·φ(x)}. */
    static double geluPrime(double x) {
        double cdf = 0.5 * Erf.erfcFast(-x / Math.sqrt(2));
        double pdf = Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
        return cdf + x * pdf;
    }

    /**
     * Layer-norm backward for {@code n} values {@code x[start + i·stride]} of one normalisation group:
     * {@code x̂ = (x − μ)·r}, {@code y = x̂·w + b};
     * {@code dx = r·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂))} with {@code dx̂ = dy·w}; accumulates dw, db.
     */
    static void layerNormGroup(float[] x, float[] gy, float[] gx, float[] w, float[] gw, float[] gb, int start, int stride, int n, float eps) {
        double mean = 0;
        for (int i = 0; i < n; i++) mean += x[start + i * stride];
        mean /= n;
        double var = 0;
        for (int i = 0; i < n; i++) {
            double d = x[start + i * stride] - mean;
            var += d * d;
        }
        var /= n;
        double r = 1.0 / Math.sqrt(var + eps);
        double mg = 0, mgx = 0;
        double[] xh = new double[n], gh = new double[n];
        for (int i = 0; i < n; i++) {
            int p = start + i * stride;
            xh[i] = (x[p] - mean) * r;
            gh[i] = gy[p] * (w == null ? 1.0 : w[i]);
            mg += gh[i];
            mgx += gh[i] * xh[i];
            if (gw != null) gw[i] += (float) (gy[p] * xh[i]);
            if (gb != null) gb[i] += gy[p];
        }
        mg /= n;
        mgx /= n;
        for (int i = 0; i < n; i++) gx[start + i * stride] = (float) (r * (gh[i] - mg - xh[i] * mgx));
    }
}
