package dev.segsam.io.medical;

import dev.segsam.io.InputFormat;
import dev.segsam.io.IoLimits;
import dev.segsam.io.medical.dicom.DicomReader;
import dev.segsam.io.medical.dicom.DicomSeries;
import dev.segsam.io.medical.nifti.NiftiReader;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Reads any medical image segsam supports, choosing the reader from the content ({@link InputFormat#detect}): a
 * folder is a DICOM series ({@link DicomSeries}); a file with {@code DICM} at offset 128 is DICOM; a gzip file or a
 * file starting with NIfTI-1's {@code sizeof_hdr = 348} is NIfTI ({@link NiftiReader}); anything else is tried as
 * DICOM ({@link DicomReader}).
 *
 * <p><b>4-D images.</b> A NIfTI image with more than three dimensions (time points, MR sequences as channels, as in
 * the Medical Segmentation Decathlon's 4-D images) holds several 3-D volumes; {@link #read(Path, int, IoLimits)}
 * reads the one asked for (volume 0 by default), and {@link Volume#volumeCount()} / {@link Volume#fileDims()} say how
 * many there are and the file's full shape. DICOM files and series hold one volume.
 */
public final class MedicalImages {
    private MedicalImages() {}

    public enum Format { NIFTI, DICOM, DICOM_SERIES }

    /** Volume 0 of {@code path} with the default limits. */
    public static Volume read(Path path) throws IOException {
        return read(path, 0, IoLimits.defaults());
    }

    /**
     * Volume {@code volume} (0-based; over NIfTI dims 4..7, flattened) of {@code path}, refusing images of more than
     * {@link IoLimits#maxVolumeVoxels()} voxels and deflated DICOM data sets inflating past
     * {@link IoLimits#maxInflatedBytes()}.
     *
     * @throws MedicalFormatException also when {@code volume} is not in the file (DICOM holds only volume 0)
     */
    public static Volume read(Path path, int volume, IoLimits limits) throws IOException {
        if (volume < 0) throw new IllegalArgumentException("volume " + volume + " (volumes count from 0)");
        Format f = detect(path);
        if (volume > 0 && f != Format.NIFTI) {
            throw new MedicalFormatException(path, "volume", "volume " + volume + " asked for, but a "
                    + (f == Format.DICOM ? "DICOM file" : "DICOM series") + " holds one volume (volume 0)");
        }
        return switch (f) {
            case DICOM_SERIES -> DicomSeries.read(path, limits);
            case NIFTI -> new NiftiReader().maxVoxels(limits.maxVolumeVoxels()).frame(volume).readVolume(path);
            case DICOM -> new DicomReader().limits(limits).readVolume(path);
        };
    }

    /**
     * The format {@link #read} would use for {@code path}: {@link InputFormat#detect}'s, where a picture (PNG, JPEG,
     * ...) is refused with a {@link MedicalFormatException} that says so.
     */
    public static Format detect(Path path) throws IOException {
        return switch (InputFormat.detect(path)) {
            case DICOM_SERIES -> Format.DICOM_SERIES;
            case NIFTI -> Format.NIFTI;
            case DICOM -> Format.DICOM;
            case PICTURE -> throw new MedicalFormatException(path, "format",
                    "a picture (PNG, JPEG, TIFF, GIF or BMP), not a NIfTI or DICOM file");
        };
    }
}
