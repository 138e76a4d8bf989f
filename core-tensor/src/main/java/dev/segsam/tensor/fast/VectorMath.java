package dev.segsam.tensor.fast;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vectorised float32 element-wise maths for the fast backend (JDK Vector API; loaded only when
 * {@link Sgemm#available()}): exact-form GELU and the softmax rows of attention.
 *
 * <p>GELU uses {@code 0.5·x·erfc(−x/√2)} with erfc from a Chebyshev-fitted form, erfc(z) = t·exp(−z² + P(t)),
 * t = 1/(1 + z/2), valid for z ≥ 0 with fractional error below 1.2e-7 everywhere (Press et al., Numerical Recipes,
 * §6.2; coefficients below), and erfc(−z) = 2 − erfc(z). That keeps GELU's relative error near float32 resolution on
 * both tails, unlike tanh approximations. The exponentials are the Vector API's (SVML-backed on x86).
 */
final class VectorMath {
    private VectorMath() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final float[] P = {-1.26551223f, 1.00002368f, 0.37409196f, 0.09678418f, -0.18628806f, 0.27886807f, -1.13520398f,
        1.48851587f, -0.82215223f, 0.17087277f};

    static String describe() {
        return S.length() * 32 + "-bit vectors";
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

    private static FloatVector geluVector(FloatVector x) {
        FloatVector z = x.mul(-0.70710678118654752f);                  // erfc argument −x/√2
        FloatVector az = z.abs();
        FloatVector t = az.mul(0.5f).add(1f);
        t = FloatVector.broadcast(S, 1f).div(t);
        FloatVector poly = FloatVector.broadcast(S, P[9]);
        for (int k = 8; k >= 0; k--) poly = poly.fma(t, FloatVector.broadcast(S, P[k]));
        FloatVector e = az.mul(az).neg().add(poly).lanewise(VectorOperators.EXP);
        FloatVector erfcAbs = t.mul(e);                                  // erfc(|z|)
        FloatVector erfc = erfcAbs.blend(FloatVector.broadcast(S, 2f).sub(erfcAbs), z.compare(VectorOperators.LT, 0f));
        return x.mul(0.5f).mul(erfc);
    }

    /** In-place softmax of {@code v[off, off + n)}: max-subtracted, float32 exponentials, float32 sum. */
    static void softmaxRow(float[] v, int off, int n) {
        int end = off + n, i = off;
        FloatVector vmax = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        for (int bound = off + S.loopBound(n); i < bound; i += S.length()) vmax = vmax.max(FloatVector.fromArray(S, v, i));
        float max = vmax.reduceLanes(VectorOperators.MAX);
        for (; i < end; i++) max = Math.max(max, v[i]);
        FloatVector vsum = FloatVector.zero(S);
        i = off;
        for (int bound = off + S.loopBound(n); i < bound; i += S.length()) {
            FloatVector e = FloatVector.fromArray(S, v, i).sub(max).lanewise(VectorOperators.EXP);
            e.intoArray(v, i);
            vsum = vsum.add(e);
        }
        float sum = vsum.reduceLanes(VectorOperators.ADD);
        for (; i < end; i++) {
            v[i] = (float) Math.exp(v[i] - max);
            sum += v[i];
        }
        float inv = 1f / sum;
        i = off;
        for (int bound = off + S.loopBound(n); i < bound; i += S.length()) FloatVector.fromArray(S, v, i).mul(inv).intoArray(v, i);
        for (; i < end; i++) v[i] *= inv;
    }
}
