package dev.segsam.tensor;

/**
 * The error function in double precision (Java has no {@code Math.erf}), accurate to about 1e-14 relative, which
 * is far below float32 resolution. Used by the exact (erf) GELU.
 *
 * <ul>
 *   <li>{@code |z| < 2}: the everywhere-positive series
 *       {@code erf(z) = (2/√π)·e^{−z²}·Σ_{n≥0} 2ⁿ z^{2n+1} / (1·3·5···(2n+1))} (no cancellation);</li>
 *   <li>{@code z ≥ 2}: {@code erfc(z) = e^{−z²}/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + …))))}, a continued fraction
 *       evaluated bottom-up from a fixed depth (48 levels are enough at z = 2; deeper z converges faster).</li>
 * </ul>
 */
public final class Erf {
    private Erf() {}

    private static final double TWO_OVER_SQRT_PI = 2.0 / Math.sqrt(Math.PI);
    private static final double ONE_OVER_SQRT_PI = 1.0 / Math.sqrt(Math.PI);
    private static final int CF_DEPTH = 48;

    /** erf(z). */
    public static double erf(double z) {
        if (Double.isNaN(z)) return z;
        double a = Math.abs(z);
        double r = a < 2.0 ? series(a) : 1.0 - continuedFraction(a);
        return z < 0 ? -r : r;
    }

    /** erfc(z) = 1 − erf(z), without cancellation for large positive z. */
    public static double erfc(double z) {
        if (Double.isNaN(z)) return z;
        if (z >= 2.0) return continuedFraction(z);
        if (z <= -2.0) return 2.0 - continuedFraction(-z);
        return 1.0 - (z < 0 ? -series(-z) : series(z));
    }

    private static double series(double a) {
        double term = a;
        double sum = a;
        double a2 = 2.0 * a * a;
        for (int n = 1; n < 200; n++) {
            term *= a2 / (2 * n + 1);
            sum += term;
            if (term < 1e-17 * sum) break;
        }
        return TWO_OVER_SQRT_PI * Math.exp(-a * a) * sum;
    }

    private static double continuedFraction(double z) {
        if (z > 27.0) return 0.0; // e^{-z²} underflows
        double t = z;
        for (int k = CF_DEPTH; k >= 1; k--) t = z + (k * 0.5) / t;
        return Math.exp(-z * z) * ONE_OVER_SQRT_PI / t;
    }

    /**
     * erfc to a fractional error below 1.2e-7 (a Chebyshev-fitted form, erfc(z) = t·exp(−z² + P(t)), t = 1/(1 + |z|/2);
     * Press et al., Numerical Recipes §6.2): one exp instead of the series, for where float32 accuracy suffices
     * (gradients, the fast backend).
     */
    public static double erfcFast(double z) {
        double az = Math.abs(z), t = 1.0 / (1.0 + 0.5 * az);
        double p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807
                + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
        double r = t * Math.exp(-az * az + p);
        return z >= 0 ? r : 2.0 - r;
    }

    /** Exact GELU {@code 0.5·x·(1 + erf(x/√2))} = {@code 0.5·x·erfc(−x/√2)}, in double. */
    public static double gelu(double x) {
        return 0.5 * x * erfc(-x * 0.7071067811865476);
    }
}
