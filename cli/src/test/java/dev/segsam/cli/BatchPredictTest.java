package dev.segsam.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.segsam.io.image.ImageFiles;
import dev.segsam.tensor.image.RgbImage;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code segsam predict --batch} over a folder and manifests: per-item folders, summary, failures, resume, Dice; repeated --box. */
class BatchPredictTest {
    @TempDir
    static Path dir;

    @BeforeAll
    static void models() throws Exception {
        PredictCommandTest.dir = dir;
        PredictCommandTest.models();
    }

    static Path picture(Path file, int w, int h, int seed) throws Exception {
        RgbImage img = RgbImage.black(w, h);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) for (int c = 0; c < 3; c++) img.set(x, y, c, (x * (3 + seed) + y * 2 + c * 40) % 256);
        ImageFiles.writePng(img, file);
        return file;
    }

    /** Pixels that are non-zero in a PNG, read with javax.imageio. */
    static boolean[] inside(Path png) throws Exception {
        BufferedImage img = ImageIO.read(png.toFile());
        int[] s = img.getRaster().getSamples(0, 0, img.getWidth(), img.getHeight(), 0, new int[img.getWidth() * img.getHeight()]);
        boolean[] m = new boolean[s.length];
        for (int i = 0; i < s.length; i++) m[i] = s[i] != 0;
        return m;
    }

    static List<List<String>> csv(Path f) throws Exception {
        return Files.readAllLines(f).stream().skip(1).map(l -> List.of(l.split(",", -1))).toList();
    }

    @Test
    void folderWithAFailingItemThenResume() throws Exception {
        Path in = Files.createDirectories(dir.resolve("folder"));
        picture(in.resolve("a.png"), 90, 60, 0);
        picture(in.resolve("b.png"), 70, 50, 1);
        Files.write(in.resolve("c.png"), new byte[] {1, 2, 3}); // damaged
        Files.writeString(in.resolve("notes.txt"), "not an image");
        Files.copy(Path.of("..", "io", "src", "test", "resources", "medical", "dicom", "CT_small.dcm"), in.resolve("CT_small.dcm")); // 128x128 CT
        Path out = dir.resolve("fout");
        String[] args = {"predict", "--model", PredictCommandTest.sam.toString(), "--batch", in.toString(), "--box", "10,5,40,30",
            "--out", out.toString(), "--quiet"};
        MainTest.Run r = MainTest.run(args);
        assertEquals(3, r.code(), "some items failed: " + r.err());
        assertTrue(r.err().contains("notes.txt"), "the left-out file is named: " + r.err());
        assertTrue(r.err().contains("c:"), "the failing item is named: " + r.err());
        JsonNode sum = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
        assertEquals(4, sum.get("items").asInt());
        assertEquals(3, sum.get("predicted").asInt());
        assertEquals(1, sum.get("failed").asInt());
        assertEquals("c", sum.get("failures").get(0).get("item").asText());
        List<List<String>> rows = csv(out.resolve("summary.csv"));
        assertEquals(4, rows.size());
        assertTrue(Files.exists(out.resolve("CT_small").resolve("mask_0.nii.gz")), "a DICOM item gets its masks on the source grid");
        assertTrue(Files.exists(out.resolve("CT_small").resolve("segmentation.dcm")), "and a DICOM-SEG");
        for (List<String> row : rows) {
            if (row.get(0).equals("c")) {
                assertEquals("failed", row.get(1));
                continue;
            }
            // the area in the summary is the mask the item's folder holds
            long area = 0;
            for (boolean b : inside(out.resolve(row.get(0)).resolve("mask_0.png"))) if (b) area++;
            assertEquals(area, Long.parseLong(row.get(5)), row.toString());
            assertTrue(Files.exists(out.resolve(row.get(0)).resolve("result.json")));
        }
        assertFalse(Files.exists(out.resolve("c")) && Files.exists(out.resolve("c").resolve("item.json")), "a failed item is not done");

        // again: the three done items are skipped (untouched), the damaged one fails again
        Path doneMarker = out.resolve("a").resolve("item.json");
        Files.setLastModifiedTime(doneMarker, FileTime.fromMillis(1_000_000_000_000L));
        r = MainTest.run(args);
        assertEquals(3, r.code(), r.err());
        assertTrue(r.out().contains("3 done earlier"), r.out());
        assertEquals(1_000_000_000_000L, Files.getLastModifiedTime(doneMarker).toMillis(), "a done item is not redone");
        // repaired: only the last item runs, and the batch succeeds
        picture(in.resolve("c.png"), 80, 40, 2);
        r = MainTest.run(args);
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("1 predicted, 3 done earlier (skipped), 0 failed"), r.out());
        assertEquals(4, csv(out.resolve("summary.csv")).stream().filter(x -> !x.get(1).equals("failed")).count());

        // another model into the same folder is refused
        MainTest.Run other = MainTest.run("predict", "--model", PredictCommandTest.segsam.toString(), "--batch", in.toString(),
                "--box", "10,5,40,30", "--out", out.toString(), "--quiet");
        assertEquals(1, other.code());
        assertTrue(other.err().contains("another --out") || other.err().contains("use another"), other.err());
    }

    @Test
    void manifestsWithPromptsTruthAndDice() throws Exception {
        Path m = Files.createDirectories(dir.resolve("manifest"));
        picture(m.resolve("one.png"), 90, 60, 0);
        picture(m.resolve("two.png"), 90, 60, 3);
        boolean[] truth = new boolean[90 * 60];
        for (int y = 10; y < 40; y++) for (int x = 15; x < 60; x++) truth[y * 90 + x] = true;
        ImageFiles.writeMaskPng(truth, 90, 60, m.resolve("one_truth.png"));
        Files.writeString(m.resolve("p.json"), "[{\"box\": [10, 5, 70, 50]}, {\"points\": [[40, 30, 1]]}]");
        Files.writeString(m.resolve("list.csv"), "image,id,prompts,truth\none.png,first,p.json,one_truth.png\n\"two.png\",,p.json,\n");
        Path out = dir.resolve("mout");
        MainTest.Run r = MainTest.run("predict", "--model", PredictCommandTest.segsam.toString(), "--batch", m.resolve("list.csv").toString(),
                "--out", out.toString(), "--quiet");
        assertEquals(0, r.code(), r.err());
        JsonNode sum = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
        assertEquals(4, sum.get("rows").size(), "two prompts for each of two items");
        for (JsonNode row : sum.get("rows")) {
            String item = row.get("item").asText();
            assertTrue(item.equals("first") || item.equals("two"), item);
            assertTrue(row.get("class").asText().equals("liver") || row.get("class").asText().equals("spleen"), row.toString());
            if (item.equals("first")) {
                // Dice against the truth, recomputed from the written mask
                boolean[] mask = inside(out.resolve("first").resolve("mask_" + row.get("prompt").asInt() + ".png"));
                long both = 0, a = 0, b = 0;
                for (int i = 0; i < mask.length; i++) {
                    if (mask[i]) a++;
                    if (truth[i]) b++;
                    if (mask[i] && truth[i]) both++;
                }
                assertEquals(2.0 * both / (a + b), row.get("dice").asDouble(), 1e-9);
            } else {
                assertTrue(row.get("dice").isNull());
            }
        }

        // JSON lines: inline prompts, a bad item among good ones
        Files.writeString(m.resolve("list.jsonl"), """
                {"image": "one.png", "prompts": [{"box": [5, 5, 50, 40]}]}
                {"image": "missing.png", "prompts": [{"box": [5, 5, 50, 40]}]}
                {"image": "two.png", "id": "second", "prompts": [{"box": [1, 1, 200, 40]}]}
                """);
        Path out2 = dir.resolve("jout");
        r = MainTest.run("predict", "--model", PredictCommandTest.sam.toString(), "--batch", m.resolve("list.jsonl").toString(),
                "--out", out2.toString(), "--quiet");
        assertEquals(3, r.code(), r.err());
        JsonNode s2 = new ObjectMapper().readTree(out2.resolve("summary.json").toFile());
        assertEquals(1, s2.get("predicted").asInt());
        assertEquals(2, s2.get("failed").asInt(), "a missing image and a box outside the picture");
        assertTrue(Files.exists(out2.resolve("one").resolve("mask_0.png")));

        // a manifest error stops the batch before anything runs, naming the line
        Files.writeString(m.resolve("bad.csv"), "image,colour\none.png,red\n");
        MainTest.Run bad = MainTest.run("predict", "--model", PredictCommandTest.sam.toString(), "--batch", m.resolve("bad.csv").toString(),
                "--box", "1,1,5,5", "--out", dir.resolve("never").toString(), "--quiet");
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("unknown column \"colour\""), bad.err());
        assertFalse(Files.exists(dir.resolve("never")));
    }

    @Test
    void repeatedBoxesAreSeveralPrompts() throws Exception {
        Path out = dir.resolve("boxes");
        MainTest.Run r = MainTest.run("predict", "--model", PredictCommandTest.sam.toString(), "--image", PredictCommandTest.image.toString(),
                "--box", "10,5,40,30", "--box", "45,20,85,55", "--out", out.toString(), "--quiet");
        assertEquals(0, r.code(), r.err());
        JsonNode res = new ObjectMapper().readTree(out.resolve("result.json").toFile());
        assertEquals(2, res.get("prompts").size());
        assertEquals(45.0, res.get("prompts").get(1).get("box").get(0).asDouble());
        MainTest.Run mixed = MainTest.run("predict", "--model", PredictCommandTest.sam.toString(), "--image", PredictCommandTest.image.toString(),
                "--box", "10,5,40,30", "--box", "45,20,85,55", "--point", "20,20,1", "--out", dir.resolve("mixed").toString(), "--quiet");
        assertEquals(1, mixed.code());
        assertTrue(mixed.err().contains("--prompts file"), mixed.err());
        MainTest.Run neither = MainTest.run("predict", "--model", PredictCommandTest.sam.toString(), "--box", "1,1,5,5",
                "--out", dir.resolve("neither").toString());
        assertEquals(2, neither.code());
        assertTrue(neither.err().contains("--image"), neither.err());
    }
}
