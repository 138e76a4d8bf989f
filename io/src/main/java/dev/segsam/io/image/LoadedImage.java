package dev.segsam.io.image;

import dev.segsam.tensor.image.RgbImage;

/**
 * An image read by {@link ImageFiles#read}: the 8-bit RGB image SAM takes ({@code uint8 [H, W, 3]}) and what the file
 * held.
 *
 * @param image    the pixels mapped to 8-bit RGB (see {@link ImageFiles#read} for the mapping)
 * @param format   {@code PNG}, {@code JPEG}, {@code TIFF}, {@code BMP} or {@code GIF}
 * @param width    width in pixels
 * @param height   height in pixels
 * @param bitDepth bits per sample in the file: 8 or 16 usually; 1, 2 or 4 for packed grey or palette indices
 * @param channels the channels stored (for palette images: those of the palette entries)
 * @param indexed  whether the file stores palette indices (expanded through the palette)
 * @param minRaw   the smallest colour sample (alpha excluded) before mapping; for palette images, after expansion
 * @param maxRaw   the largest colour sample, likewise
 */
public record LoadedImage(RgbImage image, String format, int width, int height, int bitDepth, Channels channels,
                          boolean indexed, int minRaw, int maxRaw) {
    /** One line, e.g. {@code PNG 512x512 grey 16-bit, values 0..3071}. */
    public String describe() {
        return format + " " + width + "x" + height + " " + channels.name().toLowerCase(java.util.Locale.ROOT).replace('_', '+')
                + (indexed ? " palette" : "") + " " + bitDepth + "-bit, values " + minRaw + ".." + maxRaw;
    }
}
