package dev.segsam.tensor.fast;

import dev.segsam.tensor.Parallel;
import dev.segsam.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * Softmax over the last dim on the fast CPU backend, in chunks of whole rows copied into a per-thread array: long rows
 * (at least one vector) through {@link VectorMath#softmaxRow}; short rows (fewer elements than a vector has lanes:
 * the decoder's image→token scores, 7 tokens per head) by one vectorised exponential pass over the whole chunk
 * ({@link VectorMath#expShifted}, shift 0) without subtracting each row's maximum first, then a scalar sum and scale per
 * row; a row whose sum is not within [2⁻¹⁰⁰, 2¹⁰⁰] (a value above ~69, all values below ~−69, ±∞ or NaN) is redone
 * from its input max-subtracted, so overflow and underflow behave as in the reference. Float32 exponentials (within
 * 1 ulp) and float32 sums, where the reference takes double ones: the results agree to a few float32 ulps, not bit for
 * bit.
 *
 * <p>Kernel lab (issue 16 §2 "decode II", one thread, {@code DecodeOpsLab softmax}): the reference took 2.1 ms for
 * {@code [56, 4096]} and 2.5 ms for {@code [4096, 8, 7]}; the measured times of this kernel are in docs/PERF.md.
 */
final class RowSoftmax {
    private RowSoftmax() {}

    /** {@code -Dsegsam.softmax.unshifted=false} (lab knob): short rows max-subtracted first (the version before, kept for A/B). */
    static final boolean SHORT_UNSHIFTED = Boolean.parseBoolean(System.getProperty("segsam.softmax.unshifted", "true"));

    static Tensor softmax(Parallel par, Tensor x) {
        int D = x.size(-1);
        Tensor y = Tensor.empty(x.shape());
        long rows = x.numel() / D;
        MemorySegment in = x.data(), out = y.data();
        int per = Math.max(1, FastCpuBackend.CHUNK / D);
        boolean shortRows = D < VectorMath.lanes();
        par.forRange(Math.toIntExact((rows + per - 1) / per), c -> {
            long r0 = (long) c * per;
            int rn = (int) Math.min(per, rows - r0), n = rn * D;
            float[] v = Buffers.get(0, n);
            MemorySegment.copy(in, Tensor.LAYOUT, r0 * D * Float.BYTES, v, 0, n);
            if (!shortRows) {
                for (int r = 0; r < rn; r++) VectorMath.softmaxRow(v, r * D, D);
            } else if (SHORT_UNSHIFTED) {
                // exponentials without the row maximum first (one vector pass over the chunk); a row whose sum leaves
                // [2^-100, 2^100] (a value above ~69, or all of them below ~-69) is redone from its input with the max
                float[] in0 = Buffers.get(1, n);
                System.arraycopy(v, 0, in0, 0, n);
                VectorMath.expShifted(v, 0, n, 0f);
                for (int o = 0; o < n; o += D) {
                    float s = 0f;
                    for (int i = 0; i < D; i++) s += v[o + i];
                    if (!(s >= 0x1p-100f && s <= 0x1p100f)) {
                        System.arraycopy(in0, o, v, o, D);
                        VectorMath.softmaxRow(v, o, D);
                        continue;
                    }
                    float inv = 1f / s;
                    for (int i = 0; i < D; i++) v[o + i] *= inv;
                }
            } else {
                for (int o = 0; o < n; o += D) {
                    float m = v[o];
                    for (int i = 1; i < D; i++) m = Math.max(m, v[o + i]);
                    for (int i = 0; i < D; i++) v[o + i] -= m;
                }
                VectorMath.expShifted(v, 0, n, 0f);
                for (int o = 0; o < n; o += D) {
                    float s = 0f;
                    for (int i = 0; i < D; i++) s += v[o + i];
                    float inv = 1f / s;
                    for (int i = 0; i < D; i++) v[o + i] *= inv;
                }
            }
            MemorySegment.copy(v, 0, out, Tensor.LAYOUT, r0 * D * Float.BYTES, n);
        });
        return y;
    }
}
