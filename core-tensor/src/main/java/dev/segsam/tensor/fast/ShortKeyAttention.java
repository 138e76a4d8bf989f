package dev.segsam.tensor.fast;

import dev.segsam.tensor.Parallel;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Multi-head attention with few keys ({@link #supports}) for the fast CPU backend: SAM's
 * image→token attention, where each of the 4 096 image tokens attends to the 7 or so prompt tokens, per head
 * {@code softmax((q·scale)·kᵀ)·v} with q, k, v and the output head-interleaved ({@code [B, n, heads·d]}) and read in
 * place. {@link FlashAttention} is built for long key sequences (packed panels, key chunks of 512, 96-row query
 * blocks): with 7 keys its blocking costs ~25× the arithmetic (3.6 ms of CPU for 15 MFLOP at ViT-B's shapes).
 *
 * <p>Here the lanes are query rows: per head and vector of L rows,
 * <pre>
 *   s_j   = scale · Σ_c q[:, c]·k[j, c]         q's head columns transposed to vectors, k[j, c] broadcast
 *   p_j   = e^(s_j − max_j s_j) / Σ_j …          nk vector exponentials ({@link VectorMath#exp(FloatVector)})
 *   o[:, c] = Σ_j p_j·v[j, c]                   transposed back into the output rows
 * </pre>
 * so no horizontal reductions and nk independent FMA chains. Results agree with the reference to float rounding
 * (the sums run in another order). Fewer rows than one vector has lanes — the decoder's token self-attention, 7 × 7,
 * which is all this kernel serves on the default decode path since the cross attentions are absorbed — run the same
 * operations in scalar Java ({@link #fewRows}), to the same bits.
 *
 * <p>Measured (DecodeOpsLab, thread CPU time, one thread, ViT-B's image→token shape q 4096 × k 7, 8 heads of 16;
 * load ~13 on 2 cores): FlashAttention 3.5–3.8 ms; one row at a time with the keys in the lanes (horizontal max/sum
 * per row, a serial chain) 3.5 ms; rows in the lanes with the scores in an array of vectors (boxed) 4.9 ms; <b>rows in
 * the lanes, scores in a float[], scalar transposes read from the tensor: 1.9–2.1 ms (this version)</b>; gathers and
 * scatters through an index map instead 3.3 ms; all heads per job with the rows copied out in bulk 3.5 ms. The mirror
 * case, the token→image attention (7 queries × 4 096 keys, FlashAttention 1.3–1.4 ms), was tried as a few-query kernel
 * (keys in the lanes, two passes, scores of all queries in one array): 1.4 ms with per-head scalar transposes from
 * the tensor, 1.6 ms with rows copied out per vector of keys — no gain, not kept.
 */
final class ShortKeyAttention {
    private ShortKeyAttention() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.nativeOrder());
    /** Query rows per job. */
    private static final int ROWS = 256;

    /** Whether {@link #run} is the better kernel for {@code nk} keys (a few: the scores of a row stay in registers). */
    static boolean supports(int nk) {
        return nk >= 1 && nk <= 16;
    }

    /**
     * {@code q [B, nq, heads·d]}, {@code k [B, nk, heads·d]}, {@code v [B, nk, heads·dv]} → {@code out [B, nq, heads·dv]}
     * (all contiguous, float offsets from 0).
     */
    static void run(Parallel par, MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment out,
                    int B, int nq, int nk, int heads, int d, int dv, float scale) {
        if (nq < S.length()) {
            fewRows(q, k, v, out, B, nq, nk, heads, d, dv, scale);
            return;
        }
        vectors(par, q, k, v, out, B, nq, nk, heads, d, dv, scale);
    }

    /** {@link #run} with the rows in the lanes, whatever {@code nq} (package-private: the tests compare it with {@link #fewRows}). */
    static void vectors(Parallel par, MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment out,
                        int B, int nq, int nk, int heads, int d, int dv, float scale) {
        int blocks = (nq + ROWS - 1) / ROWS;
        par.forRange(B * heads * blocks, job -> {
            int blk = job % blocks, bh = job / blocks;
            block(q, k, v, out, bh / heads, bh % heads, blk * ROWS, Math.min(nq, blk * ROWS + ROWS), nq, nk, heads, d, dv, scale);
        });
    }

    /** Query rows {@code [i0, i1)} of batch {@code b}, head {@code h}, one vector of rows at a time. */
    private static void block(MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment out, int b, int h, int i0, int i1,
                              int nq, int nk, int heads, int d, int dv, float scale) {
        int L = S.length(), C = heads * d, Cv = heads * dv;
        // this head's keys and values as scalars: kh[j·d + c], vh[j·dv + c]; q and the output transposed per vector of
        // rows: qT[c·L + r] (row i + r), oT[c·L + r]
        float[] kh = new float[nk * d], vh = new float[nk * dv], qT = new float[d * L], oT = new float[dv * L];
        for (int j = 0; j < nk; j++) {
            MemorySegment.copy(k, F, (((long) b * nk + j) * C + (long) h * d) * Float.BYTES, kh, j * d, d);
            MemorySegment.copy(v, F, (((long) b * nk + j) * Cv + (long) h * dv) * Float.BYTES, vh, j * dv, dv);
        }
        float[] sc = new float[nk * L]; // scores, then probabilities, of key j for the L rows (arrays: vectors in an array would be boxed)
        for (int i = i0; i < i1; i += L) {
            int rows = Math.min(L, i1 - i);
            for (int r = 0; r < rows; r++) {
                long qOff = ((long) b * nq + i + r) * C + (long) h * d;
                for (int c = 0; c < d; c++) qT[c * L + r] = q.getAtIndex(F, qOff + c) * scale;
            }
            FloatVector m = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
            for (int j = 0; j < nk; j++) {
                FloatVector s = FloatVector.zero(S);
                for (int c = 0; c < d; c++) s = FloatVector.fromArray(S, qT, c * L).fma(FloatVector.broadcast(S, kh[j * d + c]), s);
                s.intoArray(sc, j * L);
                m = m.max(s);
            }
            FloatVector l = FloatVector.zero(S);
            for (int j = 0; j < nk; j++) {
                FloatVector e = VectorMath.exp(FloatVector.fromArray(S, sc, j * L).sub(m));
                e.intoArray(sc, j * L);
                l = l.add(e);
            }
            FloatVector inv = FloatVector.broadcast(S, 1f).div(l);
            for (int j = 0; j < nk; j++) FloatVector.fromArray(S, sc, j * L).mul(inv).intoArray(sc, j * L);
            for (int c = 0; c < dv; c++) {
                FloatVector o = FloatVector.zero(S);
                for (int j = 0; j < nk; j++) o = FloatVector.fromArray(S, sc, j * L).fma(FloatVector.broadcast(S, vh[j * dv + c]), o);
                o.intoArray(oT, c * L);
            }
            for (int r = 0; r < rows; r++) {
                long oOff = ((long) b * nq + i + r) * Cv + (long) h * dv;
                for (int c = 0; c < dv; c++) out.setAtIndex(F, oOff + c, oT[c * L + r]);
            }
        }
    }

    /**
     * Fewer query rows than one vector has lanes (SAM's token self-attention: 7 × 7 per head): the same operations as
     * {@link #block} in scalar Java, one row at a time, on the calling thread — bit for bit the vector kernel's result
     * ({@code Math.fma} is a lane's FMA, {@link VectorMath#exp(float)} a lane's exponential, the sums in the same order).
     * The work is a few thousand FMAs per call: a vector kernel would fill 7 of its lanes, and helper threads would cost
     * more to wake than the arithmetic. It is here for a fresh process: this op runs only twice per decode, so the Vector
     * API kernel stays in the interpreter or C1 (every vector operation allocating) for dozens of decodes before C2
     * compiles it, where scalar code is cheap in every tier (docs/PERF.md, "session 7").
     */
    static void fewRows(MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment out,
                        int B, int nq, int nk, int heads, int d, int dv, float scale) {
        int C = heads * d, Cv = heads * dv;
        float[] qs = new float[d], sc = new float[nk], o = new float[dv];
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < nq; i++) {
                    long qOff = ((long) b * nq + i) * C + (long) h * d;
                    for (int c = 0; c < d; c++) qs[c] = q.getAtIndex(F, qOff + c) * scale;
                    float m = Float.NEGATIVE_INFINITY;
                    for (int j = 0; j < nk; j++) {
                        long kOff = ((long) b * nk + j) * C + (long) h * d;
                        float s = 0f;
                        for (int c = 0; c < d; c++) s = Math.fma(qs[c], k.getAtIndex(F, kOff + c), s);
                        sc[j] = s;
                        m = Math.max(m, s);
                    }
                    float l = 0f;
                    for (int j = 0; j < nk; j++) {
                        float e = VectorMath.exp(sc[j] - m);
                        sc[j] = e;
                        l += e;
                    }
                    float inv = 1f / l;
                    for (int j = 0; j < nk; j++) sc[j] *= inv;
                    Arrays.fill(o, 0f);
                    for (int j = 0; j < nk; j++) {
                        long vOff = ((long) b * nk + j) * Cv + (long) h * dv;
                        float p = sc[j];
                        for (int c = 0; c < dv; c++) o[c] = Math.fma(p, v.getAtIndex(F, vOff + c), o[c]);
                    }
                    long oOff = ((long) b * nq + i) * Cv + (long) h * dv;
                    for (int c = 0; c < dv; c++) out.setAtIndex(F, oOff + c, o[c]);
                }
            }
        }
    }
}
