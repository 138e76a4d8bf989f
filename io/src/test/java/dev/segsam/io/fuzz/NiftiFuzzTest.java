package dev.segsam.io.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.segsam.io.medical.MedicalImages;
import java.io.ByteArrayOutputStream;
import java.util.zip.GZIPOutputStream;

/**
 * NIfTI-1: {@code nifti} reads the input as a {@code .nii} (or, when it starts with the gzip magic, as
 * {@code .nii.gz}); {@code niftiGzip} gzips the input first, so the fuzzer mutates the header and data behind a valid
 * gzip stream. The last volume of 4-D images is read too.
 */
class NiftiFuzzTest {
    @FuzzTest(maxDuration = "10m")
    void nifti(byte[] data) throws Exception {
        Invariant.check(".nii", data, NiftiFuzzTest::readFirstAndLast);
    }

    @FuzzTest(maxDuration = "10m")
    void niftiGzip(byte[] data) throws Exception {
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(gz)) {
            out.write(data);
        }
        Invariant.check(".nii.gz", gz.toByteArray(), NiftiFuzzTest::readFirstAndLast);
    }

    private static void readFirstAndLast(java.nio.file.Path p) throws Exception {
        var v = MedicalImages.read(p, 0, Invariant.LIMITS);
        int count = v.volumeCount();
        VolumeChecks.check(v);
        if (count > 1 && count <= 64) VolumeChecks.check(MedicalImages.read(p, count - 1, Invariant.LIMITS));
    }
}
