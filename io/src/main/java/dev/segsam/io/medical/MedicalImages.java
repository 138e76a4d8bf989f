package dev.segsam.io.medical;

import dev.segsam.io.medical.dicom.DicomReader;
import dev.segsam.io.medical.dicom.DicomSeries;
import dev.segsam.io.medical.nifti.NiftiReader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Reads any medical image segsam supports, choosing the reader from the content: a folder is a DICOM series
 * ({@link DicomSeries}); a gzip file or a file starting with NIfTI-1's {@code sizeof_hdr = 348} is NIfTI
 * ({@link NiftiReader}); anything else is tried as DICOM ({@link DicomReader}).
 */
public final class MedicalImages {
    private MedicalImages() {}

    public enum Format { NIFTI, DICOM, DICOM_SERIES }

    public static Volume read(Path path) throws IOException {
        return switch (detect(path)) {
            case DICOM_SERIES -> DicomSeries.read(path);
            case NIFTI -> NiftiReader.read(path);
            case DICOM -> DicomReader.read(path);
        };
    }

    /** The format {@link #read} would use for {@code path} (from its content; the name only breaks ties). */
    public static Format detect(Path path) throws IOException {
        if (Files.isDirectory(path)) return Format.DICOM_SERIES;
        byte[] head;
        try (InputStream in = Files.newInputStream(path)) {
            head = in.readNBytes(132);
        }
        if (head.length >= 2 && (head[0] & 0xFF) == 0x1f && (head[1] & 0xFF) == 0x8b) return Format.NIFTI;
        if (head.length >= 4) {
            ByteBuffer b = ByteBuffer.wrap(head);
            int le = b.order(ByteOrder.LITTLE_ENDIAN).getInt(0), be = b.order(ByteOrder.BIG_ENDIAN).getInt(0);
            if (le == 348 || be == 348 || le == 540 || be == 540) return Format.NIFTI;
        }
        if (head.length >= 132 && head[128] == 'D' && head[129] == 'I' && head[130] == 'C' && head[131] == 'M') return Format.DICOM;
        String name = path.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".nii") || name.endsWith(".nii.gz")) return Format.NIFTI;
        return Format.DICOM;
    }
}
