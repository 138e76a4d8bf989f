package dev.segsam.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.segsam.io.image.ImageFiles;
import dev.segsam.io.safetensors.SafeTensorsFile;
import dev.segsam.io.safetensors.SafeTensorsWriter;
import dev.segsam.model.sam.SeededWeights;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorSource;
import dev.segsam.tensor.image.RgbImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * predict with many prompts writes every result as it comes (the files of all prompts, one result.json entry each);
 * outputs.safetensors holds low-res logits unless --full-res-logits, so its size does not follow the image's; a model
 * with NaN weights warns instead of giving silent empty masks.
 */
class PromptStreamingTest {
    @TempDir
    static Path dir;
    static Path sam;

    @BeforeAll
    static void model() throws Exception {
        TensorSource w = SeededWeights.generate(PredictCommandTest.SMALL, 5);
        SafeTensorsWriter st = new SafeTensorsWriter();
        for (String n : w.names()) st.add(n, w.get(n));
        sam = dir.resolve("sam.safetensors");
        st.write(sam);
    }

    static Path image(String name, int w, int h) throws Exception {
        RgbImage img = RgbImage.black(w, h);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) for (int c = 0; c < 3; c++) img.set(x, y, c, (x * 5 + y * 3 + c * 50) % 256);
        Path p = dir.resolve(name);
        ImageFiles.writePng(img, p);
        return p;
    }

    @Test
    void manyPromptsAreAllWritten() throws Exception {
        Path img = image("a.png", 64, 48), prompts = dir.resolve("many.json"), out = dir.resolve("many");
        StringBuilder sb = new StringBuilder("[");
        int n = 150;
        for (int i = 0; i < n; i++) {
            if (i > 0) sb.append(',');
            sb.append(i % 2 == 0 ? "{\"box\":[" + (i % 30) + ",2," + (i % 30 + 20) + ",40]}" : "{\"points\":[[" + (i % 60) + ",20,1]],\"multimask\":true}");
        }
        Files.writeString(prompts, sb.append(']').toString());
        MainTest.Run r = MainTest.run("predict", "--model", sam.toString(), "--image", img.toString(), "--prompts", prompts.toString(), "--out", out.toString(), "--quiet");
        assertEquals(0, r.code(), r.err());
        JsonNode res = new ObjectMapper().readTree(out.resolve("result.json").toFile());
        assertEquals(n, res.get("prompts").size());
        assertEquals(n, r.out().lines().filter(l -> l.startsWith("prompt ")).count()); // a line per prompt (then its warnings)
        assertTrue(r.out().strip().endsWith("wrote " + out), r.out());
        for (int i = 0; i < n; i++) {
            JsonNode e = res.get("prompts").get(i);
            assertEquals(i, e.get("index").asInt());
            assertEquals(i % 2 == 1, e.get("multimask").asBoolean());
            assertTrue(Files.exists(out.resolve("mask_" + i + ".png")), "mask " + i);
        }
        try (SafeTensorsFile f = SafeTensorsFile.open(out.resolve("outputs.safetensors"))) {
            assertEquals(1 + 2 * n, f.names().size()); // image_embedding, low_res_logits.i and iou_predictions.i
            assertEquals(List.of(1, 3, 32, 32), PredictCommandTest.toList(f.info("low_res_logits.1").intShape()));
            assertEquals("false", f.metadata().get("full_res_logits"));
        }
        try (Stream<Path> s = Files.list(out)) {
            assertFalse(s.anyMatch(p -> p.getFileName().toString().startsWith(".")), "no temporary files left");
        }
    }

    @Test
    void outputsDoNotGrowWithTheImageUnlessAskedTo() throws Exception {
        long[] sizes = new long[2];
        Path[] imgs = {image("small.png", 40, 30), image("large.png", 400, 300)};
        for (int k = 0; k < 2; k++) {
            Path out = dir.resolve("size" + k);
            MainTest.Run r = MainTest.run("predict", "--model", sam.toString(), "--image", imgs[k].toString(), "--box", "2,2,30,25", "--out", out.toString(), "--quiet");
            assertEquals(0, r.code(), r.err());
            try (SafeTensorsFile f = SafeTensorsFile.open(out.resolve("outputs.safetensors"))) {
                assertFalse(f.contains("mask_logits.0"));
                long bytes = 0;
                for (String name : f.names()) bytes += f.info(name).end() - f.info(name).begin();
                sizes[k] = bytes;
            }
        }
        assertEquals(sizes[0], sizes[1], "tensor bytes for a 40x30 and a 400x300 image");
        Path full = dir.resolve("full");
        assertEquals(0, MainTest.run("predict", "--model", sam.toString(), "--image", imgs[1].toString(), "--box", "2,2,30,25", "--full-res-logits",
                "--out", full.toString(), "--quiet").code());
        try (SafeTensorsFile f = SafeTensorsFile.open(full.resolve("outputs.safetensors"))) {
            assertEquals(List.of(1, 1, 300, 400), PredictCommandTest.toList(f.info("mask_logits.0").intShape()));
        }
    }

    @Test
    void aModelOfNanWeightsWarns() throws Exception {
        TensorSource w = SeededWeights.generate(PredictCommandTest.SMALL, 5);
        SafeTensorsWriter st = new SafeTensorsWriter();
        for (String n : w.names()) {
            float[] v = new float[(int) w.get(n).numel()];
            java.util.Arrays.fill(v, Float.NaN);
            st.add(n, Tensor.of(v, w.get(n).shape()));
        }
        Path nan = dir.resolve("nan.safetensors");
        st.write(nan);
        Path out = dir.resolve("nan-out");
        MainTest.Run r = MainTest.run("predict", "--model", nan.toString(), "--image", image("n.png", 40, 30).toString(), "--box", "2,2,30,25",
                "--out", out.toString(), "--quiet");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("segsam: warning: prompt 0: the model's output is not a number (NaN/Inf), so its mask is empty"), r.err());
        assertTrue(r.out().contains("area 0 px"), r.out());
    }
}
