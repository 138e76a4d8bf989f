package dev.segsam.model.preprocess;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.segsam.tensor.image.RgbImage;
import org.junit.jupiter.api.Test;

/** Properties of the preprocessing that follow from the spec alone (the Python comparisons are in PreprocessGoldenTest). */
class PreprocessorTest {
    @Test
    void samPadsWithZeroAfterNormalising() {
        RgbImage img = TestImages.noise(30, 10, 42); // resized to 48 x 16 inside a 48 x 48 input
        try (var p = new Preprocessor(Preprocessor.Convention.SAM, 48).preprocess(img)) {
            assertEquals(16, p.resizedH());
            assertEquals(48, p.resizedW());
            for (int c = 0; c < 3; c++) {
                for (int y = 16; y < 48; y++) {
                    for (int x = 0; x < 48; x++) assertEquals(0f, p.input().at(0, c, y, x));
                }
            }
            // a black pixel normalises to -mean/std, not to 0
            RgbImage black = RgbImage.black(4, 4);
            try (var q = new Preprocessor(Preprocessor.Convention.SAM, 4).preprocess(black)) {
                assertEquals((0f - 123.675f) / 58.395f, q.input().at(0, 0, 0, 0));
                assertEquals((0f - 103.53f) / 57.375f, q.input().at(0, 2, 3, 3));
            }
        }
    }

    @Test
    void medsamConstantImageIsAllZeros() {
        RgbImage img = new RgbImage(3, 2, new byte[] {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9});
        try (var p = new Preprocessor(Preprocessor.Convention.MEDSAM, 8).preprocess(img)) {
            assertArrayEquals(new int[] {1, 3, 8, 8}, p.input().shape());
            for (float v : p.input().toArray()) assertEquals(0f, v);
        }
    }

    @Test
    void medsamMapsBoxesWithoutKeepingAspect() {
        try (var p = new Preprocessor(Preprocessor.Convention.MEDSAM, 16).preprocess(TestImages.noise(8, 4, 1))) {
            assertArrayEquals(new float[] {2f, 4f, 16f, 16f}, p.mapBox(1, 1, 8, 4));
            assertArrayEquals(new float[] {6f, 8f}, p.mapPoint(3, 2));
        }
    }

    @Test
    void pillowSameSizeIsACopy() {
        RgbImage img = TestImages.noise(5, 4, 3);
        RgbImage out = PillowResize.resize(img, 5, 4);
        assertNotSame(img.rgb(), out.rgb());
        assertArrayEquals(img.rgb(), out.rgb());
    }

    @Test
    void pillowFixedPointRoundsHalfAwayFromZero() {
        double unit = 1.0 / (1 << PillowResize.PRECISION_BITS);
        assertEquals(1, PillowResize.Coefficients.toFixed(0.5 * unit));
        assertEquals(-1, PillowResize.Coefficients.toFixed(-0.5 * unit));
        assertEquals(0, PillowResize.Coefficients.toFixed(0.49 * unit));
        assertEquals(1 << 22, PillowResize.Coefficients.toFixed(1.0));
    }

    @Test
    void rejectsBadArguments() {
        RgbImage img = TestImages.noise(5, 4, 3);
        assertThrows(IllegalArgumentException.class, () -> PillowResize.resize(img, 0, 4));
        assertThrows(IllegalArgumentException.class, () -> SkimageResize.resize(img, 4, -1));
        assertThrows(IllegalArgumentException.class, () -> SamTransform.preprocessShape(0, 4, 1024));
        assertThrows(IllegalArgumentException.class, () -> SamTransform.applyCoords(new double[] {1, 2, 3}, 4, 5, 1024));
        assertThrows(IllegalArgumentException.class, () -> new Preprocessor(Preprocessor.Convention.SAM, 0));
        assertThrows(IllegalArgumentException.class, () -> new Preprocessor(null));
    }

    /**
     * SAM's trunc(short·1024/long + 0.5) is 0 once the long side is more than 2048 times the short one; SAM then fails
     * in Pillow. Up to that ratio the short side is at least 1 pixel; beyond it the size is refused with a message.
     */
    @Test
    void tooElongatedImagesAreRefusedWithTheirSize() {
        assertEquals(new SamTransform.Shape(1, 1024), SamTransform.preprocessShape(1, 2048, 1024));
        assertEquals(new SamTransform.Shape(256, 1), SamTransform.preprocessShape(512, 1, 256));
        var e = assertThrows(IllegalArgumentException.class, () -> SamTransform.preprocessShape(1, 5000, 256));
        assertEquals("a 5000x1 image is too elongated for a 256-pixel input: scaling its long side to 256 leaves its short side"
                + " 0 pixels (the long side may be at most 512 times the short one); crop or pad it first", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SamTransform.preprocessShape(2049, 1, 1024));
        RgbImage strip = TestImages.noise(5000, 1, 1);
        assertThrows(IllegalArgumentException.class, () -> new Preprocessor(Preprocessor.Convention.SAM, 256).preprocess(strip));
    }

    @Test
    void elementaryFunctionsAreCorrectlyRounded() {
        // Values from Python's math.exp / math.pow (glibc), which are correctly rounded for these arguments.
        assertEquals(Double.parseDouble("0x1.152aaa3bf81ccp-3"), SkimageResize.exp(-2.0));
        assertEquals(1.0, SkimageResize.exp(0.0));
        assertEquals(SkimageResize.POLE * SkimageResize.POLE, SkimageResize.pow(SkimageResize.POLE, 2));
        assertEquals(1.0, SkimageResize.pow(SkimageResize.POLE, 0));
    }
}
