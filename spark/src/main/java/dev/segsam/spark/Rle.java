package dev.segsam.spark;

import java.util.Arrays;

/**
 * Run-length encodings of the per-pixel outputs in the Parquet rows, row-major over the original image:
 * <ul>
 *   <li>a binary mask M̂_b as alternating run lengths, starting with a run of background (possibly of length 0):
 *       {@code [3, 2, 4]} is 3 pixels out, 2 in, 4 out;</li>
 *   <li>a label map (argmax of M̂_s, 0 = background, k = class k) as {@code (label, run length)} pairs.</li>
 * </ul>
 */
public final class Rle {
    private Rle() {}

    /** Alternating run lengths of {@code mask}, the first a run of {@code false}. */
    public static int[] mask(boolean[] mask) {
        int[] runs = new int[8];
        int n = 0, len = 0;
        boolean cur = false;
        for (boolean b : mask) {
            if (b != cur) {
                if (n == runs.length) runs = Arrays.copyOf(runs, 2 * n);
                runs[n++] = len;
                len = 0;
                cur = b;
            }
            len++;
        }
        if (n == runs.length) runs = Arrays.copyOf(runs, n + 1);
        runs[n++] = len;
        return Arrays.copyOf(runs, n);
    }

    /** The mask of {@link #mask(boolean[])}'s runs; they must add up to {@code size}. */
    public static boolean[] decodeMask(int[] runs, int size) {
        boolean[] m = new boolean[size];
        int at = 0;
        for (int i = 0; i < runs.length; i++) {
            if (runs[i] < 0 || at + runs[i] > size) throw new IllegalArgumentException("runs exceed " + size + " pixels");
            if (i % 2 == 1) Arrays.fill(m, at, at + runs[i], true);
            at += runs[i];
        }
        if (at != size) throw new IllegalArgumentException("runs cover " + at + " of " + size + " pixels");
        return m;
    }

    /** {@code (label, run length)} pairs of {@code labels}. */
    public static int[] labels(int[] labels) {
        int[] runs = new int[16];
        int n = 0;
        for (int i = 0; i < labels.length; ) {
            int j = i;
            while (j < labels.length && labels[j] == labels[i]) j++;
            if (n + 2 > runs.length) runs = Arrays.copyOf(runs, 2 * runs.length);
            runs[n++] = labels[i];
            runs[n++] = j - i;
            i = j;
        }
        return Arrays.copyOf(runs, n);
    }

    /** The label map of {@link #labels(int[])}'s pairs; they must cover {@code size} pixels. */
    public static int[] decodeLabels(int[] pairs, int size) {
        if (pairs.length % 2 != 0) throw new IllegalArgumentException("label runs come in (label, length) pairs");
        int[] m = new int[size];
        int at = 0;
        for (int i = 0; i < pairs.length; i += 2) {
            int len = pairs[i + 1];
            if (len <= 0 || at + len > size) throw new IllegalArgumentException("label runs exceed " + size + " pixels");
            Arrays.fill(m, at, at + len, pairs[i]);
            at += len;
        }
        if (at != size) throw new IllegalArgumentException("label runs cover " + at + " of " + size + " pixels");
        return m;
    }
}
