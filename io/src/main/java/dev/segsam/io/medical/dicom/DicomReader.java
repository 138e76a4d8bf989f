package dev.segsam.io.medical.dicom;

import dev.segsam.io.IoLimits;
import dev.segsam.io.medical.Volume;
import dev.segsam.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Reads one DICOM image file into a {@link Volume} ({@code nz} = NumberOfFrames, usually 1); {@link DicomSeries}
 * reads a folder of slices.
 *
 * <ul>
 *   <li>Files: Part 10 (128-byte preamble + "DICM" + meta group), or a bare data set without preamble/meta (the
 *       transfer syntax is then guessed: explicit VR little endian if the first element carries a VR, else
 *       implicit).</li>
 *   <li>Transfer syntaxes: implicit VR LE, explicit VR LE, explicit VR BE, deflated explicit VR LE and RLE Lossless.
 *       JPEG / JPEG-LS / JPEG 2000 / HTJ2K / video raise {@link UnsupportedTransferSyntaxException} naming the
 *       syntax and {@code gdcmconv --raw}.</li>
 *   <li>Pixels: 1 sample per pixel, BitsAllocated 8, 16 or 32, signed or unsigned; the BitsStored bits ending at
 *       HighBit are used (sign-extended when PixelRepresentation = 1); values = stored · RescaleSlope +
 *       RescaleIntercept (HU for CT). MONOCHROME1 values are <i>not</i> inverted: the volume reports it
 *       ({@link Volume#monochrome1()}) and display code inverts the grey. Colour, palette, bit-packed (SEG) and
 *       float pixel data are refused.</li>
 *   <li>Geometry: spacing x = PixelSpacing[1], y = PixelSpacing[0], z = SpacingBetweenSlices or SliceThickness
 *       (1 when missing); the affine from ImagePositionPatient / ImageOrientationPatient (converted LPS → RAS), else
 *       the spacing diagonal. Per-frame geometry of enhanced multi-frame objects is not read.</li>
 * </ul>
 * Every element length is checked against the bytes left, sequences of undefined length are walked (not searched),
 * and nothing is allocated from a header value before it is checked against the data present.
 */
public final class DicomReader {
    /** Default limit on voxels per file or series (2^30 = 4 GiB of float32). */
    public static final long DEFAULT_MAX_VOXELS = 1L << 30;

    private long maxVoxels = DEFAULT_MAX_VOXELS;
    private long maxInflated = DicomParser.MAX_INFLATED;

    public static Volume read(Path file) throws IOException {
        return new DicomReader().readVolume(file);
    }

    /** Parses and validates the header of an image file without decoding its pixels (works for compressed syntaxes too). */
    public static DicomHeader readHeader(Path file) throws IOException {
        return DicomFile.open(file, DEFAULT_MAX_VOXELS).header;
    }

    public DicomReader maxVoxels(long n) {
        if (n <= 0 || n > Integer.MAX_VALUE) throw new IllegalArgumentException("maxVoxels " + n);
        this.maxVoxels = n;
        return this;
    }

    /** Takes {@link IoLimits#maxVolumeVoxels()} (capped at 2^31 − 1) and {@link IoLimits#maxInflatedBytes()}. */
    public DicomReader limits(IoLimits limits) {
        this.maxVoxels = Math.min(limits.maxVolumeVoxels(), Integer.MAX_VALUE);
        this.maxInflated = limits.maxInflatedBytes();
        return this;
    }

    public Volume readVolume(Path file) throws IOException {
        DicomFile f = DicomFile.open(file, maxVoxels, maxInflated);
        f.checkDecodable();
        DicomHeader h = f.header;
        Tensor t = Tensor.zeros(h.frames(), h.rows(), h.columns());
        try {
            f.decodeInto(t, 0);
        } catch (IOException | RuntimeException e) {
            t.close();
            throw e;
        }
        double[] sp = h.spacing();
        Volume.Builder b = Volume.builder(t).spacing(sp).format("DICOM").dataType(h.dataType()).modality(h.modality()).source(file);
        double[] n = h.normal();
        if (h.imagePosition() != null && n != null) {
            b.affine(affine(h, new double[] {n[0] * sp[2], n[1] * sp[2], n[2] * sp[2]}, h.imagePosition()), Volume.AffineSource.DICOM_PATIENT);
        }
        extras(b, h);
        if (h.frames() > 1) b.extra("dicom.frames", Integer.toString(h.frames()));
        return b.build();
    }

    /**
     * The RAS voxel→world affine: columns = row direction · x spacing, column direction · y spacing, {@code slice}
     * (LPS, mm per slice), translation = {@code origin} (LPS); then x and y rows negated (LPS → RAS).
     */
    static double[][] affine(DicomHeader h, double[] slice, double[] origin) {
        double[] o = h.imageOrientation();
        double[] sp = h.spacing();
        double[][] m = new double[4][4];
        for (int r = 0; r < 3; r++) {
            double sign = r < 2 ? -1 : 1;
            m[r][0] = sign * o[r] * sp[0];
            m[r][1] = sign * o[3 + r] * sp[1];
            m[r][2] = sign * slice[r];
            m[r][3] = sign * origin[r];
        }
        m[3][3] = 1;
        return m;
    }

    static void extras(Volume.Builder b, DicomHeader h) {
        b.extra(Volume.TRANSFER_SYNTAX, h.transferSyntax().uid()).extra(Volume.TRANSFER_SYNTAX_NAME, h.transferSyntax().name())
                .extra(Volume.PHOTOMETRIC, h.photometric());
        if (h.windowCenter() != null) b.extra(Volume.WINDOW_CENTER, num(h.windowCenter())).extra(Volume.WINDOW_WIDTH, num(h.windowWidth()));
        b.extra("dicom.rescale_slope", num(h.rescaleSlope())).extra("dicom.rescale_intercept", num(h.rescaleIntercept()))
                .extra("dicom.bits_stored", Integer.toString(h.bitsStored()))
                .extra("dicom.series_uid", h.seriesUid())
                .extra("dicom.preamble", Boolean.toString(h.hasPreamble()));
        if (h.sliceThickness() != null) b.extra("dicom.slice_thickness", num(h.sliceThickness()));
    }

    static String num(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : String.format(Locale.ROOT, "%s", v);
    }
}
