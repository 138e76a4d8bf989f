package dev.segsam.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.segsam.io.medical.MedicalImages;
import dev.segsam.io.medical.Volume;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code predict} on a DICOM file writes {@code segmentation.dcm}: its frames, unpacked here bit by bit (the pixel data
 * is the file's last element: frames × rows × columns bits, padded to an even number of bytes), are the masks that
 * {@code mask_i.nii.gz} holds on the same source grid, and {@code result.json} lists the file and its segments. The
 * DICOM structure itself is validated by pydicom and dciodvfy in the io module (DicomSegWriterTest,
 * scripts/check-dicomseg.sh).
 */
class DicomSegOutputTest {
    @TempDir
    static Path dir;
    static final Path CT = Path.of("..", "io", "src", "test", "resources", "medical", "dicom", "CT_small.dcm"); // 128 × 128

    @BeforeAll
    static void models() throws Exception {
        PredictCommandTest.dir = dir;
        PredictCommandTest.models();
    }

    /** The SEG's frames as bits: [frame][row · columns + column]. */
    static boolean[][] frames(Path seg, int frames, int rows, int cols) throws Exception {
        byte[] b = Files.readAllBytes(seg);
        long bits = (long) frames * rows * cols;
        int n = (int) ((bits + 7) / 8);
        n += n & 1;
        int base = b.length - n;
        // the element header just before: (7FE0,0010) OB, length n
        assertEquals(0x10, b[base - 10]);
        assertEquals(0x00, b[base - 9]);
        assertEquals('O', b[base - 8]);
        assertEquals('B', b[base - 7]);
        boolean[][] out = new boolean[frames][rows * cols];
        for (long i = 0; i < bits; i++) out[(int) (i / (rows * cols))][(int) (i % (rows * cols))] = (b[base + (int) (i >>> 3)] >> (i & 7) & 1) == 1;
        return out;
    }

    @Test
    void plainSamOneSegmentPerPromptOnTheSourcePixels() throws Exception {
        Path out = dir.resolve("sam");
        MainTest.Run r = MainTest.run("predict", "--model", PredictCommandTest.sam.toString(), "--image", CT.toString(),
                "--box", "10,20,60,70", "--box", "70,60,120,110", "--out", out.toString(), "--quiet");
        assertEquals(0, r.code(), r.err());
        JsonNode res = new ObjectMapper().readTree(out.resolve("result.json").toFile());
        JsonNode seg = res.get("dicom_seg");
        assertEquals("segmentation.dcm", seg.get("file").asText());
        assertEquals(2, seg.get("segments").size());
        int nonEmpty = 0;
        for (int i = 0; i < 2; i++) {
            JsonNode s = seg.get("segments").get(i);
            assertEquals(i + 1, s.get("number").asInt());
            assertEquals("prompt " + i, s.get("label").asText());
            assertEquals(res.get("prompts").get(i).get("area").asLong(), s.get("pixels").asLong(), "segment " + i + " holds prompt " + i + "'s mask");
            if (s.get("pixels").asLong() > 0) nonEmpty++;
        }
        assertTrue(nonEmpty > 0, "the small model segments something");
        int frames = seg.get("frames").asInt();
        assertEquals(nonEmpty, frames);
        boolean[][] f = frames(out.resolve("segmentation.dcm"), frames, 128, 128);
        int frame = 0;
        for (int i = 0; i < 2; i++) {
            if (seg.get("segments").get(i).get("pixels").asLong() == 0) continue;
            try (Volume m = MedicalImages.read(out.resolve("mask_" + i + ".nii.gz"))) {
                assertEquals(1, m.nz());
                int set = 0;
                for (int row = 0; row < 128; row++) {
                    for (int col = 0; col < 128; col++) {
                        boolean want = m.data().get((long) row * 128 + col) != 0; // voxel x = column, y = row
                        assertEquals(want, f[frame][row * 128 + col], "segment " + (i + 1) + " row " + row + " column " + col);
                        if (want) set++;
                    }
                }
                assertEquals(res.get("prompts").get(i).get("area").asInt(), set);
            }
            frame++;
        }
        // written like every other output file: the permissions of an ordinary new file (0644 under umask 022)
        Path probe = Files.createFile(dir.resolve("probe"));
        assertEquals(Files.getPosixFilePermissions(probe), Files.getPosixFilePermissions(out.resolve("segmentation.dcm")));
    }

    @Test
    void segSamOneSegmentPerClass() throws Exception {
        Path out = dir.resolve("segsam");
        MainTest.Run r = MainTest.run("predict", "--model", PredictCommandTest.segsam.toString(), "--image", CT.toString(),
                "--box", "10,20,60,70", "--out", out.toString(), "--quiet");
        assertEquals(0, r.code(), r.err());
        JsonNode res = new ObjectMapper().readTree(out.resolve("result.json").toFile());
        JsonNode seg = res.get("dicom_seg"), sem = res.get("prompts").get(0).get("semantic");
        assertEquals(2, seg.get("segments").size(), "one segment per class: liver, spleen");
        assertEquals("liver", seg.get("segments").get(0).get("label").asText());
        assertEquals("spleen", seg.get("segments").get(1).get("label").asText());
        String predicted = sem.get("predicted_class").isNull() ? null : sem.get("predicted_class").asText();
        long area = res.get("prompts").get(0).get("area").asLong();
        for (JsonNode s : seg.get("segments")) {
            assertEquals(s.get("label").asText().equals(predicted) ? area : 0, s.get("pixels").asLong(), s.toString());
        }
    }

    @Test
    void picturesGetNoSegmentation() throws Exception {
        Path out = dir.resolve("png");
        MainTest.Run r = MainTest.run("predict", "--model", PredictCommandTest.sam.toString(), "--image", PredictCommandTest.image.toString(),
                "--box", "10,5,70,50", "--out", out.toString(), "--quiet");
        assertEquals(0, r.code(), r.err());
        assertTrue(!Files.exists(out.resolve("segmentation.dcm")));
        assertTrue(new ObjectMapper().readTree(out.resolve("result.json").toFile()).get("dicom_seg") == null);
    }

    /**
     * A 3-slice series made from CT_small.dcm by same-length byte edits: slice k gets its own SOP instance UID (last digit
     * k) and z position −75.7 + 5k (the file's SliceThickness is 5 mm).
     */
    static Path ctSeries() throws Exception {
        Path series = Files.createDirectories(dir.resolve("ct-series"));
        byte[] src = Files.readAllBytes(CT);
        String text = new String(src, java.nio.charset.StandardCharsets.ISO_8859_1);
        for (int k = 0; k < 3; k++) {
            String t = text.replace("5962.1.1.1.1.1.20040119072730.12322", "5962.1.1.1.1.1.20040119072730.1232" + k)
                    .replace("\\-75.699997", "\\-" + (75 - 5 * k) + ".699997");
            assertEquals(src.length, t.length());
            Files.write(series.resolve("slice" + (2 - k) + ".dcm"), t.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        }
        return series;
    }

    @Test
    void predictVolumeOnASeriesWritesOneFramePerSegmentedSlice() throws Exception {
        Path series = ctSeries(), out = dir.resolve("vol");
        MainTest.Run r = MainTest.run("predict-volume", "--model", PredictCommandTest.sam.toString(), "--volume", series.toString(),
                "--index", "1", "--box", "10,20,100,110", "--min-area", "1", "--out", out.toString(), "--quiet");
        assertEquals(0, r.code(), r.err());
        JsonNode v = new ObjectMapper().readTree(out.resolve("volume.json").toFile());
        JsonNode seg = v.get("dicom_seg");
        assertEquals("segmentation.dcm", seg.get("file").asText(), v.toString());
        int frames = seg.get("frames").asInt();
        java.util.List<Long> areas = new java.util.ArrayList<>();
        for (JsonNode s : v.get("slices")) if (s.get("area").asLong() > 0) areas.add(s.get("area").asLong());
        assertEquals(3, frames, "the seeded small model segments all three slices: " + v.get("slices"));
        assertEquals(areas.size(), frames, v.toString());
        boolean[][] f = frames(out.resolve("segmentation.dcm"), frames, 128, 128);
        try (Volume labels = MedicalImages.read(out.resolve("labels.nii.gz"))) {
            assertEquals(3, labels.nz());
            int frame = 0;
            for (int z = 0; z < 3; z++) {
                long set = 0;
                for (int j = 0; j < 128 * 128; j++) if (labels.data().get((long) z * 128 * 128 + j) != 0) set++;
                if (set == 0) continue;
                for (int j = 0; j < 128 * 128; j++) {
                    assertEquals(labels.data().get((long) z * 128 * 128 + j) != 0, f[frame][j], "slice " + z + " pixel " + j);
                }
                assertEquals(areas.get(frame), set);
                frame++;
            }
        }
        // the frames name the slices' own instances, in slice order (z = -75.7, -70.7, -65.7: instance digits 0, 1, 2)
        String text = new String(Files.readAllBytes(out.resolve("segmentation.dcm")), java.nio.charset.StandardCharsets.ISO_8859_1);
        int perFrame = text.indexOf("\0R0\u0092SQ"); // (5200,9230) PerFrameFunctionalGroupsSequence: bytes 00 52 30 92, VR SQ
        assertTrue(perFrame > 0);
        String after = text.substring(perFrame);
        int last = -1;
        for (int k = 0; k < 3; k++) {
            int at = after.indexOf("20040119072730.1232" + k);
            if (at < 0) continue;
            assertTrue(at > last, "slice " + k + " after the previous one");
            last = at;
        }
        assertTrue(last > 0);
    }
}
