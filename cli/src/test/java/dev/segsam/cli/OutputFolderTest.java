package dev.segsam.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Outputs are all-or-nothing: a run that fails half way leaves the previous folder as it was and no temporary sibling;
 * a finished one replaces it as a whole. The command-level tests make {@code predict}, {@code demo}, {@code dataset}
 * fail after every file was written (the {@link OutputFolder#beforeCommit} hook) and look at what is left.
 */
class OutputFolderTest {
    @TempDir
    Path dir;

    @AfterEach
    void noHook() {
        OutputFolder.beforeCommit = null;
    }

    /** Everything in {@code parent} but the named entries: temporary siblings would show up here. */
    static List<String> leftovers(Path parent, String... expected) throws IOException {
        try (Stream<Path> s = Files.list(parent)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> !List.of(expected).contains(n)).sorted().toList();
        }
    }

    static Path oldRun(Path out) throws IOException {
        Files.createDirectories(out);
        Files.writeString(out.resolve("result.json"), "old result");
        Files.writeString(out.resolve("mask_3.png"), "old mask");
        return out;
    }

    static void assertOldRun(Path out) throws IOException {
        assertEquals("old result", Files.readString(out.resolve("result.json")));
        assertEquals("old mask", Files.readString(out.resolve("mask_3.png")));
        assertEquals(List.of("mask_3.png", "result.json"), leftovers(out));
    }

    @Test
    void aNewFolderAppearsOnlyAtCommit() throws Exception {
        Path out = dir.resolve("a/b/out");
        try (OutputFolder f = OutputFolder.prepare(out, false, "hint")) {
            Files.writeString(f.dir().resolve("result.json"), "new");
            assertFalse(Files.exists(out));
            f.commit();
        }
        assertEquals("new", Files.readString(out.resolve("result.json")));
        assertEquals(List.of(), leftovers(dir.resolve("a/b"), "out"));
    }

    @Test
    void aFailureHalfWayLeavesTheOldFolderAndNoTemporaryFiles() throws Exception {
        Path out = oldRun(dir.resolve("out"));
        IOException diskFull = assertThrows(IOException.class, () -> {
            try (OutputFolder f = OutputFolder.prepare(out, true, "hint")) {
                Files.writeString(f.dir().resolve("result.json"), "new");
                Files.writeString(f.dir().resolve("mask_0.png"), "new");
                throw new IOException("No space left on device");
            }
        });
        assertEquals("No space left on device", diskFull.getMessage());
        assertOldRun(out);
        assertEquals(List.of(), leftovers(dir, "out"));
    }

    @Test
    void aFailureInANewFolderRemovesTheParentsItCreated() throws Exception {
        Path out = dir.resolve("x/y/out");
        assertThrows(IllegalStateException.class, () -> {
            try (OutputFolder f = OutputFolder.prepare(out, false, "hint")) {
                Files.writeString(f.dir().resolve("result.json"), "new");
                throw new IllegalStateException("boom");
            }
        });
        assertEquals(List.of(), leftovers(dir));
    }

    @Test
    void forceReplacesTheWholeFolder() throws Exception {
        Path out = oldRun(dir.resolve("out"));
        try (OutputFolder f = OutputFolder.prepare(out, true, "hint")) {
            Files.writeString(f.dir().resolve("result.json"), "new");
            f.commit();
        }
        assertEquals(List.of("result.json"), leftovers(out)); // no stale mask_3.png beside the new result
        assertEquals("new", Files.readString(out.resolve("result.json")));
        assertEquals(List.of(), leftovers(dir, "out"));
    }

    @Test
    void checksComeFirstAndSayWhatIsWrong() throws Exception {
        Path old = oldRun(dir.resolve("busy"));
        assertTrue(assertThrows(IOException.class, () -> OutputFolder.prepare(old, false, "use --force")).getMessage().contains("is not empty (use --force)"));
        Path file = Files.writeString(dir.resolve("file"), "x");
        assertTrue(assertThrows(IOException.class, () -> OutputFolder.prepare(file, true, "h")).getMessage().contains("is not a folder"));
        Path dangling = Files.createSymbolicLink(dir.resolve("link"), dir.resolve("gone"));
        String m = assertThrows(IOException.class, () -> OutputFolder.prepare(dangling, true, "h")).getMessage();
        assertTrue(m.contains("is a symbolic link to " + dir.resolve("gone") + ", which does not exist"), m);
        String under = assertThrows(IOException.class, () -> OutputFolder.prepare(file.resolve("sub"), true, "h")).getMessage();
        assertTrue(under.contains("is not a folder (on the way to"), under);
        Path input = Files.writeString(old.resolve("model.safetensors"), "weights");
        String holds = assertThrows(IOException.class, () -> OutputFolder.prepare(old, true, "h", input)).getMessage();
        assertTrue(holds.contains("--force would replace the whole folder") && holds.contains("holds the input"), holds);
        String cwd = assertThrows(IOException.class, () -> OutputFolder.prepare(Path.of("").toAbsolutePath(), true, "h")).getMessage();
        assertTrue(cwd.contains("holds the current folder"), cwd);
        assertTrue(Files.exists(input));
        assertEquals(List.of(), leftovers(dir, "busy", "file", "link"));
    }

    @Test
    void aLinkToAFolderKeepsPointingAtTheNewOutput() throws Exception {
        Path real = oldRun(dir.resolve("real"));
        Path link = Files.createSymbolicLink(dir.resolve("link"), real);
        try (OutputFolder f = OutputFolder.prepare(link, true, "h")) {
            Files.writeString(f.dir().resolve("result.json"), "new");
            f.commit();
        }
        assertTrue(Files.isSymbolicLink(link));
        assertEquals("new", Files.readString(link.resolve("result.json")));
        assertEquals(List.of(), leftovers(dir, "real", "link"));
    }

    @Test
    void leftoversOfAKilledRunAreCleanedUp() throws Exception {
        long dead = deadPid();
        Path out = oldRun(dir.resolve("out"));
        Path partial = Files.createDirectories(dir.resolve(".out.segsam-" + dead + "-abc.partial"));
        Files.writeString(partial.resolve("mask_0.png"), "half");
        Path otherOut = dir.resolve("gone");
        Path aside = Files.createDirectories(dir.resolve(".gone.segsam-" + dead + "-def.old"));
        Files.writeString(aside.resolve("result.json"), "the previous run of gone");
        Path live = Files.createDirectories(dir.resolve(".out.segsam-" + ProcessHandle.current().pid() + "-zzz.partial"));
        try (OutputFolder f = OutputFolder.prepare(out, true, "h")) {
            assertFalse(Files.exists(partial));
            assertTrue(Files.exists(live), "a running process's folder is left alone");
        }
        assertOldRun(out);
        // killed between moving the old folder aside and the new one in: the old one goes back to its name
        assertThrows(IOException.class, () -> OutputFolder.prepare(otherOut, false, "nothing written without --force"));
        assertEquals("the previous run of gone", Files.readString(otherOut.resolve("result.json")));
        assertEquals(List.of(live.getFileName().toString()), leftovers(dir, "out", "gone"));
    }

    static long deadPid() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        return p.pid();
    }

    // ---- the commands ----------------------------------------------------------------------------------------------

    @Test
    void predictFailingBeforeTheMoveLeavesTheOldRun() throws Exception {
        Path model = dir.resolve("sam.safetensors"), image = dir.resolve("img.png");
        dev.segsam.tensor.TensorSource w = dev.segsam.model.sam.SeededWeights.generate(PredictCommandTest.SMALL, 5);
        dev.segsam.io.safetensors.SafeTensorsWriter st = new dev.segsam.io.safetensors.SafeTensorsWriter();
        for (String n : w.names()) st.add(n, w.get(n));
        st.write(model);
        dev.segsam.io.image.ImageFiles.writePng(dev.segsam.tensor.image.RgbImage.black(90, 60), image);
        Path out = oldRun(dir.resolve("pred"));
        String[] args = {"predict", "--model", model.toString(), "--image", image.toString(),
            "--box", "10,5,70,50", "--out", out.toString(), "--force", "--quiet"};
        OutputFolder.beforeCommit = () -> {
            throw new IllegalStateException("No space left on device");
        };
        MainTest.Run r = MainTest.run(args);
        assertEquals(1, r.code());
        assertEquals("segsam: No space left on device", r.err().strip());
        assertOldRun(out);
        assertEquals(List.of(), leftovers(dir, "pred", "sam.safetensors", "img.png"));
        OutputFolder.beforeCommit = null;
        MainTest.Run ok = MainTest.run(args);
        assertEquals(0, ok.code(), ok.err());
        assertFalse(Files.exists(out.resolve("mask_3.png")));
        assertTrue(Files.exists(out.resolve("mask_0.png")) && Files.exists(out.resolve("outputs.safetensors")));
        assertEquals(List.of(), leftovers(dir, "pred", "sam.safetensors", "img.png"));
    }

    @Test
    void datasetAndDemoFailingBeforeTheMoveLeaveTheOldRun() throws Exception {
        OutputFolder.beforeCommit = () -> {
            throw new IllegalStateException("killed");
        };
        Path ds = oldRun(dir.resolve("ds"));
        MainTest.Run r = MainTest.run("dataset", "phantom", "--out", ds.toString(), "--count", "2", "--size", "64", "--force");
        assertEquals(1, r.code());
        assertOldRun(ds);
        Path demo = oldRun(dir.resolve("demo"));
        MainTest.Run d = MainTest.run("demo", "--out", demo.toString(), "--force");
        assertEquals(1, d.code());
        assertFalse(d.out().contains("wrote"), d.out());
        assertOldRun(demo);
        assertEquals(List.of(), leftovers(dir, "ds", "demo"));
    }
}
