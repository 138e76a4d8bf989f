package dev.segsam.model.preprocess;

import dev.segsam.tensor.Options;
import dev.segsam.tensor.Parallel;
import dev.segsam.tensor.image.RgbImage;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;

/**
 * MedSAM's image resize: scikit-image 0.19 {@code transform.resize(img, (outH, outW), order=3, preserve_range=True,
 * anti_aliasing=True)} on a {@code uint8 [H, W, 3]} image, with SciPy 1.10 {@code ndimage} doing the work, followed
 * by MedSAM's {@code .astype(np.uint8)} ({@link #resizeToUint8}). Re-implemented from the behaviour of those
 * libraries, operation by operation in double, so that the float64 result is bit-identical where the elementary
 * functions agree (see "Parity" below). Shapes: {@code uint8 [H, W, 3]} in; {@code float64 [outH, outW, 3]} or
 * {@code uint8 [outH, outW, 3]} out.
 *
 * <p>What skimage does, for this call:
 * <ol>
 *   <li>The image becomes float64 (values kept, {@code preserve_range}); its min and max are kept for clipping.</li>
 *   <li>Anti-aliasing: a Gaussian filter ({@code ndimage.gaussian_filter}, mode {@code mirror}, truncate 4) with
 *       σ = max(0, (in/out − 1)/2) per axis; axes with σ ≤ 1e-15 (enlarged or unchanged, and the channel axis) are
 *       skipped. The kernel has radius {@code int(4σ + 0.5)}, values {@code exp(−0.5/σ² · x²)} divided by their
 *       numpy (pairwise) sum, and is applied with SciPy's symmetric correlation loop.</li>
 *   <li>{@code ndimage.zoom(order=3, mode='mirror', grid_mode=True)} over all three axes (the channel axis has zoom 1):
 *       the B-spline prefilter (pole √3 − 2, mirror boundary initialisation) runs along axes 0, 1, 2 in turn; then
 *       every output sample sums 4×4×4 coefficients with weights from the cubic B-spline at source coordinate
 *       {@code (k + 0.5)·in/out − 0.5}, mirrored at the borders, in SciPy's loop order.</li>
 *   <li>The result is clipped to the input's [min, max]; MedSAM then truncates to uint8.</li>
 * </ol>
 *
 * <p><b>Parity.</b> The float64 result is bit-identical to skimage whenever no Gaussian pre-filter runs (the output
 * is at least as large as the input on both axes: MedSAM's usual case, 512² → 1024²). When shrinking, the Gaussian
 * weights come from {@code numpy.exp}, whose SIMD implementation (AVX-512 builds) differs from the correctly rounded
 * value in about one argument in five by 1 ulp, and from libm on other CPUs; Java's {@link Math#exp} cannot match
 * both. That leaves float64 differences around 1e-13, which change the truncated uint8 value only where the exact
 * result lies within 1e-13 of an integer: rarely, and then by exactly 1.
 */
public final class SkimageResize {
    /** The pole of the cubic B-spline prefilter, √3 − 2. */
    static final double POLE = -0.267949192431122706472553658494127633;
    /** skimage's default {@code truncate} for the Gaussian filter. */
    static final double TRUNCATE = 4.0;

    private SkimageResize() {}

    /** The uint8 image MedSAM feeds on: {@link #resize} truncated toward zero (values are already in [0, 255]). */
    public static RgbImage resizeToUint8(RgbImage src, int outH, int outW) {
        return resizeToUint8(Parallel.of(Options.defaults().threads()), src, outH, outW);
    }

    /** {@link #resizeToUint8(RgbImage, int, int)} with the output rows spread over {@code par}'s threads. */
    public static RgbImage resizeToUint8(Parallel par, RgbImage src, int outH, int outW) {
        double[] v = resize(par, src, outH, outW);
        byte[] out = new byte[v.length];
        for (int i = 0; i < v.length; i++) out[i] = (byte) (int) v[i];
        return new RgbImage(outW, outH, out);
    }

    /** The float64 {@code [outH, outW, 3]} result of skimage's resize, row-major, channels interleaved. */
    public static double[] resize(RgbImage src, int outH, int outW) {
        return resize(Parallel.of(Options.defaults().threads()), src, outH, outW);
    }

