package dev.segsam.io.image;

import dev.segsam.io.AtomicFiles;
import dev.segsam.io.IoLimits;
import dev.segsam.io.Printable;
import dev.segsam.io.image.ImageReadException.Reason;
import dev.segsam.tensor.image.RgbImage;
import java.awt.Point;
import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.DataBufferByte;
import java.awt.image.DataBufferUShort;
import java.awt.image.IndexColorModel;
import java.awt.image.PixelInterleavedSampleModel;
import java.awt.image.Raster;
import java.awt.image.RenderedImage;
import java.awt.image.SampleModel;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import javax.imageio.IIOException;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageWriter;
import javax.imageio.event.IIOReadWarningListener;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataFormatImpl;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import org.w3c.dom.Node;

/**
 * segsam's one image codec: reads PNG, JPEG, TIFF (and BMP, GIF) images with the JDK's {@code javax.imageio} into the
 * 8-bit RGB image SAM takes — from files, or from streams such as zip entries — and writes images and masks as PNG
 * (8-bit or 16-bit, grey or RGB).
 *
 * <p><b>Mapping to 8-bit RGB</b>, as SAM users prepare images:
 * <ul>
 *   <li>8-bit RGB: unchanged. 8-bit grey: replicated to three channels (MedSAM's {@code np.repeat(img[..., None], 3)}).</li>
 *   <li>Alpha (RGBA, grey + alpha): dropped, not composited — Pillow's {@code convert("RGB")}.</li>
 *   <li>Palette images: expanded through the palette. Grey with 1, 2 or 4 bits: scaled to 0–255.</li>
 *   <li>16-bit grey or RGB (and 9–15-bit samples): the min–max stretch of {@link IntensityMapping}, over the whole
 *       image, then replicated if grey. This is the default; other windows (CT) can be applied by callers with the
 *       raw values.</li>
 * </ul>
 * No colour management (ICC profiles are ignored, as Pillow's {@code np.array(img)} does) and no EXIF rotation.
 * The width and height are read from the header first: images over {@link IoLimits#maxImagePixels()} are refused
 * before any pixel is decoded, and metadata (text chunks, which can inflate without bound) is not read.
 * Other sample types (float, signed or 32-bit integers) and colour spaces (CMYK) are refused.
 */
public final class ImageFiles {
    private static final Set<String> FORMATS = Set.of("PNG", "JPEG", "TIFF", "BMP", "GIF");

    private ImageFiles() {}

    // ------------------------------------------------------------------ reading

    /** Reads the image in {@code file} with the {@linkplain IoLimits#defaults() default limits}; see {@link #read(Path, IoLimits)}. */
    public static LoadedImage read(Path file) throws IOException {
        return read(file, IoLimits.defaults());
    }

