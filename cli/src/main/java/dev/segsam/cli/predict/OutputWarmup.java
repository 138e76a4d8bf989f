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
 * prompts are decoded (docs/PERF.md, "cold start II": without it the compiler thread takes a core from decodes 1–5).
 * Writes no file and touches nothing of the real output.
 */
public final class OutputWarmup {
    private OutputWarmup() {}

    /** A consumer of a warm-up result for an image of {@code w × h} pixels and prompts like {@code prompt}. */
    public static Consumer<Predictor.Result> of(Prompt prompt, int w, int h) {
        return r -> {
            boolean[] mask = r.mask();
            byte[] grey = new byte[mask.length];
            for (int i = 0; i < mask.length; i++) grey[i] = mask[i] ? (byte) 255 : 0;
            try {
                if (ImageFiles.greyPng(grey, w, h).length == 0) throw new IllegalStateException("empty PNG");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            Overlay.paintMask(RgbImage.black(w, h), mask, 0);
            Masks.area(mask);
            Masks.bbox(mask, w, h);
            Plausibility.warnings(prompt, r, w, h);
        };
    }
}
