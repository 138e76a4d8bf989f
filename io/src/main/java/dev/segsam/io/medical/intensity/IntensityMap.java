package dev.segsam.io.medical.intensity;

import dev.segsam.io.medical.Slice2D;
import dev.segsam.tensor.image.RgbImage;

/**
 * A linear map from voxel values to 8-bit grey, MedSAM style: clip to {@code [low, high]}, scale to 0–255 and
 * truncate ({@code np.uint8} of the float), i.e. {@code grey = (int) ((clip(v) − low) / (high − low) · 255)}.
 * With {@code keepZero}, voxels exactly 0 stay 0 (MedSAM's MR rule, which keeps the background black). With
 * {@code invert}, grey becomes 255 − grey (for DICOM MONOCHROME1). NaN maps to 0; {@code high ≤ low} maps all to 0.
 */
public record IntensityMap(double low, double high, boolean keepZero, boolean invert) {
    public IntensityMap {
        if (Double.isNaN(low) || Double.isNaN(high)) throw new IllegalArgumentException("intensity range [" + low + ", " + high + "]");
    }

    public IntensityMap(double low, double high, boolean keepZero) {
        this(low, high, keepZero, false);
    }

    public IntensityMap inverted(boolean inv) {
        return new IntensityMap(low, high, keepZero, inv);
    }

    /** Grey value 0–255 of one voxel value. */
    public int gray(float v) {
        int g;
        if (Float.isNaN(v) || (keepZero && v == 0) || !(high > low)) {
            g = 0;
        } else {
            double c = Math.min(Math.max(v, low), high);
            g = (int) ((c - low) / (high - low) * 255.0);
        }
        return invert ? 255 - g : g;
    }

    /** One grey byte per value. */
    public byte[] toGray8(float[] values) {
        byte[] g = new byte[values.length];
        for (int i = 0; i < values.length; i++) g[i] = (byte) gray(values[i]);
        return g;
    }

    /** The slice as an RGB image with the grey value in all three channels (what SAM takes). */
    public RgbImage toRgb(Slice2D s) {
        return grayToRgb(toGray8(s.values()), s.width(), s.height());
    }

    /** Replicates a grey image into R, G and B. */
    public static RgbImage grayToRgb(byte[] gray, int width, int height) {
        if ((long) width * height != gray.length) throw new IllegalArgumentException(width + "x" + height + " grey image with " + gray.length + " bytes");
        byte[] rgb = new byte[gray.length * 3];
        for (int i = 0; i < gray.length; i++) {
            rgb[3 * i] = gray[i];
            rgb[3 * i + 1] = gray[i];
            rgb[3 * i + 2] = gray[i];
        }
        return new RgbImage(width, height, rgb);
    }
}
