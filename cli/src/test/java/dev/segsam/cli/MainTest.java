package dev.segsam.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MainTest {
    @TempDir
    Path dir;

    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        StringWriter o = new StringWriter(), e = new StringWriter();
        int code = Main.run(args, new PrintWriter(o, true), new PrintWriter(e, true));
        return new Run(code, o.toString(), e.toString());
    }

    @Test
    void selftestPasses() {
        Run r = run("selftest");
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("OK: all checks passed"), r.out());
    }

    @Test
    void tensorsListsAFileAsJson() throws Exception {
        Path f = dir.resolve("a.safetensors");
        new dev.segsam.io.safetensors.SafeTensorsWriter().metadata("m", "x")
                .add("w", dev.segsam.tensor.Tensor.zeros(2, 3)).write(f);
        Run r = run("tensors", "--json", f.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("\"name\":\"w\",\"dtype\":\"F32\",\"shape\":[2,3],\"bytes\":24"), r.out());
        assertTrue(r.out().contains("\"metadata\":{\"m\":\"x\"}"), r.out());
    }

    @Test
    void tensorsListsAPyTorchCheckpoint() throws Exception {
        Path f = dir.resolve("a.pth");
        new dev.segsam.io.pth.PthWriter().add("w", dev.segsam.tensor.Tensor.zeros(2, 3)).write(f);
        Run r = run("tensors", "--json", f.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("\"format\":\"pth\""), r.out());
        assertTrue(r.out().contains("\"name\":\"w\",\"dtype\":\"F32\",\"shape\":[2,3],\"bytes\":24"), r.out());
        Run table = run("tensors", f.toString());
        assertEquals(0, table.code(), table.err());
        assertTrue(table.out().contains("1 tensors, 6 elements, 24 bytes of data"), table.out());
    }

    @Test
    void errorsAreOneLineWithNonZeroExit() throws Exception {
        Run missing = run("tensors", dir.resolve("none.safetensors").toString());
        assertEquals(1, missing.code());
        assertTrue(missing.err().startsWith("segsam: no such file: "), missing.err());
        assertEquals(1, missing.err().strip().lines().count(), missing.err());

        Path notSt = dir.resolve("x.safetensors");
        Files.writeString(notSt, "hello world, this is not a safetensors file");
        Run bad = run("tensors", notSt.toString());
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("header length"), bad.err());
        assertEquals(1, bad.err().strip().lines().count(), bad.err());

        Path neither = dir.resolve("notes.txt");
        Files.writeString(neither, "these are not weights");
        Run no = run("tensors", neither.toString());
        assertEquals(1, no.code());
        assertTrue(no.err().startsWith("segsam: " + neither + ": not a checkpoint: "), no.err());
        assertTrue(no.err().contains("safetensors files and PyTorch torch.save checkpoints (.pth/.pt/.bin)"), no.err());
        assertEquals(1, no.err().strip().lines().count(), no.err());

        Run usage = run("frobnicate");
        assertEquals(2, usage.code());
        assertTrue(usage.err().contains("Unmatched argument"), usage.err());
    }

    /** {@code -Dsegsam.debug=true} adds the stack trace behind the one-line error. */
    @Test
    void debugPropertyAddsTheStackTrace() {
        Run plain = run("tensors", dir.resolve("none.safetensors").toString());
        assertEquals(1, plain.err().strip().lines().count(), plain.err());
        Run debug = PredictCommandTest.withProperty("segsam.debug", "true", () -> run("tensors", dir.resolve("none.safetensors").toString()));
        assertEquals(1, debug.code());
        assertTrue(debug.err().startsWith("segsam: no such file: "), debug.err());
        assertTrue(debug.err().contains("NoSuchFileException") && debug.err().contains("\tat "), debug.err());
    }
}
