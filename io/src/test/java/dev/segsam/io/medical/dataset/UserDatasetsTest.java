package dev.segsam.io.medical.dataset;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.io.medical.Axis;
import dev.segsam.io.medical.MedicalFormatException;
import dev.segsam.io.medical.Slice2D;
import dev.segsam.io.medical.Volume;
import dev.segsam.io.medical.intensity.CtWindow;
import dev.segsam.io.medical.intensity.IntensityMap;
import dev.segsam.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pieces behind {@code segsam train --data PATH}: the MSD index, slicing volumes, the split by case, the dataset folder. */
class UserDatasetsTest {
    @TempDir
    Path dir;

    // ------------------------------------------------------------------ dataset.json

    @Test
    void readsMsdAndNnunetIndexes() throws Exception {
        Path msd = dir.resolve("Task09_Spleen");
        Files.createDirectories(msd.resolve("imagesTr"));
        Files.createDirectories(msd.resolve("labelsTr"));
        Files.createDirectories(msd.resolve("imagesTs"));
        for (String f : new String[] {"imagesTr/spleen_2.nii.gz", "labelsTr/spleen_2.nii.gz", "imagesTr/spleen_10.nii.gz", "labelsTr/spleen_10.nii.gz", "imagesTs/spleen_1.nii.gz"}) {
            Files.writeString(msd.resolve(f), "x");
        }
        Files.writeString(msd.resolve("dataset.json"), """
                {"name": "Spleen", "modality": {"0": "CT"}, "labels": {"0": "background", "1": "spleen"},
                 "training": [{"image": "./imagesTr/spleen_2.nii.gz", "label": "./labelsTr/spleen_2.nii.gz"},
                              {"image": "./imagesTr/spleen_10.nii.gz", "label": "./labelsTr/spleen_10.nii.gz"}],
                 "test": ["./imagesTs/spleen_1.nii.gz"]}""");
        assertTrue(MsdDataset.looksLike(msd));
        MsdDataset d = MsdDataset.open(msd);
        assertEquals("Spleen", d.name());
        assertEquals(Map.of(1, "spleen"), d.labels());
        assertEquals(Boolean.TRUE, d.isCt(0));
        assertEquals(List.of("spleen_2", "spleen_10"), d.cases().stream().map(MsdDataset.Case::id).toList());
        assertEquals(msd.resolve("labelsTr/spleen_10.nii.gz").toAbsolutePath().normalize(), d.cases().get(1).label());
        assertEquals(Map.entry(d.cases().get(0).images().getFirst(), 3), d.cases().get(0).channel(3)); // a 4-D file: volume 3
        assertEquals(1, d.testImages());

        // nnU-Net v2: labels name -> value, one file per channel, cases from labelsTr/
        Path nn = dir.resolve("Dataset005_Prostate");
        Files.createDirectories(nn.resolve("imagesTr"));
        Files.createDirectories(nn.resolve("labelsTr"));
        for (String f : new String[] {"imagesTr/prostate_00_0000.nii.gz", "imagesTr/prostate_00_0001.nii.gz", "labelsTr/prostate_00.nii.gz"}) {
            Files.writeString(nn.resolve(f), "x");
        }
        Files.writeString(nn.resolve("dataset.json"), """
                {"channel_names": {"0": "T2", "1": "ADC"}, "labels": {"background": 0, "PZ": 1, "TZ": 2}, "numTraining": 1, "file_ending": ".nii.gz"}""");
        MsdDataset p = MsdDataset.open(nn);
        assertEquals(new TreeMap<>(Map.of(1, "PZ", 2, "TZ")), new TreeMap<>(p.labels()));
        assertEquals(Boolean.FALSE, p.isCt(1));
        MsdDataset.Case c = p.cases().getFirst();
        assertEquals("prostate_00", c.id());
        assertEquals(Map.entry(nn.resolve("imagesTr/prostate_00_0001.nii.gz"), 0), c.channel(1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> c.channel(2));
        assertTrue(e.getMessage().contains("2 channel files"), e.getMessage());
        // a missing channel file is named
        Files.delete(nn.resolve("imagesTr/prostate_00_0001.nii.gz"));
        MedicalFormatException m = assertThrows(MedicalFormatException.class, () -> MsdDataset.open(nn));
        assertTrue(m.getMessage().contains("prostate_00_0001.nii.gz") && m.getMessage().contains("not found"), m.getMessage());
    }

    @Test
    void badIndexesAreNamed() throws Exception {
        Path d = dir.resolve("bad");
        Files.createDirectories(d.resolve("imagesTr"));
        Files.createDirectories(d.resolve("labelsTr"));
        MedicalFormatException e = assertThrows(MedicalFormatException.class, () -> MsdDataset.open(d));
        assertTrue(e.getMessage().startsWith(d.resolve("dataset.json") + ": file: not found"), e.getMessage());
        Files.writeString(d.resolve("dataset.json"), "{\"labels\": {\"background\": 0, \"tumour\": [1, 2]}}");
        e = assertThrows(MedicalFormatException.class, () -> MsdDataset.open(d));
        assertTrue(e.getMessage().contains("region-based"), e.getMessage());
        Files.writeString(d.resolve("dataset.json"), "{\"labels\": {\"0\": \"background\"}}");
        e = assertThrows(MedicalFormatException.class, () -> MsdDataset.open(d));
        assertTrue(e.getMessage().contains("no class besides background"), e.getMessage());
        Files.writeString(d.resolve("dataset.json"), "{\"labels\": {\"0\": \"background\", \"1\": \"a\"}, \"training\": [{\"image\": \"imagesTr/x.nii.gz\", \"label\": \"labelsTr/x.nii.gz\"}]}");
        e = assertThrows(MedicalFormatException.class, () -> MsdDataset.open(d));
        assertEquals(d.resolve("imagesTr/x.nii.gz").toAbsolutePath().normalize() + ": file: not found (listed in training[0] of dataset.json)", e.getMessage());
        Files.writeString(d.resolve("dataset.json"), "{\"labels\": {\"0\": \"background\", \"1\": \"a\"}, \"training\": [{\"image\": \"../x.nii.gz\", \"label\": \"labelsTr/x.nii.gz\"}]}");
        e = assertThrows(MedicalFormatException.class, () -> MsdDataset.open(d));
        assertTrue(e.getMessage().contains("leaves the data set folder"), e.getMessage());
        Files.writeString(d.resolve("dataset.json"), "{\"labels\": {\"0\": \"background\", \"1\": \"a\"}, \"training\": []}");
        e = assertThrows(MedicalFormatException.class, () -> MsdDataset.open(d));
        assertTrue(e.getMessage().contains("no labelled case"), e.getMessage());
    }

    // ------------------------------------------------------------------ slicing

    /** An 8×6×5 volume whose labels are a 3×2 box of class 1 on slices z = 1..2 and a 1-pixel class 2 on z = 3. */
    static Volume[] labelled(double[] spacing) {
        int nx = 8, ny = 6, nz = 5;
        float[] img = new float[nx * ny * nz], lab = new float[nx * ny * nz];
        for (int z = 0; z < nz; z++) for (int y = 0; y < ny; y++) for (int x = 0; x < nx; x++) {
            int i = (z * ny + y) * nx + x;
            img[i] = 100 * z + 10 * y + x;
            if (z >= 1 && z <= 2 && x >= 2 && x < 5 && y >= 1 && y < 3) lab[i] = 1;
            if (z == 3 && x == 0 && y == 0) lab[i] = 2;
        }
        double[][] aff = {{spacing[0], 0, 0, 0}, {0, spacing[1], 0, 0}, {0, 0, spacing[2], 0}};
        Volume a = Volume.builder(Tensor.of(img, nz, ny, nx)).spacing(spacing).affine(aff, Volume.AffineSource.SFORM).build();
        Volume b = Volume.builder(Tensor.of(lab, nz, ny, nx)).spacing(spacing).affine(aff, Volume.AffineSource.SFORM).build();
        return new Volume[] {a, b};
    }

    @Test
    void slicesSkipEmptySlicesAndFollowTheDisplayLayout() {
        Volume[] v = labelled(new double[] {1, 1, 1});
        IntensityMap map = new IntensityMap(0, 500, false);
        List<Sample> s = VolumeSlicer.slices("case_7", v[0], v[1], Map.of(1, "organ", 2, "dot"), Axis.Z, map, 1);
        assertEquals(List.of("case_7_z001", "case_7_z002", "case_7_z003"), s.stream().map(Sample::id).toList());
        assertEquals(Map.of("case", "case_7", "axis", "z", "index", "1"), s.getFirst().meta());
        Sample first = s.getFirst();
        assertEquals(1, first.masks().size());
        assertEquals("organ", first.masks().getFirst().className());
        assertEquals(6, first.masks().getFirst().area());
        // image and mask as displaySlice lays them out (here: both axes flipped for a RAS+ identity affine)
        Slice2D disp = v[0].displaySlice(Axis.Z, 1), labs = v[1].displaySlice(Axis.Z, 1);
        assertArrayEquals(map.toRgb(disp).rgb(), first.image().rgb());
        for (int i = 0; i < labs.values().length; i++) assertEquals(labs.values()[i] == 1 ? 1 : 0, first.masks().getFirst().mask()[i]);
        // minPixels drops the one-pixel class and with it slice 3
        List<Sample> big = VolumeSlicer.slices("c", v[0], v[1], Map.of(1, "organ", 2, "dot"), Axis.Z, map, 2);
        assertEquals(2, big.size());
        // along x: the box spans x = 2..4, so three slices; the dot is on x = 0
        assertEquals(List.of("c_x000", "c_x002", "c_x003", "c_x004"), VolumeSlicer.slices("c", v[0], v[1], Map.of(1, "organ", 2, "dot"), Axis.X, map, 1)
                .stream().map(Sample::id).toList());
    }

    @Test
    void defaultAxisIsTheCoarsestOrTheAxialOne() {
        assertEquals(Axis.Z, VolumeSlicer.defaultAxis(labelled(new double[] {0.7, 0.7, 3})[0]));
        assertEquals(Axis.X, VolumeSlicer.defaultAxis(labelled(new double[] {4, 1, 1})[0]));
        assertEquals(Axis.Z, VolumeSlicer.defaultAxis(labelled(new double[] {1, 1, 1.02})[0]));
        // isotropic, stored as coronal slices (voxel y is the head-foot axis): slice along y
        float[] d = new float[2 * 3 * 4];
        double[][] coronal = {{1, 0, 0, 0}, {0, 0, 1, 0}, {0, 1, 0, 0}};
        Volume c = Volume.builder(Tensor.of(d, 4, 3, 2)).affine(coronal, Volume.AffineSource.SFORM).build();
        assertEquals(Axis.Y, VolumeSlicer.defaultAxis(c));
    }

    @Test
    void gridAndLabelChecksNameTheLabelFile() throws Exception {
        Volume[] v = labelled(new double[] {1, 1, 1});
        Path img = Path.of("imagesTr/a.nii.gz"), lab = Path.of("labelsTr/a.nii.gz");
        VolumeSlicer.requireSameGrid(v[0], img, v[1], lab);
        Volume small = Volume.builder(Tensor.of(new float[8 * 6 * 4], 4, 6, 8)).build();
        MedicalFormatException e = assertThrows(MedicalFormatException.class, () -> VolumeSlicer.requireSameGrid(v[0], img, small, lab));
        assertEquals("labelsTr/a.nii.gz: grid: label volume 8x6x4 differs from the image's 8x6x5 (a.nii.gz)", e.getMessage());
        Volume shifted = Volume.builder(Tensor.of(new float[8 * 6 * 5], 5, 6, 8)).affine(new double[][] {{1, 0, 0, 5}, {0, 1, 0, 0}, {0, 0, 1, 0}},
                Volume.AffineSource.SFORM).build();
        e = assertThrows(MedicalFormatException.class, () -> VolumeSlicer.requireSameGrid(v[0], img, shifted, lab));
        assertTrue(e.getMessage().startsWith("labelsTr/a.nii.gz: grid: label volume's voxel-to-world affine differs"), e.getMessage());
        assertEquals(Set.of(0, 1, 2), VolumeSlicer.requireKnownLabels(v[1], lab, Map.of(1, "organ", 2, "dot")));
        e = assertThrows(MedicalFormatException.class, () -> VolumeSlicer.requireKnownLabels(v[1], lab, Map.of(1, "organ")));
        assertTrue(e.getMessage().startsWith("labelsTr/a.nii.gz: values: label value 2 not in the data set's label map"), e.getMessage());
        Volume fractional = Volume.builder(Tensor.of(new float[] {0, 0.5f}, 1, 1, 2)).build();
        e = assertThrows(MedicalFormatException.class, () -> VolumeSlicer.requireKnownLabels(fractional, lab, Map.of(1, "organ")));
        assertTrue(e.getMessage().contains("0.5 is not a whole number"), e.getMessage());
    }

    // ------------------------------------------------------------------ split by case

    @Test
    void theSplitIsByCaseDeterministicAndOrderFree() {
        List<String> cases = new ArrayList<>();
        for (int i = 0; i < 40; i++) cases.add(String.format("case_%03d", i));
        CaseSplit a = CaseSplit.of(cases, 0.1, 0.2);
        assertEquals(28, a.train().size());
        assertEquals(4, a.val().size());
        assertEquals(8, a.test().size());
        Set<String> all = new HashSet<>(a.train());
        all.addAll(a.val());
        all.addAll(a.test());
        assertEquals(new HashSet<>(cases), all);
        List<String> shuffled = new ArrayList<>(cases);
        Collections.shuffle(shuffled, new java.util.Random(3));
        assertEquals(a, CaseSplit.of(shuffled, 0.1, 0.2));
        // not simply the first or last cases in name order
        assertFalse(a.test().equals(cases.subList(0, 8)) || a.test().equals(cases.subList(32, 40)), a.test().toString());
        // adding cases never moves a case from test into train (ranks by hash are stable)
        List<String> more = new ArrayList<>(cases);
        more.add("case_100");
        assertEquals("test", CaseSplit.of(more, 0.1, 0.2).splitOf(a.test().getFirst()));
        // small data sets: a positive fraction gets a case while one is left for training
        CaseSplit three = CaseSplit.of(List.of("a", "b", "c"), 0.1, 0.1);
        assertEquals(List.of(1, 1, 1), List.of(three.train().size(), three.val().size(), three.test().size()));
        CaseSplit two = CaseSplit.of(List.of("a", "b"), 0.1, 0.1);
        assertEquals(List.of(1, 0, 1), List.of(two.train().size(), two.val().size(), two.test().size()));
        assertEquals(List.of("a"), CaseSplit.of(List.of("a"), 0.3, 0.3).train());
        assertThrows(IllegalArgumentException.class, () -> CaseSplit.of(cases, 0.6, 0.5));
        assertThrows(IllegalArgumentException.class, () -> new CaseSplit(List.of("a"), List.of("a"), List.of(), "x"));
    }

    // ------------------------------------------------------------------ segsam dataset folders

    @Test
    void theDatasetFolderReadsBackWhatTheWriterWrote() throws Exception {
        Path out = dir.resolve("ds");
        SegmentationDataset src = AbdomenPhantom.dataset(5, 3, 64);
        DatasetWriter w = new DatasetWriter(out, "abdomen-phantom", src.classes(), false);
        List<Sample> written = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            written.add(src.get(i));
            w.add(src.get(i), i == 2 ? "test" : "train");
        }
        w.finish();
        assertTrue(DatasetFolder.looksLike(out));
        DatasetFolder f = DatasetFolder.open(out);
        assertEquals(src.classes(), f.classes());
        assertEquals(3, f.size());
        assertEquals("test", f.split(2));
        for (int i = 0; i < 3; i++) {
            Sample a = written.get(i), b = f.get(i);
            assertEquals(a.id(), b.id());
            assertArrayEquals(a.image().rgb(), b.image().rgb());
            assertEquals(a.masks().size(), b.masks().size());
            for (int k = 0; k < a.masks().size(); k++) {
                assertEquals(a.masks().get(k).className(), b.masks().get(k).className());
                assertArrayEquals(a.masks().get(k).mask(), b.masks().get(k).mask());
            }
        }
        // a lost mask file is named
        Path mask = out.resolve("masks").resolve(String.format("%s--%04d_%03d.png", written.get(1).id(), written.get(1).masks().getFirst().classId(), 1));
        Files.delete(mask);
        MedicalFormatException e = assertThrows(MedicalFormatException.class, () -> DatasetFolder.open(out));
        assertTrue(e.getMessage().startsWith(mask.toAbsolutePath().normalize() + ": file: not found"), e.getMessage());
    }

