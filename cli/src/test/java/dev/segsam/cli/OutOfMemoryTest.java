package dev.segsam.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.io.image.ImageFiles;
import dev.segsam.io.safetensors.SafeTensorsWriter;
import dev.segsam.model.sam.SeededWeights;
import dev.segsam.tensor.TensorSource;
import dev.segsam.tensor.image.RgbImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * No command prints an {@code OutOfMemoryError} stack trace: a real one (a JVM with a 24 MiB heap decoding a
 * 3000×3000 image) becomes one line naming the heap limit and how to raise it, with exit code 4; numeric options out
 * of range are usage errors (exit 2) before anything is allocated.
 */
class OutOfMemoryTest {
    @TempDir
    Path dir;

    @Test
    void aRealOutOfMemoryIsOneLineAndExitCode3() throws Exception {
        Path model = dir.resolve("sam.safetensors"), image = dir.resolve("big.png");
        TensorSource w = SeededWeights.generate(PredictCommandTest.SMALL, 5);
        SafeTensorsWriter st = new SafeTensorsWriter();
        for (String n : w.names()) st.add(n, w.get(n));
        st.write(model);
        ImageFiles.writePng(RgbImage.black(3000, 3000), image);
        String java = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder(java, "-Xmx24m", "-XX:+UseSerialGC", "--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "predict", "--model", model.toString(), "--image", image.toString(), "--box", "1,1,50,50", "--out", dir.resolve("out").toString(), "--quiet")
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        List<String> lines = err.lines().filter(l -> !l.startsWith("WARNING") && !l.contains("device auto")).toList();
        assertEquals(Main.EXIT_OUT_OF_MEMORY, p.exitValue(), err);
        assertEquals(1, lines.size(), err);
        String line = lines.get(0);
        assertTrue(line.startsWith("segsam: out of memory (") && line.contains("the Java heap limit is ") && line.contains("SEGSAM_HEAP=")
                && line.contains("-Xmx"), line);
        assertFalse(err.contains("\tat "), "no stack trace: " + err);
        assertFalse(Files.exists(dir.resolve("out")));
        try (var s = Files.list(dir)) {
            assertEquals(List.of("big.png", "sam.safetensors"), s.map(f -> f.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void theOutOfMemoryLineFindsAWrappedError() {
        Exception wrapped = new RuntimeException("worker failed", new java.util.concurrent.ExecutionException(new OutOfMemoryError("Java heap space")));
        OutOfMemoryError oom = Main.causeOfType(wrapped, OutOfMemoryError.class);
        assertEquals("Java heap space", oom.getMessage());
        String line = Main.outOfMemory(oom);
        assertTrue(line.startsWith("out of memory (Java heap space; the Java heap limit is ") && line.endsWith("(docs/LIMITS.md)"), line);
    }

    @Test
    void optionsOutOfRangeAreUsageErrors() throws Exception {
        Path classes = Files.writeString(dir.resolve("classes.json"), "[\"liver\"]");
        String[][] cases = {
            {"init-segsam", "--from", dir.resolve("sam.safetensors").toString(), "--classes", classes.toString(), "--out", dir.resolve("x.safetensors").toString(),
                "--text-dim", "2000000000"},
            {"train", "--targets", "100000", "--out", dir.resolve("t").toString()},
            {"train", "--lr", "NaN", "--out", dir.resolve("t").toString()},
            {"eval", "--model", "m", "--data", "phantom", "--phantoms", "2000000000", "--out", dir.resolve("e").toString()},
            {"dataset", "phantom", "--count", "2000000000", "--out", dir.resolve("d").toString()},
            {"predict-volume", "--model", "m", "--volume", "v", "--index", "0", "--box", "1,1,2,2", "--margin", "-1", "--out", dir.resolve("v").toString()},
        };
        String[] expect = {"--text-dim must be in 1..8192, got 2000000000", "--targets must be in 1..64, got 100000", "--lr must be a number in (0.0, 1.0], got NaN",
            "--phantoms must be in 1..20000, got 2000000000", "--count must be in 1..100000, got 2000000000", "--margin must be in 0..65536, got -1"};
        for (int i = 0; i < cases.length; i++) {
            MainTest.Run r = MainTest.run(cases[i]);
            assertEquals(Main.EXIT_USAGE, r.code(), "case " + i + ": " + r.err());
            assertTrue(r.err().lines().findFirst().orElse("").equals("segsam: " + expect[i]), "case " + i + ": " + r.err());
        }
        try (var s = Files.list(dir)) {
            assertEquals(List.of("classes.json"), s.map(f -> f.getFileName().toString()).toList());
        }
    }
}
