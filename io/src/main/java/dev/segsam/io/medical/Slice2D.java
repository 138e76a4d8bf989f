package dev.segsam.io.medical;

/**
 * A 2-D slice of a {@link Volume}: {@code width × height} float values, row-major ({@code values[y * width + x]}).
 * The array is owned by the slice (a copy of the volume's values).
 */
public record Slice2D(int width, int height, float[] values) {
    public Slice2D {
        if (width <= 0 || height <= 0 || (long) width * height != values.length) {
            throw new IllegalArgumentException("slice " + width + "x" + height + " with " + values.length + " values");
        }
    }

    public float get(int x, int y) {
        return values[y * width + x];
    }
}
