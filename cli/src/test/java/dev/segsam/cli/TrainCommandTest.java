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

    /** Equal up to what one AdamW step of learning rate 1e-12 can move a weight. */
    static boolean close(float[] a, float[] b) {
        if (a.length != b.length) return false;
        for (int i = 0; i < a.length; i++) if (!(Math.abs(a[i] - b[i]) <= 1e-9)) return false;
        return true;
    }

    /** A run of one step at a learning rate of 1e-12: the model is, within 1e-9, what the run started from. */
    static String[] frozenStep(Path out, String... extra) {
        String[] a = args(out, extra);
        for (int i = 0; i < a.length; i++) if (a[i].equals("--lr")) a[i + 1] = "1e-12";
        return a;
    }

    @Test
    void initPartsKeepsWhatItNamesAndStartsTheRestFreshFromTheSeed() throws Exception {
        Path cache = dir.resolve("cache"), a = dir.resolve("a");
        MainTest.Run ra = MainTest.run(args(a, "--steps", "1", "--seed", "7", "--cache", cache.toString()));
        assertEquals(0, ra.code(), ra.err());
        Path init = a.resolve("model.safetensors");
        java.util.Map<String, Path> runs = new java.util.LinkedHashMap<>();
        for (String parts : new String[] {"all", "sam", "encoder"}) {
            Path b = dir.resolve("b-" + parts);
            MainTest.Run rb = MainTest.run(frozenStep(b, "--steps", "1", "--seed", "1", "--cache", cache.toString(), "--init", init.toString(), "--init-parts", parts));
            assertEquals(0, rb.code(), rb.err());
            runs.put(parts, b.resolve("model.safetensors"));
            JsonNode opts = new ObjectMapper().readTree(b.resolve("train.json").toFile()).get("options");
            assertEquals(parts.equals("all") ? null : parts, opts.path("init_parts").textValue(), opts.toString());
        }
        try (SafeTensorsFile fa = SafeTensorsFile.open(init)) {
            var fresh = dev.segsam.model.sam.SeededWeights.generate(dev.segsam.model.sam.SamConfig.infer(fa), 1);
            for (var e : runs.entrySet()) {
                try (SafeTensorsFile fb = SafeTensorsFile.open(e.getValue())) {
                    int same = 0, semantic = 0, sameSemantic = 0;
                    for (String n : fb.names()) {
                        boolean eq = close(fa.get(n).toArray(), fb.get(n).toArray());
                        boolean sem = n.startsWith("semantic_decoder.") || n.startsWith("t2vse.") && !n.equals("t2vse.text_embeddings");
                        if (sem) {
                            semantic++;
                            if (eq) sameSemantic++;
                        } else if (n.startsWith("image_encoder.") || !e.getKey().equals("encoder")) {
                            assertTrue(eq, e.getKey() + ": " + n + " must be --init's");
                            same++;
                        } else if (fresh.contains(n)) { // --init-parts encoder: the SAM decoder side as a fresh run of --seed 1 makes it
                            assertTrue(close(fresh.get(n).toArray(), fb.get(n).toArray()), e.getKey() + ": " + n + " is not the fresh one of --seed 1");
                            assertTrue(!eq, e.getKey() + ": " + n + " must not be --init's (seed 7)");
                        }
                    }
                    assertTrue(same > 10 && semantic > 10, e.getKey() + ": " + same + " / " + semantic);
                    if (e.getKey().equals("all")) assertEquals(semantic, sameSemantic, "all: the SEG-SAM parts are --init's");
                    else assertTrue(sameSemantic < semantic / 4, e.getKey() + ": the SEG-SAM parts start fresh, but " + sameSemantic + " of " + semantic + " are --init's");
                }
            }
        }
        MainTest.Run bad = MainTest.run(args(dir.resolve("c"), "--steps", "1", "--init-parts", "sam"));
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("--init-parts sam takes parts of --init"), bad.err());
    }
}