    /**
     * Reads the image in {@code file} (a TIFF's first page). The header is read first and nothing is decoded when the
     * image declares more than {@link IoLimits#maxImagePixels()} pixels. Animated GIFs are refused: which frame is
     * meant would be a guess.
     *
     * @throws ImageReadException {@link Reason#MISSING} when there is no such regular file, {@link Reason#NOT_AN_IMAGE}
     *     when no supported format recognises the content (empty files and text files say so),
     *     {@link Reason#TOO_LARGE} over the pixel limit, {@link Reason#UNSUPPORTED} for image kinds listed above,
     *     {@link Reason#CORRUPT} for damaged or truncated files; other {@link IOException}s for I/O failures
     */
    public static LoadedImage read(Path file, IoLimits limits) throws IOException {
        if (!Files.exists(file)) throw new ImageReadException(file, Reason.MISSING, "no such file");
        if (!Files.isRegularFile(file)) throw new ImageReadException(file, Reason.MISSING, "not a regular file");
        if (!Files.isReadable(file)) throw new ImageReadException(file, Reason.MISSING, "not readable");
        if (Files.size(file) == 0) throw new ImageReadException(file, Reason.NOT_AN_IMAGE, "empty file (0 bytes), not an image");
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            return read(in, file, limits, Integer.MAX_VALUE);
        }
    }

    /** Largest width or height {@link #read(InputStream, String)} decodes (checked before any pixel buffer exists). */
    public static final int MAX_SIDE = 16384;

    /**
     * Reads an image from a stream (e.g. a zip entry of a data set), mapped as {@link #read(Path)} maps files;
     * {@code name} stands for the file in messages. Images wider or higher than {@link #MAX_SIDE} are refused from the
     * header, so that a small file cannot make the reader allocate gigabytes.
     */
    public static LoadedImage read(InputStream in, String name) throws IOException {
        try (ImageInputStream iis = ImageIO.createImageInputStream(in)) {
            return read(iis, Path.of(name), IoLimits.defaults(), MAX_SIDE);
        }
    }

    /** A binary mask image: {@code inside[y * width + x]} is 1 where the first sample is non-zero, else 0. */
    public record Mask(int width, int height, byte[] inside) {}

    /**
     * Reads a mask image from a stream: any non-zero value of the first sample (grey level, red, or palette index)
     * is inside, whatever the bit depth; sizes are limited as for {@link #read(InputStream, String)}.
     */
    public static Mask readMask(InputStream in, String name) throws IOException {
        Path file = Path.of(name);
        try (ImageInputStream iis = ImageIO.createImageInputStream(in)) {
            BufferedImage img = decodeRaw(iis, file, IoLimits.defaults(), MAX_SIDE).image;
            int w = img.getWidth(), h = img.getHeight();
            int[] first = img.getRaster().getSamples(0, 0, w, h, 0, new int[w * h]);
            byte[] m = new byte[first.length];
            for (int i = 0; i < m.length; i++) m[i] = (byte) (first[i] != 0 ? 1 : 0);
            return new Mask(w, h, m);
        }
    }

    private static LoadedImage read(ImageInputStream in, Path file, IoLimits limits, int maxSide) throws IOException {
        Raw raw = decodeRaw(in, file, limits, maxSide);
        return decode(file, raw.format, raw.image, raw.palette);
    }

    private record Raw(BufferedImage image, String format, boolean palette) {}

    /** The first image of {@code in} as ImageIO decodes it, every failure an {@link ImageReadException}. */
    private static Raw decodeRaw(ImageInputStream in, Path file, IoLimits limits, int maxSide) throws IOException {
        try {
            if (in == null) throw new ImageReadException(file, Reason.NOT_AN_IMAGE, "cannot be opened as an image");
            ImageReader reader = readerFor(in);
            if (reader == null) {
                throw new ImageReadException(file, Reason.NOT_AN_IMAGE, "not a PNG, JPEG, TIFF, BMP or GIF image" + looksLike(file));
            }
            String format = formatOf(reader);
            List<String> warnings = new ArrayList<>();
            BufferedImage img;
            boolean palette;
            try {
                // metadata is not read (a zTXt chunk can inflate to gigabytes); GIF: frame 1 is looked at, then frame 0 read
                reader.setInput(in, !format.equals("GIF"), true);
                reader.addIIOReadWarningListener((IIOReadWarningListener) (source, warning) -> warnings.add(warning));
                checkHeader(file, format, reader, limits, maxSide);
                img = reader.read(0);
                palette = hasPalette(reader);
            } finally {
                reader.dispose();
            }
            for (String w : warnings) {
                // libjpeg reports a truncated JPEG only as a warning and fills the rest in grey; Pillow refuses it
                if (w.toLowerCase(Locale.ROOT).contains("premature end")) {
                    throw new ImageReadException(file, Reason.CORRUPT, "damaged " + format + ": " + w);
                }
            }
            return new Raw(img, format, palette);
        } catch (ImageReadException e) {
            throw e;
        } catch (EOFException e) {
            // some decoders (BMP) read pixel rows with readFully and let a short file end in a bare EOFException
            throw new ImageReadException(file, Reason.CORRUPT, "damaged image: the file ends before its pixel data does (truncated?)", e);
        } catch (IIOException e) {
            String msg = oneLine(e);
            boolean unsupported = msg.toLowerCase(Locale.ROOT).contains("unsupported");
            throw new ImageReadException(file, unsupported ? Reason.UNSUPPORTED : Reason.CORRUPT,
                    (unsupported ? "unsupported image: " : "damaged image: ") + msg, e);
        } catch (RuntimeException e) {
            // decoders signal some malformed input with unchecked exceptions
            throw new ImageReadException(file, Reason.CORRUPT, "damaged image: " + oneLine(e), e);
        }
    }

    /** Most pixels {@link #decode} can hold: the RGB bytes must fit in one Java array. */
    static final long MAX_ARRAY_PIXELS = (Integer.MAX_VALUE - 16) / 3;

    /**
     * Reads the width and height from the header (no pixel data is decoded) and refuses sizes over the limit, empty
     * sizes, and GIFs with a second frame.
     */
    private static void checkHeader(Path file, String format, ImageReader reader, IoLimits limits, int maxSide) throws IOException {
        int w = reader.getWidth(0);
        int h = reader.getHeight(0);
        if (w <= 0 || h <= 0) throw new ImageReadException(file, Reason.CORRUPT, "damaged " + format + ": its header declares " + w + "x" + h + " pixels");
        if (w > maxSide || h > maxSide) {
            throw new ImageReadException(file, Reason.UNSUPPORTED, "unsupported image: size " + w + "x" + h + " is outside 1.." + maxSide);
        }
        long pixels = (long) w * h;
        if (pixels > limits.maxImagePixels()) {
            throw new ImageReadException(file, Reason.TOO_LARGE, format + " of " + w + "x" + h + " = " + pixels
                    + " pixels, more than the limit of " + limits.maxImagePixels() + " " + IoLimits.hint(IoLimits.IMAGE_PIXELS));
        }
        if (pixels > MAX_ARRAY_PIXELS) {
            throw new ImageReadException(file, Reason.TOO_LARGE, format + " of " + w + "x" + h + " = " + pixels
                    + " pixels, more than segsam can hold in one image (" + MAX_ARRAY_PIXELS + ")");
        }
        if (format.equals("GIF") && hasImage(reader, 1)) {
            throw new ImageReadException(file, Reason.UNSUPPORTED, "unsupported image: an animated GIF (more than one frame); "
                    + "save the frame to segment as PNG");
        }
    }

    /** Whether the file holds an image at {@code index}, found from headers only. */
    private static boolean hasImage(ImageReader reader, int index) {
        try {
            reader.getWidth(index);
            return true;
        } catch (IndexOutOfBoundsException | IOException e) {
            return false; // no such frame, or a damaged tail after the first frame: read the first as before
        }
    }

    /** What a file that no image reader recognises seems to be, for the error message: {@code ""} when unclear. */
    private static String looksLike(Path file) {
        byte[] head;
        try (var in = Files.newInputStream(file)) {
            head = in.readNBytes(132);
        } catch (IOException e) {
            return "";
        }
        if (head.length >= 132 && head[128] == 'D' && head[129] == 'I' && head[130] == 'C' && head[131] == 'M') {
            return " (it is a DICOM file: read it as a medical image)";
        }
        if (head.length >= 2 && (head[0] & 0xFF) == 0x1f && (head[1] & 0xFF) == 0x8b) return " (it is gzip-compressed data)";
        int n = Math.min(head.length, 64);
        int text = 0;
        for (int i = 0; i < n; i++) {
            int b = head[i] & 0xFF;
            if (b == '\n' || b == '\r' || b == '\t' || (b >= 0x20 && b < 0x7f) || b >= 0xc2) text++;
        }
        if (n > 0 && text == n) {
            String start = new String(head, 0, Math.min(n, 24), java.nio.charset.StandardCharsets.UTF_8);
            return " (it is text, starting \"" + Printable.of(start).replace("\"", "\\\"") + (n > 24 ? "..." : "") + "\")";
        }
        return "";
    }


    /**
     * Whether the file stores palette indices: the standard metadata has a {@code Chroma/Palette} node. (ImageIO also
     * gives 1-, 2- and 4-bit grey images an {@link IndexColorModel}, though they have no palette.)
     */
    private static boolean hasPalette(ImageReader reader) {
        try {
            IIOMetadata meta = reader.getImageMetadata(0);
            if (meta == null || !meta.isStandardMetadataFormatSupported()) return true;
            Node root = meta.getAsTree(IIOMetadataFormatImpl.standardMetadataFormatName);
            for (Node n = root.getFirstChild(); n != null; n = n.getNextSibling()) {
                if (!"Chroma".equals(n.getNodeName())) continue;
                for (Node c = n.getFirstChild(); c != null; c = c.getNextSibling()) {
                    if ("Palette".equals(c.getNodeName())) return true;
                }
            }
            return false;
        } catch (IOException | RuntimeException e) {
            return true;
        }
    }

    private static ImageReader readerFor(ImageInputStream in) {
        Iterator<ImageReader> it = ImageIO.getImageReaders(in);
        while (it.hasNext()) {
            ImageReader r = it.next();
            if (FORMATS.contains(formatOf(r))) return r;
            r.dispose();
        }
        return null;
    }

    private static String formatOf(ImageReader r) {
        String name = r.getOriginatingProvider() != null ? r.getOriginatingProvider().getFormatNames()[0] : "";
        try {
            name = r.getFormatName();
        } catch (IOException e) {
            // keep the provider's name
        }
        String n = name.toLowerCase(Locale.ROOT);
        if (n.contains("png")) return "PNG";
        if (n.contains("jpeg") || n.contains("jpg")) return "JPEG";
        if (n.contains("tif")) return "TIFF";
        if (n.contains("bmp")) return "BMP";
        if (n.contains("gif")) return "GIF";
        return name.toUpperCase(Locale.ROOT);
    }

    private static String oneLine(Throwable e) {
        String m = e.getMessage();
        if (m == null || m.isBlank()) m = e.getClass().getSimpleName();
        if (e.getCause() != null && e.getCause().getMessage() != null && !m.contains(e.getCause().getMessage())) {
            m += " (" + e.getCause().getMessage() + ")";
        }
        return m.replaceAll("\\s+", " ").strip();
    }

    private static LoadedImage decode(Path file, String format, BufferedImage img, boolean palette) throws ImageReadException {
        int w = img.getWidth();
        int h = img.getHeight();
        ColorModel cm = img.getColorModel();
        Raster raster = img.getRaster();
        SampleModel sm = raster.getSampleModel();
        int bits = sm.getSampleSize(0);
        if (cm instanceof IndexColorModel icm) return decodeIndexed(format, w, h, raster, icm, bits, palette);

        switch (sm.getDataType()) {
            case DataBuffer.TYPE_BYTE, DataBuffer.TYPE_USHORT, DataBuffer.TYPE_INT -> { }
            case DataBuffer.TYPE_FLOAT, DataBuffer.TYPE_DOUBLE ->
                    throw new ImageReadException(file, Reason.UNSUPPORTED, "unsupported image: floating-point samples");
            case DataBuffer.TYPE_SHORT ->
                    throw new ImageReadException(file, Reason.UNSUPPORTED, "unsupported image: signed 16-bit samples");
            default -> throw new ImageReadException(file, Reason.UNSUPPORTED, "unsupported image: sample type " + sm.getDataType());
        }
        int csType = cm.getColorSpace().getType();
        int colours = cm.getNumColorComponents();
        Channels channels;
        if (csType == ColorSpace.TYPE_GRAY && colours == 1) {
            channels = cm.hasAlpha() ? Channels.GREY_ALPHA : Channels.GREY;
        } else if (csType == ColorSpace.TYPE_RGB && colours == 3) {
            channels = cm.hasAlpha() ? Channels.RGBA : Channels.RGB;
        } else {
            throw new ImageReadException(file, Reason.UNSUPPORTED, "unsupported image: " + colourSpaceName(csType)
                    + " with " + raster.getNumBands() + " channels");
        }
        if (raster.getNumBands() != channels.count) {
            throw new ImageReadException(file, Reason.UNSUPPORTED, "unsupported image: " + raster.getNumBands() + " channels for " + channels);
        }
        for (int b = 0; b < raster.getNumBands(); b++) {
            if (sm.getSampleSize(b) != bits) throw new ImageReadException(file, Reason.UNSUPPORTED, "unsupported image: mixed sample sizes");
        }
        if (bits > 16) throw new ImageReadException(file, Reason.UNSUPPORTED, "unsupported image: " + bits + "-bit samples");

        int n = w * h;
        int colourBands = channels.grey() ? 1 : 3;
        int[] samples = new int[n * colourBands]; // interleaved colour samples, alpha left out
        int[] band = new int[n];
        for (int b = 0; b < colourBands; b++) {
            raster.getSamples(0, 0, w, h, b, band);
            for (int i = 0; i < n; i++) samples[i * colourBands + b] = band[i];
        }
        int[] mm = IntensityMapping.minMax(samples);
        byte[] eight;
        if (bits == 8) {
            eight = new byte[samples.length];
            for (int i = 0; i < samples.length; i++) eight[i] = (byte) samples[i];
        } else if (bits < 8) {
            eight = scaleUp(samples, bits);
        } else {
            eight = IntensityMapping.minMaxTo8Bit(samples, mm[0], mm[1]);
        }
        byte[] rgb = channels.grey() ? replicate(eight) : eight;
        return new LoadedImage(new RgbImage(w, h, rgb), format, w, h, bits, channels, false, mm[0], mm[1]);
    }

    private static LoadedImage decodeIndexed(String format, int w, int h, Raster raster, IndexColorModel icm, int bits,
                                             boolean palette) {
        boolean grey = true;
        for (int i = 0; i < icm.getMapSize(); i++) {
            if (icm.getRed(i) != icm.getGreen(i) || icm.getGreen(i) != icm.getBlue(i)) {
                grey = false;
                break;
            }
        }
        boolean alpha = icm.hasAlpha();
        Channels channels = grey ? (alpha ? Channels.GREY_ALPHA : Channels.GREY) : (alpha ? Channels.RGBA : Channels.RGB);
        int n = w * h;
        int[] idx = raster.getSamples(0, 0, w, h, 0, new int[n]);
        byte[] rgb = new byte[n * 3];
        int lo = 255;
        int hi = 0;
        for (int i = 0; i < n; i++) {
            int k = idx[i];
            int r = icm.getRed(k);
            int g = icm.getGreen(k);
            int b = icm.getBlue(k);
            rgb[i * 3] = (byte) r;
            rgb[i * 3 + 1] = (byte) g;
            rgb[i * 3 + 2] = (byte) b;
            lo = Math.min(lo, Math.min(r, Math.min(g, b)));
            hi = Math.max(hi, Math.max(r, Math.max(g, b)));
        }
        return new LoadedImage(new RgbImage(w, h, rgb), format, w, h, bits, channels, palette, lo, hi);
    }

    /** Samples of fewer than 8 bits scaled to 0–255: {@code round(v · 255 / (2^bits − 1))}. */
    private static byte[] scaleUp(int[] samples, int bits) {
        int m = (1 << bits) - 1;
        byte[] out = new byte[samples.length];
        for (int i = 0; i < samples.length; i++) out[i] = (byte) ((2 * samples[i] * 255 + m) / (2 * m));
        return out;
    }

    private static byte[] replicate(byte[] grey) {
        byte[] rgb = new byte[grey.length * 3];
        for (int i = 0; i < grey.length; i++) {
            rgb[i * 3] = grey[i];
            rgb[i * 3 + 1] = grey[i];
            rgb[i * 3 + 2] = grey[i];
        }
        return rgb;
    }

    private static String colourSpaceName(int type) {
        return switch (type) {
            case ColorSpace.TYPE_CMYK -> "CMYK";
            case ColorSpace.TYPE_CMY -> "CMY";
            case ColorSpace.TYPE_YCbCr -> "YCbCr";
            case ColorSpace.TYPE_Lab -> "Lab";
            case ColorSpace.TYPE_GRAY -> "grey";
            case ColorSpace.TYPE_RGB -> "RGB";
            default -> "colour space type " + type;
        };
    }

    // ------------------------------------------------------------------ writing

    /*
     * Every PNG segsam writes is encoded here: 8-bit grey or RGB, 16-bit grey or RGB, no alpha, no colour profile.
     * The write* methods replace the target atomically (a temporary file, synced, moved into place); the png* methods
     * return the encoded bytes for callers that write many files into a new folder (data set export) and make their
     * folder the unit of atomicity instead.
     */

    /** Writes {@code image} as an 8-bit RGB PNG, through a temporary file moved into place (replacing {@code target}). */
    public static void writePng(RgbImage image, Path target) throws IOException {
        write(png(image, false), target);
    }

    /** Writes a binary mask as an 8-bit grey PNG: {@code true} → 255, {@code false} → 0; row-major, {@code w × h}. */
    public static void writeMaskPng(boolean[] mask, int w, int h, Path target) throws IOException {
        write(maskPng(mask, w, h), target);
    }

    /** The PNG {@link #writeMaskPng} writes, as bytes. */
    public static byte[] maskPng(boolean[] mask, int w, int h) throws IOException {
        checkSize(mask.length, w, h);
        byte[] grey = new byte[mask.length];
        for (int i = 0; i < mask.length; i++) grey[i] = mask[i] ? (byte) 255 : 0;
        return encode(interleaved8(w, h, 1, grey));
    }

    /** Writes a grey image or a label mask as an 8-bit grey PNG with the bytes as they are (0–255); row-major. */
    public static void writeGreyPng(byte[] grey, int w, int h, Path target) throws IOException {
        write(greyPng(grey, w, h), target);
    }

    /**
     * Writes 16-bit samples (0–65535, row-major, {@code channels} = 1 grey or 3 interleaved RGB) as a 16-bit PNG, e.g.
     * raw CT values; {@link #read} gives back their range in {@link LoadedImage#minRaw}/{@link LoadedImage#maxRaw}.
     */
    public static void write16BitPng(int[] samples, int w, int h, int channels, Path target) throws IOException {
        if (channels != 1 && channels != 3) throw new IllegalArgumentException("channels must be 1 (grey) or 3 (RGB), got " + channels);
        if (w <= 0 || h <= 0 || (long) w * h * channels != samples.length) {
            throw new IllegalArgumentException(samples.length + " samples are not " + w + "x" + h + "x" + channels);
        }
        short[] data = new short[samples.length];
        for (int i = 0; i < samples.length; i++) {
            if (samples[i] < 0 || samples[i] > 65535) throw new IllegalArgumentException("sample " + i + " is " + samples[i] + ", outside 0..65535");
            data[i] = (short) samples[i];
        }
        int[] offsets = channels == 1 ? new int[] {0} : new int[] {0, 1, 2};
        SampleModel sm = new PixelInterleavedSampleModel(DataBuffer.TYPE_USHORT, w, h, channels, w * channels, offsets);
        WritableRaster raster = Raster.createWritableRaster(sm, new DataBufferUShort(data, data.length), new Point(0, 0));
        write(encode(new BufferedImage(colourModel(channels, DataBuffer.TYPE_USHORT), raster, false, null)), target);
    }

    /**
     * An 8-bit PNG of {@code image}: RGB, or, when {@code greyIfPossible} and every pixel has R = G = B, grey (a third
     * of the data; it reads back as the same RGB image).
     */
    public static byte[] png(RgbImage image, boolean greyIfPossible) throws IOException {
        byte[] rgb = image.rgb();
        int n = image.width() * image.height();
        boolean grey = greyIfPossible;
        for (int i = 0; i < n && grey; i++) grey = rgb[3 * i] == rgb[3 * i + 1] && rgb[3 * i] == rgb[3 * i + 2];
        if (!grey) return encode(interleaved8(image.width(), image.height(), 3, rgb));
        byte[] g = new byte[n];
        for (int i = 0; i < n; i++) g[i] = rgb[3 * i];
        return encode(interleaved8(image.width(), image.height(), 1, g));
    }

    /** An 8-bit grey PNG of {@code grey} (row-major, {@code w × h}), the bytes as they are. */
    public static byte[] greyPng(byte[] grey, int w, int h) throws IOException {
        checkSize(grey.length, w, h);
        return encode(interleaved8(w, h, 1, grey.clone()));
    }

    private static void checkSize(int length, int w, int h) {
        if (w <= 0 || h <= 0 || (long) w * h != length) {
            throw new IllegalArgumentException("mask of " + length + " values is not " + w + "x" + h);
        }
    }

    private static ColorModel colourModel(int bands, int dataType) {
        ColorSpace cs = ColorSpace.getInstance(bands == 1 ? ColorSpace.CS_GRAY : ColorSpace.CS_sRGB);
        return new ComponentColorModel(cs, false, false, Transparency.OPAQUE, dataType);
    }

    /** A BufferedImage over {@code data} (8-bit, {@code bands} interleaved: grey or RGB), without copying. */
    private static BufferedImage interleaved8(int w, int h, int bands, byte[] data) {
        int[] offsets = bands == 1 ? new int[] {0} : new int[] {0, 1, 2};
        SampleModel sm = new PixelInterleavedSampleModel(DataBuffer.TYPE_BYTE, w, h, bands, w * bands, offsets);
        WritableRaster raster = Raster.createWritableRaster(sm, new DataBufferByte(data, data.length), new Point(0, 0));
        return new BufferedImage(colourModel(bands, DataBuffer.TYPE_BYTE), raster, false, null);
    }

    private static byte[] encode(RenderedImage img) throws IOException {
        Iterator<ImageWriter> writers = ImageIO.getImageWritersByFormatName("png");
        if (!writers.hasNext()) throw new IOException("no PNG writer in this JDK");
        ImageWriter writer = writers.next();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (MemoryCacheImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
            writer.setOutput(out);
            writer.write(img);
        } finally {
            writer.dispose();
        }
        return bytes.toByteArray();
    }

    private static void write(byte[] png, Path target) throws IOException {
        ByteBuffer data = ByteBuffer.wrap(png);
        AtomicFiles.writeChannel(target, true, ch -> {
            while (data.hasRemaining()) ch.write(data);
        });
    }
}
