package dev.segsam.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.segsam.io.medical.MedicalImages;
import dev.segsam.io.medical.Volume;
import dev.segsam.io.medical.nifti.NiftiDataType;
import dev.segsam.io.medical.nifti.NiftiWriter;
import dev.segsam.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** predict and predict-volume on a NIfTI volume (a small random SAM: the masks are arbitrary, the plumbing is not). */
class PredictVolumeCommandTest {
    @TempDir
    static Path dir;
    static Path nifti;

    @BeforeAll
    static void volume() throws Exception {
        PredictCommandTest.dir = dir; // (re)create the small models in this class's folder (the other class's is deleted)
        PredictCommandTest.models();
        int nx = 40, ny = 30, nz = 12;
        float[] v = new float[nx * ny * nz];
        for (int z = 0; z < nz; z++) for (int y = 0; y < ny; y++) for (int x = 0; x < nx; x++) {
            double r = Math.sqrt(Math.pow(x - 20, 2) + Math.pow(y - 15, 2) + Math.pow((z - 6) * 2, 2));
            v[(z * ny + y) * nx + x] = r < 10 ? 60 : -800; // a soft-tissue ball in air (HU)
        }
        double[][] affine = {{-1.5, 0, 0, 30}, {0, 1.5, 0, -20}, {0, 0, 2.5, 5}, {0, 0, 0, 1}};
        try (Volume vol = Volume.builder(Tensor.of(v, nz, ny, nx)).spacing(1.5, 1.5, 2.5).affine(affine, Volume.AffineSource.SFORM).build()) {
            nifti = dir.resolve("ball.nii.gz");
            NiftiWriter.write(nifti, vol.withData(vol.data(), "int16"), NiftiDataType.INT16, false);
        }
    }

    @Test
    void predictTakesASliceOfAVolume() throws Exception {
        Path out = dir.resolve("p");
        MainTest.Run r = MainTest.run("predict", "--model", PredictCommandTest.sam.toString(), "--image", nifti.toString(), "--index", "6",
                "--window", "abdomen", "--box", "5,5,35,25", "--out", out.toString(), "--quiet");
        assertEquals(0, r.code(), r.err());
        JsonNode res = new ObjectMapper().readTree(out.resolve("result.json").toFile());
        assertEquals(40, res.get("width").asInt());
        assertEquals(30, res.get("height").asInt());
        MainTest.Run bad = MainTest.run("predict", "--model", PredictCommandTest.sam.toString(), "--image", nifti.toString(), "--index", "99",
                "--box", "5,5,35,25", "--out", dir.resolve("q").toString());
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("outside 0..11"), bad.err());
    }

    @Test
    void predictVolumeWritesALabelMapOnTheSourceGrid() throws Exception {
        Path out = dir.resolve("v");
        MainTest.Run r = MainTest.run("predict-volume", "--model", PredictCommandTest.sam.toString(), "--volume", nifti.toString(),
                "--index", "6", "--box", "8,4,32,26", "--range", "2:10", "--out", out.toString(), "--quiet");
        assertEquals(0, r.code(), r.err());
        for (String f : new String[] {"labels.nii.gz", "montage.png", "volume.json"}) assertTrue(Files.exists(out.resolve(f)), f);
        JsonNode j = new ObjectMapper().readTree(out.resolve("volume.json").toFile());
        assertTrue(j.get("first_slice").asInt() >= 2 && j.get("last_slice").asInt() <= 10, j.toString());
        assertTrue(j.get("warnings").isArray(), "volume.json lists the drift warnings (none or some): " + j);
        for (JsonNode x : j.get("warnings")) assertTrue(x.asText().startsWith("slice ") && r.out().contains(x.asText()), x.asText());
        try (Volume src = MedicalImages.read(nifti); Volume lab = MedicalImages.read(out.resolve("labels.nii.gz"))) {
            assertArrayEquals(src.dims(), lab.dims());
            for (int i = 0; i < 3; i++) assertArrayEquals(src.affine()[i], lab.affine()[i], 1e-5);
            // voxels labelled per slice = areas reported in volume.json (the layout inversion loses nothing)
            float[] l = lab.data().toArray();
            for (JsonNode s : j.get("slices")) {
                int z = s.get("index").asInt();
                long count = 0;
                for (int i = 0; i < 40 * 30; i++) if (l[z * 1200 + i] > 0) count++;
                assertEquals(s.get("area").asLong(), count, "slice " + z);
            }
            long outside = 0;
            for (int z = 0; z < 12; z++) if (z < 2 || z > 10) for (int i = 0; i < 1200; i++) if (l[z * 1200 + i] > 0) outside++;
            assertEquals(0, outside, "nothing outside --range");
        }
    }
}
