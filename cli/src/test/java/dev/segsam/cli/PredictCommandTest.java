package dev.segsam.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.segsam.io.image.ImageFiles;
import dev.segsam.io.pth.PthWriter;
import dev.segsam.io.safetensors.SafeTensorsFile;
import dev.segsam.io.safetensors.SafeTensorsWriter;
import dev.segsam.model.sam.SamConfig;
import dev.segsam.model.sam.SeededWeights;
import dev.segsam.model.segsam.ClassTexts;
import dev.segsam.model.segsam.ClassSpec;
import dev.segsam.model.segsam.SegSamInit;
import dev.segsam.tensor.TensorSource;
import dev.segsam.tensor.image.RgbImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code segsam predict} on a small random SAM (128 input) and its SEG-SAM extension: files written, errors. */
class PredictCommandTest {
    static final SamConfig SMALL = new SamConfig(128, 16, 64, 4, 4, new int[] {1, 3}, 5, 256, 32, 64, 8, 2, 32, 16, 3);

    @TempDir
    static Path dir;
    static Path sam, samPth, segsam, image;

    @BeforeAll
    static void models() throws Exception {
        TensorSource w = SeededWeights.generate(SMALL, 5);
        sam = dir.resolve("sam_small.safetensors");
        SafeTensorsWriter st = new SafeTensorsWriter();
        PthWriter pw = new PthWriter();
        for (String n : w.names()) {
            st.add(n, w.get(n));
            pw.add(n, w.get(n));
        }
        st.write(sam);
        samPth = dir.resolve("sam_small.pth");
        pw.write(samPth);
        List<ClassSpec> classes = List.of(ClassTexts.spec("liver", null), ClassTexts.spec("spleen", null));
        SegSamInit.Model m = SegSamInit.create(w, classes, SegSamInit.hashedEmbeddings(classes, 32), "hashed-v1", true, "sam", 1);
        segsam = dir.resolve("segsam_small.safetensors");
        SafeTensorsWriter sw = new SafeTensorsWriter();
        m.tensors().forEach(sw::add);
        m.metadata().forEach(sw::metadata);
        sw.write(segsam);
        RgbImage img = RgbImage.black(90, 60);
        for (int y = 0; y < 60; y++) for (int x = 0; x < 90; x++) for (int c = 0; c < 3; c++) img.set(x, y, c, (x * 3 + y * 2 + c * 40) % 256);
        image = dir.resolve("img.png");
        ImageFiles.writePng(img, image);
    }

    @Test
    void writesMasksOverlayJsonAndTensors() throws Exception {
        Path out = dir.resolve("out1");
        MainTest.Run r = MainTest.run("predict", "--model", sam.toString(), "--image", image.toString(), "--box", "10,5,70,50",
                "--point", "40,30,1", "--multimask", "--full-res-logits", "--out", out.toString(), "--quiet");
        assertEquals(0, r.code(), r.err());
        for (String f : List.of("mask_0.png", "overlay.png", "result.json", "outputs.safetensors")) assertTrue(Files.exists(out.resolve(f)), f);
        JsonNode res = new ObjectMapper().readTree(out.resolve("result.json").toFile());
        assertEquals(3, res.get("prompts").get(0).get("iou_predictions").size());
        try (SafeTensorsFile f = SafeTensorsFile.open(out.resolve("outputs.safetensors"))) {
            assertEquals(List.of(1, 32, 8, 8), toList(f.info("image_embedding").intShape()));
            assertEquals(List.of(1, 3, 32, 32), toList(f.info("low_res_logits.0").intShape()));
            assertEquals(List.of(1, 3), toList(f.info("iou_predictions.0").intShape()));
            assertEquals(List.of(1, 3, 60, 90), toList(f.info("mask_logits.0").intShape()));
            // the chosen mask PNG is the chosen channel of mask_logits thresholded at 0
            int best = res.get("prompts").get(0).get("chosen_mask").asInt();
            float[] logits = f.get("mask_logits.0").toArray();
            RgbImage png = ImageFiles.read(out.resolve("mask_0.png")).image();
            long area = 0;
            for (int i = 0; i < 60 * 90; i++) {
                boolean on = logits[best * 5400 + i] > 0;
                assertEquals(on ? 255 : 0, png.get(i % 90, i / 90, 0), "pixel " + i);
                if (on) area++;
            }
            assertEquals(area, res.get("prompts").get(0).get("area").asLong());
        }
    }

