package dev.segsam.io.medical.dicom;

import java.nio.file.Path;

/**
 * The image attributes of one DICOM file, as read by {@link DicomReader#readHeader}. Optional attributes are null
 * when absent; defaults are filled in where the standard defines them (SamplesPerPixel 1, BitsStored =
 * BitsAllocated, HighBit = BitsStored − 1, NumberOfFrames 1, RescaleSlope 1, RescaleIntercept 0,
 * PhotometricInterpretation MONOCHROME2).
 *
 * @param pixelSpacing     PixelSpacing as stored: {@code [row spacing (between rows, along y), column spacing (along x)]} in mm, or null
 * @param imagePosition    ImagePositionPatient (LPS, mm) of the first voxel, or null
 * @param imageOrientation ImageOrientationPatient: row direction cosines then column direction cosines (LPS), or null
 * @param windowCenter     first WindowCenter value, or null (also null when WindowWidth is missing or ≤ 0)
 * @param hasPreamble      true for a Part 10 file with the 128-byte preamble and "DICM"
 */
public record DicomHeader(Path file, TransferSyntax transferSyntax, String modality, String sopClassUid,
                          String seriesUid, Integer instanceNumber, int rows, int columns, int frames,
                          int bitsAllocated, int bitsStored, int highBit, boolean signed, int samplesPerPixel,
                          String photometric, double[] pixelSpacing, Double sliceThickness,
                          Double spacingBetweenSlices, double[] imagePosition, double[] imageOrientation,
                          Double windowCenter, Double windowWidth, double rescaleSlope, double rescaleIntercept,
                          boolean hasPreamble) {

    /** {@code uint8}, {@code int16}, ... from BitsAllocated and PixelRepresentation. */
    public String dataType() {
        return (signed ? "int" : "uint") + bitsAllocated;
    }

    /** Voxel size along x (columns), y (rows), z: PixelSpacing[1], PixelSpacing[0], then SpacingBetweenSlices, SliceThickness or 1. */
    public double[] spacing() {
        double sx = pixelSpacing == null ? 1 : pixelSpacing[1], sy = pixelSpacing == null ? 1 : pixelSpacing[0];
        double sz = spacingBetweenSlices != null && spacingBetweenSlices > 0 ? spacingBetweenSlices
                : sliceThickness != null && sliceThickness > 0 ? sliceThickness : 1;
        return new double[] {sx, sy, sz};
    }

    /** Unit normal of the image plane (row × column direction, LPS), or null without ImageOrientationPatient. */
    public double[] normal() {
        if (imageOrientation == null) return null;
        double[] r = imageOrientation;
        double[] n = {r[1] * r[5] - r[2] * r[4], r[2] * r[3] - r[0] * r[5], r[0] * r[4] - r[1] * r[3]};
        double len = Math.sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
        return len == 0 ? null : new double[] {n[0] / len, n[1] / len, n[2] / len};
    }
}
