package dev.segsam.io.medical.dataset;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.io.image.ImageFiles;
import dev.segsam.io.medical.MedicalFormatException;
import dev.segsam.io.medical.intensity.CtWindow;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipArchiveOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A miniature SA-Med2D-16M written in its layout (folder, zip, split zip), read back. */
class SaMed2dDatasetTest {
    @TempDir
    Path dir;

    static final int N = 3;

    /** Writes SAMed2Dv1/... under {@code root}; returns the phantom slices used as images 0..N-1. */
    static List<AbdomenPhantom.Slice> writeTree(Path root, String indexFolder) throws IOException {
        Path base = root.resolve("SAMed2Dv1");
        Files.createDirectories(base.resolve("images"));
        Files.createDirectories(base.resolve("masks"));
        Map<String, List<String>> index = new LinkedHashMap<>();
        List<AbdomenPhantom.Slice> slices = new ArrayList<>();
        for (int i = 0; i < N; i++) {
            AbdomenPhantom.Slice s = AbdomenPhantom.generate(i, 96);
            slices.add(s);
            Sample sample = s.toSample(CtWindow.ABDOMEN);
            String stem = String.format("ct_00--Phantom--Case_%04d--z_%04d", i, 10 + i);
            Files.write(base.resolve("images/" + stem + ".png"), ImageFiles.png(sample.image(), true));
            List<String> masks = new ArrayList<>();
            for (InstanceMask m : sample.masks()) {
                String mp = String.format("masks/%s--%04d_%03d.png", stem, m.classId(), m.instance());
                byte[] inside = new byte[m.mask().length];
                for (int k = 0; k < inside.length; k++) inside[k] = m.mask()[k] != 0 ? (byte) 255 : 0;
                ImageFiles.writeGreyPng(inside, m.width(), m.height(), base.resolve(mp));
                masks.add(mp);
            }
            if (i == 1) { // a mask of the wrong size (a known quirk of the real data set)
                String mp = "masks/" + stem + "--0009_001.png";
                ImageFiles.writeGreyPng(new byte[4], 2, 2, base.resolve(mp));
                masks.add(mp);
            }
            index.put("images/" + stem + ".png", masks);
        }
        // an image of a dataset that the class mapping does not list
        String other = "mr_t1--Elsewhere--Case_9--x_0003";
        ImageFiles.writeGreyPng(new byte[] {0, 10, 20, 30, 40, 50}, 3, 2, base.resolve("images/" + other + ".png"));
        ImageFiles.writeGreyPng(new byte[] {0, 0, (byte) 255, 0, (byte) 255, 0}, 3, 2, base.resolve("masks/" + other + "--0005_002.png"));
        index.put("images/" + other + ".png", List.of("masks/" + other + "--0005_002.png"));

        StringBuilder json = new StringBuilder("{");
        for (var e : index.entrySet()) {
            if (json.length() > 1) json.append(",\n");
            json.append('"').append(e.getKey()).append("\": [");
            for (int k = 0; k < e.getValue().size(); k++) json.append(k > 0 ? ", " : "").append('"').append(e.getValue().get(k)).append('"');
            json.append(']');
        }
        json.append("}");
        Path idx = base.resolve(indexFolder);
        Files.createDirectories(idx);
        Files.writeString(idx.resolve(SaMed2dDataset.INDEX), json);
        Files.writeString(idx.resolve(SaMed2dDataset.CLASS_MAP), """
                {"Phantom": {"liver": 1, "spleen": 2, "union_kidney": [3, 4], "kidney_left": 3, "kidney_right": 4,
                             "stomach": 5, "aorta": 6, "vertebra": 7},
                 "Other": {"7": "bone"}}""");
        return slices;
    }

