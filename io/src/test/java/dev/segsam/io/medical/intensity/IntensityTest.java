package dev.segsam.io.medical.intensity;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.segsam.io.medical.Axis;
import dev.segsam.io.medical.Fixtures;
import dev.segsam.io.medical.Volume;
import dev.segsam.io.medical.dicom.DicomReader;
import dev.segsam.io.medical.nifti.NiftiReader;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.image.RgbImage;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Grey mappings compared with MedSAM's numpy code run on the same data (expected.json "intensity"). */
class IntensityTest {
    @TempDir
    Path dir;

    static final JsonNode EXP = Fixtures.expected().get("intensity");

    @Test
    void presetsAndExplicitWindowsParse() {
        CtWindow a = CtWindow.parse("abdomen");
        assertEquals(-160, a.lower());
        assertEquals(240, a.upper());
        assertEquals(CtWindow.BRAIN, CtWindow.parse(" Brain "));
        assertEquals(new CtWindow("bone", 1800, 400), CtWindow.parse("BONE"));
        CtWindow lung = CtWindow.parse("lung");
        assertEquals(-1350, lung.lower());
        assertEquals(150, lung.upper());
        assertEquals(CtWindow.MEDIASTINUM, CtWindow.parse("mediastinum"));
        CtWindow w = CtWindow.parse("1500,-600");
        assertEquals(1500, w.width());
        assertEquals(-600, w.level());
        assertEquals(350.5, CtWindow.parse("350.5, 40").width());
        for (String bad : new String[] {"", "liver", "400", "400,40,1", "0,40", "-5,40", "a,b", "NaN,3"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CtWindow.parse(bad), bad);
            assertTrue(e.getMessage().contains("W,L") || e.getMessage().contains("width"), e.getMessage());
        }
    }

    @Test
    void windowingParsesEveryForm() {
        assertInstanceOf(Windowing.Auto.class, Windowing.parse(null));
        assertInstanceOf(Windowing.Auto.class, Windowing.parse("auto"));
        assertInstanceOf(Windowing.MrPercentile.class, Windowing.parse("MR"));
        assertInstanceOf(Windowing.Stored.class, Windowing.parse("dicom"));
        assertEquals(new Windowing.Fixed(CtWindow.LUNG), Windowing.parse("lung"));
        assertThrows(IllegalArgumentException.class, () -> Windowing.parse("soft"));
    }

    static String sha(byte[] g) {
        return Fixtures.sha256(g);
    }

    @Test
    void ctWindowsMatchNumpy() throws Exception {
        try (Volume ct = DicomReader.read(Fixtures.copy(dir, "dicom/CT_small.dcm"))) {
            float[] v = ct.data().toArray();
            assertEquals(EXP.get("CT_small.dcm medsam abdomen").get("sha256").asText(), sha(CtWindow.ABDOMEN.medsam(v).toGray8(v)));
            assertEquals(EXP.get("CT_small.dcm fixed abdomen").get("sha256").asText(), sha(CtWindow.ABDOMEN.fixed().toGray8(v)));
            assertEquals(EXP.get("CT_small.dcm fixed lung").get("sha256").asText(), sha(CtWindow.LUNG.fixed().toGray8(v)));
            CtWindow wide = CtWindow.parse("4000,0");
            assertEquals(EXP.get("CT_small.dcm medsam W4000,L0").get("sha256").asText(), sha(wide.medsam(v).toGray8(v)));
            assertEquals(EXP.get("CT_small.dcm fixed W4000,L0").get("sha256").asText(), sha(wide.fixed().toGray8(v)));
            // auto on CT without a stored window = abdomen
            assertEquals(CtWindow.ABDOMEN.fixed(), Windowing.parse("auto").resolve(ct));
            assertThrows(IllegalArgumentException.class, () -> Windowing.parse("dicom").resolve(ct));
        }
    }

