package dev.segsam.io.medical.nifti;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.io.medical.MedicalFormatException;
import dev.segsam.io.medical.Volume;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A {@code .nii.gz} whose volume needs far more than the file's size (more than 64:1; label maps compress like that,
 * and so do lying headers) is inflated before the tensor is allocated: valid files read the same, truncated ones fail
 * with the same message, without first allocating the volume the header claims.
 */
class NiftiGzipStagingTest {
    @TempDir
    Path dir;

    @Test
    void highlyCompressedVolumesReadTheSame() throws Exception {
        byte[] nii = NiftiBytes.valid(120, 100, 90); // int16, 2.16 MB of data
        Arrays.fill(nii, 352, nii.length, (byte) 0); // mostly zeros: a label map
        NiftiBytes.le(nii).putShort(352 + 2 * (7 + 120 * (5 + 100 * 3)), (short) 42);
        Path p = dir.resolve("labels.nii.gz");
        Files.write(p, NiftiBytes.gzip(nii));
        assertTrue(Files.size(p) * NiftiReader.STAGE_RATIO < nii.length - 352, "staged: " + Files.size(p) + " bytes");
        try (Volume v = NiftiReader.read(p)) {
            assertEquals(42, v.get(7, 5, 3));
            assertEquals(0, v.get(8, 5, 3));
            assertEquals(0, v.get(119, 99, 89));
        }
        byte[] gz = NiftiBytes.gzip(Arrays.copyOf(nii, nii.length - 1000));
        Path t = dir.resolve("truncated.nii.gz");
        Files.write(t, gz);
        MedicalFormatException e = assertThrows(MedicalFormatException.class, () -> NiftiReader.read(t));
        assertTrue(e.getMessage().endsWith("file size: file is truncated: the data end after 2159000 of the 2160000 bytes of 120x100x90 int16"),
                e.getMessage());
    }
}
