package dev.segsam.io.medical.dataset;

/**
 * One object's binary mask on a {@code width × height} image: {@code mask[y * width + x]} is 1 inside, 0 outside.
 * {@code instance} numbers objects of the same class on one image from 1.
 */
public record InstanceMask(int classId, String className, int instance, int width, int height, byte[] mask) {
    public InstanceMask {
        if ((long) width * height != mask.length) throw new IllegalArgumentException(width + "x" + height + " mask with " + mask.length + " bytes");
    }

    /** Pixels inside. */
    public int area() {
        int n = 0;
        for (byte b : mask) if (b != 0) n++;
        return n;
    }

    /** Inclusive bounding box {@code [xMin, yMin, xMax, yMax]} (SAM's XYXY box prompt), or null for an empty mask. */
    public int[] bbox() {
        int x0 = width, y0 = height, x1 = -1, y1 = -1;
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                if (mask[y * width + x] != 0) {
                    x0 = Math.min(x0, x);
                    x1 = Math.max(x1, x);
                    y0 = Math.min(y0, y);
                    y1 = Math.max(y1, y);
                }
            }
        }
        return x1 < 0 ? null : new int[] {x0, y0, x1, y1};
    }

    public boolean get(int x, int y) {
        return mask[y * width + x] != 0;
    }
}
