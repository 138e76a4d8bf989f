package dev.segsam.io.medical.dicom;

import dev.segsam.io.IoLimits;
import dev.segsam.io.medical.MedicalFormatException;
import dev.segsam.io.medical.Volume;
import dev.segsam.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Reads a folder holding one DICOM series (one single-frame image per file) as one {@link Volume}.
 *
 * <ul>
 *   <li>Every regular, non-hidden file in the folder (not sub-folders) is opened; files that are not DICOM images
 *       (no DICM/data set, or no pixel data: DICOMDIR, reports) are skipped and counted
 *       ({@code dicom.skipped_files}). A corrupt image file is an error, not skipped.</li>
 *   <li>All images must agree on SeriesInstanceUID, Rows, Columns, BitsAllocated, PixelSpacing and
 *       ImageOrientationPatient, and be single-frame; otherwise a {@link MedicalFormatException} names the two files
 *       and the attribute.</li>
 *   <li>Order: by position along the slice normal (ImagePositionPatient · (row × column direction)) when every
 *       slice has position and orientation, else by InstanceNumber, else by file name
 *       ({@code dicom.slice_order} says which). Two slices at one position are an error (mixed series or time
 *       points), and so are non-uniform gaps (a missing slice): each gap may differ from the mean gap by at most 10 % +
 *       0.01 mm (positions are often rounded to 0.1 mm, which alone varies real gaps by about 1 %).</li>
 *   <li>Geometry: the affine's slice column is (last position − first position) / (n − 1), so gantry tilt is kept;
 *       z spacing is its length. Each slice is rescaled with its own slope/intercept.</li>
 * </ul>
 */
public final class DicomSeries {
    private DicomSeries() {}

    public static Volume read(Path dir) throws IOException {
        return read(dir, DicomReader.DEFAULT_MAX_VOXELS);
    }

    /** Reads the series with {@link IoLimits#maxVolumeVoxels()} (capped at 2^31 − 1) and {@link IoLimits#maxInflatedBytes()}. */
    public static Volume read(Path dir, IoLimits limits) throws IOException {
        return read(dir, Math.min(limits.maxVolumeVoxels(), Integer.MAX_VALUE), limits.maxInflatedBytes());
    }

    public static Volume read(Path dir, long maxVoxels) throws IOException {
        return read(dir, maxVoxels, DicomParser.MAX_INFLATED);
    }

    /** The image headers of a series folder, checked alike and in slice order (see the class comment). */
    record Slices(List<DicomHeader> headers, int skipped, String order) {}