    /** {@link #resize(RgbImage, int, int)} with the output rows spread over {@code par}'s threads (same values for any count). */
    public static double[] resize(Parallel par, RgbImage src, int outH, int outW) {
        if (outH <= 0 || outW <= 0) throw new IllegalArgumentException("target size " + outH + "x" + outW);
        int[] in = {src.height(), src.width(), 3};
        int[] out = {outH, outW, 3};
        byte[] rgb = src.rgb();
        double[] a = new double[rgb.length];
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < rgb.length; i++) {
            double v = rgb[i] & 0xFF;
            a[i] = v;
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        for (int d = 0; d < 3; d++) {
            double factor = (double) in[d] / out[d];
            // ndimage.zoom derives its output shape as round(in * (1 / factor)); it must give back the request.
            double zoomShape = Math.rint(in[d] * (1 / factor));
            if (zoomShape != out[d]) {
                throw new IllegalArgumentException("scipy would resize axis " + d + " from " + in[d] + " to "
                        + (long) zoomShape + ", not " + out[d]);
            }
            double sigma = Math.max(0.0, (factor - 1) / 2);
            if (sigma > 1e-15) a = gaussian(a, in, d, sigma);
        }
        for (int d = 0; d < 3; d++) {
            if (in[d] > 1) splineFilter(a, in, d);
        }
        double[] result = zoom(par, a, in, out);
        for (int i = 0; i < result.length; i++) {
            double v = result[i];
            result[i] = v < lo ? lo : (v > hi ? hi : v);
        }
        return result;
    }

    // ------------------------------------------------------------------ line helpers

    private static int[] strides(int[] dims) {
        return new int[] {dims[1] * dims[2], dims[2], 1};
    }

    /** Calls {@code body(first element index)} for every line of {@code dims} along {@code axis}. */
    private static void forEachLine(int[] dims, int axis, java.util.function.IntConsumer body) {
        int[] st = strides(dims);
        int o1 = axis == 0 ? 1 : 0;
        int o2 = axis == 2 ? 1 : 2;
        for (int i = 0; i < dims[o1]; i++) {
            for (int j = 0; j < dims[o2]; j++) body.accept(i * st[o1] + j * st[o2]);
        }
    }

    /** SciPy's integer mirror ({@code mode='mirror'}, period 2n − 2) of an index into {@code [0, n)}. */
    static int mirrorIndex(long idx, int n) {
        if (n <= 1) return 0;
        long s2 = 2L * n - 2;
        if (idx < 0) {
            idx = s2 * (-idx / s2) + idx;
            idx = idx <= 1 - n ? idx + s2 : -idx;
        } else if (idx >= n) {
            idx -= s2 * (idx / s2);
            if (idx >= n) idx = s2 - idx;
        }
        return (int) idx;
    }

    // ------------------------------------------------------------------ Gaussian anti-aliasing

    /** The Gaussian kernel as {@code scipy.ndimage._gaussian_kernel1d(sigma, 0, radius)}. */
    static double[] gaussianKernel(double sigma, int radius) {
        double c = -0.5 / (sigma * sigma);
        double[] phi = new double[2 * radius + 1];
        for (int i = 0; i < phi.length; i++) {
            long x = i - radius;
            phi[i] = exp(c * (double) (x * x));
        }
        double sum = 0.0 + pairwiseSum(phi, 0, phi.length);
        for (int i = 0; i < phi.length; i++) phi[i] = phi[i] / sum;
        return phi;
    }

    /** numpy's pairwise summation of float64 ({@code pairwise_sum_DOUBLE}): 8 accumulators, blocks of 128. */
    static double pairwiseSum(double[] a, int from, int n) {
        if (n < 8) {
            double r = 0.0;
            for (int i = 0; i < n; i++) r += a[from + i];
            return r;
        }
        if (n <= 128) {
            double[] r = new double[8];
            System.arraycopy(a, from, r, 0, 8);
            int i = 8;
            for (; i < n - (n % 8); i += 8) {
                for (int j = 0; j < 8; j++) r[j] += a[from + i + j];
            }
            double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
            for (; i < n; i++) res += a[from + i];
            return res;
        }
        int n2 = n / 2;
        n2 -= n2 % 8;
        return pairwiseSum(a, from, n2) + pairwiseSum(a, from + n2, n - n2);
    }

