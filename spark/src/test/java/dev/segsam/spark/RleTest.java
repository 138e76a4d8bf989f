package dev.segsam.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The run-length formats of the Parquet rows, on hand-made masks (the format as docs/DISTRIBUTED.md states it). */
class RleTest {
    @Test
    void maskRunsAlternateStartingWithBackground() {
        assertArrayEquals(new int[] {2, 3, 1}, Rle.mask(new boolean[] {false, false, true, true, true, false}));
        assertArrayEquals(new int[] {0, 1, 1}, Rle.mask(new boolean[] {true, false}));
        assertArrayEquals(new int[] {3}, Rle.mask(new boolean[3]));
        assertArrayEquals(new int[] {0}, Rle.mask(new boolean[0]));
        boolean[] m = new boolean[1000];
        for (int i = 0; i < m.length; i++) m[i] = (i / 7) % 3 == 1;
        assertArrayEquals(m, Rle.decodeMask(Rle.mask(m), m.length));
        assertThrows(IllegalArgumentException.class, () -> Rle.decodeMask(new int[] {2, 3}, 6));
    }

    @Test
    void labelRunsArePairs() {
        assertArrayEquals(new int[] {0, 2, 2, 3, 1, 1}, Rle.labels(new int[] {0, 0, 2, 2, 2, 1}));
        assertArrayEquals(new int[] {5, 5, 5, 5, 0, 5}, Rle.decodeLabels(new int[] {5, 4, 0, 1, 5, 1}, 6));
        assertThrows(IllegalArgumentException.class, () -> Rle.decodeLabels(new int[] {1, 2, 3}, 5));
    }
}
