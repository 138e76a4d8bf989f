package dev.segsam.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.segsam.io.safetensors.SafeTensorsFile;
import dev.segsam.model.train.TrainingRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A training run folder after a kill: train.json ahead of the checkpoint is cut back to it, leftover temporary files are
 * removed, {@code --resume} takes the run's options and refuses contradicting ones by name, the model records its step.
 */
class TrainIntegrityTest {
    @TempDir
    Path dir;

    @Test
    void resumeAfterAKillContinuesTheRunAndNothingElse() throws Exception {
        Path cache = dir.resolve("cache"), run = dir.resolve("run");
        MainTest.Run first = MainTest.run(TrainCommandTest.args(run, "--steps", "5", "--seed", "3", "--cache", cache.toString(), "--max-steps-this-run", "3"));
        assertEquals(0, first.code(), first.err());
        ObjectMapper json = new ObjectMapper();
        // a kill after train.json was saved for a checkpoint at step 4 that never got written, and a write cut short
        ObjectNode log = (ObjectNode) json.readTree(run.resolve("train.json").toFile());
        ArrayNode steps = (ArrayNode) log.get("steps");
        assertEquals(3, steps.size());
        steps.addObject().put("step", 4).put("total", 123.0);
        json.writeValue(run.resolve("train.json").toFile(), log);
        Path leftover = Files.writeString(run.resolve(".checkpoint.safetensors.k3j9x2.tmp"), "half a checkpoint");

        String[] contradicting = {"train", "--resume", "--out", run.toString(), "--cache", cache.toString(), "--ablation", "so", "--phantoms", "12", "--seed", "3"};
        MainTest.Run refused = MainTest.run(contradicting);
        assertEquals(1, refused.code());
        String e = refused.err().strip();
        assertEquals(1, e.lines().count(), e);
        assertTrue(e.contains("--ablation so (the run has full)") && e.contains("--phantoms 12 (the run has 10)") && !e.contains("--seed"), e);

        // nothing but --resume: every option is the run's (--steps 5, --seed 3, ...)
        MainTest.Run resumed = MainTest.run("train", "--resume", "--out", run.toString(), "--cache", cache.toString());
        assertEquals(0, resumed.code(), resumed.err());
        assertFalse(Files.exists(leftover));
        JsonNode done = json.readTree(run.resolve("train.json").toFile());
        List<Integer> numbers = new ArrayList<>();
        for (JsonNode s : done.get("steps")) numbers.add(s.get("step").asInt());
        assertEquals(List.of(1, 2, 3, 4, 5), numbers);
        assertTrue(done.get("steps").get(3).get("total").asDouble() != 123.0, "step 4 of the killed run was dropped, not kept");
        assertEquals(3, done.get("options").get("seed").asInt());
        try (SafeTensorsFile m = SafeTensorsFile.open(run.resolve("model.safetensors"))) {
            assertEquals("5", m.metadata().get(TrainingRun.FINAL_STEP_KEY));
        }
    }
}