    static void zip(Path root, ZipArchiveOutputStream out) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.walk(root)) {
            files = s.filter(Files::isRegularFile).sorted().toList();
        }
        for (Path f : files) {
            ZipArchiveEntry e = new ZipArchiveEntry(root.relativize(f).toString().replace('\\', '/'));
            out.putArchiveEntry(e);
            out.write(Files.readAllBytes(f));
            out.closeArchiveEntry();
        }
        // incompressible padding so that a split archive has several segments
        ZipArchiveEntry pad = new ZipArchiveEntry("SAMed2Dv1/padding.bin");
        out.putArchiveEntry(pad);
        byte[] noise = new byte[200_000];
        new Random(1).nextBytes(noise);
        out.write(noise);
        out.closeArchiveEntry();
        out.finish();
    }

    void check(SaMed2dDataset ds, List<AbdomenPhantom.Slice> slices) throws IOException {
        assertEquals(N + 1, ds.size());
        for (int i = 0; i < N; i++) {
            Sample s = ds.get(i);
            Sample want = slices.get(i).toSample(CtWindow.ABDOMEN);
            assertEquals(String.format("ct_00--Phantom--Case_%04d--z_%04d", i, 10 + i), s.id());
            assertArrayEquals(want.image().rgb(), s.image().rgb(), "image " + i);
            assertEquals(want.masks().size(), s.masks().size(), "masks of image " + i);
            for (int k = 0; k < want.masks().size(); k++) {
                InstanceMask w = want.masks().get(k), g = s.masks().get(k);
                assertEquals(w.classId(), g.classId());
                assertEquals(w.className(), g.className(), "class names come from the mapping (plain names beat union_*)");
                assertEquals(1, g.instance());
                assertArrayEquals(w.mask(), g.mask());
            }
            assertEquals("Phantom", s.meta().get("dataset"));
            assertEquals(i == 1 ? "1" : null, s.meta().get("skipped_masks"));
        }
        Sample other = ds.get(N);
        assertEquals(3, other.image().width());
        assertEquals(20, other.image().get(2, 0, 1));
        InstanceMask m = other.masks().get(0);
        assertEquals(5, m.classId());
        assertEquals("class_5", m.className());
        assertEquals(2, m.instance());
        assertArrayEquals(new byte[] {0, 0, 1, 0, 1, 0}, m.mask());
        assertTrue(ds.classes().contains(new ClassInfo(3, "kidney_left")));
        assertTrue(ds.classes().contains(new ClassInfo(7, "bone")));
    }

    @Test
    void unpackedFolder() throws Exception {
        checkFolder("tree", "", "", "SAMed2Dv1");
    }

    @Test
    void torchEmAnnotationsFolder() throws Exception {
        checkFolder("tree", "annotations", "SAMed2Dv1");
    }

    /** Writes the tree with the index in {@code indexFolder} and reads it opened at each of {@code openAt}. */
    void checkFolder(String name, String indexFolder, String... openAt) throws Exception {
        Path root = dir.resolve(name);
        List<AbdomenPhantom.Slice> slices = writeTree(root, indexFolder);
        for (String at : openAt) {
            try (SaMed2dDataset ds = SaMed2dDataset.open(at.isEmpty() ? root : root.resolve(at))) {
                check(ds, slices);
            }
        }
    }

    @Test
    void singleZip() throws Exception {
        checkZip(dir.resolve("SA-Med2D-16M.zip"), 0);
    }

    /** Written with Commons Compress's split writer (64 KiB segments: .z01, .z02, ..., .zip), read in place. */
    @Test
    void splitZipIsReadInPlace() throws Exception {
        Path z = dir.resolve("split").resolve("SA-Med2D-16M.zip");
        checkZip(z, 64 * 1024);
        assertTrue(Files.exists(z.resolveSibling("SA-Med2D-16M.z01")) && Files.exists(z.resolveSibling("SA-Med2D-16M.z03")), "expected several segments");
    }

    /** Zips the tree to {@code z} (split into segments of {@code splitSize} bytes when > 0) and reads it back. */
    void checkZip(Path z, long splitSize) throws Exception {
        Path root = dir.resolve("tree");
        List<AbdomenPhantom.Slice> slices = writeTree(root, "");
        Files.createDirectories(z.getParent());
        try (ZipArchiveOutputStream out = splitSize > 0 ? new ZipArchiveOutputStream(z, splitSize) : new ZipArchiveOutputStream(z)) {
            zip(root, out);
        }
        try (SaMed2dDataset ds = SaMed2dDataset.open(z)) {
            check(ds, slices);
        }
    }

    @Test
    void damagedInputs() throws Exception {
        Path empty = Files.createDirectories(dir.resolve("empty"));
        MedicalFormatException e = assertThrows(MedicalFormatException.class, () -> SaMed2dDataset.open(empty));
        assertEquals(SaMed2dDataset.INDEX, e.field());
        Path bad = Files.createDirectories(dir.resolve("bad"));
        Files.writeString(bad.resolve(SaMed2dDataset.INDEX), "{\"images/a.png\": \"masks/a.png\"}");
        assertThrows(MedicalFormatException.class, () -> SaMed2dDataset.open(bad));
        Files.writeString(bad.resolve(SaMed2dDataset.INDEX), "{\"images/a.png\": [");
        assertThrows(MedicalFormatException.class, () -> SaMed2dDataset.open(bad));
        Files.writeString(bad.resolve(SaMed2dDataset.INDEX), "{\"../../outside.png\": []}");
        try (SaMed2dDataset ds = SaMed2dDataset.open(bad)) {
            MedicalFormatException t = assertThrows(MedicalFormatException.class, () -> ds.get(0));
            assertTrue(t.getMessage().contains("leaves the data set folder"), t.getMessage());
        }
        Path notZip = dir.resolve("x.zip");
        try (OutputStream o = Files.newOutputStream(notZip)) {
            o.write("not a zip".getBytes(StandardCharsets.US_ASCII));
        }
        assertThrows(MedicalFormatException.class, () -> SaMed2dDataset.open(notZip));
        assertEquals("Phantom", SaMed2dDataset.datasetOf("images/ct_00--Phantom--Case_1--z_0001.png"));
        assertEquals("", SaMed2dDataset.datasetOf("images/odd.png"));
    }
}
