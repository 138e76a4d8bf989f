package dev.segsam.cli.predict;

import dev.segsam.io.image.ImageFiles;
import dev.segsam.model.Masks;
import dev.segsam.model.Predictor;
import dev.segsam.model.Prompt;
import dev.segsam.tensor.image.RgbImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.function.Consumer;

/**
 * The per-prompt output work of {@code predict} ({@link PredictionOutput.Writer#add}: the mask PNG, the overlay's mask
 * painting, the area, box and plausibility checks) done once on a throw-away result, in memory, so that the JIT
 * compiles it during the encode (as a {@link dev.segsam.model.DecoderWarmup#then} step) instead of while the first
 * prompts are decoded (docs/PERF.md, "cold start II"). The warm-up's own mask (from a synthetic embedding) can be empty
 * or noise, so the pictures are drawn from a mask shaped like a real one: the prompt's box, or a disc around its first
 * point. Writes no file and touches nothing of the real output.
 */
public final class OutputWarmup {
    private OutputWarmup() {}

    /** A consumer of a warm-up result for an image of {@code w × h} pixels and prompts like {@code prompt}. */
    public static Consumer<Predictor.Result> of(Prompt prompt, int w, int h) {
        return r -> {
            boolean[] mask = shape(prompt, w, h);
            try {
                if (ImageFiles.maskPng(mask, w, h).length == 0) throw new IllegalStateException("empty PNG");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            Overlay.paintMask(RgbImage.black(w, h), mask, 0);
            Masks.area(mask);
            Masks.bbox(mask, w, h);
            Plausibility.warnings(prompt, r, w, h);
        };
    }

    /** The prompt's box filled, else a disc of radius min(w, h) / 8 around its first point (clipped to the image). */
    static boolean[] shape(Prompt p, int w, int h) {
        boolean[] m = new boolean[w * h];
        float x0, y0, x1, y1;
        if (p.hasBox()) {
            float[] b = p.box();
            x0 = b[0]; y0 = b[1]; x1 = b[2]; y1 = b[3];
        } else {
            float r = Math.max(1, Math.min(w, h) / 8f), cx = p.pointCount() > 0 ? p.pointX(0) : w / 2f, cy = p.pointCount() > 0 ? p.pointY(0) : h / 2f;
            x0 = cx - r; y0 = cy - r; x1 = cx + r; y1 = cy + r;
        }
        float cx = (x0 + x1) / 2, cy = (y0 + y1) / 2, rx = Math.max(0.5f, (x1 - x0) / 2), ry = Math.max(0.5f, (y1 - y0) / 2);
        for (int y = Math.max(0, (int) y0); y < Math.min(h, (int) Math.ceil(y1)); y++) {
            for (int x = Math.max(0, (int) x0); x < Math.min(w, (int) Math.ceil(x1)); x++) {
                float dx = (x - cx) / rx, dy = (y - cy) / ry;
                m[y * w + x] = p.hasBox() || dx * dx + dy * dy <= 1;
            }
        }
        return m;
    }
}
