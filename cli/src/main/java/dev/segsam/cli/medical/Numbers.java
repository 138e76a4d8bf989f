package dev.segsam.cli.medical;

import java.util.Locale;

/** How the medical commands print measurements: integers as integers, others with up to 6 significant digits. */
final class Numbers {
    private Numbers() {}

    /** {@code 2} for 2.0, {@code 0.976562} for 0.9765625, {@code -1024} for -1024.0. */
    static String format(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e12) return Long.toString((long) v);
        return String.format(Locale.ROOT, "%.6g", v).replaceAll("(\\.\\d*?)0+$", "$1").replaceAll("\\.$", "");
    }
}
