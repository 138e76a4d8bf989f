package dev.segsam.model.train;

import dev.segsam.model.preprocess.Preprocessor;

/**
 * Targets at the decoder's low resolution (docs/design/segsam.md §4, ours: losses at 4g × 4g). A low-res pixel covers
 * {@code S/4g} × {@code S/4g} pixels of the model input frame; its target is the fraction of that area inside the
 * object (area sampling of the mask placed in the input frame the way the convention places the image), thresholded
 * at ½. SAM convention: the image occupies the top-left {@code resizedH × resizedW} of the padded frame (the rest is
 * background); MedSAM: the image is stretched over the whole frame.
 */
public final class LowResTargets {
    private LowResTargets() {}

    /** The low-res binary target {@code [L·L]} (0/1 floats) of {@code mask} ({@code w·h} bytes). */
    public static float[] of(byte[] mask, int w, int h, Preprocessor.Preprocessed frame, int L) {
        int S = frame.size();
        double cell = (double) S / L;
        float[] out = new float[L * L];
        int sub = 4; // 4×4 samples per low-res pixel
        for (int ly = 0; ly < L; ly++) {
            for (int lx = 0; lx < L; lx++) {
                int inside = 0;
                for (int sy = 0; sy < sub; sy++) {
                    double fy = (ly + (sy + 0.5) / sub) * cell; // input-frame coordinate
                    for (int sx = 0; sx < sub; sx++) {
                        double fx = (lx + (sx + 0.5) / sub) * cell;
                        int ox, oy;
                        if (frame.convention() == Preprocessor.Convention.SAM) {
                            if (fx >= frame.resizedW() || fy >= frame.resizedH()) continue; // padding
                            ox = (int) (fx * w / frame.resizedW());
                            oy = (int) (fy * h / frame.resizedH());
                        } else {
                            ox = (int) (fx * w / S);
                            oy = (int) (fy * h / S);
                        }
                        if (mask[Math.min(oy, h - 1) * w + Math.min(ox, w - 1)] != 0) inside++;
                    }
                }
                out[ly * L + lx] = inside * 2 >= sub * sub ? 1f : 0f;
            }
        }
        return out;
    }
}
