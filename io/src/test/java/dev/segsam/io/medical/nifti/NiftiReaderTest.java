package dev.segsam.io.medical.nifti;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.segsam.io.medical.Fixtures;
import dev.segsam.io.medical.MedicalFormatException;
import dev.segsam.io.medical.MedicalImages;
import dev.segsam.io.medical.Volume;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** NIfTI fixtures from nibabel's test data, compared with nibabel's own reading (expected.json). */
class NiftiReaderTest {
    @TempDir
    Path dir;

    static final JsonNode FILES = Fixtures.expected().get("files");

    @Test
    void bigEndianInt16MatchesNibabel() throws Exception {
        Path p = Fixtures.copy(dir, "nifti/anatomical.nii");
        try (Volume v = NiftiReader.read(p)) {
            Fixtures.assertMatches(FILES.get("nifti/anatomical.nii"), v, "anatomical.nii");
            assertEquals("big_endian", v.extras().get("nifti.byte_order"));
            assertEquals("NIfTI-1", v.format());
            assertTrue(v.modality().isEmpty());
        }
    }

    @Test
    void gzip4dReadsFrameZeroByDefaultAndOtherFramesOnRequest() throws Exception {
        Path p = Fixtures.copy(dir, "nifti/example4d.nii.gz");
        try (Volume v = NiftiReader.read(p)) {
            Fixtures.assertMatches(FILES.get("nifti/example4d.nii.gz"), v, "example4d frame 0");
            assertEquals("128x96x24x2", v.extras().get("nifti.dim"));
            assertEquals("0 of 2", v.extras().get("nifti.frame"));
        }
        try (Volume v = new NiftiReader().frame(1).readVolume(p)) {
            Fixtures.assertMatches(FILES.get("nifti/example4d.nii.gz#frame1"), v, "example4d frame 1");
        }
        MedicalFormatException e = assertThrows(MedicalFormatException.class, () -> new NiftiReader().frame(2).readVolume(p));
        assertTrue(e.getMessage().endsWith("volume: volume 2 asked for, but the 128x96x24x2 image holds 2 volumes (0..1)"), e.getMessage());
    }

    @Test
    void qformIsUsedWhenSformCodeIsZeroAndMatchesNibabelsQform() throws Exception {
        byte[] b = Fixtures.bytes("nifti/anatomical.nii");
        ByteBuffer.wrap(b).order(ByteOrder.BIG_ENDIAN).putShort(254, (short) 0); // sform_code = 0
        Path p = dir.resolve("qform.nii");
        Files.write(p, b);
        NiftiHeader h = NiftiReader.readHeader(p);
        assertTrue(h.qformCode() > 0, "fixture must carry a qform");
        try (Volume v = NiftiReader.read(p)) {
            assertEquals(Volume.AffineSource.QFORM, v.affineSource());
            JsonNode q = FILES.get("nifti/anatomical.nii").get("qform_affine");
            double[][] a = v.affine();
            for (int r = 0; r < 4; r++) assertArrayEquals(Fixtures.doubles(q.get(r)), a[r], 1e-4, "qform row " + r);
        }
    }

