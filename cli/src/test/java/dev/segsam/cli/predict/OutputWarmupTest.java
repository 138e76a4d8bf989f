package dev.segsam.cli.predict;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.model.Masks;
import dev.segsam.model.Prompt;
import org.junit.jupiter.api.Test;

/** The warm-up mask {@link OutputWarmup} draws its pictures from: shaped like a real one, inside the image. */
class OutputWarmupTest {
    @Test
    void aBoxPromptGivesTheFilledBox() {
        boolean[] m = OutputWarmup.shape(Prompt.box(10, 5, 40, 25), 60, 30);
        assertEquals(30 * 20, Masks.area(m));
        assertArrayEquals(new int[] {10, 5, 40, 25}, Masks.bbox(m, 60, 30)); // end exclusive
    }

    @Test
    void aPointPromptGivesADiscAroundItClippedToTheImage() {
        boolean[] m = OutputWarmup.shape(Prompt.point(2, 20, true), 80, 40); // radius 40 / 8 = 5, cut at x = 0
        int area = Masks.area(m);
        assertTrue(m[20 * 80 + 2] && !m[20 * 80 + 10] && !m[0], "disc around (2, 20)");
        assertTrue(area > 40 && area < Math.PI * 25, "clipped disc area " + area);
        int[] bb = Masks.bbox(m, 80, 40);
        assertEquals(0, bb[0]);
        assertTrue(bb[1] >= 15 && bb[3] <= 25, "rows " + bb[1] + ".." + bb[3]);
    }
}
