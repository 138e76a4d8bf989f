package dev.segsam.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.segsam.cli.train.MsdFixture;
import dev.segsam.io.medical.nifti.NiftiDataType;
import dev.segsam.io.medical.nifti.NiftiWriter;
import dev.segsam.io.safetensors.SafeTensorsFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a user with their own labelled scans does: {@code segsam train --data FOLDER} and {@code segsam eval}, end to end
 * through the command line on a small synthetic MSD-layout folder (a few steps: it checks the plumbing, not learning),
 * and the one-line errors for bad data.
 */
class UserDataTrainingTest {
    @TempDir
    Path dir;

    static final ObjectMapper JSON = new ObjectMapper();

    /** Tiny training options: two steps per stage, small text embeddings, a private embedding cache. */
    String[] train(Path data, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--data", data.toString(), "--encoder-steps", "2", "--encoder-warmup", "1", "--steps", "2",
                "--warmup", "1", "--targets", "2", "--text-dim", "32", "--log-every", "1", "--eval-every", "0", "--checkpoint-every", "5",
                "--cache", dir.resolve("cache").toString(), "--out", out.toString()));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    @Test
    void anMsdFolderTrainsAndEvaluatesWithTwoCommands() throws Exception {
        Path msd = MsdFixture.write(dir.resolve("Task99_Phantom"), 5, 2, 64);
        Path run = dir.resolve("run");
        MainTest.Run r = MainTest.run(train(msd, run, "--val-fraction", "0.2", "--test-fraction", "0.2"));
        assertEquals(0, r.code(), r.out() + r.err());
        for (String f : new String[] {"encoder/model.safetensors", "encoder/train.json", "model.safetensors", "train.json", "eval.json", "loss.png"}) {
            assertTrue(Files.isRegularFile(run.resolve(f)), f);
        }
        assertTrue(r.out().contains("stage encoder (binary)") && r.out().contains("stage segsam, ablation full"), r.out());
        // a 2-step encoder is far from the recipe's: the segsam stage says so
        assertTrue(r.err().contains("train: warning: the encoder of " + run.resolve("encoder/model.safetensors") + " was trained for only 2 steps"), r.err());
        // the split: by case, recorded in train.json and in the model, no case in two splits
        JsonNode data = JSON.readTree(run.resolve("train.json").toFile()).get("data");
        Set<String> seen = new HashSet<>();
        for (String sp : List.of("train", "val", "test")) for (JsonNode c : data.get("split").get(sp)) assertTrue(seen.add(c.asText()), c.asText());
        assertEquals(5, seen.size());
        assertEquals(1, data.get("split").get("test").size());
        assertEquals(3, data.get("split").get("train").size());
        try (SafeTensorsFile m = SafeTensorsFile.open(run.resolve("model.safetensors"))) {
            assertEquals(data, JSON.readTree(m.metadata().get("segsam.data")));
            JsonNode opts = JSON.readTree(m.metadata().get("segsam.train"));
            assertEquals("segsam", opts.get("stage").asText());
            assertEquals(run.resolve("encoder/model.safetensors").toString(), opts.get("init").asText());
        }
        assertEquals(2, data.get("samples").get("test").asInt(), "2 slices of the one test volume");
        // eval without --data: the recorded data set and its test split
        Path ev = dir.resolve("eval");
        MainTest.Run e = MainTest.run("eval", "--model", run.resolve("model.safetensors").toString(), "--out", ev.toString(), "--overlays", "1");
        assertEquals(0, e.code(), e.out() + e.err());
        JsonNode res = JSON.readTree(ev.resolve("eval.json").toFile());
        assertEquals("test", res.get("split").asText());
        assertEquals(2, res.get("images").asInt());
        assertTrue(res.get("targets").asInt() >= 2, res.toString());
        assertTrue(Files.isRegularFile(ev.resolve("per_class_dice.png")));
        // ... and with --data and another split
        MainTest.Run e2 = MainTest.run("eval", "--model", run.resolve("model.safetensors").toString(), "--data", msd.toString(), "--split", "val",
                "--out", dir.resolve("eval2").toString(), "--overlays", "0");
        assertEquals(0, e2.code(), e2.out() + e2.err());
        assertTrue(e2.out().startsWith("val (2 images of Task99_Phantom)"), e2.out());
        // a segsam dataset folder trains too, with the split its index records
        Path folder = dir.resolve("ds");
        MainTest.Run rd = MainTest.run("dataset", "phantom", "--count", "10", "--size", "64", "--out", folder.toString());
        assertEquals(0, rd.code(), rd.out() + rd.err());
        MainTest.Run rf = MainTest.run(train(folder, dir.resolve("run2"), "--stage", "encoder"));
        assertEquals(0, rf.code(), rf.out() + rf.err());
        assertTrue(rf.out().contains("8 train / 1 val / 1 test images"), rf.out());
    }

    @Test
    void badDataGetsOneLineNamingTheFileAndNothingIsLost() throws Exception {
        Path msd = MsdFixture.write(dir.resolve("Task97"), 3, 2, 64);
        Path out = dir.resolve("out");
        Files.createDirectories(out);
        Files.writeString(out.resolve("notes.txt"), "mine");
        // a label volume on another grid
        Path lab1 = msd.resolve("labelsTr/phantom_001.nii.gz");
        float[][] d = MsdFixture.caseData(1, 3, 64);
        NiftiWriter.write(lab1, MsdFixture.volume(d[1], 3, 64), NiftiDataType.UINT8, true);
        assertError(train(msd, out, "--force"), lab1 + ": grid: label volume 64x64x3 differs from the image's 64x64x2 (phantom_001.nii.gz)");
        // labels not in the map
        float[] bad = MsdFixture.caseData(1, 2, 64)[1];
        bad[5] = 9;
        NiftiWriter.write(lab1, MsdFixture.volume(bad, 2, 64), NiftiDataType.UINT8, true);
        assertError(train(msd, out, "--force"), lab1 + ": values: label value 9 not in the data set's label map");
        // a missing file
        Files.delete(lab1);
        assertError(train(msd, out, "--force"), lab1 + ": file: not found (listed in training[1] of dataset.json)");
        // an empty data set: no class anywhere
        Path empty = dir.resolve("Task96");
        MsdFixture.write(empty, 2, 2, 64);
        for (String id : List.of("phantom_000", "phantom_001")) {
            NiftiWriter.write(empty.resolve("labelsTr/" + id + ".nii.gz"), MsdFixture.volume(new float[2 * 64 * 64], 2, 64), NiftiDataType.UINT8, true);
        }
        assertError(train(empty, out, "--force"), empty + ": the data set is empty");
        // no layout at all
        Path other = dir.resolve("other");
        Files.createDirectories(other);
        Files.writeString(other.resolve("x.txt"), "?");
        assertError(train(other, out, "--force"), other + ": no data set layout found; expected an MSD/nnU-Net folder");
        // --stage segsam on an untrained encoder says what to run first
        MsdFixture.write(dir.resolve("Task95"), 3, 2, 64);
        assertError(train(dir.resolve("Task95"), out, "--force", "--stage", "segsam"), "--stage segsam freezes the image encoder");
        MainTest.Run r = MainTest.run(train(dir.resolve("Task95"), out, "--force", "--stage", "segsam"));
        assertTrue(r.err().contains("segsam train --data " + dir.resolve("Task95") + " --stage encoder --out RUN/encoder"), r.err());
        // nothing the user had was touched, nothing half-written was left
        assertEquals("mine", Files.readString(out.resolve("notes.txt")));
        try (var s = Files.list(out)) {
            assertEquals(List.of("notes.txt"), s.map(p -> p.getFileName().toString()).toList());
        }
    }

    @Test
    void aHalfTrainedEncoderCheckpointGetsAWarningWithTheCommandToFinishIt() {
        var sw = new java.io.StringWriter();
        TrainCommand.warnIfUndertrained(Path.of("runs/enc/checkpoint.safetensors"), java.util.Map.of("segsam.train.step", "750"), new java.io.PrintWriter(sw, true));
        assertTrue(sw.toString().startsWith("train: warning: runs/enc/checkpoint.safetensors is a training checkpoint (after step 750)"), sw.toString());
        assertTrue(sw.toString().contains("segsam train --resume --out runs/enc"), sw.toString());
        // a finished stage-encoder model of the recipe's length, or weights without a training record: no warning
        sw.getBuffer().setLength(0);
        TrainCommand.warnIfUndertrained(Path.of("m.safetensors"), java.util.Map.of("segsam.train", "{\"stage\":\"encoder\",\"steps\":2000}"), new java.io.PrintWriter(sw, true));
        TrainCommand.warnIfUndertrained(Path.of("sam.safetensors"), java.util.Map.of(), new java.io.PrintWriter(sw, true));
        assertEquals("", sw.toString());
    }

    static void assertError(String[] args, String start) {
        MainTest.Run r = MainTest.run(args);
        assertEquals(1, r.code(), r.out() + r.err());
        String[] lines = r.err().strip().split("\n");
        String line = lines[lines.length - 1];
        for (int i = 0; i < lines.length - 1; i++) assertFalse(lines[i].contains("segsam:"), "one error line: " + r.err());
        assertTrue(line.startsWith("segsam: " + start), "expected 'segsam: " + start + "...', got: " + line);
    }
}
