package dev.segsam.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.segsam.io.medical.Axis;
import dev.segsam.io.medical.MedicalImages;
import dev.segsam.io.medical.Volume;
import dev.segsam.io.medical.nifti.NiftiDataType;
import dev.segsam.io.medical.nifti.NiftiWriter;
import dev.segsam.io.safetensors.SafeTensorsFile;
import dev.segsam.tensor.Tensor;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * predict's standard outputs, read back independently (javax.imageio for the PNGs, the NIfTI reader and
 * {@link Volume#displaySlice} — the forward layout — for the volumes) and compared with the raw logits it saved in
 * {@code outputs.safetensors}: the class-ID label maps, the NIfTI masks and label map on the source grid, relative
 * paths in {@code result.json}, file permissions.
 */
class StandardOutputsTest {
    @TempDir
    static Path dir;
    static Path nifti;
    static final int NX = 40, NY = 30, NZ = 12;

    @BeforeAll
    static void inputs() throws Exception {
        PredictCommandTest.dir = dir; // the small SAM / SEG-SAM models and the 90x60 picture, in this class's folder
        PredictCommandTest.models();
        float[] v = new float[NX * NY * NZ];
        for (int z = 0; z < NZ; z++) for (int y = 0; y < NY; y++) for (int x = 0; x < NX; x++) {
            v[(z * NY + y) * NX + x] = (float) (x * 7 - y * 5 + z * 30 - 300);
        }
        // oblique-free but flipped and permuted axes, so the display layout transposes and mirrors
        double[][] affine = {{0, 0, 2.5, 5}, {-1.5, 0, 0, 30}, {0, 1.5, 0, -20}, {0, 0, 0, 1}};
        try (Volume vol = Volume.builder(Tensor.of(v, NZ, NY, NX)).spacing(1.5, 1.5, 2.5).affine(affine, Volume.AffineSource.SFORM).build()) {
            nifti = dir.resolve("vol.nii.gz");
            NiftiWriter.write(nifti, vol.withData(vol.data(), "int16"), NiftiDataType.INT16, false);
        }
    }

    /** The samples of the first band of a PNG, as javax.imageio decodes them (8- or 16-bit). */
    static int[] samples(Path png) throws Exception {
        BufferedImage img = ImageIO.read(png.toFile());
        return img.getRaster().getSamples(0, 0, img.getWidth(), img.getHeight(), 0, new int[img.getWidth() * img.getHeight()]);
    }

    /** The chosen mask of prompt {@code i}: its channel of {@code mask_logits.i} thresholded at 0. */
    static boolean[] mask(SafeTensorsFile f, JsonNode res, int i) {
        int best = res.get("prompts").get(i).get("chosen_mask").asInt();
        Tensor t = f.get("mask_logits." + i);
        int hw = t.shape()[2] * t.shape()[3];
        float[] l = t.toArray();
        boolean[] m = new boolean[hw];
        for (int j = 0; j < hw; j++) m[j] = l[best * hw + j] > 0;
        return m;
    }

    static void assertPortableFolder(Path out, JsonNode res, Path model, Path image) throws Exception {
        // paths relative to the output folder: they resolve to the inputs from there
        assertTrue(Files.isSameFile(model, out.resolve(res.get("model").asText())), res.get("model").asText());
        assertTrue(Files.isSameFile(image, out.resolve(res.get("image").asText())), res.get("image").asText());
        assertTrue(!Path.of(res.get("model").asText()).isAbsolute());
        // every file gets the permissions of an ordinary new file (0644 under the usual umask 022)
        Path probe = Files.createFile(dir.resolve("probe-" + System.nanoTime()));
        Set<PosixFilePermission> usual = Files.getPosixFilePermissions(probe);
        Files.delete(probe);
        try (Stream<Path> files = Files.list(out)) {
            for (Path f : files.toList()) assertEquals(usual, Files.getPosixFilePermissions(f), f.toString());
        }
    }

    @Test
    void plainSamLabelMapNumbersThePromptsAndLaterPromptsWin() throws Exception {
        Path out = dir.resolve("sam"), prompts = dir.resolve("two.json");
        Files.writeString(prompts, "[{\"box\": [10, 5, 70, 50]}, {\"box\": [30, 20, 85, 58]}]");
        MainTest.Run r = MainTest.run("predict", "--full-res-logits", "--model", PredictCommandTest.sam.toString(), "--image", PredictCommandTest.image.toString(),
                "--prompts", prompts.toString(), "--out", out.toString(), "--quiet");
        assertEquals(0, r.code(), r.err());
        JsonNode res = new ObjectMapper().readTree(out.resolve("result.json").toFile());
        assertEquals("labels.png", res.get("labels").get("file").asText());
        assertEquals("prompt", res.get("labels").get("values").asText());
        int[] labels = samples(out.resolve("labels.png"));
        BufferedImage img = ImageIO.read(out.resolve("labels.png").toFile());
        assertEquals(90, img.getWidth());
        assertEquals(60, img.getHeight());
        try (SafeTensorsFile f = SafeTensorsFile.open(out.resolve("outputs.safetensors"))) {
            boolean[] m0 = mask(f, res, 0), m1 = mask(f, res, 1);
            int[] count = new int[3];
            for (int j = 0; j < labels.length; j++) {
                assertEquals(m1[j] ? 2 : m0[j] ? 1 : 0, labels[j], "pixel " + j);
                count[labels[j]]++;
            }
            assertTrue(count[1] + count[2] > 0, "some pixel is labelled");
        }
        assertPortableFolder(out, res, PredictCommandTest.sam, PredictCommandTest.image);
    }

    @Test
    void segSamLabelMapsHoldClassIds() throws Exception {
        Path out = dir.resolve("segsam");
        MainTest.Run r = MainTest.run("predict", "--full-res-logits", "--model", PredictCommandTest.segsam.toString(), "--image", PredictCommandTest.image.toString(),
                "--box", "10,5,70,50", "--out", out.toString(), "--quiet");
        assertEquals(0, r.code(), r.err());
        JsonNode res = new ObjectMapper().readTree(out.resolve("result.json").toFile());
        JsonNode sem = res.get("prompts").get(0).get("semantic");
        assertEquals("labels_0.png", sem.get("label_ids_file").asText());
        assertEquals("class", res.get("labels").get("values").asText());
        List<String> classes = List.of("liver", "spleen");
        for (JsonNode id : res.get("labels").get("ids")) assertEquals(classes.get(id.get("id").asInt() - 1), id.get("class").asText());
        int[] perPrompt = samples(out.resolve("labels_0.png")), all = samples(out.resolve("labels.png"));
        try (SafeTensorsFile f = SafeTensorsFile.open(out.resolve("outputs.safetensors"))) {
            // labels_0.png is the argmax of M̂_s over background and the K classes
            Tensor s = f.get("semantic_logits.0");
            int c = s.shape()[1], hw = s.shape()[2] * s.shape()[3];
            assertEquals(3, c);
            float[] l = s.toArray();
            for (int j = 0; j < hw; j++) {
                int arg = 0;
                for (int k = 1; k < c; k++) if (l[k * hw + j] > l[arg * hw + j]) arg = k;
                assertEquals(arg, perPrompt[j], "pixel " + j);
            }
            // labels.png: the predicted class of the prompt where its binary mask lies
            int predicted = sem.get("predicted_class").isNull() ? 0 : classes.indexOf(sem.get("predicted_class").asText()) + 1;
            boolean[] m = mask(f, res, 0);
            for (int j = 0; j < hw; j++) assertEquals(m[j] ? predicted : 0, all[j], "pixel " + j);
        }
        assertPortableFolder(out, res, PredictCommandTest.segsam, PredictCommandTest.image);
    }

    @Test
    void volumeSlicesGetNiftiOutputsOnTheSourceGrid() throws Exception {
        for (String[] axisIndex : new String[][] {{"z", "6", "2,2,20,9"}, {"y", "11", "1,3,10,30"}}) {
            Axis axis = Axis.parse(axisIndex[0]);
            int index = Integer.parseInt(axisIndex[1]);
            Path out = dir.resolve("vol-" + axisIndex[0]);
            MainTest.Run r = MainTest.run("predict", "--full-res-logits", "--model", PredictCommandTest.sam.toString(), "--image", nifti.toString(),
                    "--axis", axisIndex[0], "--index", axisIndex[1], "--window", "400,40", "--box", axisIndex[2], "--out", out.toString(), "--quiet");
            assertEquals(0, r.code(), r.err());
            JsonNode res = new ObjectMapper().readTree(out.resolve("result.json").toFile());
            JsonNode src = res.get("source");
            assertEquals(axisIndex[0], src.get("axis").asText());
            assertEquals(index, src.get("index").asInt());
            assertEquals(400, src.get("window").get("width").asDouble(), 1e-9);
            assertEquals(40, src.get("window").get("level").asDouble(), 1e-9);
            assertEquals("mask_0.nii.gz", res.get("prompts").get(0).get("mask_nifti").asText());
            assertEquals("labels.nii.gz", res.get("labels").get("nifti").asText());
            int w = res.get("width").asInt(), h = res.get("height").asInt();
            try (SafeTensorsFile f = SafeTensorsFile.open(out.resolve("outputs.safetensors"));
                 Volume source = MedicalImages.read(nifti);
                 Volume maskVol = MedicalImages.read(out.resolve("mask_0.nii.gz"));
                 Volume labelVol = MedicalImages.read(out.resolve("labels.nii.gz"))) {
                boolean[] m = mask(f, res, 0);
                int area = 0;
                for (boolean b : m) if (b) area++;
                assertTrue(area > 0 && area < w * h, "a mask that is neither empty nor full: " + area);
                for (Volume v : new Volume[] {maskVol, labelVol}) {
                    assertArrayEquals(source.dims(), v.dims());
                    for (int i = 0; i < 3; i++) assertArrayEquals(source.affine()[i], v.affine()[i], 1e-5);
                    // the prompted slice, shown as predict showed the input, is the mask pixel for pixel
                    float[] shown = v.displaySlice(axis, index).values();
                    assertEquals(w * h, shown.length);
                    for (int j = 0; j < w * h; j++) assertEquals(m[j] ? 1f : 0f, shown[j], "pixel " + j);
                    // nothing on any other slice
                    float total = 0;
                    for (float x : v.data().toArray()) total += x;
                    assertEquals(area, total, 0.0, "voxels outside the prompted slice");
                }
            }
            assertPortableFolder(out, res, PredictCommandTest.sam, nifti);
        }
    }
}
