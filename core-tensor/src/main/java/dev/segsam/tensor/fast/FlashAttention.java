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
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Fused flash-style attention for the fast CPU backend: {@code softmax((q·scale)·kᵀ [+ rel-pos bias])·v} per head,
 * with the rows of q, k, v and the output addressed in place (so heads are read straight out of a qkv projection and
 * written straight into the merged {@code [tokens, heads·dv]} layout: no split/merge permutes) and without any
 * {@code Nq × Nk} buffer.
 *
 * <p><b>What it fuses and why.</b> The unfused path (reference) materialises per-head copies of q, k, v (permute +
 * slices), a score tile, a softmax pass and the merge permute; for SAM ViT-B's global blocks the copies alone were
 * ~0.9 s of a 10 s encode, and softmax passes over [256, 4096] score tiles (4 MB, out of L2) another ~1.5 s. Here,
 * per head (one job per head and part of its queries; jobs go to the threads one at a time):
 * <pre>
 *   pack kᵀ (d × Nk, in NR-wide k-major panels) and v (Nk × dv, NR-wide panels) once per job
 *   for each block of R = 96 queries:
 *     a = q·scale (rows KC apart: the A layout of VectorSgemm's 6×2V kernel); rel-pos rows bh = q·Rh[y], bw = q·Rw[x]
 *     m = −∞, l = 0, o = 0
 *     for each chunk of KB = 512 keys:                          (scores: R × KB floats = 192 KiB, L2-resident)
 *       s = a·kᵀ_chunk                                          (kernel, packed panels)
 *       s = (s + bh[ky]) + bw[kx], row max  ->  m' = max(m, max s); α = e^(m − m'); s = e^(s − m'); l = α·l + Σ s
 *       o = α·o + s·v_chunk                                     (kernel, packed panels)
 *   out rows = o / l
 * </pre>
 * The online softmax (Milakov &amp; Gimelshein 2018; FlashAttention) keeps only running max and sum per row. Numerics:
 * float32 exponentials and sums, q scaled before the product and the rel-pos terms from the unscaled q, in PyTorch's
 * order {@code (s + rel_h) + rel_w}, as the reference does; results agree with it to float rounding.
 *
 * <p><b>Padding keys.</b> A key row whose offset is negative reads {@code kPad} / {@code vPad} instead: SAM's windowed
 * attention zero-pads the normalised tokens before the qkv projection, so a padded key is exactly the projection's
 * bias. Queries on padded cells are simply not listed (their outputs are cropped away).
 */
final class FlashAttention {
    private FlashAttention() {}

    static final int MR = VectorSgemm.MR, NR = VectorSgemm.NR, KC = VectorSgemm.KC;
    /** Query rows per block: 16 register-tile panels. */
    static final int R = 16 * MR;
    /** Keys per chunk; a chunk's score row is the A operand of the P·V kernel, so it must fit the A stride KC. */
    static final int KB = Math.min(512, (KC - NR) / NR * NR);


    /** Whether {@link #run} handles head dimension {@code d} with this build's blocking. */
    static boolean supports(int d) {
        return KB >= NR && d > 0 && d <= KC;
    }

    /** Key row offsets below zero: {@link #PAD} reads kPad/vPad; {@link #GRID_PAD} is a key that does not exist. */
    static final long PAD = -1, GRID_PAD = -2;

    /**
     * One head's rows, as float offsets: query {@code i} at {@code qRow[i]} of {@code q} (d floats), in grid cell
     * {@code qCell[i] = y·qw + x} (rel-pos only), its output at {@code oRow[i]} of {@code out} (dv floats); key
     * {@code j} at {@code kRow[j]} of {@code k} and {@code vRow[j]} of {@code v}, or {@code kPad}/{@code vPad} where
     * {@code kRow[j] == PAD}.
     *
     * <p>With rel-pos the keys are listed in the <em>padded</em> key grid, key {@code j} in cell
     * {@code (ky, kx) = (j / kwp, j % kwp)} with {@code kwp} = kw rounded up to whole vectors, and the cells
     * {@code kx ≥ kw} are {@link #GRID_PAD}: zero rows whose scores the bias sets to −∞. A 14-wide window row then
     * takes one full vector in the bias pass instead of 14 scalar steps; the score GEMM computed those columns anyway
     * (its panels are 2V wide).
     */
    static final class Head {
        MemorySegment q, k, v, out;
        long[] qRow = new long[0], kRow = new long[0], vRow = new long[0], oRow = new long[0];
        int[] qCell = new int[0];
        int nq, nk;
        float[] kPad, vPad;

        /** Makes room for {@code nq} queries and {@code nk} keys (arrays grow only). */
        Head size(int nq, int nk) {
            this.nq = nq;
            this.nk = nk;
            if (qRow.length < nq) {
                qRow = new long[nq];
                oRow = new long[nq];
                qCell = new int[nq];
            }
            if (kRow.length < nk) {
                kRow = new long[nk];
                vRow = new long[nk];
            }
            return this;
        }
    }

    /** Fills {@code h} with head number {@code index}'s rows. */
    interface HeadSource {
        void fill(int index, Head h);
    }

    /**
     * Rel-pos tables, transposed for contiguous inner loops and padded to whole vectors: {@code rhT[y][c][ky]}
     * ({@code [qh, d, khp]}), {@code rwT[x][c][kx]} ({@code [qw, d, kwp]}), zeros beyond kh / kw; query cell
     * {@code y·qw + x}.
     */
    record RelTables(float[] rhT, float[] rwT, int qw, int kh, int kw, int khp, int kwp) {
        /** From the looked-up tables {@code relH [qh, kh, d]} and {@code relW [qw, kw, d]} (row-major values). */
        static RelTables of(float[] relH, float[] relW, int qh, int qw, int kh, int kw, int d) {
            int khp = roundUp(kh, VectorMath.lanes()), kwp = roundUp(kw, VectorMath.lanes());
            return new RelTables(transpose(relH, qh, kh, d, khp), transpose(relW, qw, kw, d, kwp), qw, kh, kw, khp, kwp);
        }

        /** {@code [n, k, d] → [n, d, kp]}, zero-padded from k to kp. */
        private static float[] transpose(float[] t, int n, int k, int d, int kp) {
            float[] o = new float[n * d * kp];
            for (int a = 0; a < n; a++) for (int j = 0; j < k; j++) for (int c = 0; c < d; c++) o[(a * d + c) * kp + j] = t[(a * k + j) * d + c];
            return o;
        }
    }

    private static int roundUp(int a, int b) {
        return (a + b - 1) / b * b;
    }

    /**
     * Runs {@code heads} heads of {@code nq} queries each (from {@code src}), {@code d}/{@code dv} wide, over the
     * threads of {@code par}. Each head's queries are cut into parts when there are too few heads to keep the threads busy.
     */
    static void run(Parallel par, int heads, int nq, int d, int dv, float scale, RelTables rel, HeadSource src) {
        int blocks = Math.max(1, (nq + R - 1) / R);
        int parts = Math.min(blocks, Math.max(1, (4 * par.threads() + heads - 1) / heads));
        int jobs = heads * parts;
        AtomicInteger next = new AtomicInteger();
        par.forRange(Math.min(jobs, par.threads()), t -> {
            Scratch w = SCRATCH.get();
            for (int job; (job = next.getAndIncrement()) < jobs; ) {
                int head = job / parts, part = job % parts;
                src.fill(head, w.head);
                int b0 = blocks * part / parts, b1 = blocks * (part + 1) / parts;
                attend(w.head, Math.min(w.head.nq, b0 * R), Math.min(w.head.nq, b1 * R), d, dv, scale, rel, w);
            }
        });
    }

    /** Per-thread buffers, grown on demand and never shrunk (no allocation in the loops). */
    private static final class Scratch {
        final Head head = new Head();
        final float[] a = new float[R * KC], s = new float[R * KC], m = new float[R], l = new float[R];
        float[] zeros = new float[0], kp = new float[0], vp = new float[0], qu = new float[0], bh = new float[0], bw = new float[0], o = new float[0];

        static float[] grow(float[] b, int n) {
            return b.length >= n ? b : new float[n];
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** Queries {@code [i0, i1)} of head {@code h}. */
    private static void attend(Head h, int i0, int i1, int d, int dv, float scale, RelTables rel, Scratch w) {
        if (i0 >= i1) return;
        if (rel == null && h.nk > 0 && h.nk <= L) {
            attendFewKeys(h, i0, i1, d, dv, scale, w);
            return;
        }
        int nk = h.nk, kPanels = (nk + NR - 1) / NR, vPanels = (dv + NR - 1) / NR, dvPad = vPanels * NR;
        if (w.zeros.length < Math.max(d, dv)) w.zeros = new float[Math.max(d, dv)];
        w.kp = Scratch.grow(w.kp, kPanels * d * NR);
        w.vp = Scratch.grow(w.vp, vPanels * nk * NR);
        w.qu = Scratch.grow(w.qu, R * d);
        w.o = Scratch.grow(w.o, R * dvPad); // whole MR-row tiles are written: R is a multiple of MR
        if (rel != null) {
            w.bh = Scratch.grow(w.bh, R * rel.khp());
            w.bw = Scratch.grow(w.bw, R * rel.kwp());
        }
        packKeys(h, d, dv, w);
        for (int rb = i0; rb < i1; rb += R) block(h, rb, Math.min(R, i1 - rb), d, dv, dvPad, scale, rel, w);
    }

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    /**
     * At most one vector of keys (SAM's mask decoder: 4096 image tokens attending to 7 prompt tokens), no rel-pos: the
     * keys sit in the lanes of one score vector, so a query costs d broadcast FMAs, one vector softmax and nk
     * broadcast FMAs per dv vector, instead of the register-tile path's 6×2V tiles (4.5× wider than 7 keys), per-row
     * −∞ padding, scaling and copies. Every value is the same float expression in the same order as in {@link #block}
     * with its single key chunk (scores as an FMA chain over c from 0, padding lanes −∞, {@link VectorMath#max},
     * {@link VectorMath#expShifted}, P·V as an FMA chain over keys from 0, times 1/l), so the results are bit-identical.
     */
    private static void attendFewKeys(Head h, int i0, int i1, int d, int dv, float scale, Scratch w) {
        int nk = h.nk;
        if (w.zeros.length < Math.max(d, dv)) w.zeros = new float[Math.max(d, dv)];
        w.kp = Scratch.grow(w.kp, d * L);
        w.vp = Scratch.grow(w.vp, nk * dv);
        w.qu = Scratch.grow(w.qu, Math.max(d, dv));
        float[] kT = w.kp, vv = w.vp, qu = w.qu;
        MemorySegment kPad = MemorySegment.ofArray(h.kPad == null ? w.zeros : h.kPad), vPad = MemorySegment.ofArray(h.vPad == null ? w.zeros : h.vPad);
        MemorySegment zeros = MemorySegment.ofArray(w.zeros);
        Arrays.fill(kT, 0, d * L, 0f);
        for (int j = 0; j < nk; j++) { // kT[c][j] = k[j][c], vv[j] = v row j
            long kr = h.kRow[j], vr = h.vRow[j];
            MemorySegment ks = kr >= 0 ? h.k : kr == PAD ? kPad : zeros, vs = vr >= 0 ? h.v : vr == PAD ? vPad : zeros;
            VectorMath.rowToArray(ks, Math.max(kr, 0) * Float.BYTES, d, qu, 0);
            for (int c = 0; c < d; c++) kT[c * L + j] = qu[c];
            VectorMath.rowToArray(vs, Math.max(vr, 0) * Float.BYTES, dv, vv, j * dv);
        }
        // in blocks of R queries: scores, softmax rows, P·V, each phase its own small method taking arrays (a large
        // compilation stops inlining VectorMath's helpers, and a vector passed to a method not inlined is boxed)
        for (int b0 = i0; b0 < i1; b0 += R) {
            int rn = Math.min(R, i1 - b0);
            fewKeyScores(h, b0, rn, d, nk, scale, kT, w.s, w.l, w.m);
            fewKeyValues(h, b0, rn, dv, nk, w.s, w.l, vv);
        }
    }

    /**
     * p[r][0, L) = softmax numerators e^(s − max s) of s = (q[b0 + r]·scale)·kᵀ (an FMA chain over c from 0, −∞ in the
     * lanes j ≥ nk), inv[r] = 1 / Σ p[r] — what {@link VectorMath#max} and {@link VectorMath#expShifted} compute for a
     * one-vector row, inline here (the lane sum in scalar Java from the stored row, the same bits): called per row from a large
     * method, expShifted's lane sum was not inlined and its vector got boxed (80 ns a row; a vector sumLanes here too).
     */
    private static void fewKeyScores(Head h, int b0, int rn, int d, int nk, float scale, float[] kT, float[] s, float[] inv, float[] tmp) {
        VectorMask<Float> keys = S.indexInRange(0, nk);
        FloatVector negInf = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        MemorySegment q = h.q;
        for (int r = 0; r < rn; r++) { // q read as scalars from the segment (a vector staging store would stall the loads)
            long qo = h.qRow[b0 + r];
            FloatVector acc = FloatVector.zero(S);
            for (int c = 0; c < d; c++) acc = FloatVector.broadcast(S, q.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, qo + c) * scale).fma(FloatVector.fromArray(S, kT, c * L), acc);
            acc = negInf.blend(acc, keys);
            float mx = negInf.max(acc).reduceLanes(VectorOperators.MAX);
            VectorMath.exp(acc.sub(mx)).intoArray(s, r * L);
        }
        for (int r = 0; r < rn; r++) inv[r] = 1f / VectorMath.sumLanes(s, r * L, tmp); // after the block's stores
    }

    /** out[b0 + r] = (Σ_j p[r][j]·v[j], an FMA chain over j from 0)·inv[r]. */
    private static void fewKeyValues(Head h, int b0, int rn, int dv, int nk, float[] p, float[] inv, float[] vv) {
        int dvv = dv / L * L;
        for (int r = 0; r < rn; r++) {
            long out = h.oRow[b0 + r] * Float.BYTES;
            int c = 0;
            for (; c < dvv; c += L) {
                FloatVector acc = FloatVector.zero(S);
                for (int j = 0; j < nk; j++) acc = FloatVector.broadcast(S, p[r * L + j]).fma(FloatVector.fromArray(S, vv, j * dv + c), acc);
                acc.mul(inv[r]).intoMemorySegment(h.out, out + (long) c * Float.BYTES, ByteOrder.nativeOrder());
            }
            for (; c < dv; c++) {
                float acc = 0f;
                for (int j = 0; j < nk; j++) acc = Math.fma(p[r * L + j], vv[j * dv + c], acc);
                h.out.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, h.oRow[b0 + r] + c, acc * inv[r]);
            }
        }
    }

    /** kᵀ → kp[panel][c][j % NR] and v → vp[panel][j][c % NR], padding keys from kPad / vPad. */
    private static void packKeys(Head h, int d, int dv, Scratch w) {
        float[] kp = w.kp, vp = w.vp;
        int nk = h.nk;
        MemorySegment kPad = MemorySegment.ofArray(h.kPad == null ? w.zeros : h.kPad), vPad = MemorySegment.ofArray(h.vPad == null ? w.zeros : h.vPad);
        MemorySegment zeros = MemorySegment.ofArray(w.zeros);
        for (int j = 0; j < nk; j++) {
            long kr = h.kRow[j], vr = h.vRow[j];
            MemorySegment ks = kr >= 0 ? h.k : kr == PAD ? kPad : zeros, vs = vr >= 0 ? h.v : vr == PAD ? vPad : zeros;
            VectorMath.rowToPanelColumn(ks, Math.max(kr, 0) * Float.BYTES, d, kp, (j / NR) * d * NR + j % NR);
            for (int p = 0; p * NR < dv; p++) {
                VectorMath.rowToArray(vs, (Math.max(vr, 0) + p * NR) * Float.BYTES, Math.min(NR, dv - p * NR), vp, (p * nk + j) * NR);
            }
        }
    }

    /** {@code rn} queries from {@code rb}: the loop of the class comment. */
    private static void block(Head h, int rb, int rn, int d, int dv, int dvPad, float scale, RelTables rel, Scratch w) {
        float[] a = w.a, s = w.s, qu = w.qu, o = w.o, m = w.m, l = w.l, kp = w.kp, vp = w.vp;
        int nk = h.nk;
        for (int r = 0; r < rn; r++) {
            VectorMath.rowToArray(h.q, h.qRow[rb + r] * Float.BYTES, d, qu, r * d);
            for (int c = 0; c < d; c++) a[r * KC + c] = qu[r * d + c] * scale;
        }
        if (rel != null) relRows(h, rb, rn, d, rel, w);
        Arrays.fill(m, 0, rn, Float.NEGATIVE_INFINITY);
        Arrays.fill(l, 0, rn, 0f);
        Arrays.fill(o, 0, (rn + MR - 1) / MR * MR * dvPad, 0f); // the kernel accumulates whole MR-row tiles
        for (int j0 = 0; j0 < nk; j0 += KB) {
            int jn = Math.min(KB, nk - j0);
            // s[r][j − j0] = a[r]·k[j] for the chunk, one NR-wide key panel at a time
            for (int ir = 0; ir < rn; ir += MR) {
                for (int p = j0 / NR, pEnd = (j0 + jn + NR - 1) / NR; p < pEnd; p++) VectorSgemm.kernel(a, ir * KC, kp, p * d * NR, d, s, ir * KC + p * NR - j0, KC, false);
            }
            int jv = roundUp(jn, VectorMath.lanes()); // short rows (7 decoder tokens): −∞ up to a whole vector, no scalar tails
            if (rel == null) softmaxChunk(s, rn, jn, jv, m, l, o, dvPad);
            else softmaxChunkRel(s, rn, j0, jn, jv, w.bh, rel.khp(), w.bw, rel.kwp(), m, l, o, dvPad);
            // o[r] += s[r]·v_chunk
            for (int p = 0; p * NR < dvPad; p++) {
                for (int ir = 0; ir < rn; ir += MR) VectorSgemm.kernel(s, ir * KC, vp, (p * nk + j0) * NR, jn, o, ir * dvPad + p * NR, dvPad, true);
            }
        }
        for (int r = 0; r < rn; r++) VectorMath.arrayToRow(o, r * dvPad, dv, 1f / l[r], h.out, h.oRow[rb + r] * Float.BYTES);
    }

    /**
     * One key chunk's online-softmax step for rows {@code [0, rn)} of {@code s} (rows KC apart, {@code jn} scores, padded
     * with −∞ to {@code jv}): row max, m' = max(m, max s), α = e^(m − m'), s = e^(s − m'), l = α·l + Σ s, o·= α. The same
     * operations in the same order as {@link VectorMath#max}, {@link VectorMath#expShifted} and {@link VectorMath#scale}
     * (so the same bits), in methods of their own whose calls pass no vectors: inside {@link #block}, that large method's
     * inlining budget ran out and the exponentials' vectors were boxed (about 1.5 GB of garbage and 45 % of the time of
     * a global-attention layer, measured in FlashAttentionLab; see also VectorMath's HAND-INLINED note).
     */
    private static void softmaxChunk(float[] s, int rn, int jn, int jv, float[] m, float[] l, float[] o, int dvPad) {
        for (int r = 0; r < rn; r++) {
            int so = r * KC;
            if (jv > jn) Arrays.fill(s, so + jn, so + jv, Float.NEGATIVE_INFINITY);
            FloatVector vmax = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
            for (int i = so, end = so + jv; i < end; i += L) vmax = vmax.max(FloatVector.fromArray(S, s, i));
            finishRow(s, so, jv, vmax.reduceLanes(VectorOperators.MAX), r, m, l, o, dvPad);
        }
    }

    /**
     * {@link #softmaxChunk} with SAM's decomposed rel-pos bias added first, in the same pass as the row max (what
     * {@link VectorMath#addRelBiasMax} computes): key {@code j} of the chunk at padded grid cell
     * {@code (ky, kx) = (j / kwp, j % kwp)} gets {@code (s + bh[r][ky]) + bw[r][kx]} (PyTorch's order).
     */
    private static void softmaxChunkRel(float[] s, int rn, int j0, int jn, int jv, float[] bh, int khp, float[] bw, int kwp,
                                        float[] m, float[] l, float[] o, int dvPad) {
        for (int r = 0; r < rn; r++) {
            int so = r * KC, bho = r * khp, bwo = r * kwp;
            if (jv > jn) Arrays.fill(s, so + jn, so + jv, Float.NEGATIVE_INFINITY);
            FloatVector vmax = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
            float max = Float.NEGATIVE_INFINITY;
            for (int j = j0, end = j0 + jn; j < end; ) {
                int ky = j / kwp, kx = j - ky * kwp, run = Math.min(kwp - kx, end - j);
                float b = bh[bho + ky];
                int at = so + j - j0, bwAt = bwo + kx, t = 0;
                for (int bound = S.loopBound(run); t < bound; t += L) {
                    FloatVector y = FloatVector.fromArray(S, s, at + t).add(b).add(FloatVector.fromArray(S, bw, bwAt + t));
                    y.intoArray(s, at + t);
                    vmax = vmax.max(y);
                }
                for (; t < run; t++) { // not reached with SAM's grids (runs are whole vectors), kept for any kwp
                    float y = (s[at + t] + b) + bw[bwAt + t];
                    s[at + t] = y;
                    max = Math.max(max, y);
                }
                j += run;
            }
            finishRow(s, so, jv, Math.max(max, vmax.reduceLanes(VectorOperators.MAX)), r, m, l, o, dvPad);
        }
    }

    /** Row r's exponentials and running max / sum / output rescale, given the chunk's row max {@code mx} (jv whole vectors). */
    private static void finishRow(float[] s, int so, int jv, float mx, int r, float[] m, float[] l, float[] o, int dvPad) {
        float mNew = Math.max(m[r], mx);
        float alpha = m[r] == Float.NEGATIVE_INFINITY ? 0f : (float) Math.exp(m[r] - mNew);
        float sum = VectorMath.expShifted(s, so, jv, mNew); // arrays in, a float out: nothing boxed if not inlined
        if (alpha != 1f) {
            int i = r * dvPad, end = i + dvPad;
            for (int bound = i + S.loopBound(dvPad); i < bound; i += L) FloatVector.fromArray(S, o, i).mul(alpha).intoArray(o, i);
            for (; i < end; i++) o[i] *= alpha;
        }
        l[r] = l[r] * alpha + sum;
        m[r] = mNew;
    }

    /**
     * bh[r][ky] = Σ_c q[r][c]·Rh[y][ky][c], bw[r][kx] = Σ_c q[r][c]·Rw[x][kx][c] with the unscaled q; bw = −∞ on the
     * grid-padding columns kx ≥ kw.
     */
    private static void relRows(Head h, int rb, int rn, int d, RelTables rel, Scratch w) {
        int khp = rel.khp(), kwp = rel.kwp(), kw = rel.kw();
        for (int r = 0; r < rn; r++) {
            int cell = h.qCell[rb + r], y = cell / rel.qw(), x = cell % rel.qw();
            VectorMath.rowTimesTable(w.qu, r * d, d, rel.rhT(), y * d * khp, khp, w.bh, r * khp);
            VectorMath.rowTimesTable(w.qu, r * d, d, rel.rwT(), x * d * kwp, kwp, w.bw, r * kwp);
            Arrays.fill(w.bw, r * kwp + kw, (r + 1) * kwp, Float.NEGATIVE_INFINITY); // grid-padding keys drop out
        }
    }
}
