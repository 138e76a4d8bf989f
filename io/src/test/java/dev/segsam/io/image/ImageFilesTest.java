package dev.segsam.io.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.segsam.io.image.ImageReadException.Reason;
import dev.segsam.tensor.image.RgbImage;
import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.WritableRaster;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The image reader and writers. Files come from two independent sources: ImageIO's own writers (generated here) and
 * Pillow (committed fixtures from tools/reference/image_fixtures.py, with the values Pillow decodes).
 */
class ImageFilesTest {
    @TempDir
    Path dir;

    // ------------------------------------------------------------------ files written by ImageIO

    @Test
    void rgb8PngIsUnchanged() throws IOException {
        BufferedImage bi = new BufferedImage(4, 3, BufferedImage.TYPE_3BYTE_BGR);
        int[][] px = {{0xFF0000, 0x00FF00, 0x0000FF, 0x102030}, {0x000000, 0xFFFFFF, 0x7F8081, 0x010203}, {0xABCDEF, 0x123456, 0x00FF7F, 0x808080}};
        for (int y = 0; y < 3; y++) for (int x = 0; x < 4; x++) bi.setRGB(x, y, px[y][x]);
        Path f = write(bi, "png", "rgb8.png");
        LoadedImage img = ImageFiles.read(f);
        assertEquals("PNG", img.format());
        assertLayout(img, Channels.RGB, 8, 0, 255);
        assertEquals(4, img.width());
        assertEquals(3, img.height());
        for (int y = 0; y < 3; y++) {
            for (int x = 0; x < 4; x++) {
                assertEquals(px[y][x] >> 16 & 0xFF, img.image().get(x, y, 0));
                assertEquals(px[y][x] >> 8 & 0xFF, img.image().get(x, y, 1));
                assertEquals(px[y][x] & 0xFF, img.image().get(x, y, 2));
            }
        }
    }

    @Test
    void grey8IsReplicated() throws IOException {
        BufferedImage bi = new BufferedImage(3, 2, BufferedImage.TYPE_BYTE_GRAY);
        bi.getRaster().setPixels(0, 0, 3, 2, new int[] {0, 10, 20, 200, 254, 255});
        for (String fmt : List.of("png", "tiff", "bmp")) {
            LoadedImage img = ImageFiles.read(write(bi, fmt, "grey8." + fmt));
            assertLayout(img, Channels.GREY, 8, 0, 255);
            assertArrayEquals(rgbOfGrey(0, 10, 20, 200, 254, 255), img.image().rgb(), fmt);
        }
    }

    @Test
    void grey16IsStretchedByMinMax() throws IOException {
        BufferedImage bi = new BufferedImage(4, 1, BufferedImage.TYPE_USHORT_GRAY);
        // min 100, max 1100: (v − 100)·255/1000 → 0, 51, 127.5 → 128 (halves round up), 255
        bi.getRaster().setPixels(0, 0, 4, 1, new int[] {100, 300, 600, 1100});
        for (String fmt : List.of("png", "tiff")) {
            LoadedImage img = ImageFiles.read(write(bi, fmt, "grey16." + fmt));
            assertLayout(img, Channels.GREY, 16, 100, 1100);
            assertArrayEquals(rgbOfGrey(0, 51, 128, 255), img.image().rgb(), fmt);
        }
    }

    @Test
    void rgb16IsStretchedOverAllChannelsTogether() throws IOException {
        ComponentColorModel cm = new ComponentColorModel(ColorSpace.getInstance(ColorSpace.CS_sRGB), false, false,
                Transparency.OPAQUE, DataBuffer.TYPE_USHORT);
        WritableRaster r = cm.createCompatibleWritableRaster(2, 1);
        r.setPixels(0, 0, 2, 1, new int[] {1000, 2000, 3000, 65535, 1000, 33267});
        BufferedImage bi = new BufferedImage(cm, r, false, null);
        for (String fmt : List.of("png", "tiff")) {
            LoadedImage img = ImageFiles.read(write(bi, fmt, "rgb16." + fmt));
            assertLayout(img, Channels.RGB, 16, 1000, 65535);
            // (v − 1000)·255/64535: 1000 → 0, 2000 → 3.95 → 4, 3000 → 7.90 → 8, 65535 → 255, 33267 → 127.498 → 127
            assertArrayEquals(new byte[] {0, 4, 8, (byte) 255, 0, 127}, img.image().rgb(), fmt);
        }
    }

