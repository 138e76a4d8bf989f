package dev.segsam.io.medical.nifti;

import dev.segsam.io.medical.Volume;
import dev.segsam.tensor.Tensor;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.zip.GZIPOutputStream;

/**
 * Writes a {@link Volume} as a little-endian single-file NIfTI-1 image: {@code .nii}, or gzip-compressed when the name
 * ends in {@code .gz}. Meant for label maps (uint8 or int16, values must be integers in range) aligned with a source
 * image, plus float32 for anything else.
 *
 * <p>Geometry: dims and pixdim from the volume; the volume's affine is written as the sform (srow) and, as its
 * nearest rotation, the qform (quaternion + qfac; exact unless the affine has shear). Both codes are the source's
 * {@code nifti.sform_code} (else {@code nifti.qform_code}) when the volume came from a NIfTI file, 1 (scanner) for
 * DICOM geometry, and 0 for {@link Volume.AffineSource#SPACING_ONLY} volumes (pixdim only: no orientation is claimed).
 * {@code scl_slope = 1}, {@code scl_inter = 0}, {@code xyzt_units} = mm.
 *
 * <p>The file is written to a temporary file in the target folder and then moved into place, so readers never see
 * a half-written image; an existing target is refused unless {@code overwrite}.
 */
public final class NiftiWriter {
    private NiftiWriter() {}

    /** Voxel values in the file's order (x fastest, then y, then z), read in chunks. */
    @FunctionalInterface
    public interface VoxelSource {
        /** Fills {@code dst[0, len)} with the values of voxels {@code at, …, at + len − 1}. */
        void read(long at, float[] dst, int len);
    }

    public static void write(Path out, Volume volume, NiftiDataType type, boolean overwrite) throws IOException {
        Tensor t = volume.data();
        write(out, volume, type, overwrite, t.numel(), (at, dst, len) -> t.read(at, dst, 0, len));
    }

    /**
     * Writes {@code grid}'s geometry (dims, spacing, affine, codes) with the values of {@code data} instead of its own:
     * a label map on a source volume's grid without holding it as a volume (a mask on one slice of a large volume
     * costs a chunk of memory, not the volume's size).
     */
    public static void write(Path out, Volume grid, NiftiDataType type, boolean overwrite, VoxelSource data) throws IOException {
        write(out, grid, type, overwrite, (long) grid.nx() * grid.ny() * grid.nz(), data);
    }

