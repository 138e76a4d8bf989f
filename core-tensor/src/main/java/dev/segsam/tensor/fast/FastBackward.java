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
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
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
     * {@code dy·(Φ(x) + x·φ(x))}: Φ(x) = GELU(x)/x with the forward's erfc ({@link VectorMath#geluVector}), and
     * 0.5 + x·φ(0) for |x| &lt; 1e-3 (error O(x³)); φ with {@link VectorMath#exp}. Float32 throughout (≈ 1e-6 relative).
     * The loop spells both out instead of calling them (VectorMath's HAND-INLINED note: a vector crossing a call that
     * C2 does not inline is boxed, and the boxed exp ran the Vector API's Java fallback): called, they took 7.5 ns and
     * 24 bytes of garbage per element, written out 2.5 ns and none (4 M elements, one thread, timing the op with its
     * output's allocation and a copy back; shared machine, load 5–10).
     */
    static Tensor geluBackward(Parallel par, Tensor x, Tensor dy) {
        same(x, dy, "gelu_backward");
        Tensor out = Tensor.empty(x.shape());
        MemorySegment xs = x.data(), gs = dy.data(), os = out.data();
        chunks(par, x.numel(), (from, len) -> geluBackwardChunk(xs, gs, os, from * Float.BYTES, len));
        return out;
    }

    private static void geluBackwardChunk(MemorySegment xs, MemorySegment gs, MemorySegment os, long base, int len) {
        int i = 0;
        for (int bound = S.loopBound(len); i < bound; i += S.length()) {
            long o = base + (long) i * Float.BYTES;
            FloatVector x = FloatVector.fromMemorySegment(S, xs, o, NATIVE);
            FloatVector g = FloatVector.fromMemorySegment(S, gs, o, NATIVE);
            // Φ(x) = erfc(−x/√2)/2: VectorMath.geluVector without the factor x
            FloatVector z = x.mul(-0.70710678118654752f);
            FloatVector az = z.abs();
            FloatVector t = FloatVector.broadcast(S, 1f).div(az.mul(0.5f).add(1f));
            FloatVector poly = FloatVector.broadcast(S, VectorMath.P[9]);
            for (int k = 8; k >= 0; k--) poly = poly.fma(t, FloatVector.broadcast(S, VectorMath.P[k]));
            FloatVector ae = az.mul(az).neg().add(poly);
            FloatVector ea;
            { // ea = VectorMath.exp(ae), written out
                FloatVector xc = ae.max(VectorMath.EXP_LO).min(VectorMath.EXP_HI);
                FloatVector n = xc.mul(VectorMath.LOG2E).add(VectorMath.ROUND).sub(VectorMath.ROUND);
                FloatVector r = n.fma(FloatVector.broadcast(S, -VectorMath.LN2_HI), xc);
                r = n.fma(FloatVector.broadcast(S, -VectorMath.LN2_LO), r);
                FloatVector c = r.fma(VectorMath.E5, VectorMath.E4);
                c = c.fma(r, FloatVector.broadcast(S, VectorMath.E3));
                c = c.fma(r, FloatVector.broadcast(S, VectorMath.E2));
                c = c.fma(r, FloatVector.broadcast(S, VectorMath.E1));
                c = c.fma(r, FloatVector.broadcast(S, VectorMath.E0));
                FloatVector e = c.fma(r.mul(r), r).add(1f);
                IntVector ni = (IntVector) n.convert(VectorOperators.F2I, 0);
                IntVector half = ni.lanewise(VectorOperators.ASHR, 1);
                ea = e.mul(ni.sub(half).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats())
                        .mul(half.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats());
            }
            FloatVector erfcAbs = t.mul(ea);
            FloatVector erfc = erfcAbs.blend(FloatVector.broadcast(S, 2f).sub(erfcAbs), z.compare(VectorOperators.LT, 0f));
            var small = x.abs().compare(VectorOperators.LT, 1e-3f);
            FloatVector cdf = erfc.mul(0.5f).blend(x.mul(INV_SQRT_2PI).add(0.5f), small);
            FloatVector px = x.mul(x).mul(-0.5f);
            FloatVector ex;
            { // ex = VectorMath.exp(px), written out
                FloatVector xc = px.max(VectorMath.EXP_LO).min(VectorMath.EXP_HI);
                FloatVector n = xc.mul(VectorMath.LOG2E).add(VectorMath.ROUND).sub(VectorMath.ROUND);
                FloatVector r = n.fma(FloatVector.broadcast(S, -VectorMath.LN2_HI), xc);
                r = n.fma(FloatVector.broadcast(S, -VectorMath.LN2_LO), r);
                FloatVector c = r.fma(VectorMath.E5, VectorMath.E4);
                c = c.fma(r, FloatVector.broadcast(S, VectorMath.E3));
                c = c.fma(r, FloatVector.broadcast(S, VectorMath.E2));
                c = c.fma(r, FloatVector.broadcast(S, VectorMath.E1));
                c = c.fma(r, FloatVector.broadcast(S, VectorMath.E0));
                FloatVector e = c.fma(r.mul(r), r).add(1f);
                IntVector ni = (IntVector) n.convert(VectorOperators.F2I, 0);
                IntVector half = ni.lanewise(VectorOperators.ASHR, 1);
                ex = e.mul(ni.sub(half).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats())
                        .mul(half.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats());
            }
            FloatVector pdf = ex.mul(INV_SQRT_2PI);
            g.mul(x.fma(pdf, cdf)).intoMemorySegment(os, o, NATIVE);
        }
        for (; i < len; i++) {
            long o = base + (long) i * Float.BYTES;
            os.set(F, o, gs.get(F, o) * (float) BackwardOps.geluPrime(xs.get(F, o)));
        }
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

    // ------------------------------------------------------------------ attention backward, fused per batch item

    /**
     * {@link Backend#attentionBackward} (the default composition is the spec) per batch item in per-thread scratch,
     * with no tensor between the steps: {@code P = softmax((q·scale)·kᵀ)} recomputed ({@link VectorMath#softmaxRow},
     * float32 exponentials), {@code dV = Pᵀ·dO}, {@code dP = dO·Vᵀ}, {@code dS = P ⊙ (dP − rowsum(P ⊙ dP))·scale},
     * {@code dq = dS·k}, {@code dk = dSᵀ·q}; products by {@link Sgemm} ({@code ·kᵀ}, {@code ·Vᵀ} read as rows; the two
     * {@code ᵀ·} products from a transposed scratch copy). Items in parallel when there are enough, else the GEMMs
     * use the threads. Null for shapes it does not take (the caller uses the default). Agrees with the default to
     * float32 rounding (the scale is applied to dS, not after the products).
     */
    static Backend.AttentionGrads attentionBackward(Parallel par, Tensor q, Tensor k, Tensor v, float scale, Tensor dOut) {
        if (q.rank() != 3 || k.rank() != 3 || v.rank() != 3 || dOut.rank() != 3) return null;
        int B = q.size(0), Nq = q.size(1), d = q.size(2), Nk = k.size(1), dv = v.size(2);
        if (k.size(0) != B || v.size(0) != B || dOut.size(0) != B || k.size(2) != d || v.size(1) != Nk
                || dOut.size(1) != Nq || dOut.size(2) != dv || Nq == 0 || Nk == 0 || (long) Nq * Nk > Integer.MAX_VALUE / 2) return null;
        Tensor dq = Tensor.empty(B, Nq, d), dk = Tensor.empty(B, Nk, d), dV = Tensor.empty(B, Nk, dv);
        boolean itemsParallel = par.threads() > 1 && B >= par.threads();
        Parallel inner = itemsParallel ? Parallel.SEQUENTIAL : par;
        java.util.function.IntConsumer item = i -> attentionBackwardItem(inner, i, Nq, Nk, d, dv, scale, q, k, v, dOut, dq, dk, dV);
        if (itemsParallel) par.forRange(B, item);
        else for (int i = 0; i < B; i++) item.accept(i);
        return new Backend.AttentionGrads(dq, dk, dV);
    }

    private static void attentionBackwardItem(Parallel par, int i, int Nq, int Nk, int d, int dv, float scale, Tensor q,
                                              Tensor k, Tensor v, Tensor dOut, Tensor dq, Tensor dk, Tensor dV) {
        int nn = Nq * Nk;
        float[] qs = Buffers.get(0, Nq * d), p = Buffers.get(1, nn), dp = Buffers.get(2, nn), t = Buffers.get(3, nn);
        MemorySegment qsS = MemorySegment.ofArray(qs), pS = MemorySegment.ofArray(p), dpS = MemorySegment.ofArray(dp),
                tS = MemorySegment.ofArray(t);
        long qo = (long) i * Nq * d, ko = (long) i * Nk * d, vo = (long) i * Nk * dv, oo = (long) i * Nq * dv;
        MemorySegment.copy(q.data(), F, qo * Float.BYTES, qs, 0, Nq * d);
        VectorMath.scale(qs, 0, Nq * d, scale);
        // P = softmax(qs·kᵀ)
        Sgemm.gemm(par, 1, Nq, Nk, d, Sgemm.Mat.of(qsS, d), new Sgemm.Mat(k.data(), ko, d, 0), true, Sgemm.Mat.of(pS, Nk), null);
        for (int r = 0; r < Nq; r++) VectorMath.softmaxRow(p, r * Nk, Nk);
        // dV = Pᵀ·dO
        transpose(p, Nq, Nk, t);
        Sgemm.gemm(par, 1, Nk, dv, Nq, Sgemm.Mat.of(tS, Nq), new Sgemm.Mat(dOut.data(), oo, dv, 0), false,
                new Sgemm.Mat(dV.data(), vo, dv, 0), null);
        // dP = dO·Vᵀ, then dS·scale in place
        Sgemm.gemm(par, 1, Nq, Nk, dv, new Sgemm.Mat(dOut.data(), oo, dv, 0), new Sgemm.Mat(v.data(), vo, dv, 0), true,
                Sgemm.Mat.of(dpS, Nk), null);
        for (int r = 0; r < Nq; r++) softmaxBackwardRow(p, dp, r * Nk, Nk, scale);
        // dq = dS·k, dk = dSᵀ·q
        Sgemm.gemm(par, 1, Nq, d, Nk, Sgemm.Mat.of(dpS, Nk), new Sgemm.Mat(k.data(), ko, d, 0), false,
                new Sgemm.Mat(dq.data(), qo, d, 0), null);
        transpose(dp, Nq, Nk, t);
        Sgemm.gemm(par, 1, Nk, d, Nq, Sgemm.Mat.of(tS, Nq), new Sgemm.Mat(q.data(), qo, d, 0), false,
                new Sgemm.Mat(dk.data(), ko, d, 0), null);
    }

    /** {@code out[c·rows + r] = a[r·cols + c]}. */
    private static void transpose(float[] a, int rows, int cols, float[] out) {
        for (int r0 = 0; r0 < rows; r0 += 32) {
            for (int c0 = 0; c0 < cols; c0 += 32) {
                for (int r = r0, re = Math.min(rows, r0 + 32); r < re; r++) {
                    for (int c = c0, ce = Math.min(cols, c0 + 32); c < ce; c++) out[c * rows + r] = a[r * cols + c];
                }
            }
        }
    }

    /** {@code g[j] = y[j]·(g[j] − Σ y·g)·s} over one row, in place in g. */
    private static void softmaxBackwardRow(float[] y, float[] g, int off, int n, float s) {
        int i = 0, len = S.length();
        FloatVector acc = FloatVector.zero(S);
        for (int bound = S.loopBound(n); i < bound; i += len) {
            acc = FloatVector.fromArray(S, y, off + i).fma(FloatVector.fromArray(S, g, off + i), acc);
        }
        // VectorMath.sumLanes(acc), inline (a vector passed to a call the JIT does not inline is boxed); not
        // reduceLanes(ADD), whose lane order changes once the JIT compiles it
        for (VectorShuffle<Float> rot : VectorMath.ROTATIONS) acc = acc.add(acc.rearrange(rot));
        float dot = acc.lane(0);
        for (; i < n; i++) dot += y[off + i] * g[off + i];
        i = 0;
        for (int bound = S.loopBound(n); i < bound; i += len) {
            FloatVector gy = FloatVector.fromArray(S, g, off + i).sub(dot).mul(FloatVector.fromArray(S, y, off + i));
            gy.mul(s).intoArray(g, off + i);
        }
        for (; i < n; i++) g[off + i] = y[off + i] * (g[off + i] - dot) * s;
    }
}
