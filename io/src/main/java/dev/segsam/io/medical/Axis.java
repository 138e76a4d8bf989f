package dev.segsam.io.medical;

import java.util.Locale;

/**
 * A voxel axis of a {@link Volume}: {@code X} is the fastest-varying index i (NIfTI i, DICOM column), {@code Y} the
 * index j (NIfTI j, DICOM row), {@code Z} the slowest index k (NIfTI k, DICOM slice/frame). These are voxel axes,
 * not patient directions: which anatomical plane a slice shows depends on the volume's affine.
 */
public enum Axis {
    X, Y, Z;

    /** Parses {@code x}, {@code y} or {@code z} (any case). */
    public static Axis parse(String s) {
        return switch (s == null ? "" : s.trim().toLowerCase(Locale.ROOT)) {
            case "x", "i" -> X;
            case "y", "j" -> Y;
            case "z", "k" -> Z;
            default -> throw new IllegalArgumentException("axis must be x, y or z, got '" + s + "'");
        };
    }

    /** Index into {@code [x, y, z]} arrays (0, 1, 2). */
    public int index() {
        return ordinal();
    }
}
