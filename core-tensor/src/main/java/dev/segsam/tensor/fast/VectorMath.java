package dev.segsam.tensor.fast;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vectorised float32 element-wise maths for the fast backend (JDK Vector API; loaded only when
 * {@link Sgemm#available()}): exact-form GELU and the softmax rows of attention.
 *
 * <p>GELU uses {@code 0.5·x·erfc(−x/√2)} with erfc from a Chebyshev-fitted form, erfc(z) = t·exp(−z² + P(t)),
 * t = 1/(1 + z/2), valid for z ≥ 0 with fractional error below 1.2e-7 everywhere (Press et al., Numerical Recipes,
 * §6.2; coefficients below), and erfc(−z) = 2 − erfc(z). That keeps GELU's relative error near float32 resolution on
 * both tails, unlike tanh approximations.
 *
 * <p>Exponentials are {@link #exp(FloatVector)}, built from IEEE-exact operations only, not the Vector API's
 * {@code lanewise(EXP)}: that one gives different results (by an ulp, on about 1 % of inputs) when the JIT has
 * compiled the calling code than when it runs in the Java fallback, so two identical model runs in one JVM differed
 * (an exact training resume, the same image through two weight files). Sums of lanes are {@link #sumLanes} for the
 * same reason: {@code reduceLanes(ADD)} adds the lanes in another order once compiled.
 */
final class VectorMath {
    private VectorMath() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final float[] P = {-1.26551223f, 1.00002368f, 0.37409196f, 0.09678418f, -0.18628806f, 0.27886807f, -1.13520398f,
        1.48851587f, -0.82215223f, 0.17087277f};

    static String describe() {
        return S.length() * 32 + "-bit vectors";
    }

    // two-vector permutes that zip a and b: lanes (a0, b0, a1, b1, ...) of the low halves, then of the high halves
    private static final FloatVector ZIP_LO = zipIndex(0), ZIP_HI = zipIndex(S.length() / 2);

    private static FloatVector zipIndex(int from) {
        float[] idx = new float[S.length()];
        for (int i = 0; i < idx.length / 2; i++) {
            idx[2 * i] = from + i;
            idx[2 * i + 1] = S.length() + from + i;
        }
        return FloatVector.fromArray(S, idx, 0);
    }

    /**
     * {@code out[oo + 2x] = add + a[ao + x]} and {@code out[oo + 2x + 1] = add + b[bo + x]} for {@code x} from 0 in whole
     * vectors while they fit in {@code n}; returns the first {@code x} not done (the caller finishes with scalars: the
     * same sums). The stride-2 scatter of a 2×2, stride-2 transposed convolution's two column taps into an output row,
     * as two-vector permutes instead of scalar stores.
     */
    static int interleave2(float[] a, int ao, float[] b, int bo, float add, float[] out, int oo, int n) {
        int x = 0, v = S.length();
        for (; x + v <= n; x += v) {
            FloatVector va = FloatVector.fromArray(S, a, ao + x).add(add), vb = FloatVector.fromArray(S, b, bo + x).add(add);
            ZIP_LO.selectFrom(va, vb).intoArray(out, oo + 2 * x);
            ZIP_HI.selectFrom(va, vb).intoArray(out, oo + 2 * x + v);
        }
        return x;
    }

    /**
     * {@code out[oo + 2x] = a[ao + x]}, {@code out[oo + 2x + 1] = b[bo + x]} for {@code x} from 0 in whole vectors while
     * they fit in {@code n}; returns the first {@code x} not done ({@link #interleave2} without the added constant, so
     * every value, −0 included, is copied as it is).
     */
    static int zip2(float[] a, int ao, float[] b, int bo, float[] out, int oo, int n) {
        int x = 0, v = S.length();
        for (; x + v <= n; x += v) {
            FloatVector va = FloatVector.fromArray(S, a, ao + x), vb = FloatVector.fromArray(S, b, bo + x);
            ZIP_LO.selectFrom(va, vb).intoArray(out, oo + 2 * x);
            ZIP_HI.selectFrom(va, vb).intoArray(out, oo + 2 * x + v);
        }
        return x;
    }

    /** {@code out[i] = gelu(in[i])} for {@code i < n}. */
    static void gelu(float[] in, float[] out, int n) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            geluVector(FloatVector.fromArray(S, in, i)).intoArray(out, i);
        }
        if (i < n) {
            VectorMask<Float> m = S.indexInRange(i, n);
            geluVector(FloatVector.fromArray(S, in, i, m)).intoArray(out, i, m);
        }
    }

    static FloatVector geluVector(FloatVector x) {
        FloatVector z = x.max(GELU_LO).min(GELU_HI).mul(-0.70710678118654752f); // erfc argument −x/√2, x clamped (GELU_LO)
        FloatVector az = z.abs();
        FloatVector t = az.mul(0.5f).add(1f);
        t = FloatVector.broadcast(S, 1f).div(t);
        FloatVector poly = FloatVector.broadcast(S, P[9]);
        for (int k = 8; k >= 0; k--) poly = poly.fma(t, FloatVector.broadcast(S, P[k]));
        FloatVector e = exp(az.mul(az).neg().add(poly));
        FloatVector erfcAbs = t.mul(e);                                  // erfc(|z|)
        FloatVector erfc = erfcAbs.blend(FloatVector.broadcast(S, 2f).sub(erfcAbs), z.compare(VectorOperators.LT, 0f));
        erfc = erfc.blend(0f, x.compare(VectorOperators.LT, GELU_LO));
        return x.mul(0.5f).mul(erfc);
    }

    /**
     * GELU's input range computed in full: {@code x} is clamped to {@code [GELU_LO, GELU_HI]} before erfc, so no
     * intermediate is subnormal (subnormal arithmetic doubled the cost on inputs of standard deviation 8 or more: 2.7 →
     * 5.0–5.2 ms per 2 M elements, one thread; docs/PERF.md "decode II"). Above GELU_HI, erfc(−x/√2) rounds to exactly 2 either way, so the result
     * (x) is unchanged; below GELU_LO the result is −0 (x·0; NaN for −∞ as before) where the exact value has magnitude
     * below 8e-38 (|x|·Φ(x) at x = −13).
     */
    static final float GELU_LO = -13f, GELU_HI = 12.5f;

    // HAND-INLINED: the hot loops (expShifted, gelu between segments) spell out exp and geluVector instead of calling
    // them. C2 does not reliably inline these 150–200-byte methods into a loop ("callee is too large", "already
    // compiled into a medium method" once they were compiled on their own), and a vector passed to or returned from a
    // method that is not inlined is boxed: measured 144 MB of garbage per ViT-B MLP-up call and the exponentials of
    // global attention allocating ~1.5 GB per layer. The same operations in the same order, so the same bits
    // (VectorMathTest compares them lane by lane with exp and geluVector).
    // exp: Cody–Waite reduction x = n·ln 2 + r (|r| ≤ ln 2 / 2, ln 2 split in a short head and a tail) and
    // e^r ≈ 1 + r + r²·C(r), C of degree 5 with the float coefficients of Cephes' expf (S. Moshier)
    static final float EXP_LO = -104f, EXP_HI = 89f, LOG2E = 1.44269504088896341f, ROUND = 0x1.8p23f;
    static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    static final float E0 = 5.0000001201e-1f, E1 = 1.6666665459e-1f, E2 = 4.1665795894e-2f, E3 = 8.3334519073e-3f,
        E4 = 1.3981999507e-3f, E5 = 1.9875691500e-4f;

    /**
     * {@code e^x} per lane, within 1 ulp of the correctly rounded float on [−87.3, 88.7] (checked in the tests);
     * 0 below −104 and for −∞, +∞ above 88.72 (overflow), NaN for NaN. Only multiplies, adds, FMAs, min/max, a
     * float-to-int conversion, shifts and bit reinterpretation, each exactly specified, so the bits are the same
     * whether the Vector API call is compiled to vector instructions or runs in its Java fallback, and equal to
     * {@link #exp(float)}. The scale 2ⁿ is applied as two factors 2^(n − ⌊n/2⌋)·2^⌊n/2⌋, both normal floats for
     * n ∈ [−150, 128], so results near overflow and in the subnormal range come out right too.
     */
    static FloatVector exp(FloatVector x) {
        FloatVector xc = x.max(EXP_LO).min(EXP_HI);
        FloatVector n = xc.mul(LOG2E).add(ROUND).sub(ROUND);           // round(x·log2 e), to nearest even
        FloatVector r = n.fma(FloatVector.broadcast(S, -LN2_HI), xc);
        r = n.fma(FloatVector.broadcast(S, -LN2_LO), r);
        FloatVector c = r.fma(E5, E4);
        c = c.fma(r, FloatVector.broadcast(S, E3));
        c = c.fma(r, FloatVector.broadcast(S, E2));
        c = c.fma(r, FloatVector.broadcast(S, E1));
        c = c.fma(r, FloatVector.broadcast(S, E0));
        FloatVector e = c.fma(r.mul(r), r).add(1f);
        IntVector ni = (IntVector) n.convert(VectorOperators.F2I, 0);
        IntVector half = ni.lanewise(VectorOperators.ASHR, 1);
        return e.mul(pow2(ni.sub(half))).mul(pow2(half));
    }

    /** {@code 2^k} per lane for {@code k ∈ [−126, 127]}: the exponent field alone. */
    private static FloatVector pow2(IntVector k) {
        return k.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
    }

    /** {@link #exp(FloatVector)} of one value, the same operations in scalar Java (bit-identical to a lane). */
    static float exp(float x) {
        float xc = Math.min(Math.max(x, EXP_LO), EXP_HI);
        float n = (xc * LOG2E + ROUND) - ROUND;
        float r = Math.fma(n, -LN2_HI, xc);
        r = Math.fma(n, -LN2_LO, r);
        float c = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(r, E5, E4), r, E3), r, E2), r, E1), r, E0);
        float e = Math.fma(c, r * r, r) + 1f;
        int ni = (int) n, half = ni >> 1;
        return e * Float.intBitsToFloat((ni - half + 127) << 23) * Float.intBitsToFloat((half + 127) << 23);
    }

    /** {@code ROTATIONS[i]}: lane j takes lane (j + h) mod L, for h = L/2, L/4, …, 1 (L lanes). */
    static final VectorShuffle<Float>[] ROTATIONS = rotations(); // package-private: FastBackward inlines sumLanes too

    @SuppressWarnings({"unchecked", "rawtypes"}) // a generic array of shuffles
    private static VectorShuffle<Float>[] rotations() {
        int steps = Integer.numberOfTrailingZeros(S.length());
        VectorShuffle<Float>[] r = new VectorShuffle[steps];
        for (int i = 0, h = S.length() / 2; i < steps; i++, h /= 2) r[i] = VectorShuffle.iota(S, h, 1, true);
        return r;
    }

    /**
     * The sum of the lanes of {@code v} in a fixed pairwise order: {@code v + rotate(v, L/2)}, then by L/4, … 1,
     * lane 0. Each step is lane-wise IEEE additions and a data move, so the result is the same bits whether the JIT
     * has compiled the call or not. {@code v.reduceLanes(ADD)} is not: its Java fallback adds the lanes in order, the
     * compiled instruction sequence in another order (measured on JDK 25, AVX-512).
     */
    static float sumLanes(FloatVector v) {
        for (VectorShuffle<Float> rot : ROTATIONS) v = v.add(v.rearrange(rot));
        return v.lane(0);
    }

    /**
     * {@link #sumLanes(FloatVector)} of the vector stored at {@code v[off, off + L)}, in scalar Java ({@code tmp}: L
     * floats of scratch): the same additions in the same order ({@code t[j] + t[j + h]} for h = L/2, …, 1, which is
     * what lane 0 of the rotation tree adds), so the same bits, without a vector crossing a call the JIT may not
     * inline (a vector argument is then boxed).
     */
    static float sumLanes(float[] v, int off, float[] tmp) {
        int h = S.length() / 2;
        if (h == 0) return v[off];
        for (int j = 0; j < h; j++) tmp[j] = v[off + j] + v[off + j + h]; // scalar loads only: no vector store to forward from
        for (h /= 2; h >= 1; h /= 2) for (int j = 0; j < h; j++) tmp[j] = tmp[j] + tmp[j + h];
        return tmp[0];
    }

    /** GELU of one value, through the vector formula (lane 0), so scalar edges match vector lanes. */
    static float gelu(float x) {
        return geluVector(FloatVector.broadcast(S, x)).lane(0);
    }

    /** In-place softmax of {@code v[off, off + n)}: max-subtracted, float32 exponentials, float32 sum. */
    static void softmaxRow(float[] v, int off, int n) {
        float sum = expShifted(v, off, n, max(v, off, n));
        scale(v, off, n, 1f / sum);
    }

    /** The maximum of {@code v[off, off + n)} ({@code −∞} when n = 0). */
    static float max(float[] v, int off, int n) {
        int end = off + n, i = off;
        FloatVector vmax = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        for (int bound = off + S.loopBound(n); i < bound; i += S.length()) vmax = vmax.max(FloatVector.fromArray(S, v, i));
        float max = vmax.reduceLanes(VectorOperators.MAX);
        for (; i < end; i++) max = Math.max(max, v[i]);
        return max;
    }

    /** {@code v[i] = exp(v[i] − shift)} in place over {@code [off, off + n)}; returns the float32 sum of the results. */
    static float expShifted(float[] v, int off, int n, float shift) {
        int end = off + n, i = off;
        FloatVector vsum = FloatVector.zero(S);
        for (int bound = off + S.loopBound(n); i < bound; i += S.length()) {
            // exp(v − shift), written out so that no vector crosses a call: see HAND-INLINED below
            FloatVector xc = FloatVector.fromArray(S, v, i).sub(shift).max(EXP_LO).min(EXP_HI);
            FloatVector nn = xc.mul(LOG2E).add(ROUND).sub(ROUND);
            FloatVector r = nn.fma(FloatVector.broadcast(S, -LN2_HI), xc);
            r = nn.fma(FloatVector.broadcast(S, -LN2_LO), r);
            FloatVector c = r.fma(E5, E4);
            c = c.fma(r, FloatVector.broadcast(S, E3));
            c = c.fma(r, FloatVector.broadcast(S, E2));
            c = c.fma(r, FloatVector.broadcast(S, E1));
            c = c.fma(r, FloatVector.broadcast(S, E0));
            FloatVector e = c.fma(r.mul(r), r).add(1f);
            IntVector ni = (IntVector) nn.convert(VectorOperators.F2I, 0);
            IntVector half = ni.lanewise(VectorOperators.ASHR, 1);
            e = e.mul(ni.sub(half).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats())
                    .mul(half.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats());
            e.intoArray(v, i);
            vsum = vsum.add(e);
        }
        for (VectorShuffle<Float> rot : ROTATIONS) vsum = vsum.add(vsum.rearrange(rot)); // sumLanes(vsum), inline
        float sum = vsum.lane(0);
        for (; i < end; i++) {
            v[i] = exp(v[i] - shift);
            sum += v[i];
        }
        return sum;
    }

    /** {@code v[i] ·= s} over {@code [off, off + n)}. */
    static void scale(float[] v, int off, int n, float s) {
        int end = off + n, i = off;
        for (int bound = off + S.loopBound(n); i < bound; i += S.length()) FloatVector.fromArray(S, v, i).mul(s).intoArray(v, i);
        for (; i < end; i++) v[i] *= s;
    }

    /**
     * SAM's decomposed rel-pos bias on a run of scores, fused with the row maximum: for key {@code j} in
     * {@code [j0, j0 + n)} at grid cell {@code (ky, kx) = (j / kw, j % kw)},
     * {@code s[so + j − j0] = (s[..] + bh[ky]) + bw[kx]} (PyTorch's order); returns the maximum of the results.
     */
    static float addRelBiasMax(float[] s, int so, int j0, int n, float[] bh, int bho, float[] bw, int bwo, int kw) {
        FloatVector vmax = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        float max = Float.NEGATIVE_INFINITY;
        for (int j = j0, end = j0 + n; j < end; ) {
            int ky = j / kw, kx = j - ky * kw, run = Math.min(kw - kx, end - j);
            float b = bh[bho + ky];
            int o = so + j - j0, w = bwo + kx, t = 0;
            for (int bound = S.loopBound(run); t < bound; t += S.length()) {
                FloatVector y = FloatVector.fromArray(S, s, o + t).add(b).add(FloatVector.fromArray(S, bw, w + t));
                y.intoArray(s, o + t);
                vmax = vmax.max(y);
            }
            for (; t < run; t++) { // scalar rest (masked vectors are not intrinsified here; FlashAttention pads runs to whole vectors)
                float y = (s[o + t] + b) + bw[w + t];
                s[o + t] = y;
                max = Math.max(max, y);
            }
            j += run;
        }
        return Math.max(max, vmax.reduceLanes(VectorOperators.MAX));
    }

    /** Floats per vector. */
    static int lanes() {
        return S.length();
    }

    /**
     * {@code out[oo + j] = Σ_c q[qo + c]·t[to + c·kp + j]} for {@code j < kp}, c &lt; d: a row times a {@code [d, kp]}
     * table, kp a multiple of {@link #lanes()}. Four accumulator chains per vector of outputs (FMA latency), summed
     * pairwise at the end.
     */
    static void rowTimesTable(float[] q, int qo, int d, float[] t, int to, int kp, float[] out, int oo) {
        for (int j = 0; j < kp; j += S.length()) {
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
            int c = 0, o = to + j;
            for (; c + 3 < d; c += 4, o += 4 * kp) {
                a0 = FloatVector.fromArray(S, t, o).fma(FloatVector.broadcast(S, q[qo + c]), a0);
                a1 = FloatVector.fromArray(S, t, o + kp).fma(FloatVector.broadcast(S, q[qo + c + 1]), a1);
                a2 = FloatVector.fromArray(S, t, o + 2 * kp).fma(FloatVector.broadcast(S, q[qo + c + 2]), a2);
                a3 = FloatVector.fromArray(S, t, o + 3 * kp).fma(FloatVector.broadcast(S, q[qo + c + 3]), a3);
            }
            for (; c < d; c++, o += kp) a0 = FloatVector.fromArray(S, t, o).fma(FloatVector.broadcast(S, q[qo + c]), a0);
            a0.add(a1).add(a2.add(a3)).intoArray(out, oo + j);
        }
    }

    /** Lane i → i·2V: the scatter map of one column of a 2V-wide (NR) k-major GEMM panel. */
    private static final int[] PANEL_COLUMN = java.util.stream.IntStream.range(0, S.length()).map(i -> i * 2 * S.length()).toArray();

    /**
     * A row of {@code n} floats at byte {@code off} of {@code src} into one column of a 2V-wide k-major panel:
     * {@code dst[at + c·2V] = src[c]} (a key row into the packed kᵀ of attention). Whole vectors go through a
     * scatter store; the rest one by one.
     */
    static void rowToPanelColumn(java.lang.foreign.MemorySegment src, long off, int n, float[] dst, int at) {
        int c = 0;
        for (int bound = S.loopBound(n); c < bound; c += S.length()) {
            FloatVector.fromMemorySegment(S, src, off + (long) c * Float.BYTES, java.nio.ByteOrder.nativeOrder())
                    .intoArray(dst, at + c * 2 * S.length(), PANEL_COLUMN, 0);
        }
        for (; c < n; c++) dst[at + c * 2 * S.length()] = src.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, off / Float.BYTES + c);
    }

    /** {@code dst[at + i] = src[i]} for {@code i < n}, {@code src} a row at byte {@code off} (vector loads: no copy-call overhead). */
    static void rowToArray(java.lang.foreign.MemorySegment src, long off, int n, float[] dst, int at) {
        int c = 0;
        for (int bound = S.loopBound(n); c < bound; c += S.length()) {
            FloatVector.fromMemorySegment(S, src, off + (long) c * Float.BYTES, java.nio.ByteOrder.nativeOrder()).intoArray(dst, at + c);
        }
        for (; c < n; c++) dst[at + c] = src.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, off / Float.BYTES + c);
    }

    /** {@code dst[i] = src[at + i]·scale} for {@code i < n}, {@code dst} a row at byte {@code off} of a segment. */
    static void arrayToRow(float[] src, int at, int n, float scale, java.lang.foreign.MemorySegment dst, long off) {
        int c = 0;
        for (int bound = S.loopBound(n); c < bound; c += S.length()) {
            FloatVector.fromArray(S, src, at + c).mul(scale).intoMemorySegment(dst, off + (long) c * Float.BYTES, java.nio.ByteOrder.nativeOrder());
        }
        for (; c < n; c++) dst.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, off / Float.BYTES + c, src[at + c] * scale);
    }

    /**
     * A V × n block transpose: for {@code t < n}, the V floats at byte {@code off + t·step} of {@code src} become column
     * t of V rows of {@code dst} ({@code dst[r·width + t]}, r &lt; V): one vector load and one scatter per column.
     */
    static void columnToRows(java.lang.foreign.MemorySegment src, long off, long step, int n, float[] dst, int width) {
        int[] map = new int[S.length()];
        for (int r = 0; r < map.length; r++) map[r] = r * width;
        for (int t = 0; t < n; t++) {
            FloatVector.fromMemorySegment(S, src, off + t * step, java.nio.ByteOrder.nativeOrder()).intoArray(dst, t, map, 0);
        }
    }

    /** {@code out[i] = a·x[i] + b·y[i]} for {@code i < n}, as separate multiplies and an add (no FMA: bit-exact with scalar Java). */
    static void blend(float a, float[] x, float b, float[] y, float[] out, int n) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            FloatVector.fromArray(S, x, i).mul(a).add(FloatVector.fromArray(S, y, i).mul(b)).intoArray(out, i);
        }
        for (; i < n; i++) out[i] = a * x[i] + b * y[i];
    }

    private static final java.lang.foreign.ValueLayout.OfFloat SF = java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final java.nio.ByteOrder NATIVE = java.nio.ByteOrder.nativeOrder();

    /**
     * {@code out[i] = a[i] + b[i]} for {@code i < n}, straight between segments (byte offsets {@code ao, bo, oo}): one
     * pass, no staging copies into arrays. The same single float add per element as {@link #add(float[], float[], float[], int)}.
     */
    static void add(java.lang.foreign.MemorySegment a, long ao, java.lang.foreign.MemorySegment b, long bo,
                    java.lang.foreign.MemorySegment out, long oo, int n) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            long d = (long) i * Float.BYTES;
            FloatVector.fromMemorySegment(S, a, ao + d, NATIVE).add(FloatVector.fromMemorySegment(S, b, bo + d, NATIVE)).intoMemorySegment(out, oo + d, NATIVE);
        }
        for (; i < n; i++) {
            long d = (long) i * Float.BYTES;
            out.set(SF, oo + d, a.get(SF, ao + d) + b.get(SF, bo + d));
        }
    }

    /** {@link #gelu(float[], float[], int)} straight between segments (byte offsets); the tail through {@link #gelu(float)} (the same lane values). */
    static void gelu(java.lang.foreign.MemorySegment in, long io, java.lang.foreign.MemorySegment out, long oo, int n) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            long d = (long) i * Float.BYTES;
            // geluVector(x), written out (with exp) so that no vector crosses a call: see HAND-INLINED below
            FloatVector x = FloatVector.fromMemorySegment(S, in, io + d, NATIVE);
            FloatVector z = x.max(GELU_LO).min(GELU_HI).mul(-0.70710678118654752f);
            FloatVector az = z.abs();
            FloatVector t = FloatVector.broadcast(S, 1f).div(az.mul(0.5f).add(1f));
            FloatVector poly = FloatVector.broadcast(S, P[9]);
            for (int k = 8; k >= 0; k--) poly = poly.fma(t, FloatVector.broadcast(S, P[k]));
            FloatVector ex = az.mul(az).neg().add(poly);
            FloatVector xc = ex.max(EXP_LO).min(EXP_HI);
            FloatVector nn = xc.mul(LOG2E).add(ROUND).sub(ROUND);
            FloatVector r = nn.fma(FloatVector.broadcast(S, -LN2_HI), xc);
            r = nn.fma(FloatVector.broadcast(S, -LN2_LO), r);
            FloatVector c = r.fma(E5, E4);
            c = c.fma(r, FloatVector.broadcast(S, E3));
            c = c.fma(r, FloatVector.broadcast(S, E2));
            c = c.fma(r, FloatVector.broadcast(S, E1));
            c = c.fma(r, FloatVector.broadcast(S, E0));
            FloatVector e = c.fma(r.mul(r), r).add(1f);
            IntVector ni = (IntVector) nn.convert(VectorOperators.F2I, 0);
            IntVector half = ni.lanewise(VectorOperators.ASHR, 1);
            e = e.mul(ni.sub(half).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats())
                    .mul(half.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats());
            FloatVector erfcAbs = t.mul(e);
            FloatVector erfc = erfcAbs.blend(FloatVector.broadcast(S, 2f).sub(erfcAbs), z.compare(VectorOperators.LT, 0f))
                    .blend(0f, x.compare(VectorOperators.LT, GELU_LO));
            x.mul(0.5f).mul(erfc).intoMemorySegment(out, oo + d, NATIVE);
        }
        for (; i < n; i++) out.set(SF, oo + (long) i * Float.BYTES, gelu(in.get(SF, io + (long) i * Float.BYTES)));
    }

    /**
     * {@code v[off + i] = gelu(v[off + i])} for {@code i < n}, in place on an array: the loop of
     * {@link #gelu(java.lang.foreign.MemorySegment, long, java.lang.foreign.MemorySegment, long, int)} with array loads
     * and stores (a heap segment over a float[] measured ~2× slower there), the same lane values.
     */
    static void geluInPlace(float[] v, int off, int n) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            // geluVector(x), written out (with exp) so that no vector crosses a call: see HAND-INLINED below
            FloatVector x = FloatVector.fromArray(S, v, off + i);
            FloatVector z = x.max(GELU_LO).min(GELU_HI).mul(-0.70710678118654752f);
            FloatVector az = z.abs();
            FloatVector t = FloatVector.broadcast(S, 1f).div(az.mul(0.5f).add(1f));
            FloatVector poly = FloatVector.broadcast(S, P[9]);
            for (int k = 8; k >= 0; k--) poly = poly.fma(t, FloatVector.broadcast(S, P[k]));
            FloatVector ex = az.mul(az).neg().add(poly);
            FloatVector xc = ex.max(EXP_LO).min(EXP_HI);
            FloatVector nn = xc.mul(LOG2E).add(ROUND).sub(ROUND);
            FloatVector r = nn.fma(FloatVector.broadcast(S, -LN2_HI), xc);
            r = nn.fma(FloatVector.broadcast(S, -LN2_LO), r);
            FloatVector c = r.fma(E5, E4);
            c = c.fma(r, FloatVector.broadcast(S, E3));
            c = c.fma(r, FloatVector.broadcast(S, E2));
            c = c.fma(r, FloatVector.broadcast(S, E1));
            c = c.fma(r, FloatVector.broadcast(S, E0));
            FloatVector e = c.fma(r.mul(r), r).add(1f);
            IntVector ni = (IntVector) nn.convert(VectorOperators.F2I, 0);
            IntVector half = ni.lanewise(VectorOperators.ASHR, 1);
            e = e.mul(ni.sub(half).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats())
                    .mul(half.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats());
            FloatVector erfcAbs = t.mul(e);
            FloatVector erfc = erfcAbs.blend(FloatVector.broadcast(S, 2f).sub(erfcAbs), z.compare(VectorOperators.LT, 0f))
                    .blend(0f, x.compare(VectorOperators.LT, GELU_LO));
            x.mul(0.5f).mul(erfc).intoArray(v, off + i);
        }
        for (; i < n; i++) v[off + i] = gelu(v[off + i]);
    }

    /** {@code out[i] = a[i] + b[i]}. */
    static void add(float[] a, float[] b, float[] out, int n) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) FloatVector.fromArray(S, a, i).add(FloatVector.fromArray(S, b, i)).intoArray(out, i);
        for (; i < n; i++) out[i] = a[i] + b[i];
    }

    /** {@code out[r·n + j] = a[r·n + j] + b[j]} for {@code rows} rows (a bias or position row broadcast). */
    static void addRows(float[] a, float[] b, float[] out, int rows, int n) {
        for (int r = 0; r < rows; r++) {
            int o = r * n, i = 0;
            for (int bound = S.loopBound(n); i < bound; i += S.length()) {
                FloatVector.fromArray(S, a, o + i).add(FloatVector.fromArray(S, b, i)).intoArray(out, o + i);
            }
            for (; i < n; i++) out[o + i] = a[o + i] + b[i];
        }
    }

    /**
     * LayerNorm of one row in place, {@code y = (x − μ)·(1/√(σ² + eps))·w + b}. The mean is split into two floats
     * (hi + lo) so {@code x − μ} is exact to float rounding even when the row sits far from zero (float32 statistics,
     * as PyTorch's, would be off by an ulp of the offset); the sums run in float vectors, combined in double.
     */
    static void layerNormRow(float[] v, int off, int n, float[] w, float[] b, float eps) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) acc = acc.add(FloatVector.fromArray(S, v, off + i));
        double sum = sumLanes(acc);
        for (; i < n; i++) sum += v[off + i];
        double meanD = sum / n;
        float hi = (float) meanD, lo = (float) (meanD - hi);
        // a second pass corrects the mean for the rounding of the float sum
        FloatVector accD = FloatVector.zero(S);
        i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) accD = accD.add(FloatVector.fromArray(S, v, off + i).sub(hi).sub(lo));
        double corr = sumLanes(accD);
        for (; i < n; i++) corr += (v[off + i] - hi) - lo;
        meanD += corr / n;
        hi = (float) meanD;
        lo = (float) (meanD - hi);
        FloatVector acc2 = FloatVector.zero(S);
        i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            FloatVector d = FloatVector.fromArray(S, v, off + i).sub(hi).sub(lo);
            acc2 = d.fma(d, acc2);
        }
        double var = sumLanes(acc2);
        for (; i < n; i++) {
            double d = (v[off + i] - hi) - lo;
            var += d * d;
        }
        float inv = (float) (1.0 / Math.sqrt(var / n + eps));
        i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            FloatVector y = FloatVector.fromArray(S, v, off + i).sub(hi).sub(lo).mul(inv);
            if (w != null) y = y.mul(FloatVector.fromArray(S, w, i));
            if (b != null) y = y.add(FloatVector.fromArray(S, b, i));
            y.intoArray(v, off + i);
        }
        for (; i < n; i++) {
            float y = ((v[off + i] - hi) - lo) * inv;
            if (w != null) y *= w[i];
            if (b != null) y += b[i];
            v[off + i] = y;
        }
    }

    /**
     * LayerNorm of each column of {@code v} ({@code C} rows of {@code P} floats, row stride P) over its C values, in
     * place: {@code y = (x − μ)·(1/√(σ² + eps))·w[c] + b[c]}. Float32 vectors across P columns; the mean is kept as
     * two floats, hi (the float mean) + lo (the mean of x − hi), so {@code (x − hi) − lo} stays accurate far from zero
     * (as in {@link #layerNormRow}); columns past the last whole vector in double, like the reference.
     */
    static void layerNormColumns(float[] v, int C, int P, float[] w, float[] b, float eps) {
        layerNormColumns(v, 0, P, C, P, w, b, eps);
    }

    /**
     * {@link #layerNormColumns(float[], int, int, float[], float[], float)} of C rows of P columns starting at
     * {@code v[off]}, row c at {@code off + c·stride}.
     */
    static void layerNormColumns(float[] v, int off, int stride, int C, int P, float[] w, float[] b, float eps) {
        int p = 0;
        float invC = 1f / C;
        for (int bound = S.loopBound(P); p < bound; p += S.length()) {
            FloatVector sum = FloatVector.zero(S);
            for (int c = 0; c < C; c++) sum = sum.add(FloatVector.fromArray(S, v, off + c * stride + p));
            FloatVector hi = sum.mul(invC), corr = FloatVector.zero(S); // the mean as hi + lo: x − hi is exact near the mean
            for (int c = 0; c < C; c++) corr = corr.add(FloatVector.fromArray(S, v, off + c * stride + p).sub(hi));
            FloatVector lo = corr.mul(invC);
            FloatVector var = FloatVector.zero(S);
            for (int c = 0; c < C; c++) {
                FloatVector d = FloatVector.fromArray(S, v, off + c * stride + p).sub(hi).sub(lo);
                var = d.fma(d, var);
            }
            FloatVector inv = var.mul(invC).add(eps).lanewise(VectorOperators.SQRT);
            inv = FloatVector.broadcast(S, 1f).div(inv);
            for (int c = 0; c < C; c++) {
                FloatVector y = FloatVector.fromArray(S, v, off + c * stride + p).sub(hi).sub(lo).mul(inv);
                if (w != null) y = y.mul(w[c]);
                if (b != null) y = y.add(b[c]);
                y.intoArray(v, off + c * stride + p);
            }
        }
        for (; p < P; p++) {
            double mean = 0, var = 0;
            for (int c = 0; c < C; c++) mean += v[off + c * stride + p];
            mean /= C;
            for (int c = 0; c < C; c++) var += (v[off + c * stride + p] - mean) * (v[off + c * stride + p] - mean);
            double inv = 1 / Math.sqrt(var / C + eps);
            for (int c = 0; c < C; c++) {
                double y = (v[off + c * stride + p] - mean) * inv;
                if (w != null) y *= w[c];
                if (b != null) y += b[c];
                v[off + c * stride + p] = (float) y;
            }
        }
    }
}
