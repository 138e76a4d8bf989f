package dev.segsam.cli;

import static dev.segsam.cli.MainTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.segsam.io.medical.Volume;
import dev.segsam.io.medical.dataset.AbdomenPhantom;
import dev.segsam.io.medical.nifti.NiftiDataType;
import dev.segsam.io.medical.nifti.NiftiWriter;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** segsam inspect / export-slice / dataset, run through Main like a user would. */
class MedicalCommandsTest {
    @TempDir
    Path dir;

    /** pydicom's CT_small.dcm, committed with the io module's test fixtures (Maven runs tests in the module folder). */
    static Path ioFixture(String name) {
        Path p = Path.of("..", "io", "src", "test", "resources", "medical", name);
        Assumptions.assumeTrue(Files.exists(p), "io fixture " + p + " not found (run from the cli module folder)");
        return p;
    }

    /** A phantom CT slice (seed 5, 128 px) saved as NIfTI (int16 HU). */
    Path phantomNifti() throws Exception {
        return phantomNifti("phantom.nii.gz", 5, 128);
    }

    Path phantomNifti(String name, long seed, int size) throws Exception {
        Path p = dir.resolve(name);
        try (Volume v = AbdomenPhantom.generate(seed, size).toVolume()) {
            NiftiWriter.write(p, v, NiftiDataType.INT16, false);
        }
        return p;
    }

    @Test
    void inspectDicomAsJson() throws Exception {
        MainTest.Run r = run("inspect", "--json", ioFixture("dicom/CT_small.dcm").toString());
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals("DICOM", j.get("format").asText());
        assertEquals("CT", j.get("modality").asText());
        assertEquals("[128,128,1]", j.get("dims").toString());
        assertEquals(0.661468, j.get("spacing").get(0).asDouble(), 1e-9);
        assertEquals(5.0, j.get("spacing").get(2).asDouble(), 1e-9);
        assertEquals("int16", j.get("dtype").asText());
        assertEquals(-896.0, j.get("min").asDouble()); // pydicom: apply_modality_lut(pixel_array).min()
        assertEquals(1167.0, j.get("max").asDouble());
        assertEquals("1.2.840.10008.1.2.1", j.get("transfer_syntax").asText());
        assertEquals("DICOM_PATIENT", j.get("affine_source").asText());
    }

    @Test
    void inspectNiftiAsText() throws Exception {
        MainTest.Run r = run("inspect", phantomNifti().toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("format        NIfTI-1"), r.out());
        assertTrue(r.out().contains("dims          128 x 128 x 1 (x, y, z)"), r.out());
        assertTrue(r.out().contains("spacing       0.8 x 0.8 x 0.8 mm"), r.out());
        assertTrue(r.out().contains("data type     int16"), r.out());
        assertTrue(r.out().contains("modality      unknown"), r.out());
        MainTest.Run j = run("inspect", "--json", phantomNifti("second.nii", 6, 64).toString());
        JsonNode n = new ObjectMapper().readTree(j.out());
        assertTrue(n.get("modality").isNull());
        assertEquals("SFORM", n.get("affine_source").asText());
    }

    /** A 4-D NIfTI (3 volumes): inspect reports the file's full shape and which volume the commands use. */
    @Test
    void inspectReportsTheVolumesOfA4dImage() throws Exception {
        MainTest.Run r = run("inspect", ioFixture("nifti/small4d.nii").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("dims          4 x 3 x 2 (x, y, z)"), r.out());
        assertTrue(r.out().contains("volumes       3 in the file's 4 x 3 x 2 x 3; shown and used by commands: volume 0"), r.out());
        JsonNode j = new ObjectMapper().readTree(run("inspect", "--json", ioFixture("nifti/small4d.nii").toString()).out());
        assertEquals("[4,3,2,3]", j.get("file_dims").toString());
        assertEquals(3, j.get("volumes").asInt());
        assertEquals(0, j.get("volume").asInt());
    }

    /** pydicom's CT_small.dcm starts its preamble with a TIFF header; predict --image must still read it as DICOM. */
    @Test
    void dicomWithATiffPreambleIsAnImageForPredict() throws Exception {
        var img = dev.segsam.cli.predict.InputImage.load(ioFixture("dicom/CT_small.dcm"), null, null, null);
        assertTrue(img.description().startsWith("DICOM 128x128x1"), img.description());
        assertEquals(128, img.image().width());
    }

    @Test
    void inspectErrorsAreOneLine() throws Exception {
        MainTest.Run jp2 = run("inspect", ioFixture("dicom/MR_small_jp2klossless.dcm").toString());
        assertEquals(1, jp2.code());
        assertTrue(jp2.err().startsWith("segsam: "), jp2.err());
        assertTrue(jp2.err().contains("JPEG 2000") && jp2.err().contains("gdcmconv --raw"), jp2.err());
        assertEquals(1, jp2.err().strip().lines().count(), jp2.err());
        Path junk = dir.resolve("junk.nii");
        Files.writeString(junk, "not an image");
        MainTest.Run bad = run("inspect", junk.toString());
        assertEquals(1, bad.code());
        assertEquals(1, bad.err().strip().lines().count(), bad.err());
        MainTest.Run missing = run("inspect", dir.resolve("none.nii").toString());
        assertEquals(1, missing.code());
        assertTrue(missing.err().startsWith("segsam: no such file"), missing.err());
    }