    @Test
    void theWindowedSliceOfAPhantomVolumeIsItsSample() {
        // VolumeSlicer with the abdomen window on a phantom volume gives the same pixels as the phantom's own sample
        AbdomenPhantom.Slice p = AbdomenPhantom.generate(9, 64);
        Volume v = p.toVolume();
        float[] lab = new float[p.labels().length];
        for (InstanceMask m : p.masks()) for (int i = 0; i < lab.length; i++) if (m.mask()[i] != 0) lab[i] = m.classId();
        Volume l = v.withData(Tensor.of(lab, 1, 64, 64), "uint8");
        Map<Integer, String> names = new TreeMap<>();
        for (ClassInfo c : AbdomenPhantom.CLASSES) names.put(c.id(), c.name());
        List<Sample> s = VolumeSlicer.slices("p", v, l, names, Axis.Z, CtWindow.ABDOMEN.fixed(), 1);
        assertEquals(1, s.size());
        Sample ref = p.toSample(CtWindow.ABDOMEN);
        assertArrayEquals(ref.image().rgb(), s.getFirst().image().rgb());
        assertEquals(ref.masks().size(), s.getFirst().masks().size());
        for (int k = 0; k < ref.masks().size(); k++) assertArrayEquals(ref.masks().get(k).mask(), s.getFirst().masks().get(k).mask());
    }
}
