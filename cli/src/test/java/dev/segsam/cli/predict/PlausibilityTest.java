package dev.segsam.cli.predict;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.model.Predictor;
import dev.segsam.model.Prompt;
import dev.segsam.tensor.image.RgbImage;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Nonsense warnings on made-up results, and the overlay's legend. */
class PlausibilityTest {
    static final int W = 40, H = 30;

    static boolean[] rect(int x0, int y0, int x1, int y1) {
        boolean[] m = new boolean[W * H];
        for (int y = y0; y < y1; y++) for (int x = x0; x < x1; x++) m[y * W + x] = true;
        return m;
    }

    static Predictor.Result result(boolean[] mask, float... classProbabilities) {
        Predictor.Semantic s = classProbabilities.length == 0 ? null
                : new Predictor.Semantic(null, new int[W * H], new float[W * H], 1, classProbabilities[0], classProbabilities, null);
        return new Predictor.Result(null, new float[] {0.5f}, null, 0, mask, s);
    }

    @Test
    void warnsOnMasksOutsideTheirBoxEmptyMasksAndFlatClasses() {
        Prompt box = Prompt.box(5, 5, 20, 20);
        assertEquals(List.of(), Plausibility.warnings(box, result(rect(6, 6, 19, 19)), W, H), "inside its box");
        assertEquals(List.of(), Plausibility.warnings(box, result(rect(2, 2, 22, 22)), W, H), "a little over the edges (44 % outside)");
        List<String> out = Plausibility.warnings(box, result(rect(15, 10, 40, 30)), W, H);
        assertEquals(1, out.size(), out.toString());
        assertTrue(out.get(0).contains("mostly outside its box"), out.get(0));
        assertTrue(Plausibility.warnings(Prompt.point(3, 3, true), result(rect(15, 10, 40, 30)), W, H).isEmpty(), "no box, no box check");
        assertTrue(Plausibility.warnings(box, result(new boolean[W * H]), W, H).get(0).startsWith("empty mask"));
        assertTrue(Plausibility.warnings(box, result(rect(6, 6, 19, 19), 0.34f, 0.33f, 0.33f), W, H).get(0).startsWith("flat class distribution"));
        assertEquals(List.of(), Plausibility.warnings(box, result(rect(6, 6, 19, 19), 0.9f, 0.05f, 0.05f), W, H));
    }

    @Test
    void normalisedEntropy() {
        assertEquals(1.0, Plausibility.normalisedEntropy(new float[] {0.5f, 0.5f}), 1e-9);
        assertEquals(0.0, Plausibility.normalisedEntropy(new float[] {1f, 0f, 0f}), 1e-9);
        // 0.9, 0.05, 0.05: -(0.9 ln 0.9 + 2·0.05 ln 0.05) / ln 3
        double want = -(0.9 * Math.log(0.9) + 2 * 0.05 * Math.log(0.05)) / Math.log(3);
        assertEquals(want, Plausibility.normalisedEntropy(new float[] {0.9f, 0.05f, 0.05f}), 1e-6);
    }

    @Test
    void overlayLegendSitsBelowThePicture() {
        RgbImage img = RgbImage.black(W * 3, H * 3);
        RgbImage picture = Overlay.render(img, List.of(new boolean[9 * W * H], new boolean[9 * W * H]), List.of());
        RgbImage withLegend = Overlay.withLegend(picture, List.of("0: liver 0.99", "1: spleen 0.80"));
        assertEquals(picture.width(), withLegend.width());
        assertTrue(withLegend.height() > picture.height());
        for (int y = 0; y < picture.height(); y++) for (int x = 0; x < picture.width(); x++) {
            assertEquals(picture.get(x, y, 0), withLegend.get(x, y, 0));
        }
        for (int i = 0; i < 2; i++) {
            int[] col = Overlay.PALETTE[i];
            boolean found = false;
            for (int y = picture.height(); y < withLegend.height() && !found; y++) {
                for (int x = 0; x < withLegend.width() && !found; x++) {
                    found = withLegend.get(x, y, 0) == col[0] && withLegend.get(x, y, 1) == col[1] && withLegend.get(x, y, 2) == col[2];
                }
            }
            assertTrue(found, "swatch of mask " + i);
        }
    }
}
