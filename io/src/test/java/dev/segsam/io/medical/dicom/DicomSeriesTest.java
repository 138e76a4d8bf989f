package dev.segsam.io.medical.dicom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.io.medical.MedicalFormatException;
import dev.segsam.io.medical.MedicalImages;
import dev.segsam.io.medical.Volume;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DicomSeriesTest {
    @TempDir
    Path dir;

    // an oblique orientation: row (1, 0, 0), column (0, cos a, sin a); normal (0, -sin a, cos a)
    static final double A = Math.toRadians(20);
    static final double[] ROW = {1, 0, 0}, COL = {0, Math.cos(A), Math.sin(A)}, NRM = {0, -Math.sin(A), Math.cos(A)};

    /** Slice k: 2 rows × 3 columns, every stored value k, rescaled with slope 2 and intercept k (so each slice has its own). */
    static byte[] slice(int k, String series, Integer instance, boolean position, double gap, int rows) {
        DicomBuilder b = DicomBuilder.explicitLe();
        b.str(0x00080060, "CS", "MR").str(0x00180050, "DS", "3");
        if (series != null) b.str(0x0020000E, "UI", series);
        if (instance != null) b.str(0x00200013, "IS", Integer.toString(instance));
        if (position) {
            double[] p = {10 + gap * k * NRM[0], 20 + gap * k * NRM[1], 30 + gap * k * NRM[2]};
            b.str(0x00200032, "DS", String.format(Locale.ROOT, "%.6f\\%.6f\\%.6f", p[0], p[1], p[2]));
            b.str(0x00200037, "DS", String.format(Locale.ROOT, "%.6f\\%.6f\\%.6f\\%.6f\\%.6f\\%.6f", ROW[0], ROW[1], ROW[2], COL[0], COL[1], COL[2]));
        }
        b.imageAttrs(rows, 3, 16, 1).str(0x00280030, "DS", "0.5\\0.75").str(0x00281052, "DS", Integer.toString(k)).str(0x00281053, "DS", "2");
        short[] px = new short[rows * 3];
        java.util.Arrays.fill(px, (short) k);
        return b.pixels16(px).build();
    }

    void write(String name, byte[] b) throws Exception {
        Files.write(dir.resolve(name), b);
    }

    @Test
    void slicesAreOrderedAlongTheNormalWhateverTheFileNames() throws Exception {
        int[] order = {3, 0, 4, 1, 2};
        for (int f = 0; f < order.length; f++) write("img" + f + ".dcm", slice(order[f], "1.2.3", 100 - order[f], true, 2.5, 2));
        write("README.txt", "not dicom".getBytes());
        write("DICOMDIR", DicomBuilder.explicitLe().str(0x00041130, "CS", "").build());
        try (Volume v = DicomSeries.read(dir)) {
            assertArrayEquals(new int[] {3, 2, 5}, v.dims());
            for (int k = 0; k < 5; k++) assertEquals(3f * k, v.get(1, 1, k), "slice " + k); // k·2 + k
            assertEquals("position", v.extras().get("dicom.slice_order"));
            assertEquals("2", v.extras().get("dicom.skipped_files"));
            assertEquals("true", v.extras().get("dicom.rescale_varies"));
            assertArrayEquals(new double[] {0.75, 0.5, 2.5}, v.spacing(), 1e-6);
            // RAS affine: LPS columns row·0.75, col·0.5, normal·2.5, origin (10, 20, 30); x and y negated
            double[][] a = v.affine();
            double[][] want = {
                {-ROW[0] * 0.75, -COL[0] * 0.5, -NRM[0] * 2.5, -10},
                {-ROW[1] * 0.75, -COL[1] * 0.5, -NRM[1] * 2.5, -20},
                {ROW[2] * 0.75, COL[2] * 0.5, NRM[2] * 2.5, 30},
                {0, 0, 0, 1}};
            for (int r = 0; r < 4; r++) assertArrayEquals(want[r], a[r], 1e-5, "row " + r);
            assertEquals(Volume.AffineSource.DICOM_PATIENT, v.affineSource());
            assertEquals("DICOM series", v.format());
        }
        assertEquals(MedicalImages.Format.DICOM_SERIES, MedicalImages.detect(dir));
    }

    @Test
    void instanceNumbersWhenThereAreNoPositions() throws Exception {
        for (int k = 0; k < 3; k++) write("s" + (9 - k) + ".dcm", slice(k, "1.2.3", k + 1, false, 0, 2));
        try (Volume v = DicomSeries.read(dir)) {
            assertEquals("instance number", v.extras().get("dicom.slice_order"));
            assertEquals(6f, v.get(0, 0, 2));
            assertEquals(Volume.AffineSource.SPACING_ONLY, v.affineSource());
            assertEquals(3.0, v.spacing()[2]);
        }
    }

    MedicalFormatException bad(String field, String text) {
        MedicalFormatException e = assertThrows(MedicalFormatException.class, () -> DicomSeries.read(dir));
        assertEquals(field, e.field(), e.getMessage());
        assertTrue(e.getMessage().contains(text), e.getMessage());
        return e;
    }

    @Test
    void mixedSeriesAreRefused() throws Exception {
        write("a.dcm", slice(0, "1.2.3", 1, true, 2, 2));
        write("b.dcm", slice(1, "1.2.4", 2, true, 2, 2));
        bad("(0020,000E) SeriesInstanceUID", "a.dcm and b.dcm differ: 1.2.3 vs 1.2.4");
    }

    @Test
    void inconsistentSizesAreRefused() throws Exception {
        write("a.dcm", slice(0, "1.2.3", 1, true, 2, 2));
        write("b.dcm", slice(1, "1.2.3", 2, true, 2, 4));
        bad("(0028,0010) Rows/Columns", "2x3 vs 4x3");
    }

    @Test
    void duplicatePositionsAreRefused() throws Exception {
        write("a.dcm", slice(1, "1.2.3", 1, true, 2, 2));
        write("b.dcm", slice(1, "1.2.3", 2, true, 2, 2));
        bad("(0020,0032) ImagePositionPatient", "more than one series or time point");
    }

    @Test
    void aMissingSliceIsRefused() throws Exception {
        for (int k : new int[] {0, 1, 2, 4, 5}) write("s" + k + ".dcm", slice(k, "1.2.3", k, true, 2, 2));
        bad("(0020,0032) ImagePositionPatient", "missing or extra slices");
    }

    @Test
    void emptyFolder() throws Exception {
        write("notes.txt", "hello".getBytes());
        bad("series", "no DICOM images in the folder (1 files, 1 not DICOM images)");
    }

    @Test
    void aCorruptSliceIsAnErrorNotSkipped() throws Exception {
        write("a.dcm", slice(0, "1.2.3", 1, true, 2, 2));
        byte[] b = slice(1, "1.2.3", 2, true, 2, 2);
        write("b.dcm", java.util.Arrays.copyOf(b, b.length - 4));
        MedicalFormatException e = assertThrows(MedicalFormatException.class, () -> DicomSeries.read(dir));
        assertTrue(e.getMessage().contains("b.dcm"), e.getMessage());
    }
}
