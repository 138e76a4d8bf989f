package dev.segsam.tensor.fast;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.BackwardOps;
import dev.segsam.tensor.Parallel;
import dev.segsam.tensor.Shapes;
import dev.segsam.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The fast CPU backend's backward ops (the autodiff tape's formulas), the reference being {@link BackwardOps}: straight
 * between off-heap segments (no Java-array copies), spread over the backend's threads, GELU' on float vectors. The
 * ops not here (col2im, bilinear and rel-pos adjoints, attention backward) use the reference or the default
 * composition of the fast forward ops. Checked against the reference by the backend contract (OpCases, backward
 * section) and, through the tape, against finite differences (GradCheckTest).
 */
final class FastBackward {
    private FastBackward() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F = Tensor.LAYOUT;
    private static final int CHUNK = 1 << 14;
    private static final float INV_SQRT_2PI = 0.3989422804014327f;

    private static void same(Tensor a, Tensor b, String op) {
        if (!Arrays.equals(a.shape(), b.shape())) {
            throw new IllegalArgumentException(op + ": shapes " + Shapes.str(a.shape()) + " and " + Shapes.str(b.shape()) + " differ");
        }
    }

    private interface Chunk {
        void run(long from, int len);
    }

    private static void chunks(Parallel par, long n, Chunk body) {
        par.forRange(Math.toIntExact((n + CHUNK - 1) / CHUNK), c -> {
            long from = (long) c * CHUNK;
            body.run(from, (int) Math.min(CHUNK, n - from));
        });
    }

    /**
     * {@code dy·(Φ(x) + x·φ(x))}: Φ(x) = GELU(x)/x from {@link VectorMath#geluVector} (the forward's erfc), and
     * 0.5 + x·φ(0) for |x| &lt; 1e-3 (error O(x³)); φ with {@link VectorMath#exp}. Float32 throughout (≈ 1e-6 relative).
     */
    static Tensor geluBackward(Parallel par, Tensor x, Tensor dy) {
        same(x, dy, "gelu_backward");
        Tensor out = Tensor.empty(x.shape());
        MemorySegment xs = x.data(), gs = dy.data(), os = out.data();
        chunks(par, x.numel(), (from, len) -> {
            long base = from * Float.BYTES;
            int i = 0;
            for (int bound = S.loopBound(len); i < bound; i += S.length()) {
                long o = base + (long) i * Float.BYTES;
                FloatVector v = FloatVector.fromMemorySegment(S, xs, o, NATIVE);
                FloatVector g = FloatVector.fromMemorySegment(S, gs, o, NATIVE);
                g.mul(geluPrime(v)).intoMemorySegment(os, o, NATIVE);
            }
            for (; i < len; i++) {
                long o = base + (long) i * Float.BYTES;
                os.set(F, o, gs.get(F, o) * (float) BackwardOps.geluPrime(xs.get(F, o)));
            }
        });
        return out;
    }

    static FloatVector geluPrime(FloatVector x) {
        var small = x.abs().compare(VectorOperators.LT, 1e-3f);
        FloatVector cdf = VectorMath.geluVector(x).div(x).blend(x.mul(INV_SQRT_2PI).add(0.5f), small);
        FloatVector pdf = VectorMath.exp(x.mul(x).mul(-0.5f)).mul(INV_SQRT_2PI);
        return x.fma(pdf, cdf);
    }

    /** {@code dy·[x > 0]} and {@code dy·y·(1 − y)}, element-wise between segments. */
    static Tensor reluBackward(Parallel par, Tensor x, Tensor dy) {
        same(x, dy, "relu_backward");
        Tensor out = Tensor.empty(x.shape());
        MemorySegment xs = x.data(), gs = dy.data(), os = out.data();
        chunks(par, x.numel(), (from, len) -> {
            for (long o = from * Float.BYTES, e = (from + len) * Float.BYTES; o < e; o += Float.BYTES) {
                os.set(F, o, xs.get(F, o) > 0 ? gs.get(F, o) : 0f);
            }
        });
        return out;
    }

    static Tensor sigmoidBackward(Parallel par, Tensor y, Tensor dy) {
        same(y, dy, "sigmoid_backward");
        Tensor out = Tensor.empty(y.shape());
        MemorySegment ys = y.data(), gs = dy.data(), os = out.data();
        chunks(par, y.numel(), (from, len) -> {
            for (long o = from * Float.BYTES, e = (from + len) * Float.BYTES; o < e; o += Float.BYTES) {
                float v = ys.get(F, o);
                os.set(F, o, gs.get(F, o) * v * (1 - v));
            }
        });
        return out;
    }

