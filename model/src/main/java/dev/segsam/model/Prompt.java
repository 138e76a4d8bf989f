package dev.segsam.model;

import dev.segsam.tensor.Shapes;
import dev.segsam.tensor.Tensor;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;
import java.util.function.Function;

/**
 * One prompt for SAM's prompt encoder (t_p, docs/design/sam.md §6), the same value from the command line to the model: clicked
 * points, each positive (foreground, SAM label 1) or negative (background, label 0); an optional box
 * {@code (x0, y0, x1, y1)}; an optional previous low-res mask (logits {@code [1, 1, 4g, 4g]}, e.g. the
 * {@link Predictor.Result#lowRes()} plane of an earlier prediction); and whether to return SAM's three masks
 * ({@code multimask}) or the single-mask output.
 *
 * <pre>
 * Result r = predictor.predict(image, Prompt.box(40, 30, 200, 180));
 * Prompt refine = Prompt.point(120, 90, true).withPoint(60, 40, false).multimask(true);
 * </pre>
 *
 * <p>Immutable: every {@code with…} returns a new prompt. Validated when made, so a {@code Prompt} that exists is
 * usable: every coordinate finite, box corners ordered ({@code x0 ≤ x1, y0 ≤ y1}; SAM embeds the first corner as
 * top-left and the second as bottom-right and does not reorder them, so unordered corners are refused rather than
 * silently giving a wrong prompt), at least a box, a point or a mask.
 *
 * <p>Coordinates are original-image pixels for {@link Predictor}; the model ({@code SamModel.decode}) takes them in its
 * S×S input frame, and {@link #mapped} (with {@code Preprocessor.Preprocessed::mapCoords}) is the one place that
 * converts. Whether points and boxes lie inside a given image is the caller's rule ({@link #requireInside}): SAM itself
 * accepts coordinates outside.
 */
public final class Prompt {
    private final float[] xy;           // x0, y0, x1, y1, … of the points
    private final boolean[] positive;   // one per point
    private final float[] box;          // {x0, y0, x1, y1} or null
    private final Tensor mask;          // [1, 1, 4g, 4g] or null
    private final boolean multimask;

    private Prompt(float[] xy, boolean[] positive, float[] box, Tensor mask, boolean multimask) {
        if (xy.length != 2 * positive.length) throw new IllegalArgumentException("points: " + xy.length + " coordinates for " + positive.length + " labels");
        for (int i = 0; i < positive.length; i++) {
            finite(xy[2 * i], "point " + i + " x");
            finite(xy[2 * i + 1], "point " + i + " y");
        }
        if (box != null) {
            String[] names = {"x0", "y0", "x1", "y1"};
            for (int i = 0; i < 4; i++) finite(box[i], "box " + names[i]);
            if (box[0] > box[2] || box[1] > box[3]) {
                throw new IllegalArgumentException("box " + str(box) + " must have x0 ≤ x1 and y0 ≤ y1 (top-left corner first)");
            }
        }
        if (mask != null) {
            int[] s = mask.shape();
            if (s.length != 4 || s[0] != 1 || s[1] != 1 || s[2] != s[3]) {
                throw new IllegalArgumentException("mask input must be low-res logits [1, 1, L, L], got " + Shapes.str(s));
            }
        }
        if (positive.length == 0 && box == null && mask == null) throw new IllegalArgumentException("a prompt needs a box, a point or a mask");
        this.xy = xy;
        this.positive = positive;
        this.box = box;
        this.mask = mask;
        this.multimask = multimask;
    }

    // ------------------------------------------------------------------ making prompts

    /** A box prompt {@code (x0, y0) – (x1, y1)}, top-left corner first; single-mask output. */
    public static Prompt box(float x0, float y0, float x1, float y1) {
        return new Prompt(new float[0], new boolean[0], new float[] {x0, y0, x1, y1}, null, false);
    }

    /** A one-click prompt at {@code (x, y)}: {@code positive} = foreground (SAM label 1), else background (label 0). */
    public static Prompt point(float x, float y, boolean positive) {
        return new Prompt(new float[] {x, y}, new boolean[] {positive}, null, null, false);
    }