    /** {@code gaussian_filter1d} along {@code axis}, mode mirror, into a new array. */
    private static double[] gaussian(double[] a, int[] dims, int axis, double sigma) {
        int radius = (int) (TRUNCATE * sigma + 0.5);
        double[] k = gaussianKernel(sigma, radius);
        double[] fw = new double[k.length]; // correlate1d gets the kernel reversed
        for (int i = 0; i < k.length; i++) fw[i] = k[k.length - 1 - i];
        for (int i = 1; i <= radius; i++) {
            if (Math.abs(fw[radius + i] - fw[radius - i]) > Math.ulp(1.0)) {
                throw new IllegalStateException("Gaussian kernel not symmetric"); // cannot happen: exp of equal arguments
            }
        }
        int n = dims[axis];
        int stride = strides(dims)[axis];
        double[] out = new double[a.length];
        double[] line = new double[n + 2 * radius];
        forEachLine(dims, axis, base -> {
            for (int i = -radius; i < n + radius; i++) line[i + radius] = a[base + mirrorIndex(i, n) * stride];
            for (int l = 0; l < n; l++) {
                int c = l + radius;
                double v = line[c] * fw[radius];
                for (int j = -radius; j < 0; j++) v += (line[c + j] + line[c - j]) * fw[radius + j];
                out[base + l * stride] = v;
            }
        });
        return out;
    }

    // ------------------------------------------------------------------ B-spline prefilter

    /** {@code spline_filter1d(order=3, mode='mirror')} along {@code axis}, in place. */
    private static void splineFilter(double[] a, int[] dims, int axis) {
        int n = dims[axis];
        int stride = strides(dims)[axis];
        double[] c = new double[n];
        double zn1 = pow(POLE, n - 1);
        forEachLine(dims, axis, base -> {
            for (int i = 0; i < n; i++) c[i] = a[base + i * stride];
            splineLine(c, n, POLE, zn1);
            for (int i = 0; i < n; i++) a[base + i * stride] = c[i];
        });
    }

    /**
     * One line of the cubic prefilter: gain, causal pass with mirror init, anticausal pass with mirror init.
     * {@code zn1} is {@code z^(n−1)}.
     */
    static void splineLine(double[] c, int n, double z, double zn1) {
        double gain = 1.0;
        gain *= (1.0 - z) * (1.0 - 1.0 / z);
        for (int i = 0; i < n; i++) c[i] *= gain;

        double zi = z;
        c[0] = c[0] + zn1 * c[n - 1];
        for (int i = 1; i < n - 1; i++) {
            c[0] += zi * (c[i] + zn1 * c[n - 1 - i]);
            zi *= z;
        }
        c[0] /= 1 - zn1 * zn1;
        for (int i = 1; i < n; i++) c[i] += z * c[i - 1];

        c[n - 1] = (z * c[n - 2] + c[n - 1]) * z / (z * z - 1);
        for (int i = n - 2; i >= 0; i--) c[i] = z * (c[i + 1] - c[i]);
    }

    // ------------------------------------------------------------------ elementary functions

    private static final MathContext WIDE = new MathContext(60, RoundingMode.HALF_EVEN);

    /**
     * {@code e^x} correctly rounded (a 60-digit series, then one rounding to double). libm's {@code exp} (glibc) is
     * within 0.502 ulp, so this agrees with it except for arguments whose result lies almost exactly halfway between
     * two doubles; {@link Math#exp} and {@link StrictMath#exp} disagree with glibc more often. Used for the few
     * Gaussian weights per resize, so speed does not matter.
     */
    static double exp(double x) {
        if (x == 0) return 1.0;
        if (Double.isNaN(x) || Double.isInfinite(x) || Math.abs(x) > 700) return Math.exp(x);
        BigDecimal ax = new BigDecimal(Math.abs(x));
        BigDecimal sum = BigDecimal.ONE;
        BigDecimal term = BigDecimal.ONE;
        for (int n = 1; ; n++) {
            term = term.multiply(ax, WIDE).divide(BigDecimal.valueOf(n), WIDE);
            sum = sum.add(term, WIDE);
            if (term.compareTo(sum.movePointLeft(62)) < 0) break;
        }
        if (x < 0) sum = BigDecimal.ONE.divide(sum, WIDE);
        return sum.doubleValue();
    }

