package dev.segsam.model.preprocess;

import dev.segsam.tensor.Options;
import dev.segsam.tensor.Parallel;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.image.RgbImage;

/**
 * Turns an 8-bit RGB image into the image encoder's input, following one of two conventions
 * ({@code docs/design/sam.md} §4 and §13):
 * <ul>
 *   <li>{@link Convention#SAM}: {@code SamPredictor.set_image} — Pillow bilinear resize of the longest side to
 *       {@code S} ({@link PillowResize}, bit-exact), {@code (x − mean[c]) / std[c]} in float32 with SAM's pixel mean
 *       and std, then zero padding on the right and bottom to {@code S × S} (after normalising, so padding is 0, not
 *       the mean colour). Prompts: {@link SamTransform#applyCoords}.</li>
 *   <li>{@link Convention#MEDSAM}: {@code MedSAM_Inference.py} — {@link SkimageResize} to {@code S × S} (aspect not
 *       kept), truncation to uint8, then min–max over the whole resized image to [0, 1]:
 *       {@code (x − min) / max(max − min, 1e-8)} computed in float64 and stored as float32; no mean/std, no padding.
 *       Prompts: {@code v / [W, H, W, H] · S} in float64, then float32, no rounding.</li>
 * </ul>
 * The input is the {@code uint8 [H, W, 3]} RGB image (a grey image already replicated to three channels, as MedSAM
 * does); the output tensor is float32 {@code [1, 3, S, S]}.
 */
public final class Preprocessor {
    /** Which reference pipeline to reproduce. */
    public enum Convention {
        /** Segment Anything's {@code SamPredictor}. */
        SAM,
        /** MedSAM's inference script. */
        MEDSAM
    }

    /** The encoder input side of SAM and MedSAM. */
    public static final int DEFAULT_SIZE = 1024;
    /** SAM's {@code pixel_mean} (R, G, B). */
    static final float[] PIXEL_MEAN = {123.675f, 116.28f, 103.53f};
    /** SAM's {@code pixel_std} (R, G, B). */
    static final float[] PIXEL_STD = {58.395f, 57.12f, 57.375f};

    /**
     * A preprocessed image: the float32 {@code [1, 3, S, S]} encoder input, the original size, the size of the
     * resized image inside the input (SAM: the unpadded region; MedSAM: {@code S × S}), and the convention used.
     * Closing it closes the tensor.
     */
    public record Preprocessed(Tensor input, int origH, int origW, int resizedH, int resizedW, Convention convention)
            implements AutoCloseable {
        /** Frees the input tensor's memory. */
        @Override
        public void close() {
            input.close();
        }

        /** The side {@code S} of the square model input. */
        public int size() {
            return input.size(3);
        }

        /** Maps one point from original pixels to the model input frame ({@code {x', y'}}, float32). */
        public float[] mapPoint(double x, double y) {
            return mapCoords(new double[] {x, y});
        }

        /** Maps one XYXY box from original pixels to the model input frame (float32). */
        public float[] mapBox(double x0, double y0, double x1, double y1) {
            return mapCoords(new double[] {x0, y0, x1, y1});
        }

        /** Maps interleaved coordinates {@code x0, y0, x1, y1, …} from original pixels to the model input frame. */
        public float[] mapCoords(double[] xy) {
            if (convention == Convention.SAM) return SamTransform.applyCoords(xy, origH, origW, size());
            if (xy.length % 2 != 0) throw new IllegalArgumentException("coordinates come in x, y pairs; got " + xy.length + " values");
            float[] out = new float[xy.length];
            int s = size();
            for (int i = 0; i < xy.length; i += 2) {
                out[i] = (float) (xy[i] / origW * s);
                out[i + 1] = (float) (xy[i + 1] / origH * s);
            }
            return out;
        }
    }

    private final Convention convention;
    private final int size;
    private final Parallel par;

    /** A preprocessor for {@code convention} with the standard 1024 input. */
    public Preprocessor(Convention convention) {
        this(convention, DEFAULT_SIZE);
    }

    /** A preprocessor for {@code convention} with an {@code size × size} input (SAM-Med2D style models use 256). */
    public Preprocessor(Convention convention, int size) {
        this(convention, size, Parallel.of(Options.defaults().threads()));
    }

    /** As {@link #Preprocessor(Convention, int)}, resizing on {@code par}'s threads (MedSAM's resize; same values for any count). */
    public Preprocessor(Convention convention, int size, Parallel par) {
        if (convention == null) throw new IllegalArgumentException("convention is required");
        if (size <= 0) throw new IllegalArgumentException("input size " + size);
        this.convention = convention;
        this.size = size;
        this.par = java.util.Objects.requireNonNull(par, "par");
    }

    public Convention convention() {
        return convention;
    }

    public int size() {
        return size;
    }

    /** The resized uint8 image the convention normalises: SAM's longest-side Pillow resize, or MedSAM's S × S. */
    public RgbImage resize(RgbImage image) {
        if (convention == Convention.SAM) {
            SamTransform.Shape s = SamTransform.preprocessShape(image.height(), image.width(), size);
            return PillowResize.resize(image, s.width(), s.height());
        }
        return SkimageResize.resizeToUint8(par, image, size, size);
    }

    /** Resizes and normalises {@code image} into a new {@code [1, 3, S, S]} tensor. */
    public Preprocessed preprocess(RgbImage image) {
        RgbImage r = resize(image);
        float[] v = convention == Convention.SAM ? normaliseAndPad(r) : minMaxUnit(r);
        return new Preprocessed(Tensor.of(v, 1, 3, size, size), image.height(), image.width(), r.height(), r.width(), convention);
    }

    /** {@code (x − mean[c]) / std[c]} in float32 inside the resized region, 0 elsewhere; planar [3, S, S]. */
    private float[] normaliseAndPad(RgbImage r) {
        float[] out = new float[3 * size * size];
        byte[] px = r.rgb();
        int w = r.width();
        for (int c = 0; c < 3; c++) {
            float mean = PIXEL_MEAN[c];
            float std = PIXEL_STD[c];
            int plane = c * size * size;
            for (int y = 0; y < r.height(); y++) {
                for (int x = 0; x < w; x++) {
                    float v = px[(y * w + x) * 3 + c] & 0xFF;
                    out[plane + y * size + x] = (v - mean) / std;
                }
            }
        }
        return out;
    }

    /** {@code (x − min) / max(max − min, 1e-8)} over the whole image, in float64, stored as float32; planar. */
    private static float[] minMaxUnit(RgbImage r) {
        byte[] px = r.rgb();
        int min = 255;
        int max = 0;
        for (byte b : px) {
            int v = b & 0xFF;
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        double range = Math.max((double) (max - min), 1e-8);
        int hw = r.width() * r.height();
        float[] out = new float[3 * hw];
        for (int i = 0; i < hw; i++) {
            for (int c = 0; c < 3; c++) out[c * hw + i] = (float) (((px[i * 3 + c] & 0xFF) - min) / range);
        }
        return out;
    }
}