    /** A prompt of a previous low-res mask alone (logits {@code [1, 1, 4g, 4g]}). */
    public static Prompt mask(Tensor lowResLogits) {
        return new Prompt(new float[0], new boolean[0], null, Objects.requireNonNull(lowResLogits, "mask"), false);
    }

    /**
     * A prompt from arrays, as data files and samplers hold them: {@code points [n][2]} (or null) with {@code labels}
     * (1 foreground, 0 background; anything else is refused), {@code box {x0, y0, x1, y1}} (or null), {@code mask} (or
     * null).
     */
    public static Prompt of(float[][] points, int[] labels, float[] box, Tensor mask, boolean multimask) {
        int n = points == null ? 0 : points.length;
        if ((labels == null ? 0 : labels.length) != n) {
            throw new IllegalArgumentException(n + " point(s) but " + (labels == null ? 0 : labels.length) + " label(s)");
        }
        float[] xy = new float[2 * n];
        boolean[] pos = new boolean[n];
        for (int i = 0; i < n; i++) {
            if (points[i] == null || points[i].length != 2) throw new IllegalArgumentException("point " + i + " must be {x, y}");
            if (labels[i] != 0 && labels[i] != 1) {
                throw new IllegalArgumentException("point " + i + ": label " + labels[i] + " is not 0 (background) or 1 (foreground)");
            }
            xy[2 * i] = points[i][0];
            xy[2 * i + 1] = points[i][1];
            pos[i] = labels[i] == 1;
        }
        if (box != null && box.length != 4) throw new IllegalArgumentException("box must be {x0, y0, x1, y1}, got " + box.length + " values");
        return new Prompt(xy, pos, box == null ? null : box.clone(), mask, multimask);
    }

    /** This prompt with one more point at {@code (x, y)}, foreground when {@code positive}. */
    public Prompt withPoint(float x, float y, boolean positive) {
        float[] nxy = Arrays.copyOf(xy, xy.length + 2);
        nxy[xy.length] = x;
        nxy[xy.length + 1] = y;
        boolean[] np = Arrays.copyOf(this.positive, this.positive.length + 1);
        np[this.positive.length] = positive;
        return new Prompt(nxy, np, box, mask, multimask);
    }

    /** This prompt with its box set to {@code (x0, y0) – (x1, y1)} (replacing any box). */
    public Prompt withBox(float x0, float y0, float x1, float y1) {
        return new Prompt(xy, positive, new float[] {x0, y0, x1, y1}, mask, multimask);
    }

    /** This prompt with a previous low-res mask (logits {@code [1, 1, 4g, 4g]}), or without one ({@code null}). */
    public Prompt withMask(Tensor lowResLogits) {
        return new Prompt(xy, positive, box, lowResLogits, multimask);
    }

    /** This prompt asking for SAM's three masks ({@code true}) or the single-mask output ({@code false}). */
    public Prompt multimask(boolean on) {
        return on == multimask ? this : new Prompt(xy, positive, box, mask, on);
    }

    /**
     * This prompt with every coordinate (points, box corners) passed through {@code map}, which takes interleaved
     * {@code x, y} pairs and returns them mapped (e.g. {@code Preprocessed::mapCoords}: original pixels → the model
     * input frame). Labels, mask and multimask are kept.
     */
    public Prompt mapped(Function<double[], float[]> map) {
        int n = positive.length;
        double[] in = new double[2 * n + (box == null ? 0 : 4)];
        for (int i = 0; i < 2 * n; i++) in[i] = xy[i];
        if (box != null) for (int i = 0; i < 4; i++) in[2 * n + i] = box[i];
        float[] out = map.apply(in);
        if (out.length != in.length) throw new IllegalStateException("coordinate map returned " + out.length + " values for " + in.length);
        return new Prompt(Arrays.copyOf(out, 2 * n), positive, box == null ? null : Arrays.copyOfRange(out, 2 * n, 2 * n + 4), mask, multimask);
    }

    // ------------------------------------------------------------------ reading prompts

