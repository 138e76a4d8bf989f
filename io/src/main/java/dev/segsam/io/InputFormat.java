package dev.segsam.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Which reader an input image file is for, decided from its first 132 bytes (the name only breaks ties). The order
 * matters:
 * <ol>
 *   <li>a folder is a DICOM series;</li>
 *   <li>{@code DICM} at offset 128 is DICOM, whatever the 128-byte preamble holds: PS3.10 leaves the preamble to the
 *       application, and many files carry a TIFF header there ({@code II*\0}) so that they open as TIFF too;</li>
 *   <li>gzip data or a NIfTI-1/NIfTI-2 {@code sizeof_hdr} (348/540, either byte order) is NIfTI;</li>
 *   <li>the magic numbers of PNG, JPEG, TIFF, GIF and BMP make a picture;</li>
 *   <li>otherwise the extension decides: {@code .png .jpg .jpeg .tif .tiff .gif .bmp} go to the image reader (so
 *       that an empty or damaged {@code .png} gets an image error), {@code .nii}/{@code .nii.gz} to NIfTI, and
 *       everything else to DICOM, which also reads bare data sets without preamble.</li>
 * </ol>
 */
public enum InputFormat {
    /** PNG, JPEG, TIFF, GIF or BMP: {@code ImageFiles}. */
    PICTURE,
    /** NIfTI-1 {@code .nii} or {@code .nii.gz}. */
    NIFTI,
    /** One DICOM file. */
    DICOM,
    /** A folder holding one DICOM series. */
    DICOM_SERIES;

    /** The format of {@code path}; reads at most 132 bytes. */
    public static InputFormat detect(Path path) throws IOException {
        if (Files.isDirectory(path)) return DICOM_SERIES;
        byte[] h;
        try (InputStream in = Files.newInputStream(path)) {
            h = in.readNBytes(132);
        }
        return detect(h, path.getFileName() == null ? "" : path.getFileName().toString());
    }

    /** The format of a file starting with {@code head} (its first 132 bytes, or all of a shorter file) named {@code name}. */
    public static InputFormat detect(byte[] head, String name) {
        byte[] h = head;
        if (h.length >= 132 && h[128] == 'D' && h[129] == 'I' && h[130] == 'C' && h[131] == 'M') return DICOM;
        if (h.length >= 2 && (h[0] & 0xFF) == 0x1f && (h[1] & 0xFF) == 0x8b) return NIFTI;
        if (h.length >= 4) {
            ByteBuffer b = ByteBuffer.wrap(h);
            int le = b.order(ByteOrder.LITTLE_ENDIAN).getInt(0), be = b.order(ByteOrder.BIG_ENDIAN).getInt(0);
            if (le == 348 || be == 348 || le == 540 || be == 540) return NIFTI;
        }
        if (pictureMagic(h)) return PICTURE;
        String n = name.toLowerCase(Locale.ROOT);
        for (String ext : new String[] {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".gif", ".bmp"}) {
            if (n.endsWith(ext)) return PICTURE;
        }
        if (n.endsWith(".nii") || n.endsWith(".nii.gz")) return NIFTI;
        return DICOM;
    }

    private static boolean pictureMagic(byte[] h) {
        if (h.length < 2) return false;
        int a = h[0] & 0xFF, b = h[1] & 0xFF;
        if (a == 0xFF && b == 0xD8) return true; // JPEG SOI
        if (a == 'B' && b == 'M') return true; // BMP
        if (h.length < 4) return false;
        int c = h[2] & 0xFF, d = h[3] & 0xFF;
        return (a == 0x89 && b == 'P' && c == 'N' && d == 'G')
                || (a == 'G' && b == 'I' && c == 'F' && d == '8')
                || (a == 'I' && b == 'I' && c == 42 && d == 0)
                || (a == 'M' && b == 'M' && c == 0 && d == 42);
    }
}