    /** Softmax backward, rows over the threads, dot products in double (as the reference). */
    static Tensor softmaxBackward(Parallel par, Tensor y, Tensor dy) {
        same(y, dy, "softmax_backward");
        int n = y.size(-1), rows = Math.toIntExact(y.numel() / Math.max(n, 1));
        Tensor out = Tensor.empty(y.shape());
        MemorySegment ys = y.data(), gs = dy.data(), os = out.data();
        par.forRange(rows, r -> {
            long base = (long) r * n * Float.BYTES;
            double dot = 0;
            for (int i = 0; i < n; i++) dot += (double) gs.get(F, base + 4L * i) * ys.get(F, base + 4L * i);
            for (int i = 0; i < n; i++) {
                long o = base + 4L * i;
                os.set(F, o, (float) (ys.get(F, o) * (gs.get(F, o) - dot)));
            }
        });
        return out;
    }

    /**
     * {@code g} summed to {@code shape}: runs of g's dimensions that are all kept or all summed are merged, so the
     * innermost loop is either a row added into an output row or a contiguous run summed into one output (double
     * accumulators; the result rounded once, as the reference).
     */
    static Tensor sumTo(Parallel par, Tensor g, int... shape) {
        int[] gsh = g.shape();
        if (!Arrays.equals(Shapes.broadcast(shape, gsh), gsh)) {
            throw new IllegalArgumentException("sum_to: " + Shapes.str(shape) + " does not broadcast to " + Shapes.str(gsh));
        }
        int rank = gsh.length;
        // merged dims: sizes and whether kept
        int[] sz = new int[rank];
        boolean[] kept = new boolean[rank];
        int m = 0;
        for (int d = 0; d < rank; d++) {
            int t = d - (rank - shape.length);
            boolean k = t >= 0 && shape[t] == gsh[d];
            if (gsh[d] == 1) continue;
            if (m > 0 && kept[m - 1] == k) {
                sz[m - 1] *= gsh[d];
            } else {
                sz[m] = gsh[d];
                kept[m] = k;
                m++;
            }
        }
        int outN = Math.toIntExact(Shapes.numel(shape));
        double[] acc = new double[outN];
        MemorySegment gs = g.data();
        if (m == 0) {
            acc[0] = gs.get(F, 0);
        } else {
            int last = sz[m - 1];
            boolean lastKept = kept[m - 1];
            long outerN = g.numel() / last;
            // output strides of the merged dims (kept dims only)
            long[] ostride = new long[m];
            long st = 1;
            for (int d = m - 1; d >= 0; d--) {
                ostride[d] = kept[d] ? st : 0;
                if (kept[d]) st *= sz[d];
            }
            int[] idx = new int[Math.max(m - 1, 1)];
            long oOff = 0;
            for (long o = 0; o < outerN; o++) {
                long gOff = o * last * Float.BYTES;
                if (lastKept) {
                    int ob = (int) oOff;
                    for (int i = 0; i < last; i++) acc[ob + i] += gs.get(F, gOff + 4L * i);
                } else {
                    double s = 0;
                    for (int i = 0; i < last; i++) s += gs.get(F, gOff + 4L * i);
                    acc[(int) oOff] += s;
                }
                for (int d = m - 2; d >= 0; d--) {
                    oOff += ostride[d];
                    if (++idx[d] < sz[d]) break;
                    oOff -= ostride[d] * sz[d];
                    idx[d] = 0;
                }
            }
        }
        Tensor out = Tensor.empty(shape);
        MemorySegment os = out.data();
        for (int i = 0; i < outN; i++) os.set(F, 4L * i, (float) acc[i]);
        return out;
    }

    /** Layer-norm backward: rows over the threads (double statistics as the reference), dw/db per thread then summed. */
    static Backend.LayerNormGrads layerNormBackward(Parallel par, Tensor x, Tensor w, Tensor dy, float eps) {
        same(x, dy, "layer_norm_backward");
        int D = x.size(-1), rows = Math.toIntExact(x.numel() / D);
        Tensor dx = Tensor.empty(x.shape());
        MemorySegment xs = x.data(), gs = dy.data(), os = dx.data();
        float[] wv = w == null ? null : w.toArray();
        int blocks = Math.min(rows, 64), per = (rows + blocks - 1) / blocks;
        double[][] dw = new double[blocks][], db = new double[blocks][];
        par.forRange(blocks, bl -> {
            double[] pw = new double[D], pb = new double[D];
            double[] xh = new double[D], gh = new double[D];
            for (int r = bl * per, e = Math.min(rows, r + per); r < e; r++) {
                long base = (long) r * D * Float.BYTES;
                double mean = 0, var = 0;
                for (int i = 0; i < D; i++) mean += xs.get(F, base + 4L * i);
                mean /= D;
                for (int i = 0; i < D; i++) {
                    double d = xs.get(F, base + 4L * i) - mean;
                    var += d * d;
                }
                double rs = 1.0 / Math.sqrt(var / D + eps), mg = 0, mgx = 0;
                for (int i = 0; i < D; i++) {
                    float gi = gs.get(F, base + 4L * i);
                    xh[i] = (float) ((xs.get(F, base + 4L * i) - mean) * rs);
                    gh[i] = gi * (wv == null ? 1.0 : wv[i]);
                    mg += gh[i];
                    mgx += gh[i] * xh[i];
                    pw[i] += gi * xh[i];
                    pb[i] += gi;
                }
                mg /= D;
                mgx /= D;
                for (int i = 0; i < D; i++) os.set(F, base + 4L * i, (float) (rs * (gh[i] - mg - xh[i] * mgx)));
            }
            dw[bl] = pw;
            db[bl] = pb;
        });
        float[] fw = new float[D], fb = new float[D];
        for (int i = 0; i < D; i++) {
            double sw = 0, sb = 0;
            for (int bl = 0; bl < blocks; bl++) {
                sw += dw[bl][i];
                sb += db[bl][i];
            }
            fw[i] = (float) sw;
            fb[i] = (float) sb;
        }
        return new Backend.LayerNormGrads(dx, Tensor.of(fw, D), Tensor.of(fb, D));
    }