    /** {@code z^k} correctly rounded, as glibc's {@code pow} gives it (checked for the spline pole, k < 3000). */
    static double pow(double z, int k) {
        return new BigDecimal(z).pow(k, WIDE).doubleValue();
    }

    // ------------------------------------------------------------------ zoom

    /** Source taps and cubic B-spline weights for every output index along one axis. */
    private record AxisTaps(int[] index, double[] weight) {
        static AxisTaps of(int in, int out, int stride) {
            double zoom = (double) in / out;
            int[] index = new int[out * 4];
            double[] weight = new double[out * 4];
            for (int k = 0; k < out; k++) {
                double cc = k;
                cc += 0.5;
                cc *= zoom;
                cc -= 0.5;
                cc = mapCoordinate(cc, in);
                long start = (long) Math.floor(cc) - 1;
                for (int h = 0; h < 4; h++) index[k * 4 + h] = mirrorIndex(start + h, in) * stride;
                splineWeights(cc, weight, k * 4);
            }
            return new AxisTaps(index, weight);
        }
    }

    /** SciPy's {@code map_coordinate} for mode mirror: folds a source coordinate back into {@code [0, len − 1]}. */
    static double mapCoordinate(double in, int len) {
        if (in < 0) {
            if (len <= 1) return 0;
            long sz2 = 2L * len - 2;
            in = sz2 * (long) (-in / sz2) + in;
            in = in <= 1 - len ? in + sz2 : -in;
        } else if (in > len - 1) {
            if (len <= 1) return 0;
            long sz2 = 2L * len - 2;
            in -= sz2 * (long) (in / sz2);
            if (in >= len) in = sz2 - in;
        }
        return in;
    }

    /** The four cubic B-spline weights at {@code x} (SciPy's {@code get_spline_interpolation_weights}, order 3). */
    static void splineWeights(double x, double[] w, int off) {
        x -= Math.floor(x);
        double y = x;
        double z = 1.0 - x;
        w[off + 1] = (y * y * (y - 2.0) * 3.0 + 4.0) / 6.0;
        w[off + 2] = (z * z * (z - 2.0) * 3.0 + 4.0) / 6.0;
        w[off] = z * z * z / 6.0;
        double last = 1.0;
        last -= w[off];
        last -= w[off + 1];
        last -= w[off + 2];
        w[off + 3] = last;
    }

    private static double[] zoom(Parallel par, double[] coeffs, int[] in, int[] out) {
        int[] st = strides(in);
        AxisTaps t0 = AxisTaps.of(in[0], out[0], st[0]);
        AxisTaps t1 = AxisTaps.of(in[1], out[1], st[1]);
        AxisTaps t2 = AxisTaps.of(in[2], out[2], st[2]);
        double[] result = new double[out[0] * out[1] * out[2]];
        int outW = out[1];
        int outC = out[2];
        par.forRange(out[0], i -> {
            int row = i * outW * outC;
            for (int j = 0; j < outW; j++) {
                for (int c = 0; c < outC; c++) {
                    double t = 0.0;
                    for (int a = 0; a < 4; a++) {
                        int ia = t0.index[i * 4 + a];
                        double wa = t0.weight[i * 4 + a];
                        for (int b = 0; b < 4; b++) {
                            int ib = ia + t1.index[j * 4 + b];
                            double wb = t1.weight[j * 4 + b];
                            for (int e = 0; e < 4; e++) {
                                double coeff = coeffs[ib + t2.index[c * 4 + e]];
                                coeff *= wa;
                                coeff *= wb;
                                coeff *= t2.weight[c * 4 + e];
                                t += coeff;
                            }
                        }
                    }
                    result[row + j * outC + c] = t;
                }
            }
        });
        return result;
    }
}
