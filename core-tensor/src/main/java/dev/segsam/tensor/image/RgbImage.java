package dev.segsam.tensor.image;

/**
 * An 8-bit RGB image: {@code rgb} holds {@code height × width × 3} bytes, row-major, channels interleaved (R, G, B),
 * each byte an unsigned value 0–255 — the {@code uint8 [H, W, 3]} array that SAM's predictor takes. Shared by the
 * readers in {@code io} (which decode files and map grey/16-bit images to it) and the preprocessing in {@code model}.
 */
public record RgbImage(int width, int height, byte[] rgb) {
    public RgbImage {
        if (width <= 0 || height <= 0) throw new IllegalArgumentException("image size " + width + "x" + height);
        if ((long) width * height * 3 != rgb.length) {
            throw new IllegalArgumentException(width + "x" + height + " RGB needs " + (long) width * height * 3 + " bytes, got " + rgb.length);
        }
    }

    /** A black image. */
    public static RgbImage black(int width, int height) {
        return new RgbImage(width, height, new byte[Math.multiplyExact(Math.multiplyExact(width, height), 3)]);
    }

    /** Channel {@code c} (0 R, 1 G, 2 B) at column {@code x}, row {@code y}, as 0–255. */
    public int get(int x, int y, int c) {
        return rgb[(y * width + x) * 3 + c] & 0xFF;
    }

    public void set(int x, int y, int c, int value) {
        rgb[(y * width + x) * 3 + c] = (byte) value;
    }
}
