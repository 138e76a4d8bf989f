package dev.segsam.io.image;

/**
 * How samples wider than 8 bits become the 8-bit values SAM takes. The default, used by {@link ImageFiles#read} for
 * 16-bit images (grey or RGB), is a min–max stretch over the whole image:
 * {@code round((v − min) · 255 / (max − min))} with halves rounded up, computed exactly in integers; a constant image
 * maps to 0. For RGB the minimum and maximum are taken over all three channels together, so colours keep their
 * relations. (Medical formats will add CT windows as further mappings.)
 */
public final class IntensityMapping {
    private IntensityMapping() {}

    /** {@code {min, max}} of {@code samples} ({@code {0, 0}} when empty). */
    public static int[] minMax(int[] samples) {
        if (samples.length == 0) return new int[] {0, 0};
        int lo = Integer.MAX_VALUE;
        int hi = Integer.MIN_VALUE;
        for (int v : samples) {
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        return new int[] {lo, hi};
    }

    /** One sample mapped by the min–max stretch over {@code [min, max]}; values outside are clamped. */
    public static int minMaxTo8Bit(int v, int min, int max) {
        if (max <= min) return 0;
        long r = (long) max - min;
        long d = Math.clamp((long) v - min, 0, r);
        return (int) ((2 * d * 255 + r) / (2 * r));
    }

    /** Every sample mapped by the min–max stretch over the samples' own minimum and maximum. */
    public static byte[] minMaxTo8Bit(int[] samples) {
        int[] mm = minMax(samples);
        return minMaxTo8Bit(samples, mm[0], mm[1]);
    }

    /** Every sample mapped by the min–max stretch over {@code [min, max]}. */
    public static byte[] minMaxTo8Bit(int[] samples, int min, int max) {
        byte[] out = new byte[samples.length];
        for (int i = 0; i < samples.length; i++) out[i] = (byte) minMaxTo8Bit(samples[i], min, max);
        return out;
    }
}
