package dev.segsam.io.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.segsam.io.image.ImageFiles;
import dev.segsam.io.image.LoadedImage;

/**
 * Pictures: PNG, JPEG, TIFF, BMP and GIF through the JDK's ImageIO decoders and segsam's header checks and sample
 * mapping. The input's last byte picks the file name's extension, which matters only for files no decoder
 * recognises (their error message).
 */
class ImageFuzzTest {
    private static final String[] EXT = {".png", ".jpg", ".tif", ".gif", ".bmp", ""};

    @FuzzTest(maxDuration = "10m")
    void image(byte[] data) throws Exception {
        String ext = EXT[data.length == 0 ? 0 : (data[data.length - 1] & 0xFF) % EXT.length];
        Invariant.check(ext.isEmpty() ? ".img" : ext, data, p -> {
            LoadedImage img = ImageFiles.read(p, Invariant.LIMITS);
            long px = (long) img.width() * img.height();
            if (px < 1 || px > Invariant.LIMITS.maxImagePixels()) throw new AssertionError("size " + img.describe());
            if (img.image().rgb().length != px * 3) throw new AssertionError("pixels " + img.describe());
            img.describe();
        });
    }
}