    @Test
    void noFormsFallsBackToNibabelsBaseAffine() throws Exception {
        byte[] b = Fixtures.bytes("nifti/anatomical.nii");
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.BIG_ENDIAN);
        bb.putShort(252, (short) 0).putShort(254, (short) 0);
        Path p = dir.resolve("noform.nii");
        Files.write(p, b);
        try (Volume v = NiftiReader.read(p)) {
            assertEquals(Volume.AffineSource.SPACING_ONLY, v.affineSource());
            // nibabel get_base_affine for shape 33x41x25, zooms 2 mm: diag(-2, 2, 2), origin at the centre
            double[][] want = {{-2, 0, 0, 32}, {0, 2, 0, -40}, {0, 0, 2, -24}, {0, 0, 0, 1}};
            for (int r = 0; r < 4; r++) assertArrayEquals(want[r], v.affine()[r], 1e-9);
        }
    }

    @Test
    void sclSlopeAndInterAreApplied() throws Exception {
        byte[] b = Fixtures.bytes("nifti/anatomical.nii");
        ByteBuffer.wrap(b).order(ByteOrder.BIG_ENDIAN).putFloat(112, 0.5f).putFloat(116, -3f);
        Path p = dir.resolve("scaled.nii");
        Files.write(p, b);
        JsonNode e = FILES.get("nifti/anatomical.nii");
        try (Volume v = NiftiReader.read(p)) {
            for (JsonNode px : e.get("voxels")) {
                int[] ijk = Fixtures.ints(px.get("ijk"));
                assertEquals((float) (px.get("value").asDouble() * 0.5 - 3), v.get(ijk[0], ijk[1], ijk[2]));
            }
            assertEquals(e.get("max").asDouble() * 0.5 - 3, v.valueRange()[1], 0);
            assertEquals("0.5", v.extras().get("nifti.scl_slope"));
        }
    }

    /** Every readable datatype, little-endian, 1x1x3 voxels written byte by byte here. */
    @Test
    void everyDatatypeDecodes() throws Exception {
        record Case(int code, int bitpix, java.util.function.Consumer<ByteBuffer> data, float[] want) {}
        Case[] cases = {
            new Case(2, 8, b -> b.put((byte) 0).put((byte) 128).put((byte) 255), new float[] {0, 128, 255}),
            new Case(256, 8, b -> b.put((byte) -128).put((byte) -1).put((byte) 127), new float[] {-128, -1, 127}),
            new Case(4, 16, b -> b.putShort((short) -32768).putShort((short) -1).putShort((short) 32767), new float[] {-32768, -1, 32767}),
            new Case(512, 16, b -> b.putShort((short) 0).putShort((short) -1).putShort((short) 40000), new float[] {0, 65535, 40000}),
            new Case(8, 32, b -> b.putInt(Integer.MIN_VALUE).putInt(-7).putInt(16777216), new float[] {-2147483648f, -7, 16777216}),
            new Case(768, 32, b -> b.putInt(-1).putInt(7).putInt(0), new float[] {4294967295f, 7, 0}),
            new Case(1024, 64, b -> b.putLong(-5).putLong(1L << 40).putLong(0), new float[] {-5, 1099511627776f, 0}),
            new Case(1280, 64, b -> b.putLong(-1).putLong(3).putLong(1L << 63), new float[] {18446744073709551615f, 3, 9223372036854775808f}),
            new Case(16, 32, b -> b.putFloat(-0.5f).putFloat(Float.NaN).putFloat(3e38f), new float[] {-0.5f, Float.NaN, 3e38f}),
            new Case(64, 64, b -> b.putDouble(1e-3).putDouble(-2.5).putDouble(1e300), new float[] {1e-3f, -2.5f, Float.POSITIVE_INFINITY}),
            // grey = 0.299 R + 0.587 G + 0.114 B
            new Case(128, 24, b -> b.put(new byte[] {(byte) 255, 0, 0, 0, (byte) 255, 0, 10, 20, 30}), new float[] {76.245f, 149.685f, 18.15f}),
            new Case(2304, 32, b -> b.put(new byte[] {0, 0, (byte) 255, 9, 1, 1, 1, 0, 0, 0, 0, 0}), new float[] {29.07f, 1f, 0}),
        };
        for (Case c : cases) {
            ByteBuffer b = ByteBuffer.allocate(352 + 3 * c.bitpix() / 8).order(ByteOrder.LITTLE_ENDIAN);
            b.put(NiftiBytes.valid(1, 1, 3), 0, 352);
            b.putShort(46, (short) 3).putShort(42, (short) 1).putShort(44, (short) 1);
            b.putShort(70, (short) c.code()).putShort(72, (short) c.bitpix());
            b.position(352);
            c.data().accept(b);
            Path p = dir.resolve("t" + c.code() + ".nii");
            Files.write(p, b.array());
            try (Volume v = NiftiReader.read(p)) {
                assertArrayEquals(c.want(), v.data().toArray(), 1e-4f, "datatype " + c.code());
                assertEquals(NiftiDataType.of(c.code()).label(), v.dataType());
            }
        }
    }

    @Test
    void nifti2IsRefusedByName() {
        Path p = Fixtures.copy(dir, "nifti/example_nifti2.nii.gz");
        MedicalFormatException e = assertThrows(MedicalFormatException.class, () -> NiftiReader.read(p));
        assertEquals("sizeof_hdr", e.field());
        assertTrue(e.getMessage().contains("NIfTI-2"), e.getMessage());
    }

    @Test
    void formatDetectionFindsNiftiByContent() throws Exception {
        Path p = Fixtures.copy(dir, "nifti/example4d.nii.gz");
        Path renamed = Files.move(p, dir.resolve("no-extension"));
        assertEquals(MedicalImages.Format.NIFTI, MedicalImages.detect(renamed));
        try (Volume v = MedicalImages.read(renamed)) {
            assertArrayEquals(new int[] {128, 96, 24}, v.dims());
        }
    }
}
