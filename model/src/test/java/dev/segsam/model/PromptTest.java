package dev.segsam.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.model.preprocess.Preprocessor;
import dev.segsam.model.preprocess.SamTransform;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.image.RgbImage;
import org.junit.jupiter.api.Test;

/** {@link Prompt}: factories, immutability, validation with one-line messages, token counts, the coordinate mapping. */
class PromptTest {
    @Test
    void factoriesBuildWhatTheyName() {
        Prompt p = Prompt.box(40, 30, 200, 180);
        assertArrayEquals(new float[] {40, 30, 200, 180}, p.box());
        assertEquals(0, p.pointCount());
        assertFalse(p.multimask());
        assertNull(p.mask());

        Prompt q = Prompt.point(12, 34, true).withPoint(56, 78, false).withBox(1, 2, 90, 80).multimask(true);
        assertEquals(2, q.pointCount());
        assertEquals(12, q.pointX(0));
        assertEquals(34, q.pointY(0));
        assertTrue(q.isPositive(0));
        assertEquals(1, q.label(0));
        assertEquals(56, q.pointX(1));
        assertEquals(78, q.pointY(1));
        assertFalse(q.isPositive(1));
        assertEquals(0, q.label(1));
        assertArrayEquals(new float[] {1, 2, 90, 80}, q.box());
        assertTrue(q.multimask());
        assertThrows(IndexOutOfBoundsException.class, () -> q.pointX(2));

        Tensor m = Tensor.zeros(1, 1, 8, 8);
        assertSame(m, Prompt.mask(m).mask());
        assertSame(m, p.withMask(m).mask());
        assertNull(p.withMask(m).withMask(null).mask());

        assertEquals(q, Prompt.of(new float[][] {{12, 34}, {56, 78}}, new int[] {1, 0}, new float[] {1, 2, 90, 80}, null, true));
        assertEquals(q.hashCode(), Prompt.of(new float[][] {{12, 34}, {56, 78}}, new int[] {1, 0}, new float[] {1, 2, 90, 80}, null, true).hashCode());
        assertNotEquals(q, q.multimask(false));
        assertTrue(q.toString().contains("box 1,2,90,80") && q.toString().contains("+(12, 34)") && q.toString().contains("multimask"), q.toString());
    }

    @Test
    void promptsAreImmutable() {
        Prompt p = Prompt.point(1, 2, true);
        Prompt q = p.withPoint(3, 4, false).withBox(0, 0, 5, 5).multimask(true);
        assertEquals(1, p.pointCount());
        assertFalse(p.hasBox());
        assertFalse(p.multimask());
        assertEquals(2, q.pointCount());
        float[] box = q.box();
        box[0] = 99;
        assertEquals(0, q.box()[0], "box() is a copy");
        float[] src = {1, 2, 3, 4};
        Prompt r = Prompt.of(null, null, src, null, false);
        src[0] = 99;
        assertEquals(1, r.box()[0], "of() copies the box");
        assertSame(p, p.multimask(false));
    }

