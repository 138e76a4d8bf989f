package dev.segsam.io.medical.nifti;

import dev.segsam.io.medical.MedicalFormatException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The fields of a NIfTI-1 header that segsam uses, parsed from the 348-byte header and validated: byte order from
 * {@code sizeof_hdr}, magic {@code "n+1"}, {@code dim[0]} in 1..7 and every used {@code dim[i] ≥ 1}, a known
 * {@code datatype} whose {@code bitpix} agrees, a finite {@code vox_offset ≥ 352}. Byte offsets follow
 * {@code nifti1.h} (see {@code docs/design/stack.md} §9).
 *
 * @param dim          {@code dim[0..7]} as stored ({@code dim[0]} = number of used dimensions)
 * @param pixdim       {@code pixdim[0..7]} ({@code pixdim[0]} = qfac)
 * @param extensions   true if {@code extension[0] ≠ 0} (extensions are skipped)
 */
public record NiftiHeader(ByteOrder order, short[] dim, NiftiDataType dataType, int bitpix, float[] pixdim,
                          long voxOffset, float sclSlope, float sclInter, int xyztUnits, String descrip,
                          int qformCode, int sformCode, float quaternB, float quaternC, float quaternD,
                          float qoffsetX, float qoffsetY, float qoffsetZ, float[] srow, String magic,
                          boolean extensions) {
    public static final int SIZE = 348;
    /** Minimum {@code vox_offset} of a single-file {@code .nii}: the header plus the 4-byte extension flag. */
    public static final int MIN_VOX_OFFSET = 352;

    /** Parses and validates {@code b} (at least 348 bytes; byte 348 is the extension flag when present). */
    public static NiftiHeader parse(Path file, byte[] b) throws MedicalFormatException {
        if (b.length < SIZE) {
            throw new MedicalFormatException(file, "header", "file is truncated: " + b.length + " bytes, a NIfTI-1 header needs " + SIZE);
        }
        ByteBuffer bb = ByteBuffer.wrap(b);
        int le = bb.order(ByteOrder.LITTLE_ENDIAN).getInt(0);
        int be = bb.order(ByteOrder.BIG_ENDIAN).getInt(0);
        ByteOrder order;
        if (le == SIZE) order = ByteOrder.LITTLE_ENDIAN;
        else if (be == SIZE) order = ByteOrder.BIG_ENDIAN;
        else if (le == 540 || be == 540) {
            throw new MedicalFormatException(file, "sizeof_hdr", "540 is a NIfTI-2 header; only NIfTI-1 is supported (convert with nibabel: nib.save(nib.Nifti1Image(...)))");
        } else {
            throw new MedicalFormatException(file, "sizeof_hdr", "is " + le + " (little-endian) / " + be + " (big-endian), expected 348: not a NIfTI-1 file");
        }
        bb.order(order);
        String magic = new String(b, 344, 4, StandardCharsets.ISO_8859_1);
        if (magic.equals("ni1\0")) {
            throw new MedicalFormatException(file, "magic", "\"ni1\" is the header of a .hdr/.img pair; only single-file .nii/.nii.gz is supported");
        }
        if (!magic.equals("n+1\0")) {
            throw new MedicalFormatException(file, "magic", "is " + printable(magic) + ", expected \"n+1\" (an ANALYZE 7.5 file or not NIfTI-1)");
        }
        short[] dim = new short[8];
        for (int i = 0; i < 8; i++) dim[i] = bb.getShort(40 + 2 * i);
        if (dim[0] < 1 || dim[0] > 7) {
            throw new MedicalFormatException(file, "dim[0]", dim[0] + " is not a number of dimensions in 1..7");
        }
        for (int i = 1; i <= dim[0]; i++) {
            if (dim[i] < 1) throw new MedicalFormatException(file, "dim[" + i + "]", dim[i] + " (each used dimension must be 1..32767)");
        }
        int code = bb.getShort(70);
        NiftiDataType dt = NiftiDataType.of(code);
        if (dt == null) {
            throw new MedicalFormatException(file, "datatype", NiftiDataType.describeUnsupported(code) + " is not supported");
        }
        int bitpix = bb.getShort(72);
        if (bitpix != dt.bitpix()) {
            throw new MedicalFormatException(file, "bitpix", bitpix + " does not match datatype " + code + " (" + dt.label() + ", " + dt.bitpix() + " bits)");
        }
        float[] pixdim = new float[8];
        for (int i = 0; i < 8; i++) pixdim[i] = bb.getFloat(76 + 4 * i);
        float vox = bb.getFloat(108);
        if (!Float.isFinite(vox) || vox < MIN_VOX_OFFSET) {
            throw new MedicalFormatException(file, "vox_offset", vox + " is below the minimum of " + MIN_VOX_OFFSET + " for a single-file .nii");
        }
        if (vox > Long.MAX_VALUE / 2) throw new MedicalFormatException(file, "vox_offset", vox + " is absurdly large");
        float[] srow = new float[12];
        for (int i = 0; i < 12; i++) srow[i] = bb.getFloat(280 + 4 * i);
        String descrip = cString(b, 148, 80);
        boolean ext = b.length > SIZE && b[SIZE] != 0;
        return new NiftiHeader(order, dim, dt, bitpix, pixdim, (long) vox, bb.getFloat(112), bb.getFloat(116),
                b[123] & 0xFF, descrip, bb.getShort(252), bb.getShort(254), bb.getFloat(256), bb.getFloat(260),
                bb.getFloat(264), bb.getFloat(268), bb.getFloat(272), bb.getFloat(276), srow, magic.substring(0, 3), ext);
    }

    /** {@code dim[i]} for i in 1..7, or 1 for dimensions beyond {@code dim[0]}. */
    public int size(int i) {
        return i <= dim[0] ? dim[i] : 1;
    }

    /** Voxels in one 3-D frame: {@code dim[1]·dim[2]·dim[3]}. */
    public long frameVoxels() {
        return (long) size(1) * size(2) * size(3);
    }

    /** Number of 3-D frames: the product of {@code dim[4..7]} (1 for a 3-D image). */
    public long frames() {
        long n = 1;
        for (int i = 4; i <= 7; i++) n *= size(i);
        return n;
    }

    /** The voxel size along x, y, z: {@code |pixdim[1..3]|}, with 0 or non-finite values replaced by 1. */
    public double[] spacing() {
        double[] s = new double[3];
        for (int i = 0; i < 3; i++) {
            double p = Math.abs(pixdim[i + 1]);
            s[i] = Double.isFinite(p) && p > 0 ? p : 1.0;
        }
        return s;
    }

    /**
     * True when values are {@code slope·raw + inter}: {@code scl_slope} finite and non-zero, and not the identity
     * (slope 1, inter 0). A non-finite inter counts as 0.
     */
    public boolean scaled() {
        float inter = Float.isFinite(sclInter) ? sclInter : 0;
        return Float.isFinite(sclSlope) && sclSlope != 0 && !(sclSlope == 1 && inter == 0);
    }

    /** The sform affine ({@code srow_x/y/z}) as 4×4. */
    public double[][] sform() {
        double[][] m = new double[4][4];
        for (int r = 0; r < 3; r++) for (int c = 0; c < 4; c++) m[r][c] = srow[r * 4 + c];
        m[3][3] = 1;
        return m;
    }

    /**
     * The qform affine: rotation from the unit quaternion (b, c, d; a = √(1 − b² − c² − d²), set to 0 and (b, c, d)
     * renormalised when that is not positive), times diag(dx, dy, qfac·dz), plus {@code qoffset}. qfac is −1 when
     * {@code pixdim[0] < 0}, else 1 (0 counts as 1, as in nifti_clib).
     */
    public double[][] qform() {
        double b = quaternB, c = quaternC, d = quaternD;
        double aa = 1.0 - (b * b + c * c + d * d);
        double a;
        if (aa < 1e-7) {
            double n = Math.sqrt(b * b + c * c + d * d);
            if (n > 0) {
                b /= n;
                c /= n;
                d /= n;
            }
            a = 0;
        } else {
            a = Math.sqrt(aa);
        }
        double[] s = spacing();
        double qfac = pixdim[0] < 0 ? -1 : 1;
        double[][] r = {
            {a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)},
            {2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)},
            {2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b}};
        double[][] m = new double[4][4];
        double[] scale = {s[0], s[1], s[2] * qfac};
        for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) m[i][j] = r[i][j] * scale[j];
        m[0][3] = qoffsetX;
        m[1][3] = qoffsetY;
        m[2][3] = qoffsetZ;
        m[3][3] = 1;
        return m;
    }

    /**
     * nibabel's fallback affine when neither form is set: diag(−dx, dy, dz) with the volume centre at the origin
     * ({@code Nifti1Header.get_base_affine}).
     */
    public double[][] baseAffine() {
        double[] s = spacing();
        double[][] m = new double[4][4];
        double[] z = {-s[0], s[1], s[2]};
        for (int i = 0; i < 3; i++) {
            m[i][i] = z[i];
            m[i][3] = -(size(i + 1) - 1) / 2.0 * z[i];
        }
        m[3][3] = 1;
        return m;
    }

    private static String cString(byte[] b, int off, int len) {
        int end = off;
        while (end < off + len && b[end] != 0) end++;
        return new String(b, off, end - off, StandardCharsets.ISO_8859_1).strip();
    }

    private static String printable(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char ch : s.toCharArray()) sb.append(ch >= 32 && ch < 127 ? String.valueOf(ch) : String.format("\\x%02x", (int) ch));
        return sb.append('"').toString();
    }
}
