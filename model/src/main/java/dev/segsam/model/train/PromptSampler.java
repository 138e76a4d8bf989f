package dev.segsam.model.train;

import dev.segsam.model.Masks;
import dev.segsam.model.Prompt;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Training prompts for a target mask (docs/design/segsam.md §4, ours): with probability ½ a box — the tight box of the mask, each
 * side moved by up to ±5 % of the box size (uniform), clipped to the image — otherwise 1–3 positive points drawn
 * uniformly from the mask's pixels (pixel centres). Coordinates are original image pixels, box XYXY with exclusive
 * right/bottom edges as SAM's boxes are used.
 */
public final class PromptSampler {
    private PromptSampler() {}

    /** A prompt for the target {@code mask} ({@code w × h}, non-zero = inside): a box or 1–3 positive points, single-mask. */
    public static Prompt sample(byte[] mask, int w, int h, Random rnd) {
        int[] bb = Masks.bbox(mask, w, h);
        if (bb == null) throw new IllegalArgumentException("empty target mask");
        if (rnd.nextBoolean()) {
            float[] b = jitteredBox(bb, w, h, rnd, 0.05);
            return Prompt.box(b[0], b[1], b[2], b[3]);
        }
        List<Integer> inside = new ArrayList<>();
        for (int i = 0; i < mask.length; i++) if (mask[i] != 0) inside.add(i);
        int n = 1 + rnd.nextInt(3);
        float[][] pts = new float[n][];
        int[] labels = new int[n];
        for (int j = 0; j < n; j++) {
            int p = inside.get(rnd.nextInt(inside.size()));
            pts[j] = new float[] {p % w + 0.5f, p / w + 0.5f};
            labels[j] = 1;
        }
        return Prompt.of(pts, labels, null, null, false);
    }

    /** The tight box {@code [x0, y0, x1 + 1, y1 + 1]} with each side moved by up to ±{@code frac} of the box size. */
    public static float[] jitteredBox(int[] bb, int w, int h, Random rnd, double frac) {
        double bw = bb[2] - bb[0], bh = bb[3] - bb[1];
        double x0 = bb[0] + (rnd.nextDouble() * 2 - 1) * frac * bw, y0 = bb[1] + (rnd.nextDouble() * 2 - 1) * frac * bh;
        double x1 = bb[2] + (rnd.nextDouble() * 2 - 1) * frac * bw, y1 = bb[3] + (rnd.nextDouble() * 2 - 1) * frac * bh;
        x0 = Math.max(0, Math.min(x0, w - 1));
        y0 = Math.max(0, Math.min(y0, h - 1));
        x1 = Math.max(x0 + 1, Math.min(x1, w));
        y1 = Math.max(y0 + 1, Math.min(y1, h));
        return new float[] {(float) x0, (float) y0, (float) x1, (float) y1};
    }
}