    @Test
    void pthAndSafetensorsGiveTheSameResult() throws Exception {
        Path a = dir.resolve("outA"), b = dir.resolve("outB");
        assertEquals(0, MainTest.run("predict", "--model", sam.toString(), "--image", image.toString(), "--point", "20,20,1", "--full-res-logits", "--out", a.toString(), "--quiet").code());
        assertEquals(0, MainTest.run("predict", "--model", samPth.toString(), "--image", image.toString(), "--point", "20,20,1", "--full-res-logits", "--out", b.toString(), "--quiet").code());
        try (SafeTensorsFile x = SafeTensorsFile.open(a.resolve("outputs.safetensors")); SafeTensorsFile y = SafeTensorsFile.open(b.resolve("outputs.safetensors"))) {
            assertTrue(java.util.Arrays.equals(x.get("mask_logits.0").toArray(), y.get("mask_logits.0").toArray()));
        }
    }

    @Test
    void segSamModelsAddSemanticOutputs() throws Exception {
        Path out = dir.resolve("out2"), prompts = dir.resolve("p.json");
        Files.writeString(prompts, "[{\"box\": [10, 5, 70, 50]}, {\"points\": [[40, 30, 1], [5, 5, 0]], \"multimask\": true}]");
        MainTest.Run r = MainTest.run("predict", "--model", segsam.toString(), "--image", image.toString(), "--prompts", prompts.toString(),
                "--full-res-logits", "--out", out.toString(), "--quiet");
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.exists(out.resolve("semantic_0.png")) && Files.exists(out.resolve("semantic_1.png")));
        JsonNode res = new ObjectMapper().readTree(out.resolve("result.json").toFile());
        assertTrue(res.get("class_presence").has("liver"));
        assertTrue(res.get("prompts").get(1).get("semantic").get("class_probabilities").has("spleen"));
        try (SafeTensorsFile f = SafeTensorsFile.open(out.resolve("outputs.safetensors"))) {
            assertEquals(List.of(1, 3, 60, 90), toList(f.info("semantic_logits.1").intShape()));
            assertEquals(List.of(1, 2), toList(f.info("class_presence").intShape()));
        }
    }

    @Test
    void badInputGetsOneLineAndNothingIsWritten() throws Exception {
        Path out = dir.resolve("never");
        String[][] cases = {
            {"--model", sam.toString(), "--image", dir.resolve("missing.png").toString(), "--box", "1,1,5,5"},
            {"--model", sam.toString(), "--image", image.toString(), "--box", "10,5,95,50"},
            {"--model", sam.toString(), "--image", image.toString(), "--point", "10,5,2"},
            {"--model", sam.toString(), "--image", image.toString(), "--point", "10,five,1"},
            {"--model", image.toString(), "--image", image.toString(), "--box", "1,1,5,5"},
            {"--model", sam.toString(), "--image", image.toString()},
            {"--model", sam.toString(), "--image", sam.toString(), "--box", "1,1,5,5"},
        };
        String[] expect = {"no such file", "outside the 90x60 image", "label 2 is not 0", "not a number", "not a checkpoint: a PNG image", "no prompt", "sam_small.safetensors"};
        for (int i = 0; i < cases.length; i++) {
            String[] args = Stream.concat(Stream.of("predict"), Stream.concat(Stream.of(cases[i]), Stream.of("--out", out.toString()))).toArray(String[]::new);
            MainTest.Run r = MainTest.run(args);
            assertEquals(1, r.code(), "case " + i + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
            assertTrue(r.err().contains(expect[i]), "case " + i + ": " + r.err());
            assertFalse(Files.exists(out), "case " + i + " created the output folder");
            try (Stream<Path> s = Files.list(dir)) {
                assertFalse(s.anyMatch(p -> p.getFileName().toString().startsWith(".never")), "case " + i + " left a temporary folder");
            }
        }
        Path notSam = dir.resolve("not_sam.safetensors");
        new SafeTensorsWriter().add("w", dev.segsam.tensor.Tensor.zeros(2)).write(notSam);
        MainTest.Run r = MainTest.run("predict", "--model", notSam.toString(), "--image", image.toString(), "--box", "1,1,5,5", "--out", out.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("not a SAM checkpoint"), r.err());
    }

    @Test
    void refusesANonEmptyFolderWithoutForce() throws Exception {
        Path out = dir.resolve("busy");
        Files.createDirectories(out);
        Files.writeString(out.resolve("keep.txt"), "mine");
        MainTest.Run r = MainTest.run("predict", "--model", sam.toString(), "--image", image.toString(), "--box", "10,5,70,50", "--out", out.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("is not empty (use --force"), r.err());
        assertEquals(List.of(out.resolve("keep.txt")), Files.list(out).toList());
        MainTest.Run f = MainTest.run("predict", "--model", sam.toString(), "--image", image.toString(), "--box", "10,5,70,50", "--out", out.toString(), "--force", "--quiet");
        assertEquals(0, f.code(), f.err());
        // --force replaces the folder as a whole: nothing of before is left beside the new run
        assertFalse(Files.exists(out.resolve("keep.txt")));
        assertTrue(Files.exists(out.resolve("result.json")));
    }

    static List<Integer> toList(int[] a) {
        return java.util.Arrays.stream(a).boxed().toList();
    }

    /**
     * The compute options reach the run: {@code -Dsegsam.cpu=reference} and {@code --threads 1} choose the backend named in
     * the header line; {@code -Dsegsam.device=cuda} is honoured when no {@code --device} is given (no GPU here: a one-line
     * refusal); bad values fail in one line before anything is written.
     */
    @Test
    void propertiesAndFlagsReachTheBackend() {
        Path out = dir.resolve("out-options"), never = dir.resolve("never-options");
        String[] base = {"predict", "--model", sam.toString(), "--image", image.toString(), "--box", "10,5,70,50"};
        MainTest.Run r = withProperty("segsam.cpu", "reference", () -> MainTest.run(concat(base, "--device", "cpu", "--threads", "1", "--out", out.toString())));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("on cpu-reference (1 thread)"), r.err());
        MainTest.Run fast = MainTest.run(concat(base, "--device", "cpu", "--threads", "2", "--out", out.toString(), "--force"));
        assertTrue(fast.err().contains("on cpu-fast (2 threads)"), fast.err());

        String[][] bad = {{"segsam.threads", "zero", "segsam.threads must be a whole number ≥ 1, got 'zero'"},
            {"segsam.device", "tpu", "segsam.device must be cpu, cuda or auto, got 'tpu'"},
            {"segsam.device", "cuda", "device cuda requested"}};
        for (String[] c : bad) {
            MainTest.Run b = withProperty(c[0], c[1], () -> MainTest.run(concat(base, "--out", never.toString())));
            assertEquals(1, b.code(), b.err());
            assertTrue(b.err().contains(c[2]), b.err());
            assertEquals(1, b.err().strip().lines().count(), "one line: " + b.err());
            assertFalse(Files.exists(never), c[0] + "=" + c[1] + " created the output folder");
        }
        MainTest.Run zero = MainTest.run(concat(base, "--threads", "0", "--out", never.toString()));
        assertEquals(1, zero.code());
        assertTrue(zero.err().contains("--threads must be at least 1, got 0"), zero.err());
    }

    /**
     * The decoder warm-up (on by default) changes no output byte, and {@code --no-decoder-warmup} turns it off: the
     * timing line ({@code -Dsegsam.timing=true}) says which ran. With {@code segsam.warmup.after=0} and 50 decodes the
     * warm-up runs during the encode and, unstopped by then, over the real decodes too.
     */
    @Test
    void decoderWarmupChangesNoOutputAndIsSwitchable() throws Exception {
        Path on = dir.resolve("warm-on"), off = dir.resolve("warm-off");
        String[] args = {"predict", "--model", segsam.toString(), "--image", image.toString(), "--box", "10,5,70,50", "--point", "40,30,1",
            "--full-res-logits", "--quiet"};
        MainTest.Run a = withProperty("segsam.timing", "true", () -> withProperty("segsam.warmup.after", "0",
                () -> withProperty("segsam.warmup.decodes", "50", () -> MainTest.run(concat(args, "--out", on.toString())))));
        MainTest.Run b = withProperty("segsam.timing", "true", () -> MainTest.run(concat(args, "--out", off.toString(), "--no-decoder-warmup")));
        assertEquals(0, a.code(), a.err());
        assertEquals(0, b.code(), b.err());
        assertTrue(a.err().contains("decoder warm-up ") && !a.err().contains("decoder warm-up off"), a.err());
        assertFalse(a.err().contains("(failed: "), a.err()); // the warm-up, its output step included, ran without error
        assertTrue(b.err().contains("decoder warm-up off"), b.err());
        for (String f : List.of("outputs.safetensors", "mask_0.png", "overlay.png")) {
            assertTrue(java.util.Arrays.equals(Files.readAllBytes(on.resolve(f)), Files.readAllBytes(off.resolve(f))), f + " differs with the warm-up");
        }
    }

    static String[] concat(String[] a, String... b) {
        return Stream.concat(Stream.of(a), Stream.of(b)).toArray(String[]::new);
    }

    /** Runs {@code body} with the system property {@code key} set to {@code value}, restoring it after. */
    static <T> T withProperty(String key, String value, java.util.function.Supplier<T> body) {
        String old = System.getProperty(key);
        System.setProperty(key, value);
        try {
            return body.get();
        } finally {
            if (old == null) System.clearProperty(key);
            else System.setProperty(key, old);
        }
    }
}
