package dev.segsam.io.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.io.InputFormat;
import dev.segsam.io.IoLimits;
import dev.segsam.io.image.ImageReadException.Reason;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Images are sized from their headers before anything is decoded, and files that are no image get an image error
 * that says what they are. The files are built here (a PNG is a few chunks; the other formats come from ImageIO's
 * writers, with the header patched where a format needs a larger size).
 */
class ImageHeaderLimitsTest {
    @TempDir
    Path dir;

    /** A PNG of {@code w × h} 8-bit RGB pixels whose IDAT holds one deflated row of zeros: valid header, short data. */
    static byte[] pngHeader(int w, int h) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        chunk(out, "IHDR", ByteBuffer.allocate(13).putInt(w).putInt(h).put((byte) 8).put((byte) 2).put((byte) 0).put((byte) 0).put((byte) 0).array());
        Deflater d = new Deflater();
        d.setInput(new byte[1 + 3 * Math.min(w, 4096)]);
        d.finish();
        byte[] z = new byte[64 + 3 * Math.min(w, 4096)];
        int n = d.deflate(z);
        d.end();
        chunk(out, "IDAT", java.util.Arrays.copyOf(z, n));
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
        out.writeBytes(t);
        out.writeBytes(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }

    private Path file(String name, byte[] content) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, content);
        return p;
    }

    private static void assertOneLine(ImageReadException e, Reason reason, String... parts) {
        assertEquals(reason, e.reason(), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        for (String part : parts) assertTrue(e.getMessage().contains(part), "\"" + part + "\" missing from: " + e.getMessage());
    }

    /** The reported case: a small PNG declaring 20000×20000 pixels. Refused from its header, nothing decoded. */
    @Test
    void aHugeDeclaredPngIsRefusedBeforeDecoding() throws IOException {
        Path p = file("huge.png", pngHeader(20000, 20000));
        assertTrue(Files.size(p) < 70_000);
        long before = usedHeap();
        var e = assertThrows(ImageReadException.class, () -> ImageFiles.read(p));
        assertOneLine(e, Reason.TOO_LARGE, p + ": PNG of 20000x20000 = 400000000 pixels, more than the limit of 67108864",
                "(raise it with -Dsegsam.io.maxImagePixels=N)");
        assertTrue(usedHeap() - before < 256L << 20, "no image-sized allocation");
        // 40000² overflows int arithmetic in a naive w·h·3
        Path q = file("huger.png", pngHeader(40000, 40000));
        assertOneLine(assertThrows(ImageReadException.class, () -> ImageFiles.read(q)), Reason.TOO_LARGE, "1600000000 pixels");
        // even with the limit lifted, what one Java array cannot hold is refused, not attempted
        Path r = file("max.png", pngHeader(Integer.MAX_VALUE, 2));
        IoLimits unlimited = IoLimits.defaults().withMaxImagePixels(Long.MAX_VALUE);
        assertOneLine(assertThrows(ImageReadException.class, () -> ImageFiles.read(r, unlimited)), Reason.TOO_LARGE,
                "more than segsam can hold in one image");
    }

    private static long usedHeap() {
        Runtime rt = Runtime.getRuntime();
        return rt.totalMemory() - rt.freeMemory();
    }

    @Test
    void theLimitCanBeRaisedOrLowered() throws IOException {
        Path p = file("small.png", pngHeader(300, 200));
        // 60000 pixels: under the default the header passes and the short IDAT is reported as damage
        assertOneLine(assertThrows(ImageReadException.class, () -> ImageFiles.read(p)), Reason.CORRUPT, "damaged");
        IoLimits tight = IoLimits.defaults().withMaxImagePixels(59_999);
        assertOneLine(assertThrows(ImageReadException.class, () -> ImageFiles.read(p, tight)), Reason.TOO_LARGE,
                "PNG of 300x200 = 60000 pixels, more than the limit of 59999");
        assertEquals(60_000, IoLimits.fromProperties(java.util.Map.of(IoLimits.IMAGE_PIXELS, "60000")).maxImagePixels());
        assertEquals(64L << 20, IoLimits.fromProperties(java.util.Map.of(IoLimits.IMAGE_PIXELS, "64M")).maxImagePixels());
        var bad = assertThrows(IllegalArgumentException.class, () -> IoLimits.fromProperties(java.util.Map.of(IoLimits.IMAGE_PIXELS, "lots")));
        assertEquals("segsam.io.maxImagePixels must be a whole number ≥ 1 (K, M, G suffixes allowed), got 'lots'", bad.getMessage());
    }

    /** Every format is sized from its header: with a limit of 10 pixels, a 4×3 image of each is refused. */
    @Test
    void everyFormatIsCheckedFromItsHeader() throws IOException {
        BufferedImage bi = new BufferedImage(4, 3, BufferedImage.TYPE_3BYTE_BGR);
        IoLimits ten = IoLimits.defaults().withMaxImagePixels(10);
        for (String format : new String[] {"png", "jpeg", "tiff", "bmp", "gif"}) {
            Path p = dir.resolve("small." + format);
            assertTrue(ImageIO.write(bi, format, p.toFile()), format);
            assertEquals(4, ImageFiles.read(p).width(), format);
            assertOneLine(assertThrows(ImageReadException.class, () -> ImageFiles.read(p, ten)), Reason.TOO_LARGE,
                    "of 4x3 = 12 pixels, more than the limit of 10");
        }
    }

    /** A JPEG whose SOF0 claims 30000×30000 (the scan data stays that of an 8×8 image). */
    @Test
    void aHugeDeclaredJpegIsRefusedBeforeDecoding() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(new BufferedImage(8, 8, BufferedImage.TYPE_3BYTE_BGR), "jpeg", out);
        byte[] b = out.toByteArray();
        int sof = -1;
        for (int i = 0; i + 1 < b.length; i++) if ((b[i] & 0xFF) == 0xFF && (b[i + 1] & 0xFF) == 0xC0) sof = i;
        assertTrue(sof > 0, "SOF0 present");
        ByteBuffer.wrap(b, sof + 5, 4).putShort((short) 30000).putShort((short) 30000);
        Path p = file("huge.jpg", b);
        assertOneLine(assertThrows(ImageReadException.class, () -> ImageFiles.read(p)), Reason.TOO_LARGE,
                "JPEG of 30000x30000 = 900000000 pixels");
    }

    @Test
    void animatedGifsAreRefused() throws IOException {
        Path p = dir.resolve("anim.gif");
        ImageWriter w = ImageIO.getImageWritersByFormatName("gif").next();
        try (ImageOutputStream out = ImageIO.createImageOutputStream(p.toFile())) {
            w.setOutput(out);
            w.prepareWriteSequence(null);
            for (int i = 0; i < 3; i++) w.writeToSequence(new IIOImage(new BufferedImage(5, 5, BufferedImage.TYPE_BYTE_INDEXED), null, null), null);
            w.endWriteSequence();
        } finally {
            w.dispose();
        }
        assertOneLine(assertThrows(ImageReadException.class, () -> ImageFiles.read(p)), Reason.UNSUPPORTED,
                "unsupported image: an animated GIF (more than one frame); save the frame to segment as PNG");
        Path still = dir.resolve("still.gif");
        ImageIO.write(new BufferedImage(5, 5, BufferedImage.TYPE_BYTE_INDEXED), "gif", still.toFile());
        assertEquals("GIF", ImageFiles.read(still).format());
    }

    /** Fuzzing finding: a BMP cut inside its pixel rows ended in a bare EOFException (no message, not typed). */
    @Test
    void truncatedBmpIsDamaged() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(new BufferedImage(6, 5, BufferedImage.TYPE_3BYTE_BGR), "bmp", out);
        byte[] b = out.toByteArray();
        Path p = file("cut.bmp", java.util.Arrays.copyOf(b, b.length - 20));
        assertOneLine(assertThrows(ImageReadException.class, () -> ImageFiles.read(p)), Reason.CORRUPT,
                p + ": damaged image: the file ends before its pixel data does (truncated?)");
    }

    @Test
    void filesThatAreNoImageSayWhatTheyAre() throws IOException {
        Path empty = file("empty.png", new byte[0]);
        assertOneLine(assertThrows(ImageReadException.class, () -> ImageFiles.read(empty)), Reason.NOT_AN_IMAGE,
                empty + ": empty file (0 bytes), not an image");
        Path text = file("notes.png", "hello\tworld\nsecond line, and more\n".getBytes(StandardCharsets.UTF_8));
        assertOneLine(assertThrows(ImageReadException.class, () -> ImageFiles.read(text)), Reason.NOT_AN_IMAGE,
                text + ": not a PNG, JPEG, TIFF, BMP or GIF image (it is text, starting \"hello\\tworld\\nsecond line,...\")");
        byte[] dicom = new byte[200];
        dicom[128] = 'D';
        dicom[129] = 'I';
        dicom[130] = 'C';
        dicom[131] = 'M';
        Path dcm = file("scan.png", dicom);
        assertOneLine(assertThrows(ImageReadException.class, () -> ImageFiles.read(dcm)), Reason.NOT_AN_IMAGE,
                "(it is a DICOM file: read it as a medical image)");
    }

    @Test
    void namesWithControlCharactersArePrintedEscaped() throws IOException {
        Path p = file("bad\nname\u001b[31m.png", new byte[0]);
        var e = assertThrows(ImageReadException.class, () -> ImageFiles.read(p));
        assertFalse(e.getMessage().contains("\n") || e.getMessage().contains("\u001b"), e.getMessage());
        assertTrue(e.getMessage().contains("bad\\nname\\x1b[31m.png: empty file"), e.getMessage());
        assertEquals(p, e.file(), "the exception keeps the real path");
    }

    /**
     * Sniffing: DICOM's DICM marker at 128 wins over a TIFF header in its preamble (dual-personality files); picture
     * magic numbers next; then the extension, so that broken pictures reach the image reader and its errors.
     */
    @Test
    void inputFormatsAreSniffedInTheRightOrder() throws IOException {
        byte[] tiffPreamble = new byte[200];
        tiffPreamble[0] = 'I';
        tiffPreamble[1] = 'I';
        tiffPreamble[2] = 42;
        System.arraycopy("DICM".getBytes(StandardCharsets.US_ASCII), 0, tiffPreamble, 128, 4);
        assertEquals(InputFormat.DICOM, InputFormat.detect(tiffPreamble, "ct.dcm"));
        assertEquals(InputFormat.DICOM, InputFormat.detect(tiffPreamble, "ct.tif"));
        assertEquals(InputFormat.PICTURE, InputFormat.detect(java.util.Arrays.copyOf(tiffPreamble, 100), "x"));
        assertEquals(InputFormat.PICTURE, InputFormat.detect(new byte[0], "empty.png"));
        assertEquals(InputFormat.PICTURE, InputFormat.detect("text".getBytes(StandardCharsets.US_ASCII), "a.JPG"));
        assertEquals(InputFormat.PICTURE, InputFormat.detect("GIF89a".getBytes(StandardCharsets.US_ASCII), "a"));
        assertEquals(InputFormat.PICTURE, InputFormat.detect(pngHeader(2, 2), "noext"));
        assertEquals(InputFormat.NIFTI, InputFormat.detect(new byte[] {0x1f, (byte) 0x8b, 8, 0}, "x.dcm"));
        assertEquals(InputFormat.NIFTI, InputFormat.detect(new byte[] {92, 1, 0, 0}, "x"));
        assertEquals(InputFormat.NIFTI, InputFormat.detect(new byte[0], "x.nii.gz"));
        assertEquals(InputFormat.DICOM, InputFormat.detect(new byte[] {8, 0, 5, 0}, "IM0001"));
        assertEquals(InputFormat.DICOM, InputFormat.detect(new byte[0], "empty"));
        assertEquals(InputFormat.DICOM_SERIES, InputFormat.detect(dir));
    }
}
