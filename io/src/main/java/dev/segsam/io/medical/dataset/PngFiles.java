package dev.segsam.io.medical.dataset;

import dev.segsam.tensor.image.RgbImage;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/** Minimal 8-bit PNG writing/reading through {@code javax.imageio}, for dataset folders and slice export. */
public final class PngFiles {
    private PngFiles() {}

    /** Writes an 8-bit grey PNG ({@code gray[y * width + x]}). */
    public static void writeGray(Path out, byte[] gray, int width, int height) throws IOException {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_BYTE_GRAY);
        byte[] dst = ((DataBufferByte) img.getRaster().getDataBuffer()).getData();
        System.arraycopy(gray, 0, dst, 0, gray.length);
        write(out, img);
    }

    /** Writes an RGB image: as 8-bit grey when every pixel has R = G = B, else as 24-bit RGB. */
    public static void write(Path out, RgbImage image) throws IOException {
        byte[] rgb = image.rgb();
        int n = image.width() * image.height();
        boolean grey = true;
        for (int i = 0; i < n && grey; i++) grey = rgb[3 * i] == rgb[3 * i + 1] && rgb[3 * i] == rgb[3 * i + 2];
        if (grey) {
            byte[] g = new byte[n];
            for (int i = 0; i < n; i++) g[i] = rgb[3 * i];
            writeGray(out, g, image.width(), image.height());
            return;
        }
        BufferedImage img = new BufferedImage(image.width(), image.height(), BufferedImage.TYPE_3BYTE_BGR);
        byte[] dst = ((DataBufferByte) img.getRaster().getDataBuffer()).getData();
        for (int i = 0; i < n; i++) {
            dst[3 * i] = rgb[3 * i + 2];
            dst[3 * i + 1] = rgb[3 * i + 1];
            dst[3 * i + 2] = rgb[3 * i];
        }
        write(out, img);
    }

    /** Writes a mask as a grey PNG with 255 inside, 0 outside. */
    public static void writeMask(Path out, InstanceMask m) throws IOException {
        byte[] g = new byte[m.mask().length];
        for (int i = 0; i < g.length; i++) g[i] = m.mask()[i] != 0 ? (byte) 255 : 0;
        writeGray(out, g, m.width(), m.height());
    }

    private static void write(Path out, BufferedImage img) throws IOException {
        try (OutputStream os = Files.newOutputStream(out)) {
            if (!ImageIO.write(img, "png", os)) throw new IOException("no PNG writer in this JDK");
        }
    }

    /**
     * Decodes a PNG (or anything ImageIO reads) to RGB. Grey (+alpha) images are replicated, 16-bit samples keep their
     * high byte, palette images go through their palette; raster samples are used directly (no colour-space
     * conversion, which would alter grey levels).
     */
    public static RgbImage readRgb(InputStream in, String name) throws IOException {
        BufferedImage img = decode(in, name);
        int w = img.getWidth(), h = img.getHeight();
        byte[] rgb = new byte[Math.multiplyExact(Math.multiplyExact(w, h), 3)];
        Raster r = img.getRaster();
        boolean palette = img.getColorModel() instanceof IndexColorModel;
        int bands = r.getNumBands();
        int shift = Math.max(0, img.getColorModel().getComponentSize(0) - 8);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int i = 3 * (y * w + x);
                if (palette) {
                    int p = img.getRGB(x, y);
                    rgb[i] = (byte) (p >> 16);
                    rgb[i + 1] = (byte) (p >> 8);
                    rgb[i + 2] = (byte) p;
                } else if (bands < 3) {
                    byte g = (byte) (r.getSample(x, y, 0) >> shift);
                    rgb[i] = g;
                    rgb[i + 1] = g;
                    rgb[i + 2] = g;
                } else {
                    for (int c = 0; c < 3; c++) rgb[i + c] = (byte) (r.getSample(x, y, c) >> shift);
                }
            }
        }
        return new RgbImage(w, h, rgb);
    }

    /** Decodes a mask image: any non-zero sample in the first band is inside. Returns {width, height} in {@code size}. */
    public static byte[] readMask(InputStream in, String name, int[] size) throws IOException {
        BufferedImage img = decode(in, name);
        int w = img.getWidth(), h = img.getHeight();
        Raster r = img.getRaster();
        byte[] m = new byte[w * h];
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) m[y * w + x] = (byte) (r.getSample(x, y, 0) != 0 ? 1 : 0);
        size[0] = w;
        size[1] = h;
        return m;
    }

    /** Largest width or height decoded (checked from the file header before any pixel buffer is allocated). */
    public static final int MAX_SIDE = 16384;

    private static BufferedImage decode(InputStream in, String name) throws IOException {
        try (ImageInputStream iis = ImageIO.createImageInputStream(in)) {
            Iterator<ImageReader> readers = iis == null ? null : ImageIO.getImageReaders(iis);
            if (readers == null || !readers.hasNext()) throw new IOException(name + ": not an image ImageIO can decode");
            ImageReader reader = readers.next();
            try {
                reader.setInput(iis, true, true);
                int w = reader.getWidth(0), h = reader.getHeight(0);
                if (w < 1 || h < 1 || w > MAX_SIDE || h > MAX_SIDE) throw new IOException(name + ": image size " + w + "x" + h + " is outside 1.." + MAX_SIDE);
                return reader.read(0);
            } finally {
                reader.dispose();
            }
        }
    }
}
