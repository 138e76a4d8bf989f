package dev.segsam.io.medical.nifti;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.GZIPOutputStream;

/** Builds small NIfTI-1 files byte by byte (independently of NiftiWriter) for the bad-file and fuzz tests. */
final class NiftiBytes {
    private NiftiBytes() {}

    /** A valid little-endian int16 .nii of nx × ny × nz with voxel value = x + 10y + 100z, identity sform. */
    static byte[] valid(int nx, int ny, int nz) {
        ByteBuffer b = ByteBuffer.allocate(352 + 2 * nx * ny * nz).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, 348);
        short[] dim = {3, (short) nx, (short) ny, (short) nz, 1, 1, 1, 1};
        for (int i = 0; i < 8; i++) b.putShort(40 + 2 * i, dim[i]);
        b.putShort(70, (short) 4).putShort(72, (short) 16);
        float[] pix = {1, 1, 1, 1, 0, 0, 0, 0};
        for (int i = 0; i < 8; i++) b.putFloat(76 + 4 * i, pix[i]);
        b.putFloat(108, 352f);
        b.putShort(254, (short) 1);
        b.putFloat(280, 1).putFloat(300, 1).putFloat(320, 1);
        b.put(344, (byte) 'n').put(345, (byte) '+').put(346, (byte) '1');
        int at = 352;
        for (int z = 0; z < nz; z++) for (int y = 0; y < ny; y++) for (int x = 0; x < nx; x++, at += 2) b.putShort(at, (short) (x + 10 * y + 100 * z));
        return b.array();
    }

    static byte[] gzip(byte[] b) {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        try (GZIPOutputStream g = new GZIPOutputStream(bo)) {
            g.write(b);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bo.toByteArray();
    }

    static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }
}
