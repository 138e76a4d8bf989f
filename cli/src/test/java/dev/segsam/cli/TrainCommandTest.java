package dev.segsam.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.segsam.io.safetensors.SafeTensorsFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** segsam train on a handful of phantoms: outputs, exact resume, config file, refusals. */
class TrainCommandTest {
    @TempDir
    Path dir;

    static String[] args(Path out, String... extra) {
        String[] base = {"train", "--data", "phantom", "--phantoms", "10", "--stage", "segsam", "--ablation", "full", "--lr", "1e-3",
            "--warmup", "1", "--targets", "2", "--text-dim", "32", "--log-every", "1", "--eval-every", "0", "--checkpoint-every", "3",
            "--allow-untrained-encoder"};
        String[] all = java.util.Arrays.copyOf(base, base.length + extra.length + 2);
        System.arraycopy(extra, 0, all, base.length, extra.length);
        all[all.length - 2] = "--out";
        all[all.length - 1] = out.toString();
        return all;
    }

    @Test
    void resumingGivesExactlyTheUninterruptedRun() throws Exception {
        Path cache = dir.resolve("cache");
        Path a = dir.resolve("a"), b = dir.resolve("b");
        MainTest.Run ra = MainTest.run(args(a, "--steps", "6", "--cache", cache.toString()));
        assertEquals(0, ra.code(), ra.err());
        for (String f : new String[] {"model.safetensors", "checkpoint.safetensors", "train.json", "loss.png", "eval.json"}) {
            assertTrue(Files.exists(a.resolve(f)), f);
        }
        assertTrue(ra.out().contains("step 6/6  loss"), ra.out());
        // 3 steps, then resume to 6 (the schedule is the same: --steps 6 both times, the first run stopped by hand)
        assertEquals(0, MainTest.run(args(b, "--steps", "6", "--cache", cache.toString(), "--max-steps-this-run", "3")).code());
        MainTest.Run rb = MainTest.run(args(b, "--steps", "6", "--cache", cache.toString(), "--resume"));
        assertEquals(0, rb.code(), rb.err());
        assertTrue(rb.err().contains("embeddings: ") && rb.err().contains(" from "), "embeddings come from the disk cache: " + rb.err());
        try (SafeTensorsFile fa = SafeTensorsFile.open(a.resolve("model.safetensors")); SafeTensorsFile fb = SafeTensorsFile.open(b.resolve("model.safetensors"))) {
            for (String n : fa.names()) assertArrayEquals(fa.get(n).toArray(), fb.get(n).toArray(), n);
        }
        JsonNode log = new ObjectMapper().readTree(b.resolve("train.json").toFile());
        assertEquals(6, log.get("steps").size());
    }

    @Test
    void refusesToClobberARunAndReadsAConfigFile() throws Exception {
        Path a = dir.resolve("c");
        Files.createDirectories(a);
        Files.writeString(a.resolve("notes.txt"), "mine");
        MainTest.Run r = MainTest.run(args(a, "--steps", "1"));
        assertEquals(1, r.code());
        assertTrue(r.err().contains("is not empty"), r.err());
        Path cfg = dir.resolve("train.json");
        Files.writeString(cfg, "{\"steps\": 2, \"seed\": 5, \"ablation\": \"so\"}"); // --ablation full on the command line wins
        Path d = dir.resolve("d");
        MainTest.Run rc = MainTest.run(args(d, "--config", cfg.toString(), "--cache", dir.resolve("cache2").toString()));
        assertEquals(0, rc.code(), rc.err());
        JsonNode log = new ObjectMapper().readTree(d.resolve("train.json").toFile());
        assertEquals("full", log.get("options").get("ablation").asText());
        assertEquals(5, log.get("options").get("seed").asInt());
        assertEquals(2, log.get("steps").size());
        Files.writeString(cfg, "{\"stepz\": 2}");
        MainTest.Run bad = MainTest.run(args(dir.resolve("e"), "--config", cfg.toString()));
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("unknown option \"stepz\""), bad.err());
    }

    @Test
    void initEncoderOnlyKeepsTheEncoderAndStartsEverythingElseFresh() throws Exception {
        Path cache = dir.resolve("cache"), a = dir.resolve("a"), b = dir.resolve("b");
        MainTest.Run ra = MainTest.run(args(a, "--steps", "1", "--seed", "7", "--cache", cache.toString()));
        assertEquals(0, ra.code(), ra.err());
        Path init = a.resolve("model.safetensors");
        MainTest.Run rb = MainTest.run(args(b, "--steps", "1", "--seed", "1", "--cache", cache.toString(), "--init", init.toString(), "--init-encoder-only"));
        assertEquals(0, rb.code(), rb.err());
        try (SafeTensorsFile fa = SafeTensorsFile.open(init); SafeTensorsFile fb = SafeTensorsFile.open(b.resolve("model.safetensors"))) {
            var fresh = dev.segsam.model.sam.SeededWeights.generate(dev.segsam.model.sam.SamConfig.infer(fa), 1);
            int encoder = 0;
            for (String n : fb.names()) {
                if (!n.startsWith("image_encoder.")) continue;
                assertArrayEquals(fa.get(n).toArray(), fb.get(n).toArray(), n + " is --init's (frozen)");
                encoder++;
            }
            assertTrue(encoder > 10, "encoder tensors: " + encoder);
            // not trained in either run: equal to the fresh weights of --seed 1, not to --init's (made with --seed 7)
            String g = "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix";
            assertArrayEquals(fresh.get(g).toArray(), fb.get(g).toArray(), g);
            assertTrue(!java.util.Arrays.equals(fa.get(g).toArray(), fb.get(g).toArray()), g + " must not be --init's");
        }
        JsonNode log = new ObjectMapper().readTree(b.resolve("train.json").toFile());
        assertTrue(log.get("options").get("init_encoder_only").asBoolean(), log.get("options").toString());
        MainTest.Run bad = MainTest.run(args(dir.resolve("c"), "--steps", "1", "--init-encoder-only"));
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("--init-encoder-only takes the image encoder of --init"), bad.err());
    }
}
