package dev.segsam.model.preprocess;

/**
 * SAM's {@code ResizeLongestSide} arithmetic ({@code segment_anything/utils/transforms.py}; {@code docs/design/sam.md}
 * §4.1 and §4.4): the resized shape for a longest side, and the mapping of prompt coordinates from original pixels to
 * the resized frame. The maths is done in double, as numpy does it, and the coordinates are then rounded to float32,
 * as {@code torch.as_tensor(..., dtype=torch.float)} does.
 */
public final class SamTransform {
    private SamTransform() {}

    /** The resized shape, trunc(old·scale + 0.5) with {@code scale = longSide / max(oldH, oldW)}. */
    public record Shape(int height, int width) {}

    /**
     * {@code get_preprocess_shape(oldH, oldW, longSide)}. An image whose short side would round to 0 pixels (long side
     * more than {@code 2 · longSide} times the short one, e.g. 1×5000 for 1024) is refused with an
     * {@link IllegalArgumentException} naming its size: SAM computes the same empty size and fails in its resize.
     */
    public static Shape preprocessShape(int oldH, int oldW, int longSide) {
        if (oldH <= 0 || oldW <= 0 || longSide <= 0) {
            throw new IllegalArgumentException("sizes must be positive: " + oldH + "x" + oldW + " -> " + longSide);
        }
        double scale = longSide * 1.0 / Math.max(oldH, oldW);
        double newH = oldH * scale;
        double newW = oldW * scale;
        Shape s = new Shape((int) (newH + 0.5), (int) (newW + 0.5));
        if (s.height() < 1 || s.width() < 1) {
            // SAM computes the same 0 here and then fails inside Pillow ("height and width must be > 0")
            throw new IllegalArgumentException("a " + oldW + "x" + oldH + " image is too elongated for a " + longSide
                    + "-pixel input: scaling its long side to " + longSide + " leaves its short side "
                    + (s.height() < 1 ? s.height() : s.width()) + " pixels (the long side may be at most "
                    + 2 * longSide + " times the short one); crop or pad it first");
        }
        return s;
    }

    /**
     * {@code apply_coords} for one point: {@code x·(newW/oldW)}, {@code y·(newH/oldH)} in double, then float32.
     * Returns {@code {x', y'}}.
     */
    public static float[] applyCoords(double x, double y, int oldH, int oldW, int longSide) {
        Shape s = preprocessShape(oldH, oldW, longSide);
        return new float[] {(float) (x * ((double) s.width() / oldW)), (float) (y * ((double) s.height() / oldH))};
    }

    /**
     * {@code apply_coords} for interleaved points {@code x0, y0, x1, y1, …} (also the XYXY corners of boxes, which
     * {@code apply_boxes} maps as two points). Returns a new float32 array of the same length.
     */
    public static float[] applyCoords(double[] xy, int oldH, int oldW, int longSide) {
        if (xy.length % 2 != 0) throw new IllegalArgumentException("coordinates come in x, y pairs; got " + xy.length + " values");
        Shape s = preprocessShape(oldH, oldW, longSide);
        double sx = (double) s.width() / oldW;
        double sy = (double) s.height() / oldH;
        float[] out = new float[xy.length];
        for (int i = 0; i < xy.length; i += 2) {
            out[i] = (float) (xy[i] * sx);
            out[i + 1] = (float) (xy[i + 1] * sy);
        }
        return out;
    }

    /** {@code apply_boxes} for one XYXY box: both corners mapped by {@link #applyCoords(double[], int, int, int)}. */
    public static float[] applyBox(double x0, double y0, double x1, double y1, int oldH, int oldW, int longSide) {
        return applyCoords(new double[] {x0, y0, x1, y1}, oldH, oldW, longSide);
    }
}
