package dev.segsam.model;

/**
 * Small measurements of binary masks stored row-major ({@code mask[y * w + x]}): the predicted masks M̂_b
 * ({@code boolean[]}) and label masks ({@code byte[]}, non-zero = inside). Boxes are {@code {x0, y0, x1, y1}} in pixels
 * with exclusive right and bottom edges, the form SAM's box prompts take.
 */
public final class Masks {
    private Masks() {}

    /** Pixels inside. */
    public static int area(boolean[] mask) {
        int a = 0;
        for (boolean b : mask) if (b) a++;
        return a;
    }

    /** The tight box {@code {x0, y0, x1 + 1, y1 + 1}} of the pixels inside, or null for an empty mask. */
    public static int[] bbox(boolean[] mask, int w, int h) {
        check(mask.length, w, h);
        int x0 = w, y0 = h, x1 = -1, y1 = -1;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                if (!mask[y * w + x]) continue;
                x0 = Math.min(x0, x);
                y0 = Math.min(y0, y);
                x1 = Math.max(x1, x);
                y1 = Math.max(y1, y);
            }
        }
        return x1 < 0 ? null : new int[] {x0, y0, x1 + 1, y1 + 1};
    }

    /** The tight box of the non-zero pixels, or null when there are none. */
    public static int[] bbox(byte[] mask, int w, int h) {
        boolean[] m = new boolean[mask.length];
        for (int i = 0; i < m.length; i++) m[i] = mask[i] != 0;
        return bbox(m, w, h);
    }

    private static void check(int length, int w, int h) {
        if (w < 0 || h < 0 || (long) w * h != length) throw new IllegalArgumentException("mask of " + length + " values is not " + w + "x" + h);
    }
}
