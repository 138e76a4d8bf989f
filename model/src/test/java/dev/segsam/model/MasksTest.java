package dev.segsam.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.junit.jupiter.api.Test;

class MasksTest {
    @Test
    void boxIsTightWithExclusiveEdges() {
        int w = 5, h = 4;
        boolean[] m = new boolean[w * h];
        m[1 * w + 2] = true; // (2, 1)
        m[3 * w + 0] = true; // (0, 3)
        assertArrayEquals(new int[] {0, 1, 3, 4}, Masks.bbox(m, w, h));
        assertEquals(2, Masks.area(m));
        byte[] b = new byte[w * h];
        b[4] = 7; // (4, 0)
        assertArrayEquals(new int[] {4, 0, 5, 1}, Masks.bbox(b, w, h));
        assertNull(Masks.bbox(new boolean[w * h], w, h));
        assertNull(Masks.bbox(new byte[w * h], w, h));
        assertThrows(IllegalArgumentException.class, () -> Masks.bbox(m, 4, 4));
    }

    /** Against the definition: every inside pixel lies in the box and each edge touches one. */
    @Test
    void randomMasksAgreeWithTheDefinition() {
        Random rnd = new Random(3);
        for (int t = 0; t < 50; t++) {
            int w = 1 + rnd.nextInt(20), h = 1 + rnd.nextInt(20);
            boolean[] m = new boolean[w * h];
            for (int i = 0; i < m.length; i++) m[i] = rnd.nextInt(10) == 0;
            int[] bb = Masks.bbox(m, w, h);
            if (Masks.area(m) == 0) {
                assertNull(bb);
                continue;
            }
            boolean left = false, top = false, right = false, bottom = false;
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    if (!m[y * w + x]) continue;
                    assertEquals(true, x >= bb[0] && x < bb[2] && y >= bb[1] && y < bb[3]);
                    left |= x == bb[0];
                    right |= x == bb[2] - 1;
                    top |= y == bb[1];
                    bottom |= y == bb[3] - 1;
                }
            }
            assertEquals(true, left && right && top && bottom);
        }
    }
}