    // ------------------------------------------------------------------ element-wise ops the tape's formulas use

    /** Which element-wise op {@link #elementwise} runs; each is one float32 operation, so the bits equal the reference's. */
    enum Op { SUB, MUL, DIV, SCALE }

    /**
     * {@code a − b}, {@code a·b}, {@code a/b} on equal shapes, or {@code a·s} ({@code b} null): one vector op per
     * element between segments, in chunks over the threads. Null when the shapes differ (the caller broadcasts with the
     * reference).
     */
    static Tensor elementwise(Parallel par, Op op, Tensor a, Tensor b, float s) {
        if (b != null && !Arrays.equals(a.shape(), b.shape())) return null;
        Tensor out = Tensor.empty(a.shape());
        MemorySegment as = a.data(), bs = b == null ? null : b.data(), os = out.data();
        chunks(par, a.numel(), (from, len) -> {
            long base = from * Float.BYTES;
            int i = 0;
            for (int bound = S.loopBound(len); i < bound; i += S.length()) {
                long o = base + (long) i * Float.BYTES;
                FloatVector x = FloatVector.fromMemorySegment(S, as, o, NATIVE);
                FloatVector r = switch (op) {
                    case SCALE -> x.mul(s);
                    case SUB -> x.sub(FloatVector.fromMemorySegment(S, bs, o, NATIVE));
                    case MUL -> x.mul(FloatVector.fromMemorySegment(S, bs, o, NATIVE));
                    case DIV -> x.div(FloatVector.fromMemorySegment(S, bs, o, NATIVE));
                };
                r.intoMemorySegment(os, o, NATIVE);
            }
            for (; i < len; i++) {
                long o = base + (long) i * Float.BYTES;
                float x = as.get(F, o);
                os.set(F, o, switch (op) {
                    case SCALE -> x * s;
                    case SUB -> x - bs.get(F, o);
                    case MUL -> x * bs.get(F, o);
                    case DIV -> x / bs.get(F, o);
                });
            }
        });
        return out;
    }

    // ------------------------------------------------------------------ products with a transposed operand

    /**
     * {@code a [..., M, K] · (b [..., N, K])ᵀ} as one strided SGEMM that reads B's rows along K (its {@code bT} form,
     * as {@code linear} reads W), so no transposed copy of B is made. Equal batch dims, or one operand unbatched; null
     * otherwise (the caller uses the default composition).
     */
    static Tensor matmulNT(Parallel par, Tensor a, Tensor b) {
        if (a.rank() < 2 || b.rank() < 2) return null;
        int[] as = a.shape(), bs = b.shape();
        int M = as[as.length - 2], K = as[as.length - 1], N = bs[bs.length - 2];
        if (bs[bs.length - 1] != K) return null;
        int[] batchA = Arrays.copyOf(as, as.length - 2), batchB = Arrays.copyOf(bs, bs.length - 2);
        long na = Shapes.numel(batchA), nb = Shapes.numel(batchB);
        int[] batch;
        if (Arrays.equals(batchA, batchB) || nb == 1 && batchB.length <= batchA.length) batch = batchA;
        else if (na == 1 && batchA.length <= batchB.length) batch = batchB;
        else return null;
        int[] os = Arrays.copyOf(batch, batch.length + 2);
        os[batch.length] = M;
        os[batch.length + 1] = N;
        Tensor c = Tensor.empty(os);
        long n = Shapes.numel(batch);
        Sgemm.gemm(par, Math.toIntExact(n), M, N, K, new Sgemm.Mat(a.data(), 0, K, na == 1 ? 0 : (long) M * K),
                new Sgemm.Mat(b.data(), 0, K, nb == 1 ? 0 : (long) N * K), true, new Sgemm.Mat(c.data(), 0, N, (long) M * N), null);
        return c;
    }
}