    private static void write(Path out, Volume volume, NiftiDataType type, boolean overwrite, long n, VoxelSource data) throws IOException {
        if (type != NiftiDataType.UINT8 && type != NiftiDataType.INT16 && type != NiftiDataType.FLOAT32) {
            throw new IllegalArgumentException("NiftiWriter writes uint8, int16 or float32, not " + type.label());
        }
        if (!overwrite && Files.exists(out)) throw new FileAlreadyExistsException(out.toString(), null, "refusing to overwrite (pass overwrite)");
        Path dir = out.toAbsolutePath().getParent();
        // not Files.createTempFile: that makes the file owner-only (0600); this one gets the usual permissions
        Path tmp = dir.resolve("." + out.getFileName() + "." + Long.toHexString(System.nanoTime()) + ".tmp");
        try {
            try (OutputStream os = open(tmp, out.getFileName().toString().endsWith(".gz"))) {
                os.write(header(volume, type));
                writeData(os, n, data, type);
            }
            if (overwrite) {
                try {
                    Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING);
                }
            } else {
                Files.move(tmp, out);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static OutputStream open(Path p, boolean gz) throws IOException {
        OutputStream os = new BufferedOutputStream(Files.newOutputStream(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), 1 << 16);
        return gz ? new GZIPOutputStream(os, 1 << 16) : os;
    }

    static byte[] header(Volume v, NiftiDataType type) {
        ByteBuffer b = ByteBuffer.allocate(NiftiHeader.MIN_VOX_OFFSET).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, NiftiHeader.SIZE);
        short[] dim = {3, (short) v.nx(), (short) v.ny(), (short) v.nz(), 1, 1, 1, 1};
        if (v.nx() > Short.MAX_VALUE || v.ny() > Short.MAX_VALUE || v.nz() > Short.MAX_VALUE) {
            throw new IllegalArgumentException("NIfTI-1 dims are at most 32767, volume is " + v.nx() + "x" + v.ny() + "x" + v.nz());
        }
        for (int i = 0; i < 8; i++) b.putShort(40 + 2 * i, dim[i]);
        b.putShort(70, (short) type.code());
        b.putShort(72, (short) type.bitpix());
        double[][] a = v.affine();
        int code = xformCode(v);
        Quaternion q = Quaternion.of(a);
        double[] s = v.spacing();
        b.putFloat(76, (float) q.qfac);
        for (int i = 0; i < 3; i++) b.putFloat(80 + 4 * i, (float) s[i]);
        b.putFloat(108, NiftiHeader.MIN_VOX_OFFSET);
        b.putFloat(112, 1f);
        b.putFloat(116, 0f);
        b.put(123, (byte) 2); // NIFTI_UNITS_MM
        byte[] descrip = "segsam".getBytes(StandardCharsets.US_ASCII);
        b.put(148, descrip);
        b.putShort(252, (short) code);
        b.putShort(254, (short) code);
        b.putFloat(256, (float) q.b);
        b.putFloat(260, (float) q.c);
        b.putFloat(264, (float) q.d);
        for (int i = 0; i < 3; i++) b.putFloat(268 + 4 * i, (float) a[i][3]);
        for (int r = 0; r < 3; r++) for (int c = 0; c < 4; c++) b.putFloat(280 + 4 * (4 * r + c), (float) a[r][c]);
        b.put(344, "n+1\0".getBytes(StandardCharsets.US_ASCII));
        return b.array();
    }

    private static int xformCode(Volume v) {
        if (v.affineSource() == Volume.AffineSource.SPACING_ONLY) return 0;
        for (String k : new String[] {"nifti.sform_code", "nifti.qform_code"}) {
            String c = v.extras().get(k);
            if (c != null && Integer.parseInt(c) > 0) return Integer.parseInt(c);
        }
        return 1;
    }

    private static void writeData(OutputStream os, long n, VoxelSource data, NiftiDataType type) throws IOException {
        int chunk = 1 << 16;
        float[] in = new float[chunk];
        ByteBuffer out = ByteBuffer.allocate(chunk * type.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        double lo = type == NiftiDataType.UINT8 ? 0 : Short.MIN_VALUE, hi = type == NiftiDataType.UINT8 ? 255 : Short.MAX_VALUE;
        for (long at = 0; at < n; at += chunk) {
            int len = (int) Math.min(chunk, n - at);
            data.read(at, in, len);
            out.clear();
            for (int i = 0; i < len; i++) {
                float f = in[i];
                if (type == NiftiDataType.FLOAT32) {
                    out.putFloat(f);
                    continue;
                }
                if (f != Math.rint(f) || f < lo || f > hi) {
                    throw new IllegalArgumentException("voxel " + (at + i) + " has value " + f + ", not an integer in [" + (long) lo + ", " + (long) hi + "] for " + type.label());
                }
                if (type == NiftiDataType.UINT8) out.put((byte) (int) f);
                else out.putShort((short) (int) f);
            }
            os.write(out.array(), 0, out.position());
        }
    }

    /** A unit quaternion (a ≥ 0) and qfac representing the rotation part of an affine, as NIfTI's qform stores it. */
    record Quaternion(double a, double b, double c, double d, double qfac) {
        static Quaternion of(double[][] m) {
            double[][] r = new double[3][3];
            for (int j = 0; j < 3; j++) {
                double norm = Math.sqrt(m[0][j] * m[0][j] + m[1][j] * m[1][j] + m[2][j] * m[2][j]);
                for (int i = 0; i < 3; i++) r[i][j] = norm > 0 ? m[i][j] / norm : (i == j ? 1 : 0);
            }
            double det = r[0][0] * (r[1][1] * r[2][2] - r[1][2] * r[2][1])
                    - r[0][1] * (r[1][0] * r[2][2] - r[1][2] * r[2][0])
                    + r[0][2] * (r[1][0] * r[2][1] - r[1][1] * r[2][0]);
            double qfac = 1;
            if (det < 0) {
                qfac = -1;
                for (int i = 0; i < 3; i++) r[i][2] = -r[i][2];
            }
            double tr = r[0][0] + r[1][1] + r[2][2];
            double a, b, c, d;
            if (tr > 0) {
                double s = 0.5 / Math.sqrt(tr + 1);
                a = 0.25 / s;
                b = (r[2][1] - r[1][2]) * s;
                c = (r[0][2] - r[2][0]) * s;
                d = (r[1][0] - r[0][1]) * s;
            } else if (r[0][0] > r[1][1] && r[0][0] > r[2][2]) {
                double s = 2 * Math.sqrt(1 + r[0][0] - r[1][1] - r[2][2]);
                a = (r[2][1] - r[1][2]) / s;
                b = 0.25 * s;
                c = (r[0][1] + r[1][0]) / s;
                d = (r[0][2] + r[2][0]) / s;
            } else if (r[1][1] > r[2][2]) {
                double s = 2 * Math.sqrt(1 + r[1][1] - r[0][0] - r[2][2]);
                a = (r[0][2] - r[2][0]) / s;
                b = (r[0][1] + r[1][0]) / s;
                c = 0.25 * s;
                d = (r[1][2] + r[2][1]) / s;
            } else {
                double s = 2 * Math.sqrt(1 + r[2][2] - r[0][0] - r[1][1]);
                a = (r[1][0] - r[0][1]) / s;
                b = (r[0][2] + r[2][0]) / s;
                c = (r[1][2] + r[2][1]) / s;
                d = 0.25 * s;
            }
            if (a < 0) {
                a = -a;
                b = -b;
                c = -c;
                d = -d;
            }
            return new Quaternion(a, b, c, d, qfac);
        }
    }
}
