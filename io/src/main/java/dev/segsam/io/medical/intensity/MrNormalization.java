package dev.segsam.io.medical.intensity;

import dev.segsam.io.medical.Volume;
import dev.segsam.tensor.Tensor;
import java.util.Arrays;

/**
 * MedSAM's MR (and non-CT) normalisation: the 0.5 and 99.5 percentiles of the voxels <b>greater than 0</b> (MedSAM
 * {@code pre_CT_MR.py} uses {@code image_data > 0}; for non-negative MR this is "the non-zero voxels") give the range;
 * values are clipped to it and scaled to 0–255, and voxels that are exactly 0 stay 0. Percentiles are numpy's
 * default ("linear") method, computed over the whole volume, as MedSAM does.
 */
public final class MrNormalization {
    public static final double LOW_PERCENTILE = 0.5;
    public static final double HIGH_PERCENTILE = 99.5;

    private MrNormalization() {}

    /** The MedSAM MR map for {@code values} (0.5–99.5 % of the positive voxels, zeros kept). */
    public static IntensityMap of(float[] values) {
        return of(values, LOW_PERCENTILE, HIGH_PERCENTILE);
    }

    public static IntensityMap of(float[] values, double lowPct, double highPct) {
        int n = 0;
        for (float v : values) if (v > 0) n++;
        float[] pos = new float[n];
        n = 0;
        for (float v : values) if (v > 0) pos[n++] = v;
        return fromPositive(pos, lowPct, highPct);
    }

    /** The MedSAM MR map over every voxel of {@code v}. */
    public static IntensityMap of(Volume v) {
        Tensor t = v.data();
        long total = t.numel();
        float[] buf = new float[(int) Math.min(total, 1 << 16)];
        int n = 0;
        for (long at = 0; at < total; at += buf.length) {
            int len = (int) Math.min(buf.length, total - at);
            t.read(at, buf, 0, len);
            for (int i = 0; i < len; i++) if (buf[i] > 0) n++;
        }
        float[] pos = new float[n];
        n = 0;
        for (long at = 0; at < total; at += buf.length) {
            int len = (int) Math.min(buf.length, total - at);
            t.read(at, buf, 0, len);
            for (int i = 0; i < len; i++) if (buf[i] > 0) pos[n++] = buf[i];
        }
        return fromPositive(pos, LOW_PERCENTILE, HIGH_PERCENTILE);
    }

    private static IntensityMap fromPositive(float[] pos, double lowPct, double highPct) {
        if (pos.length == 0) return new IntensityMap(0, 0, true);
        Arrays.sort(pos);
        return new IntensityMap(percentile(pos, lowPct), percentile(pos, highPct), true);
    }

    /**
     * numpy's {@code percentile(a, p)} with the default linear method, for sorted {@code a}: index (n − 1)·p/100,
     * interpolated as numpy's {@code _lerp} does (from the upper neighbour when the weight is ≥ 0.5).
     */
    public static double percentile(float[] sorted, double p) {
        int n = sorted.length;
        if (n == 0) throw new IllegalArgumentException("percentile of no values");
        double q = p / 100.0;
        double vi = (n - 1) * q;
        double below = Math.floor(vi);
        int lo = (int) Math.max(0, Math.min(below, n - 1));
        int hi = Math.min(lo + 1, n - 1);
        double t = vi - below;
        double a = sorted[lo], b = sorted[hi];
        double diff = b - a;
        return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
    }
}