    @Test
    void mrPercentileNormalisationMatchesMedSam() throws Exception {
        JsonNode e = EXP.get("MR_small.dcm medsam mr");
        try (Volume mr = DicomReader.read(Fixtures.copy(dir, "dicom/MR_small.dcm"))) {
            IntensityMap m = MrNormalization.of(mr);
            assertEquals(e.get("low").asDouble(), m.low(), 0);
            assertEquals(e.get("high").asDouble(), m.high(), 0);
            assertEquals(e.get("sha256").asText(), sha(m.toGray8(mr.data().toArray())));
            // auto on MR = percentile; dicom = the stored 600/1600 window
            assertEquals(m, Windowing.parse("auto").resolve(mr));
            assertEquals(new CtWindow("dicom", 1600, 600).fixed(), Windowing.parse("dicom").resolve(mr));
        }
        JsonNode a = EXP.get("anatomical.nii medsam mr");
        try (Volume anat = NiftiReader.read(Fixtures.copy(dir, "nifti/anatomical.nii"))) {
            float[] v = anat.data().toArray();
            IntensityMap m = MrNormalization.of(v);
            assertEquals(a.get("low").asDouble(), m.low(), 0);
            assertEquals(a.get("high").asDouble(), m.high(), 0);
            assertEquals(a.get("sha256").asText(), sha(m.toGray8(v)));
        }
    }

    /** numpy.percentile's linear method on small cases worked out by hand. */
    @Test
    void percentileFollowsNumpy() {
        float[] s = {1, 2, 4, 8};
        assertEquals(1, MrNormalization.percentile(s, 0));
        assertEquals(8, MrNormalization.percentile(s, 100));
        assertEquals(3, MrNormalization.percentile(s, 50)); // index 1.5 → 2 + 0.5·2
        assertEquals(1.015, MrNormalization.percentile(s, 0.5), 1e-12); // index 0.015
        assertEquals(7.94, MrNormalization.percentile(s, 99.5), 1e-12); // index 2.985 → 8 − 4·0.015 (upper-neighbour form)
        assertEquals(5, MrNormalization.percentile(new float[] {5}, 99.5));
        assertThrows(IllegalArgumentException.class, () -> MrNormalization.percentile(new float[0], 50));
    }

    @Test
    void mapEdgeCases() {
        IntensityMap m = new IntensityMap(0, 100, true);
        assertEquals(0, m.gray(0f));
        assertEquals(0, m.gray(-5f));
        assertEquals(2, m.gray(1f)); // 2.55 truncates to 2
        assertEquals(255, m.gray(100f));
        assertEquals(255, m.gray(1e9f));
        assertEquals(0, m.gray(Float.NaN));
        assertEquals(0, new IntensityMap(5, 5, false).gray(5f)); // empty range
        assertEquals(255, new IntensityMap(0, 100, false).inverted(true).gray(-1f));
        assertEquals(0, MrNormalization.of(new float[] {0, -1, 0}).gray(0f)); // no positive voxels
        RgbImage rgb = CtWindow.ABDOMEN.fixed().toRgb(new dev.segsam.io.medical.Slice2D(2, 1, new float[] {-1000, 240}));
        assertArrayEquals(new byte[] {0, 0, 0, (byte) 255, (byte) 255, (byte) 255}, rgb.rgb());
    }

    @Test
    void sliceToRgbUsesTheSameMap() {
        Volume v = Volume.builder(Tensor.of(new float[] {-160, 40, 240, 0}, 1, 2, 2)).modality("CT").build();
        RgbImage img = Windowing.parse("abdomen").resolve(v).toRgb(v.slice(Axis.Z, 0));
        assertEquals(0, img.get(0, 0, 0));
        assertEquals(127, img.get(1, 0, 1));
        assertEquals(255, img.get(0, 1, 2));
        assertEquals(102, img.get(1, 1, 0)); // 160/400·255 = 102
    }
}