    @Test
    void badPromptsFailOnceInOneLine() {
        String[][] cases = {
            {msg(() -> Prompt.box(Float.NaN, 0, 1, 1)), "box x0 is not a finite number"},
            {msg(() -> Prompt.box(0, 0, Float.POSITIVE_INFINITY, 1)), "box x1 is not a finite number (Infinity)"},
            {msg(() -> Prompt.point(1, Float.NEGATIVE_INFINITY, true)), "point 0 y is not a finite number"},
            {msg(() -> Prompt.point(1, 1, true).withPoint(Float.NaN, 1, false)), "point 1 x is not a finite number"},
            {msg(() -> Prompt.box(10, 0, 5, 8)), "box 10,0,5,8 must have x0 ≤ x1 and y0 ≤ y1"},
            {msg(() -> Prompt.box(0, 9, 5, 8)), "must have x0 ≤ x1 and y0 ≤ y1"},
            {msg(() -> Prompt.of(null, null, null, null, false)), "a prompt needs a box, a point or a mask"},
            {msg(() -> Prompt.of(new float[][] {{1, 2}}, new int[] {2}, null, null, false)), "point 0: label 2 is not 0 (background) or 1 (foreground)"},
            {msg(() -> Prompt.of(new float[][] {{1, 2}}, new int[0], null, null, false)), "1 point(s) but 0 label(s)"},
            {msg(() -> Prompt.of(null, null, new float[] {1, 2, 3}, null, false)), "box must be {x0, y0, x1, y1}"},
            {msg(() -> Prompt.mask(Tensor.zeros(1, 2, 8, 8))), "mask input must be low-res logits [1, 1, L, L], got [1, 2, 8, 8]"},
        };
        for (String[] c : cases) {
            assertTrue(c[0].contains(c[1]), "expected '" + c[1] + "' in: " + c[0]);
            assertFalse(c[0].contains("\n"), c[0]);
        }
        Prompt.box(5, 5, 5, 5); // a degenerate box is ordered: SAM takes it
    }

    private static String msg(Runnable r) {
        return assertThrows(IllegalArgumentException.class, r::run).getMessage();
    }

    /** SAM's sparse token count (docs/design/sam.md §6.4): points + 1 padding point without a box, + 2 box corners. */
    @Test
    void sparseTokensCountLikeThePromptEncoder() {
        assertEquals(2, Prompt.box(0, 0, 1, 1).sparseTokens());
        assertEquals(2, Prompt.point(0, 0, true).sparseTokens());
        assertEquals(3, Prompt.point(0, 0, true).withPoint(1, 1, false).sparseTokens());
        assertEquals(4, Prompt.box(0, 0, 1, 1).withPoint(1, 1, false).withPoint(0, 0, true).sparseTokens());
        assertEquals(0, Prompt.mask(Tensor.zeros(1, 1, 4, 4)).sparseTokens());
    }

    /** {@link Prompt#mapped} with a SAM frame equals SAM's {@code apply_coords} of each point and box corner. */
    @Test
    void mappingToTheInputFrameIsSamsApplyCoords() {
        try (Preprocessor.Preprocessed frame = new Preprocessor(Preprocessor.Convention.SAM, 64).preprocess(RgbImage.black(90, 60))) {
            Tensor m = Tensor.zeros(1, 1, 16, 16);
            Prompt p = Prompt.point(10.5f, 20.25f, true).withPoint(89, 59, false).withBox(3, 4, 77, 58).withMask(m).multimask(true);
            Prompt q = p.mapped(frame::mapCoords);
            float[] a = SamTransform.applyCoords(10.5, 20.25, 60, 90, 64), b = SamTransform.applyCoords(89, 59, 60, 90, 64);
            assertEquals(a[0], q.pointX(0));
            assertEquals(a[1], q.pointY(0));
            assertEquals(b[0], q.pointX(1));
            assertEquals(b[1], q.pointY(1));
            assertArrayEquals(SamTransform.applyBox(3, 4, 77, 58, 60, 90, 64), q.box());
            assertTrue(q.isPositive(0));
            assertFalse(q.isPositive(1));
            assertTrue(q.multimask());
            assertSame(m, q.mask());
            assertEquals(64f * 10.5f / 90, q.pointX(0), 1e-5);
        }
    }

    @Test
    void requireInsideChecksTheImage() {
        Prompt.box(0, 0, 90, 60).withPoint(90, 60, true).requireInside(90, 60);
        assertTrue(msg(() -> Prompt.box(10, 5, 95, 50).requireInside(90, 60)).contains("box 10,5,95,50 lies outside the 90x60 image"));
        assertTrue(msg(() -> Prompt.point(-1, 5, true).requireInside(90, 60)).contains("point (-1, 5) lies outside the 90x60 image"));
        assertTrue(msg(() -> Prompt.box(5, 5, 5, 9).requireInside(90, 60)).contains("must have x0 < x1 and y0 < y1"));
    }
}
