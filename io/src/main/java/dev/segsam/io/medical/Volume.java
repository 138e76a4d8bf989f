package dev.segsam.io.medical;

import dev.segsam.tensor.Tensor;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A 3-D medical image: voxel values as float32 plus the geometry and provenance needed to use them.
 *
 * <p><b>Layout.</b> {@link #data()} is a host {@link Tensor} of shape {@code [nz, ny, nx]} (C order, x fastest), i.e.
 * voxel (i, j, k) = (x, y, z) is {@code data().at(k, j, i)}. This is NIfTI's on-disk order (i fastest) and DICOM's
 * (column fastest, then row, then slice or frame), so neither reader transposes anything. Values are the stored
 * values after the format's rescale (NIfTI {@code scl_slope/scl_inter}, DICOM RescaleSlope/Intercept), e.g. HU for
 * CT. A single DICOM image is a volume with {@code nz = 1}.
 *
 * <p><b>Geometry.</b> {@link #spacing()} is the voxel size in mm along x, y, z. {@link #affine()} is the 4×4 matrix
 * mapping voxel indices (i, j, k, 1) to world coordinates in mm in the <b>RAS+</b> convention used by NIfTI and
 * nibabel (+x right, +y anterior, +z superior); DICOM's LPS patient coordinates are converted (x and y negated), as
 * nibabel does. {@link #affineSource()} says where the affine came from.
 *
 * <p>A volume owns its tensor; {@link #close()} frees it (an unclosed volume is freed when unreachable).
 */
public final class Volume implements AutoCloseable {
    /** Where the voxel-to-world affine came from. */
    public enum AffineSource {
        /** NIfTI {@code srow_x/y/z} ({@code sform_code > 0}). */
        SFORM,
        /** NIfTI quaternion ({@code qform_code > 0}, {@code sform_code = 0}). */
        QFORM,
        /** DICOM ImagePositionPatient + ImageOrientationPatient (+ slice positions for a series). */
        DICOM_PATIENT,
        /** No orientation in the file: a diagonal of the voxel sizes (NIfTI: nibabel's fallback, x flipped, centred). */
        SPACING_ONLY
    }

    /** {@link #extras()} key: DICOM transfer syntax UID. */
    public static final String TRANSFER_SYNTAX = "transfer_syntax";
    /** {@link #extras()} key: human-readable transfer syntax name. */
    public static final String TRANSFER_SYNTAX_NAME = "transfer_syntax_name";
    /** {@link #extras()} key: DICOM WindowCenter (first value), in rescaled units. */
    public static final String WINDOW_CENTER = "window_center";
    /** {@link #extras()} key: DICOM WindowWidth (first value). */
    public static final String WINDOW_WIDTH = "window_width";
    /** {@link #extras()} key: DICOM PhotometricInterpretation ({@code MONOCHROME1} = low values display white). */
    public static final String PHOTOMETRIC = "photometric";

    private final Tensor data;
    private final int nx, ny, nz;
    private final double[] spacing;
    private final double[] affine; // row-major 4x4
    private final AffineSource affineSource;
    private final String format;
    private final String dataType;
    private final String modality;
    private final Map<String, String> extras;
    private final Path source;
    private final int[] fileDims;
    private final int volumeIndex;
    private final int volumeCount;

    private Volume(Builder b) {
        this.data = Objects.requireNonNull(b.data, "data");
        if (data.rank() != 3) throw new IllegalArgumentException("volume data must be [nz, ny, nx], got rank " + data.rank());
        this.nz = data.size(0);
        this.ny = data.size(1);
        this.nx = data.size(2);
        this.spacing = b.spacing.clone();
        this.affine = b.affine.clone();
        this.affineSource = Objects.requireNonNull(b.affineSource);
        this.format = Objects.requireNonNull(b.format);
        this.dataType = Objects.requireNonNull(b.dataType);
        this.modality = b.modality == null || b.modality.isBlank() ? null : b.modality;
        this.extras = Collections.unmodifiableMap(new LinkedHashMap<>(b.extras));
        this.source = b.source;
        this.fileDims = b.fileDims == null ? new int[] {nx, ny, nz} : b.fileDims.clone();
        this.volumeIndex = b.volumeIndex;
        this.volumeCount = b.volumeCount;
        if (volumeCount < 1 || volumeIndex < 0 || volumeIndex >= volumeCount) {
            throw new IllegalArgumentException("volume " + volumeIndex + " of " + volumeCount);
        }
    }

    /** A builder for a volume over {@code data} ([nz, ny, nx]); spacing defaults to 1 mm, affine to the spacing diagonal. */
    public static Builder builder(Tensor data) {
        return new Builder(data);
    }

    /** A volume with the same geometry, format, modality and extras as this one, holding other values (e.g. labels). */
    public Volume withData(Tensor values, String dataType) {
        if (!values.hasShape(nz, ny, nx)) {
            throw new IllegalArgumentException("values of shape " + Arrays.toString(values.shape()) + " for a volume of [" + nz + ", " + ny + ", " + nx + "]");
        }
        Builder b = builder(values).spacing(spacing).affine(affine(), affineSource).format(format).dataType(dataType)
                .modality(modality).source(source).volumes(fileDims, volumeIndex, volumeCount);
        extras.forEach(b::extra);
        return b.build();
    }

    // ------------------------------------------------------------------ accessors

    /** Voxel values, shape {@code [nz, ny, nx]}, float32. */
    public Tensor data() {
        return data;
    }

    public int nx() {
        return nx;
    }

    public int ny() {
        return ny;
    }

    public int nz() {
        return nz;
    }

    /** {@code [nx, ny, nz]}. */
    public int[] dims() {
        return new int[] {nx, ny, nz};
    }

    public int size(Axis a) {
        return switch (a) {
            case X -> nx;
            case Y -> ny;
            case Z -> nz;
        };
    }

    /**
     * The image's full shape as the file stores it, fastest dimension first: {@code [nx, ny, nz]} for a 3-D image,
     * {@code [nx, ny, nz, t, ...]} for a NIfTI image with more dimensions (e.g. {@code [128, 96, 24, 2]}), of which
     * this volume is one ({@link #volumeIndex()}).
     */
    public int[] fileDims() {
        return fileDims.clone();
    }

    /** How many 3-D volumes the file holds: the product of its dimensions beyond the third (1 for a 3-D image). */
    public int volumeCount() {
        return volumeCount;
    }

    /** Which of the file's volumes this is, from 0 (flat index over the dimensions beyond the third). */
    public int volumeIndex() {
        return volumeIndex;
    }

    /** {@code "128x96x24x2"}: {@link #fileDims()} joined. */
    public String fileShape() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < fileDims.length; i++) sb.append(i > 0 ? "x" : "").append(fileDims[i]);
        return sb.toString();
    }

    /** Voxel size in mm along x, y, z. */
    public double[] spacing() {
        return spacing.clone();
    }

    /** The 4×4 voxel→world (RAS+, mm) matrix, a copy. */
    public double[][] affine() {
        double[][] a = new double[4][4];
        for (int r = 0; r < 4; r++) System.arraycopy(affine, r * 4, a[r], 0, 4);
        return a;
    }

    public AffineSource affineSource() {
        return affineSource;
    }

    /** World coordinates (RAS+, mm) of voxel (i, j, k). */
    public double[] world(double i, double j, double k) {
        double[] w = new double[3];
        for (int r = 0; r < 3; r++) w[r] = affine[r * 4] * i + affine[r * 4 + 1] * j + affine[r * 4 + 2] * k + affine[r * 4 + 3];
        return w;
    }

    /** {@code "NIfTI-1"}, {@code "DICOM"}, {@code "DICOM series"} or {@code "synthetic"}. */
    public String format() {
        return format;
    }

    /** The stored data type before conversion to float32: {@code uint8, int8, int16, uint16, int32, uint32, int64, uint64, float32, float64, rgb24, rgba32}. */
    public String dataType() {
        return dataType;
    }

    /** DICOM Modality (CT, MR, ...) when the file says; NIfTI has no modality field. */
    public Optional<String> modality() {
        return Optional.ofNullable(modality);
    }

    /** Format-specific facts, e.g. {@link #TRANSFER_SYNTAX}, {@link #WINDOW_CENTER}, {@code nifti.sform_code}. */
    public Map<String, String> extras() {
        return extras;
    }

    /** The file or folder read, if any. */
    public Optional<Path> source() {
        return Optional.ofNullable(source);
    }

    /** True when the DICOM PhotometricInterpretation is MONOCHROME1 (values are kept; display should invert). */
    public boolean monochrome1() {
        return "MONOCHROME1".equals(extras.get(PHOTOMETRIC));
    }

    /** Value at voxel (x, y, z). */
    public float get(int x, int y, int z) {
        return data.at(z, y, x);
    }

    /** {@code [min, max]} over all voxels, ignoring NaN ({@code [NaN, NaN]} if every voxel is NaN). */
    public double[] valueRange() {
        float min = Float.POSITIVE_INFINITY, max = Float.NEGATIVE_INFINITY;
        long n = data.numel();
        float[] buf = new float[(int) Math.min(n, 1 << 16)];
        for (long at = 0; at < n; at += buf.length) {
            int len = (int) Math.min(buf.length, n - at);
            data.read(at, buf, 0, len);
            for (int i = 0; i < len; i++) {
                float v = buf[i];
                if (v < min) min = v;
                if (v > max) max = v;
            }
        }
        return min > max ? new double[] {Double.NaN, Double.NaN} : new double[] {min, max};
    }

    // ------------------------------------------------------------------ slices

    /**
     * The slice at {@code index} along {@code axis}, in voxel order, no flips:
     * {@code Z} → width nx, height ny, pixel (x, y) = voxel (x, y, index);
     * {@code Y} → width nx, height nz, pixel (x, row) = voxel (x, index, row);
     * {@code X} → width ny, height nz, pixel (col, row) = voxel (index, col, row).
     */
    public Slice2D slice(Axis axis, int index) {
        int n = size(axis);
        if (index < 0 || index >= n) throw new IndexOutOfBoundsException("slice " + index + " along " + axis + " (size " + n + ")");
        return switch (axis) {
            case Z -> {
                float[] v = new float[nx * ny];
                data.read((long) index * nx * ny, v, 0, v.length);
                yield new Slice2D(nx, ny, v);
            }
            case Y -> {
                float[] v = new float[nx * nz];
                for (int k = 0; k < nz; k++) data.read(((long) k * ny + index) * nx, v, k * nx, nx);
                yield new Slice2D(nx, nz, v);
            }
            case X -> {
                float[] v = new float[ny * nz];
                float[] row = new float[nx];
                for (int k = 0; k < nz; k++) {
                    for (int j = 0; j < ny; j++) {
                        data.read(((long) k * ny + j) * nx, row, 0, nx);
                        v[k * ny + j] = row[index];
                    }
                }
                yield new Slice2D(ny, nz, v);
            }
        };
    }

    /**
     * The slice at {@code index} along {@code axis}, transposed and flipped for viewing in the radiological
     * convention, decided from the affine: the plane is classified as axial, coronal or sagittal by the world axis
     * closest to the slice normal; then axial and coronal images have the patient's left on the image's right
     * (image x → world −x in RAS), axial images have anterior at the top (image y → posterior), coronal and
     * sagittal images have superior at the top (image y → inferior), and sagittal images have anterior on the left
     * (image x → posterior). A DICOM axial image comes out as stored. Two volumes with the same affine (an image and
     * its label map) get the same layout, so masks stay aligned.
     */
    public Slice2D displaySlice(Axis axis, int index) {
        return displayLayout(axis).apply(slice(axis, index));
    }

    /** The transpose/flips that {@link #displaySlice} applies to {@link #slice} along {@code axis}. */
    public SliceLayout displayLayout(Axis axis) {
        int a = axis.index();
        int u = a == 0 ? 1 : 0; // in-plane voxel axis shown along image x by slice()
        int v = a == 2 ? 1 : 2; // ... along image y
        double[] n = column(a);
        int plane = argmaxAbs(n); // 0 sagittal, 1 coronal, 2 axial
        double[] wantCol, wantRow;
        switch (plane) {
            case 0 -> { wantCol = new double[] {0, -1, 0}; wantRow = new double[] {0, 0, -1}; }
            case 1 -> { wantCol = new double[] {-1, 0, 0}; wantRow = new double[] {0, 0, -1}; }
            default -> { wantCol = new double[] {-1, 0, 0}; wantRow = new double[] {0, -1, 0}; }
        }
        double[] cu = unit(column(u)), cv = unit(column(v));
        // keep (u along x, v along y) or transpose, whichever aligns better with the wanted directions
        double keep = Math.abs(dot(cu, wantCol)) + Math.abs(dot(cv, wantRow));
        double swap = Math.abs(dot(cv, wantCol)) + Math.abs(dot(cu, wantRow));
        boolean transpose = swap > keep + 1e-9;
        double[] alongX = transpose ? cv : cu, alongY = transpose ? cu : cv;
        return new SliceLayout(transpose, dot(alongX, wantCol) < 0, dot(alongY, wantRow) < 0);
    }

    /**
     * A transpose and flips taking a voxel-order {@link Slice2D} to display order: transpose first (if set), then
     * mirror left-right and/or top-bottom.
     */
    public record SliceLayout(boolean transpose, boolean flipX, boolean flipY) {
        public Slice2D apply(Slice2D s) {
            int w = transpose ? s.height() : s.width(), h = transpose ? s.width() : s.height();
            float[] out = new float[w * h];
            for (int y = 0; y < h; y++) {
                int sy = flipY ? h - 1 - y : y;
                for (int x = 0; x < w; x++) {
                    int sx = flipX ? w - 1 - x : x;
                    out[y * w + x] = transpose ? s.get(sy, sx) : s.get(sx, sy);
                }
            }
            return new Slice2D(w, h, out);
        }
    }

    private double[] column(int c) {
        return new double[] {affine[c], affine[4 + c], affine[8 + c]};
    }

    private static int argmaxAbs(double[] v) {
        int best = 2;
        for (int i = 1; i >= 0; i--) if (Math.abs(v[i]) > Math.abs(v[best]) + 1e-12) best = i;
        return best;
    }

    private static double[] unit(double[] v) {
        double n = Math.sqrt(dot(v, v));
        return n == 0 ? v : new double[] {v[0] / n, v[1] / n, v[2] / n};
    }

    private static double dot(double[] a, double[] b) {
        return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    }

    @Override
    public void close() {
        data.close();
    }

    @Override
    public String toString() {
        return format + " " + nx + "x" + ny + "x" + nz
                + (volumeCount > 1 ? " (volume " + volumeIndex + " of " + volumeCount + " in " + fileShape() + ")" : "")
                + " " + dataType + (modality == null ? "" : " " + modality) + " spacing " + Arrays.toString(spacing);
    }

    /** Builds a {@link Volume}; see {@link Volume#builder}. */
    public static final class Builder {
        private final Tensor data;
        private double[] spacing = {1, 1, 1};
        private double[] affine;
        private AffineSource affineSource = AffineSource.SPACING_ONLY;
        private String format = "synthetic";
        private String dataType = "float32";
        private String modality;
        private final Map<String, String> extras = new LinkedHashMap<>();
        private Path source;
        private int[] fileDims;
        private int volumeIndex;
        private int volumeCount = 1;

        private Builder(Tensor data) {
            this.data = data;
        }

        public Builder spacing(double... xyz) {
            if (xyz.length != 3) throw new IllegalArgumentException("spacing needs 3 values");
            this.spacing = xyz.clone();
            return this;
        }

        /** The voxel→world (RAS+) matrix: 4 rows of 4, or 3 rows (the last row is then [0, 0, 0, 1]). */
        public Builder affine(double[][] m, AffineSource source) {
            if (m.length < 3 || m.length > 4) throw new IllegalArgumentException("affine needs 3 or 4 rows");
            double[] a = new double[16];
            for (int r = 0; r < m.length; r++) {
                if (m[r].length != 4) throw new IllegalArgumentException("affine rows need 4 values");
                System.arraycopy(m[r], 0, a, r * 4, 4);
            }
            if (m.length == 3) a[15] = 1;
            this.affine = a;
            this.affineSource = source;
            return this;
        }

        public Builder format(String f) {
            this.format = f;
            return this;
        }

        public Builder dataType(String t) {
            this.dataType = t;
            return this;
        }

        public Builder modality(String m) {
            this.modality = m;
            return this;
        }

        public Builder extra(String key, String value) {
            if (value != null) extras.put(key, value);
            return this;
        }

        /**
         * The file's full shape (fastest dimension first; its first three are this volume's) and which of its
         * {@code count} volumes this is. Default: a 3-D file holding this one volume.
         */
        public Builder volumes(int[] fileDims, int index, int count) {
            if (fileDims.length < 3) throw new IllegalArgumentException("fileDims needs at least 3 dimensions");
            this.fileDims = fileDims.clone();
            this.volumeIndex = index;
            this.volumeCount = count;
            return this;
        }

        public Builder source(Path p) {
            this.source = p;
            return this;
        }

        public Volume build() {
            if (affine == null) {
                affine = new double[16];
                affine[0] = spacing[0];
                affine[5] = spacing[1];
                affine[10] = spacing[2];
                affine[15] = 1;
                affineSource = AffineSource.SPACING_ONLY;
            }
            return new Volume(this);
        }
    }
}