    /** The number of points. */
    public int pointCount() {
        return positive.length;
    }

    /** Point {@code i}'s x. */
    public float pointX(int i) {
        return xy[2 * Objects.checkIndex(i, positive.length)];
    }

    /** Point {@code i}'s y. */
    public float pointY(int i) {
        return xy[2 * Objects.checkIndex(i, positive.length) + 1];
    }

    /** Whether point {@code i} is a foreground click (SAM label 1) rather than background (label 0). */
    public boolean isPositive(int i) {
        return positive[Objects.checkIndex(i, positive.length)];
    }

    /** Point {@code i}'s SAM label: 1 foreground, 0 background. */
    public int label(int i) {
        return isPositive(i) ? 1 : 0;
    }

    public boolean hasBox() {
        return box != null;
    }

    /** The box {@code {x0, y0, x1, y1}} (a copy), or null. */
    public float[] box() {
        return box == null ? null : box.clone();
    }

    /** The previous low-res mask (logits {@code [1, 1, 4g, 4g]}), or null. */
    public Tensor mask() {
        return mask;
    }

    public boolean multimask() {
        return multimask;
    }

    /**
     * How many sparse tokens SAM's prompt encoder makes of this prompt (docs/design/sam.md §6.4): one per point, plus a padding
     * point when there are points but no box, plus two box corners. Prompts with equal counts can be decoded as a batch.
     */
    public int sparseTokens() {
        int n = positive.length;
        return n + (n > 0 && box == null ? 1 : 0) + (box == null ? 0 : 2);
    }

    /**
     * Fails with a one-line message unless every point and the box lie inside a {@code width × height} image
     * (coordinates from 0 to the size inclusive) and the box has an area ({@code x0 < x1, y0 < y1}); for callers
     * that want SAM's prompts kept on the image, such as the command line.
     */
    public void requireInside(int width, int height) {
        if (box != null) {
            if (!(box[0] < box[2] && box[1] < box[3])) throw new IllegalArgumentException("box " + str(box) + " must have x0 < x1 and y0 < y1");
            if (box[0] < 0 || box[1] < 0 || box[2] > width || box[3] > height) {
                throw new IllegalArgumentException("box " + str(box) + " lies outside the " + width + "x" + height + " image");
            }
        }
        for (int i = 0; i < positive.length; i++) {
            float x = xy[2 * i], y = xy[2 * i + 1];
            if (x < 0 || y < 0 || x > width || y > height) {
                throw new IllegalArgumentException("point (" + fmt(x) + ", " + fmt(y) + ") lies outside the " + width + "x" + height + " image");
            }
        }
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("Prompt[");
        String sep = "";
        if (box != null) {
            sb.append("box ").append(str(box));
            sep = ", ";
        }
        for (int i = 0; i < positive.length; i++) {
            sb.append(sep).append(positive[i] ? "+" : "−").append('(').append(fmt(xy[2 * i])).append(", ").append(fmt(xy[2 * i + 1])).append(')');
            sep = ", ";
        }
        if (mask != null) sb.append(sep).append("mask ").append(Shapes.str(mask.shape()));
        return sb.append(multimask ? ", multimask]" : "]").toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Prompt p && Arrays.equals(xy, p.xy) && Arrays.equals(positive, p.positive) && Arrays.equals(box, p.box)
                && mask == p.mask && multimask == p.multimask;
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(xy), Arrays.hashCode(positive), Arrays.hashCode(box), System.identityHashCode(mask), multimask);
    }

    private static void finite(float v, String what) {
        if (!Float.isFinite(v)) throw new IllegalArgumentException(what + " is not a finite number (" + v + ")");
    }

    private static String str(float[] v) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < v.length; i++) sb.append(i == 0 ? "" : ",").append(fmt(v[i]));
        return sb.toString();
    }

    /** A coordinate for messages: whole numbers without a fraction, others with six significant digits. */
    static String fmt(double v) {
        if (!Double.isFinite(v)) return String.valueOf(v);
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? String.valueOf((long) v) : String.format(Locale.ROOT, "%g", v);
    }
}