    @Test
    void jpegIsDecodedCloseToItsSource() throws IOException {
        BufferedImage bi = new BufferedImage(16, 16, BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < 16; y++) for (int x = 0; x < 16; x++) bi.setRGB(x, y, (x * 16) << 16 | (y * 16) << 8 | 128);
        Path f = dir.resolve("q.jpg");
        ImageWriter w = ImageIO.getImageWritersByFormatName("jpeg").next();
        try (ImageOutputStream out = ImageIO.createImageOutputStream(f.toFile())) {
            ImageWriteParam p = w.getDefaultWriteParam();
            p.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
            p.setCompressionQuality(1.0f);
            w.setOutput(out);
            w.write(null, new IIOImage(bi, null, null), p);
        } finally {
            w.dispose();
        }
        LoadedImage img = ImageFiles.read(f);
        assertEquals("JPEG", img.format());
        assertEquals(Channels.RGB, img.channels());
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) {
                // chroma subsampling (4:2:0) moves colours by up to ~10 levels here
                assertTrue(Math.abs(img.image().get(x, y, 0) - x * 16) <= 16, "R at " + x + "," + y);
                assertTrue(Math.abs(img.image().get(x, y, 1) - y * 16) <= 16, "G at " + x + "," + y);
                assertTrue(Math.abs(img.image().get(x, y, 2) - 128) <= 16, "B at " + x + "," + y);
            }
        }
        BufferedImage grey = new BufferedImage(8, 8, BufferedImage.TYPE_BYTE_GRAY);
        assertEquals(Channels.GREY, ImageFiles.read(write(grey, "jpeg", "grey.jpg")).channels());
    }

    // ------------------------------------------------------------------ files written by Pillow

    @Test
    void pillowFixturesDecodeAsPillowDoes() throws IOException {
        JsonNode files = expected().get("files");
        record Want(String name, Channels channels, boolean indexed) {}
        for (Want w : List.of(new Want("grey16.png", Channels.GREY, false),
                new Want("grey16-constant.png", Channels.GREY, false),
                new Want("palette.png", Channels.RGB, true),
                new Want("rgba.png", Channels.RGBA, false),
                new Want("grey-alpha.png", Channels.GREY_ALPHA, false),
                new Want("bilevel.png", Channels.GREY, false))) {
            JsonNode e = files.get(w.name());
            LoadedImage img = ImageFiles.read(fixture(w.name()));
            assertEquals("PNG", img.format(), w.name());
            assertEquals(e.get("width").asInt(), img.width(), w.name());
            assertEquals(e.get("height").asInt(), img.height(), w.name());
            assertEquals(w.channels(), img.channels(), w.name());
            assertEquals(e.get("png_bit_depth").asInt(), img.bitDepth(), w.name());
            assertEquals(w.indexed(), img.indexed(), w.name());
            assertArrayEquals(Base64.getDecoder().decode(e.get("rgb").asText()), img.image().rgb(), w.name());
            if (e.has("raw")) {
                int[] raw = new int[e.get("raw").size()];
                for (int i = 0; i < raw.length; i++) raw[i] = e.get("raw").get(i).asInt();
                assertEquals(Arrays.stream(raw).min().orElseThrow(), img.minRaw(), w.name());
                assertEquals(Arrays.stream(raw).max().orElseThrow(), img.maxRaw(), w.name());
            }
        }
    }

    /**
     * The JDK's JPEG decoder (IJG libjpeg 6b based) against Pillow's (libjpeg-turbo, "libjpeg 6.2" API): both use the
     * islow IDCT and fancy upsampling. Measured on the committed photo: identical (max |diff| 0); asserted ≤ 1 to
     * allow for rounding differences in other decoder builds.
     */
    @Test
    void jpegMatchesPillowDecoder() throws IOException {
        byte[] want = Base64.getDecoder().decode(expected().get("files").get("photo.jpg").get("rgb").asText());
        byte[] got = ImageFiles.read(fixture("photo.jpg")).image().rgb();
        assertEquals(want.length, got.length);
        int max = 0;
        for (int i = 0; i < got.length; i++) max = Math.max(max, Math.abs((want[i] & 0xFF) - (got[i] & 0xFF)));
        assertTrue(max <= 1, "max |diff| vs Pillow " + max);
    }

    @Test
    void unsupportedKindsAreRefused() throws IOException {
        for (String name : List.of("cmyk.jpg", "float32.tif")) {
            Path f = fixture(name);
            ImageReadException e = assertThrows(ImageReadException.class, () -> ImageFiles.read(f), name);
            assertEquals(Reason.UNSUPPORTED, e.reason(), e.getMessage());
            assertOneLineNaming(e, f);
        }
    }

    // ------------------------------------------------------------------ errors

    @Test
    void errorsAreTypedAndNameTheFile() throws IOException {
        Path missing = dir.resolve("nope.png");
        ImageReadException e = assertThrows(ImageReadException.class, () -> ImageFiles.read(missing));
        assertEquals(Reason.MISSING, e.reason());
        assertOneLineNaming(e, missing);

        e = assertThrows(ImageReadException.class, () -> ImageFiles.read(dir));
        assertEquals(Reason.MISSING, e.reason());

        Path text = Files.writeString(dir.resolve("notes.png"), "this is not an image\n");
        e = assertThrows(ImageReadException.class, () -> ImageFiles.read(text));
        assertEquals(Reason.NOT_AN_IMAGE, e.reason());
        assertOneLineNaming(e, text);

        Path empty = Files.write(dir.resolve("empty.jpg"), new byte[0]);
        assertEquals(Reason.NOT_AN_IMAGE, assertThrows(ImageReadException.class, () -> ImageFiles.read(empty)).reason());

        BufferedImage bi = new BufferedImage(64, 64, BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < 64; y++) for (int x = 0; x < 64; x++) bi.setRGB(x, y, x * 4 << 16 | y * 4 << 8 | (x ^ y));
        for (String fmt : List.of("png", "jpeg")) {
            byte[] whole = Files.readAllBytes(write(bi, fmt, "whole." + fmt));
            Path cut = Files.write(dir.resolve("cut." + fmt), Arrays.copyOf(whole, whole.length / 2));
            e = assertThrows(ImageReadException.class, () -> ImageFiles.read(cut), fmt);
            assertEquals(Reason.CORRUPT, e.reason(), e.getMessage());
            assertOneLineNaming(e, cut);
        }
    }

    // ------------------------------------------------------------------ writers

    @Test
    void writePngRoundTripsAndReplacesAtomically() throws IOException {
        byte[] rgb = new byte[5 * 3 * 3];
        for (int i = 0; i < rgb.length; i++) rgb[i] = (byte) (i * 37);
        RgbImage image = new RgbImage(5, 3, rgb);
        Path f = dir.resolve("out.png");
        Files.writeString(f, "old content");
        ImageFiles.writePng(image, f);
        BufferedImage back = ImageIO.read(f.toFile()); // the JDK's decoder, independently of ImageFiles.read
        assertEquals(5, back.getWidth());
        for (int y = 0; y < 3; y++) {
            for (int x = 0; x < 5; x++) {
                int p = back.getRGB(x, y);
                assertEquals(image.get(x, y, 0), p >> 16 & 0xFF);
                assertEquals(image.get(x, y, 1), p >> 8 & 0xFF);
                assertEquals(image.get(x, y, 2), p & 0xFF);
            }
        }
        LoadedImage again = ImageFiles.read(f);
        assertEquals(Channels.RGB, again.channels());
        assertArrayEquals(rgb, again.image().rgb());
        assertNoTempFiles();
    }

    @Test
    void masksAreWrittenAsGreyPngs() throws IOException {
        boolean[] mask = {true, false, false, true, true, false};
        Path f = dir.resolve("mask.png");
        ImageFiles.writeMaskPng(mask, 3, 2, f);
        BufferedImage back = ImageIO.read(f.toFile());
        assertEquals(BufferedImage.TYPE_BYTE_GRAY, back.getType());
        assertArrayEquals(new int[] {255, 0, 0, 255, 255, 0}, back.getRaster().getPixels(0, 0, 3, 2, (int[]) null));

        Path labels = dir.resolve("labels.png");
        ImageFiles.writeGreyPng(new byte[] {0, 1, 2, 3, (byte) 200, (byte) 255}, 2, 3, labels);
        assertArrayEquals(new int[] {0, 1, 2, 3, 200, 255}, ImageIO.read(labels.toFile()).getRaster().getPixels(0, 0, 2, 3, (int[]) null));

        assertThrows(IllegalArgumentException.class, () -> ImageFiles.writeMaskPng(mask, 4, 2, f));
        assertNoTempFiles();
    }

    /**
     * Every kind of PNG the codec writes, read back by the codec and by ImageIO's own decoder: 8-bit grey and RGB
     * exactly; 16-bit grey and RGB with their exact samples in the file, their range in the metadata and the min–max
     * mapping to 8-bit.
     */
    @Test
    void pngRoundTripsForEightAndSixteenBitGreyAndRgb() throws IOException {
        java.util.Random rnd = new java.util.Random(4);
        int w = 7, h = 5, n = w * h;
        byte[] grey = new byte[n];
        rnd.nextBytes(grey);
        Path g8 = dir.resolve("g8.png");
        ImageFiles.writeGreyPng(grey, w, h, g8);
        LoadedImage a = ImageFiles.read(g8);
        assertLayout(a, Channels.GREY, 8, minOf(grey), maxOf(grey));
        for (int i = 0; i < n; i++) for (int c = 0; c < 3; c++) assertEquals(grey[i] & 0xFF, a.image().get(i % w, i / w, c));

        byte[] rgb = new byte[3 * n];
        rnd.nextBytes(rgb);
        Path c8 = dir.resolve("c8.png");
        ImageFiles.writePng(new RgbImage(w, h, rgb), c8);
        LoadedImage b = ImageFiles.read(c8);
        assertLayout(b, Channels.RGB, 8, minOf(rgb), maxOf(rgb));
        assertArrayEquals(rgb, b.image().rgb());

        // a grey RGB image written compactly is an 8-bit grey file that reads back as the same RGB image
        RgbImage greyRgb = new RgbImage(w, h, rgbOfGrey(toInts(grey)));
        Path compact = Files.write(dir.resolve("compact.png"), ImageFiles.png(greyRgb, true));
        assertEquals(BufferedImage.TYPE_BYTE_GRAY, ImageIO.read(compact.toFile()).getType());
        assertArrayEquals(greyRgb.rgb(), ImageFiles.read(compact).image().rgb());
        assertTrue(ImageFiles.png(greyRgb, true).length < ImageFiles.png(greyRgb, false).length);

        for (int channels : new int[] {1, 3}) {
            int[] samples = new int[n * channels];
            for (int i = 0; i < samples.length; i++) samples[i] = 1000 + rnd.nextInt(60000);
            samples[3] = 65535;
            Path f = dir.resolve("s16_" + channels + ".png");
            ImageFiles.write16BitPng(samples, w, h, channels, f);
            int[] raw = ImageIO.read(f.toFile()).getRaster().getPixels(0, 0, w, h, (int[]) null); // independent decoder
            assertArrayEquals(samples, raw, channels + " channels");
            LoadedImage back = ImageFiles.read(f);
            int[] mm = {java.util.Arrays.stream(samples).min().orElseThrow(), java.util.Arrays.stream(samples).max().orElseThrow()};
            assertLayout(back, channels == 1 ? Channels.GREY : Channels.RGB, 16, mm[0], mm[1]);
            int[] eight = new int[samples.length]; // (v − min)·255/(max − min), halves up
            for (int i = 0; i < eight.length; i++) eight[i] = (int) Math.floor((samples[i] - mm[0]) * 255.0 / (mm[1] - mm[0]) + 0.5);
            assertArrayEquals(channels == 1 ? rgbOfGrey(eight) : toBytes(eight), back.image().rgb(), channels + " channels");
        }
        assertThrows(IllegalArgumentException.class, () -> ImageFiles.write16BitPng(new int[] {70000}, 1, 1, 1, dir.resolve("x.png")));
        assertThrows(IllegalArgumentException.class, () -> ImageFiles.write16BitPng(new int[6], 2, 1, 1, dir.resolve("x.png")));
        assertNoTempFiles();
    }

    /** Streams (zip entries of data sets): the same decoding as files; masks by their raw first sample; sizes bounded. */
    @Test
    void streamsDecodeLikeFilesAndMasksKeepTheirRawSamples() throws IOException {
        int[] samples = {0, 1, 2, 0, 300, 0};
        Path f = dir.resolve("m16.png");
        ImageFiles.write16BitPng(samples, 3, 2, 1, f);
        try (InputStream in = Files.newInputStream(f)) {
            ImageFiles.Mask m = ImageFiles.readMask(in, "masks/m16.png");
            assertEquals(3, m.width());
            assertEquals(2, m.height());
            assertArrayEquals(new byte[] {0, 1, 1, 0, 1, 0}, m.inside());
        }
        try (InputStream in = Files.newInputStream(f)) {
            assertArrayEquals(ImageFiles.read(f).image().rgb(), ImageFiles.read(in, "images/m16.png").image().rgb());
        }
        // a header claiming 20000 x 1 pixels is refused before the pixels are decoded
        byte[] wide = ImageFiles.greyPng(new byte[20000], 20000, 1);
        var e = assertThrows(ImageReadException.class, () -> ImageFiles.read(new java.io.ByteArrayInputStream(wide), "images/wide.png"));
        assertEquals(Reason.UNSUPPORTED, e.reason());
        assertEquals("images/wide.png: unsupported image: size 20000x1 is outside 1..16384", e.getMessage());
        var t = assertThrows(ImageReadException.class, () -> ImageFiles.readMask(new java.io.ByteArrayInputStream("text".getBytes()), "masks/t.png"));
        assertEquals(Reason.NOT_AN_IMAGE, t.reason());
        assertEquals(20000, ImageFiles.read(Files.write(dir.resolve("wide.png"), wide)).width(), "files have no such limit");
    }

    private static int[] toInts(byte[] b) {
        int[] v = new int[b.length];
        for (int i = 0; i < b.length; i++) v[i] = b[i] & 0xFF;
        return v;
    }

    private static byte[] toBytes(int[] v) {
        byte[] b = new byte[v.length];
        for (int i = 0; i < v.length; i++) b[i] = (byte) v[i];
        return b;
    }

    private static int minOf(byte[] b) {
        return java.util.Arrays.stream(toInts(b)).min().orElse(0);
    }

    private static int maxOf(byte[] b) {
        return java.util.Arrays.stream(toInts(b)).max().orElse(0);
    }

    @Test
    void intensityMappingEdgeCases() {
        assertArrayEquals(new byte[] {0, 0, 0}, IntensityMapping.minMaxTo8Bit(new int[] {7, 7, 7}));
        assertArrayEquals(new int[] {0, 0}, IntensityMapping.minMax(new int[0]));
        assertEquals(255, IntensityMapping.minMaxTo8Bit(70000, 0, 65535)); // clamped
        assertEquals(0, IntensityMapping.minMaxTo8Bit(-5, 0, 65535));
        assertEquals(128, IntensityMapping.minMaxTo8Bit(1, 0, 2)); // 127.5 rounds up
    }

    // ------------------------------------------------------------------ helpers

    private Path write(BufferedImage bi, String format, String name) throws IOException {
        Path f = dir.resolve(name);
        assertTrue(ImageIO.write(bi, format, f.toFile()), "ImageIO has a " + format + " writer for this image");
        return f;
    }

    private static void assertLayout(LoadedImage img, Channels channels, int bits, int min, int max) {
        String what = img.describe();
        assertEquals(channels, img.channels(), what);
        assertEquals(bits, img.bitDepth(), what);
        assertFalse(img.indexed(), what);
        assertEquals(min, img.minRaw(), what);
        assertEquals(max, img.maxRaw(), what);
    }

    private static byte[] rgbOfGrey(int... v) {
        byte[] out = new byte[v.length * 3];
        for (int i = 0; i < v.length; i++) Arrays.fill(out, i * 3, i * 3 + 3, (byte) v[i]);
        return out;
    }

    private static JsonNode expected() throws IOException {
        try (InputStream in = ImageFilesTest.class.getResourceAsStream("/images/expected.json")) {
            return new ObjectMapper().readTree(in);
        }
    }

    private Path fixture(String name) throws IOException {
        Path f = dir.resolve(name);
        try (InputStream in = ImageFilesTest.class.getResourceAsStream("/images/" + name)) {
            if (in == null) throw new IllegalStateException("missing test resource /images/" + name);
            Files.copy(in, f);
        }
        return f;
    }

    private static void assertOneLineNaming(ImageReadException e, Path file) {
        assertTrue(e.getMessage().startsWith(file.toString() + ": "), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertEquals(file, e.file());
    }

    private void assertNoTempFiles() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")), "temporary files left behind");
        }
    }
}
