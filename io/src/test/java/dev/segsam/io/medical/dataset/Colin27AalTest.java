package dev.segsam.io.medical.dataset;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.segsam.io.medical.Axis;
import dev.segsam.io.medical.Fixtures;
import dev.segsam.io.medical.MedicalFormatException;
import dev.segsam.io.medical.Volume;
import dev.segsam.io.medical.nifti.NiftiDataType;
import dev.segsam.io.medical.nifti.NiftiWriter;
import dev.segsam.tensor.Tensor;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Colin27AalTest {
    @TempDir
    Path dir;

    static final int NX = 20, NY = 16, NZ = 30;
    static final double[][] RAS = {{1, 0, 0, -10}, {0, 1, 0, -8}, {0, 0, 1, -15}, {0, 0, 0, 1}};

    /** A miniature "atlas": box 1 = x 2..5, y 3..6 (16 px) for z 5..24; box 2 = x 10..12, y 9..10 (6 px) for z 5..14. */
    Path[] writeMini() throws Exception {
        float[] img = new float[NX * NY * NZ], lab = new float[NX * NY * NZ];
        for (int z = 0; z < NZ; z++) for (int y = 0; y < NY; y++) for (int x = 0; x < NX; x++) {
            int i = (z * NY + y) * NX + x;
            img[i] = (x + y + z) % 50 + 1;
            if (z >= 5 && z <= 24 && x >= 2 && x <= 5 && y >= 3 && y <= 6) lab[i] = 1;
            if (z >= 5 && z <= 14 && x >= 10 && x <= 12 && y >= 9 && y <= 10) lab[i] = 2;
        }
        Path ch2 = dir.resolve("ch2.nii.gz"), aal = dir.resolve("aal.nii.gz"), txt = dir.resolve("aal.nii.txt");
        NiftiWriter.write(ch2, Volume.builder(Tensor.of(img, NZ, NY, NX)).affine(RAS, Volume.AffineSource.SFORM).build(), NiftiDataType.UINT8, false);
        NiftiWriter.write(aal, Volume.builder(Tensor.of(lab, NZ, NY, NX)).affine(RAS, Volume.AffineSource.SFORM).build(), NiftiDataType.UINT8, false);
        Files.writeString(txt, "1 Box_A 1001\n2 Box_B 1002\n\n");
        return new Path[] {ch2, aal, txt};
    }

    @Test
    void slicesMasksAndSplitsFollowTheDocumentedRule() throws Exception {
        Path[] f = writeMini();
        Colin27Aal.Options o = new Colin27Aal.Options(Axis.Z, new int[] {1, 2}, 5, 2, 1);
        List<Colin27Aal.SplitSample> s = Colin27Aal.samples(f[0], f[1], f[2], o);
        Map<String, Set<Integer>> bySplit = new TreeMap<>();
        for (Colin27Aal.SplitSample x : s) bySplit.computeIfAbsent(x.split(), k -> new TreeSet<>()).add(x.sliceIndex());
        // labelled z = 5..24; blocks of 2 from z = 5: blocks 0-4 train, 5 val, 6 test, 7-9 train;
        // the first slice of blocks 5, 6 and 7 (z = 15, 17, 19) is dropped as the split changes
        Set<Integer> train = new TreeSet<>();
        for (int z = 5; z <= 14; z++) train.add(z);
        for (int z = 20; z <= 24; z++) train.add(z);
        assertEquals(Map.of("train", train, "val", Set.of(16), "test", Set.of(18)), bySplit);
        for (Colin27Aal.SplitSample x : s) {
            Sample sample = x.sample();
            assertEquals(String.format("colin27_z%03d", x.sliceIndex()), sample.id());
            assertEquals(NX, sample.image().width());
            assertEquals(NY, sample.image().height());
            int z = x.sliceIndex();
            int expectMasks = z <= 14 ? 2 : 1;
            assertEquals(expectMasks, sample.masks().size(), "slice " + z);
            InstanceMask a = sample.masks().get(0);
            assertEquals("Box_A", a.className());
            assertEquals(16, a.area());
            // display layout of a RAS grid flips x and y: x 2..5 → 14..17, y 3..6 → 9..12
            assertArrayEquals(new int[] {14, 9, 17, 12}, a.bbox());
            if (expectMasks == 2) assertEquals(6, sample.masks().get(1).area());
        }
        // minPixels 7 drops box 2 (6 px per slice)
        List<Colin27Aal.SplitSample> s7 = Colin27Aal.samples(f[0], f[1], f[2], new Colin27Aal.Options(Axis.Z, new int[] {1, 2}, 7, 2, 1));
        assertTrue(s7.stream().allMatch(x -> x.sample().masks().size() == 1));
        // along x: box 1 spans x 2..5
        List<Colin27Aal.SplitSample> sx = Colin27Aal.samples(f[0], f[1], f[2], new Colin27Aal.Options(Axis.X, new int[] {1}, 5, 10, 0));
        assertEquals(Set.of(2, 3, 4, 5), new HashSet<>(sx.stream().map(Colin27Aal.SplitSample::sliceIndex).toList()));
        assertEquals(80, sx.get(0).sample().masks().get(0).area()); // 4 (y) × 20 (z)
    }

    @Test
    void writesTheFolderLayout() throws Exception {
        Path[] f = writeMini();
        Path out = dir.resolve("out");
        Map<String, Integer> counts = Colin27Aal.write(f[0], f[1], f[2], new Colin27Aal.Options(Axis.Z, new int[] {1, 2}, 5, 2, 1), out, false);
        assertEquals(Map.of("train", 15, "val", 1, "test", 1), counts);
        JsonNode idx = new ObjectMapper().readTree(out.resolve("index.json").toFile());
        assertEquals("colin27-aal", idx.get("dataset").asText());
        assertEquals("Box_B", idx.get("classes").get(1).get("name").asText());
        assertEquals(17, idx.get("samples").size());
        JsonNode first = idx.get("samples").get(0);
        assertEquals("images/colin27_z005.png", first.get("image").asText());
        JsonNode m = first.get("masks").get(0);
        assertEquals("masks/colin27_z005--0001_001.png", m.get("file").asText());
        assertEquals(16, m.get("area").asInt());
        assertEquals("[14,9,17,12]", m.get("bbox").toString());
        assertTrue(Files.exists(out.resolve(m.get("file").asText())));
        assertTrue(Files.exists(out.resolve("images/colin27_z024.png")));
        assertThrows(FileAlreadyExistsException.class, () -> Colin27Aal.write(f[0], f[1], f[2], Colin27Aal.Options.defaults().withClasses(new int[] {1}), out, false));
    }

    @Test
    void labelNamesAndClassSelection() throws Exception {
        Path[] f = writeMini();
        Map<Integer, String> names = Colin27Aal.readLabelNames(f[2]);
        assertEquals(Map.of(1, "Box_A", 2, "Box_B"), names);
        assertArrayEquals(new int[] {2, 1}, Colin27Aal.resolveClasses(List.of("box_b", "1"), names));
        assertThrows(IllegalArgumentException.class, () -> Colin27Aal.resolveClasses(List.of("Amygdala_L"), names));
        Files.writeString(f[2], "1 Box_A\nnot-a-number Foo\n");
        MedicalFormatException e = assertThrows(MedicalFormatException.class, () -> Colin27Aal.readLabelNames(f[2]));
        assertEquals("line 2", e.field());
    }

    @Test
    void imageAndAtlasMustShareAGrid() throws Exception {
        Path[] f = writeMini();
        Path other = dir.resolve("other.nii.gz");
        NiftiWriter.write(other, Volume.builder(Tensor.zeros(NZ, NY, NX + 1)).affine(RAS, Volume.AffineSource.SFORM).build(), NiftiDataType.UINT8, false);
        MedicalFormatException e = assertThrows(MedicalFormatException.class, () -> Colin27Aal.samples(f[0], other, f[2], Colin27Aal.Options.defaults().withClasses(new int[] {1})));
        assertEquals("dim", e.field());
    }

    // ------------------------------------------------------------------ the real atlas (fetched; skipped when absent)

    /** On the real Colin27 + AAL: mask areas equal numpy's label counts, the z = 80 image equals MedSAM-normalised ch2 flipped for display. */
    @Test
    void realColin27MatchesNumpy() throws Exception {
        Path ch2 = Fixtures.fetched("mricron-data", "ch2.nii.gz", "Debian mricron-data");
        Path aal = Fixtures.fetched("mricron-data", "aal.nii.gz", "Debian mricron-data");
        Path txt = Fixtures.fetched("mricron-data", "aal.nii.txt", "Debian mricron-data");
        JsonNode exp = Fixtures.fetchedExpected();
        // the expected counts (tools/reference) cover the ten deep-grey/cerebellar structures, at a 20-pixel minimum
        Colin27Aal.Options ten = new Colin27Aal.Options(Axis.Z, new int[] {37, 38, 71, 72, 73, 74, 77, 78, 91, 92}, 20, 0, 1);
        List<Colin27Aal.SplitSample> s = Colin27Aal.samples(ch2, aal, txt, ten);
        JsonNode perZ = exp.get("aal_per_z");
        Set<Integer> candidates = new TreeSet<>();
        perZ.properties().forEach(e -> {
            for (JsonNode n : e.getValue()) if (n.asInt() >= 20) {
                candidates.add(Integer.parseInt(e.getKey()));
                break;
            }
        });
        assertTrue(s.size() >= candidates.size() * 8 / 10 && s.size() <= candidates.size(), s.size() + " of " + candidates.size());
        Set<String> splits = new HashSet<>();
        for (Colin27Aal.SplitSample x : s) {
            assertTrue(candidates.contains(x.sliceIndex()));
            splits.add(x.split());
            JsonNode counts = perZ.get(Integer.toString(x.sliceIndex()));
            int present = 0;
            for (var c : counts.properties()) if (c.getValue().asInt() >= 20) present++;
            assertEquals(present, x.sample().masks().size(), "slice " + x.sliceIndex());
            for (InstanceMask m : x.sample().masks()) {
                assertEquals(counts.get(Integer.toString(m.classId())).asInt(), m.area(), "slice " + x.sliceIndex() + " " + m.className());
                assertEquals(exp.get("aal_names").get(Integer.toString(m.classId())).asText(), m.className());
            }
            if (x.sliceIndex() == 80) {
                byte[] grey = new byte[181 * 217];
                for (int i = 0; i < grey.length; i++) grey[i] = x.sample().image().rgb()[3 * i];
                assertEquals(exp.get("ch2_mr").get("display_z80_sha256").asText(), Fixtures.sha256(grey));
                InstanceMask th = x.sample().masks().stream().filter(m -> m.classId() == 77).findFirst().orElseThrow();
                assertArrayEquals(Fixtures.ints(exp.get("aal_z80_thalamus_l_display_bbox")), th.bbox());
            }
        }
        assertEquals(Set.of("train", "val", "test"), splits);
    }

    @Test
    void automaticBlockSize() {
        assertEquals(2, Colin27Aal.autoBlock(22));
        assertEquals(3, Colin27Aal.autoBlock(69));
        assertEquals(9, Colin27Aal.autoBlock(181));
        assertEquals(10, Colin27Aal.autoBlock(400));
        assertThrows(IllegalArgumentException.class, () -> new Colin27Aal.Options(Axis.Z, new int[] {1}, 1, 2, 2));
        assertThrows(IllegalArgumentException.class, () -> new Colin27Aal.Options(Axis.Z, new int[0], 1, 2, 1));
    }
}