    static Slices slices(Path dir, long maxVoxels, long maxInflated) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().startsWith("."))
                    .sorted(Comparator.comparing(p -> p.getFileName().toString())).toList();
        }
        List<DicomHeader> slices = new ArrayList<>();
        int skipped = 0;
        for (Path f : files) {
            try {
                DicomFile df = DicomFile.open(f, maxVoxels, maxInflated);
                df.checkDecodable();
                slices.add(df.header);
            } catch (NotAnImageException e) {
                skipped++;
            }
        }
        if (slices.isEmpty()) {
            throw new MedicalFormatException(dir, "series", "no DICOM images in the folder (" + files.size() + " files, " + skipped + " not DICOM images)");
        }
        DicomHeader first = slices.get(0);
        for (DicomHeader h : slices) checkSame(dir, first, h);
        long total = (long) first.rows() * first.columns() * slices.size();
        if (total > maxVoxels) throw new MedicalFormatException(dir, "series", total + " voxels exceeds the limit of " + maxVoxels + " " + IoLimits.hint(IoLimits.VOLUME_VOXELS));
        String order = sort(dir, slices);
        return new Slices(slices, skipped, order);
    }

    private static Volume read(Path dir, long maxVoxels, long maxInflated) throws IOException {
        Slices sorted = slices(dir, maxVoxels, maxInflated);
        List<DicomHeader> slices = sorted.headers();
        int skipped = sorted.skipped();
        String order = sorted.order();
        DicomHeader first = slices.get(0);
        int n = slices.size();
        DicomHeader h0 = slices.get(0);
        double[] sp = h0.spacing();
        double[][] affine = null;
        if (order.equals("position")) {
            double[] p0 = h0.imagePosition(), pn = slices.get(n - 1).imagePosition();
            double[] step;
            if (n > 1) {
                step = new double[] {(pn[0] - p0[0]) / (n - 1), (pn[1] - p0[1]) / (n - 1), (pn[2] - p0[2]) / (n - 1)};
                sp[2] = Math.sqrt(step[0] * step[0] + step[1] * step[1] + step[2] * step[2]);
            } else {
                double[] nn = h0.normal();
                step = new double[] {nn[0] * sp[2], nn[1] * sp[2], nn[2] * sp[2]};
            }
            affine = DicomReader.affine(h0, step, p0);
        }

        Tensor t = Tensor.zeros(n, first.rows(), first.columns());
        try {
            long frame = (long) first.rows() * first.columns();
            for (int k = 0; k < n; k++) {
                DicomFile df = DicomFile.open(slices.get(k).file(), maxVoxels, maxInflated);
                checkSame(dir, first, df.header);
                df.decodeInto(t, k * frame);
            }
        } catch (IOException | RuntimeException e) {
            t.close();
            throw e;
        }
        Volume.Builder b = Volume.builder(t).spacing(sp).format("DICOM series").dataType(h0.dataType()).modality(h0.modality()).source(dir);
        if (affine != null) b.affine(affine, Volume.AffineSource.DICOM_PATIENT);
        DicomReader.extras(b, h0);
        b.extra("dicom.slices", Integer.toString(n)).extra("dicom.slice_order", order);
        if (skipped > 0) b.extra("dicom.skipped_files", Integer.toString(skipped));
        boolean rescaleVaries = slices.stream().anyMatch(h -> h.rescaleSlope() != h0.rescaleSlope() || h.rescaleIntercept() != h0.rescaleIntercept());
        if (rescaleVaries) b.extra("dicom.rescale_varies", "true");
        return b.build();
    }

    private static void checkSame(Path dir, DicomHeader a, DicomHeader b) throws MedicalFormatException {
        if (b.frames() != 1) throw mixed(dir, b, "(0028,0008) NumberOfFrames", b.frames() + " frames: a series folder must hold single-frame images");
        if (a.seriesUid() != null && b.seriesUid() != null && !a.seriesUid().equals(b.seriesUid())) {
            throw mixed(dir, a, b, "(0020,000E) SeriesInstanceUID", a.seriesUid() + " vs " + b.seriesUid() + " (more than one series in the folder)");
        }
        if (a.rows() != b.rows() || a.columns() != b.columns()) {
            throw mixed(dir, a, b, "(0028,0010) Rows/Columns", a.rows() + "x" + a.columns() + " vs " + b.rows() + "x" + b.columns());
        }
        if (a.bitsAllocated() != b.bitsAllocated()) {
            throw mixed(dir, a, b, "(0028,0100) BitsAllocated", a.bitsAllocated() + " vs " + b.bitsAllocated());
        }
        if (!close(a.pixelSpacing(), b.pixelSpacing(), 1e-4)) {
            throw mixed(dir, a, b, "(0028,0030) PixelSpacing", java.util.Arrays.toString(a.pixelSpacing()) + " vs " + java.util.Arrays.toString(b.pixelSpacing()));
        }
        if (!close(a.imageOrientation(), b.imageOrientation(), 1e-4)) {
            throw mixed(dir, a, b, "(0020,0037) ImageOrientationPatient", java.util.Arrays.toString(a.imageOrientation()) + " vs " + java.util.Arrays.toString(b.imageOrientation()));
        }
    }

    private static boolean close(double[] a, double[] b, double relTol) {
        if (a == null || b == null) return a == b;
        if (a.length != b.length) return false;
        for (int i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) > relTol * Math.max(1, Math.abs(a[i]))) return false;
        return true;
    }

    private static MedicalFormatException mixed(Path dir, DicomHeader a, DicomHeader b, String field, String problem) {
        return new MedicalFormatException(dir, field, a.file().getFileName() + " and " + b.file().getFileName() + " differ: " + problem);
    }

    private static MedicalFormatException mixed(Path dir, DicomHeader a, String field, String problem) {
        return new MedicalFormatException(dir, field, a.file().getFileName() + ": " + problem);
    }

    /** Sorts {@code s} in place and returns the criterion used. */
    private static String sort(Path dir, List<DicomHeader> s) throws MedicalFormatException {
        boolean positions = s.stream().allMatch(h -> h.imagePosition() != null && h.normal() != null);
        if (positions) {
            double[] n = s.get(0).normal();
            s.sort(Comparator.comparingDouble(h -> dot(h.imagePosition(), n)));
            int m = s.size();
            if (m > 1) {
                double first = dot(s.get(0).imagePosition(), n), last = dot(s.get(m - 1).imagePosition(), n);
                double mean = (last - first) / (m - 1);
                for (int k = 1; k < m; k++) {
                    double gap = dot(s.get(k).imagePosition(), n) - dot(s.get(k - 1).imagePosition(), n);
                    if (gap < 1e-3) {
                        throw mixed(dir, s.get(k - 1), s.get(k), "(0020,0032) ImagePositionPatient",
                                "both at " + String.format(java.util.Locale.ROOT, "%.3f", dot(s.get(k).imagePosition(), n))
                                        + " mm along the slice normal (more than one series or time point in the folder?)");
                    }
                    if (Math.abs(gap - mean) > 0.1 * mean + 0.01) {
                        throw mixed(dir, s.get(k - 1), s.get(k), "(0020,0032) ImagePositionPatient",
                                String.format(java.util.Locale.ROOT, "slice gap %.4f mm, the series averages %.4f mm: missing or extra slices?", gap, mean));
                    }
                }
            }
            return "position";
        }
        if (s.stream().allMatch(h -> h.instanceNumber() != null)) {
            s.sort(Comparator.comparingInt(DicomHeader::instanceNumber));
            for (int k = 1; k < s.size(); k++) {
                if (s.get(k).instanceNumber().equals(s.get(k - 1).instanceNumber())) {
                    throw mixed(dir, s.get(k - 1), s.get(k), "(0020,0013) InstanceNumber", "both " + s.get(k).instanceNumber());
                }
            }
            return "instance number";
        }
        return "file name";
    }

    private static double dot(double[] a, double[] b) {
        return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    }
}
