package dev.segsam.cli.predict;

import dev.segsam.model.Predictor;
import dev.segsam.model.Prompt;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Signs that a prediction is likely nonsense, as one-line warnings for {@code result.json} and the summary: an empty
 * mask; a mask that lies mostly outside the box that prompted it (SAM segmented something else, or the box is in the
 * wrong coordinates); a flat class distribution (SEG-SAM cannot tell the classes apart: the input is probably unlike
 * its training data). They do not change any output.
 */
public final class Plausibility {
    private Plausibility() {}

    /** Share of the mask outside its box above which the mask counts as "mostly outside". */
    public static final double OUTSIDE_SHARE = 0.5;
    /** Normalised entropy of the class probabilities (1 = uniform) above which the distribution counts as flat. */
    public static final double FLAT_ENTROPY = 0.9;

    /** The warnings for one prompt's result on a {@code w × h} image (empty when nothing looks wrong). */
    public static List<String> warnings(Prompt p, Predictor.Result r, int w, int h) {
        List<String> out = new ArrayList<>();
        boolean[] m = r.mask();
        long area = 0, outside = 0;
        float[] b = p.hasBox() ? p.box() : null;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                if (!m[y * w + x]) continue;
                area++;
                if (b != null && (x + 0.5f < b[0] || x + 0.5f > b[2] || y + 0.5f < b[1] || y + 0.5f > b[3])) outside++;
            }
        }
        if (area == 0) {
            out.add("empty mask: nothing was segmented for this prompt");
        } else if (b != null && outside > OUTSIDE_SHARE * area) {
            out.add(String.format(Locale.ROOT, "the mask lies mostly outside its box (%.0f %% of %d px): check the box coordinates", 100.0 * outside / area, area));
        }
        if (r.semantic() != null) {
            double e = normalisedEntropy(r.semantic().classProbabilities());
            if (e > FLAT_ENTROPY) {
                out.add(String.format(Locale.ROOT, "flat class distribution (normalised entropy %.2f, top p = %.2f over %d classes): "
                        + "the image is probably unlike the model's training data", e, r.semantic().classProbability(), r.semantic().classProbabilities().length));
            }
        }
        return out;
    }

    /** {@code −Σ p log p / log K} of a distribution over {@code K ≥ 2} values (0 when one value has everything, 1 uniform). */
    static double normalisedEntropy(float[] p) {
        if (p.length < 2) return 0;
        double sum = 0, e = 0;
        for (float v : p) sum += Math.max(0, v);
        if (sum <= 0) return 1;
        for (float v : p) {
            double q = Math.max(0, v) / sum;
            if (q > 0) e -= q * Math.log(q);
        }
        return e / Math.log(p.length);
    }
}