    @Test
    void exportSliceWritesAWindowedPng() throws Exception {
        Path in = phantomNifti();
        Path png = dir.resolve("slice.png");
        MainTest.Run r = run("export-slice", in.toString(), "--axis", "z", "--index", "0", "--window", "abdomen", "--out", png.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("128x128, z = 0 of 1"), r.out());
        BufferedImage img = ImageIO.read(png.toFile());
        assertEquals(128, img.getWidth());
        assertEquals(BufferedImage.TYPE_BYTE_GRAY, img.getType());
        assertEquals(0, img.getRaster().getSample(0, 0, 0), "air is black in the abdomen window");
        // the same pixels as windowing the phantom's HU directly (the NIfTI round trip and display layout are lossless)
        AbdomenPhantom.Slice s = AbdomenPhantom.generate(5, 128);
        int i = 64 * 128 + 40;
        int want = (int) ((Math.min(Math.max(s.hu()[i], -160), 240) + 160) / 400.0 * 255);
        assertEquals(want, img.getRaster().getSample(40, 64, 0));

        // NIfTI has no modality: auto recognises CT by its air (minimum ≤ −500 HU) and uses the abdomen window
        MainTest.Run auto = run("export-slice", in.toString(), "--out", dir.resolve("auto.png").toString());
        assertEquals(0, auto.code(), auto.err());
        assertTrue(auto.out().contains("clip(v, -160, 240)"), auto.out());

        MainTest.Run again = run("export-slice", in.toString(), "--out", png.toString());
        assertEquals(1, again.code());
        assertTrue(again.err().contains("exists (use --force to overwrite)"), again.err());
        MainTest.Run forced = run("export-slice", in.toString(), "--out", png.toString(), "--force", "--window", "1500,-600");
        assertEquals(0, forced.code(), forced.err());
        assertTrue(forced.out().contains("clip(v, -1350, 150)"), forced.out());
    }

    @Test
    void exportSliceUsageErrors() throws Exception {
        Path in = phantomNifti();
        MainTest.Run idx = run("export-slice", in.toString(), "--index", "5", "--out", dir.resolve("a.png").toString());
        assertEquals(2, idx.code());
        assertTrue(idx.err().contains("--index 5 is outside 0..0 along z"), idx.err());
        MainTest.Run win = run("export-slice", in.toString(), "--window", "soft", "--out", dir.resolve("a.png").toString());
        assertEquals(2, win.code());
        assertTrue(win.err().contains("window must be a preset"), win.err());
        MainTest.Run axis = run("export-slice", in.toString(), "--axis", "t", "--out", dir.resolve("a.png").toString());
        assertEquals(2, axis.code());
        assertTrue(!Files.exists(dir.resolve("a.png")));
    }

    @Test
    void exportSliceOfADicomUsesTheStoredWindowAutomatically() throws Exception {
        Path png = dir.resolve("mr.png");
        MainTest.Run r = run("export-slice", ioFixture("dicom/MR_small.dcm").toString(), "--window", "dicom", "--out", png.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("clip(v, -200, 1400)"), r.out()); // WindowCenter 600, WindowWidth 1600
    }

    @Test
    void datasetPhantom() throws Exception {
        Path out = dir.resolve("ds");
        MainTest.Run r = run("dataset", "phantom", "--out", out.toString(), "--count", "3", "--size", "64");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("train 3, val 0, test 0"), r.out());
        JsonNode idx = new ObjectMapper().readTree(out.resolve("index.json").toFile());
        assertEquals(3, idx.get("samples").size());
        assertEquals("liver", idx.get("classes").get(0).get("name").asText());
        MainTest.Run again = run("dataset", "phantom", "--out", out.toString(), "--count", "3", "--size", "64");
        assertEquals(1, again.code());
        assertTrue(again.err().contains("not empty"), again.err());
        assertEquals(2, run("dataset").code());
    }

    @Test
    void datasetColin27NeedsTheFetchedFiles() throws Exception {
        MainTest.Run r = run("dataset", "colin27", "--out", dir.resolve("c").toString(), "--data", dir.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("ch2.nii.gz not found") && r.err().contains("scripts/fetch-data.sh mricron"), r.err());
    }

    /** The real command on the real atlas (skipped without scripts/fetch-data.sh mricron). */
    @Test
    void datasetColin27OnTheRealAtlas() throws Exception {
        String env = System.getenv("SEGSAM_DATA");
        Path data = (env != null && !env.isBlank() ? Path.of(env) : Path.of(System.getProperty("user.home"), ".cache", "segsam")).resolve("mricron-data");
        Assumptions.assumeTrue(Files.exists(data.resolve("ch2.nii.gz")), "Debian mricron-data not fetched; run scripts/fetch-data.sh mricron");
        Path out = dir.resolve("colin");
        MainTest.Run r = run("dataset", "colin27", "--out", out.toString(), "--classes", "Thalamus_L,Thalamus_R", "--axis", "z");
        assertEquals(0, r.code(), r.err());
        JsonNode idx = new ObjectMapper().readTree(out.resolve("index.json").toFile());
        assertEquals("Thalamus_L", idx.get("classes").get(0).get("name").asText());
        assertTrue(idx.get("splits").get("train").asInt() > 10, idx.get("splits").toString());
        assertTrue(idx.get("splits").get("test").asInt() >= 1, idx.get("splits").toString());
    }
}
