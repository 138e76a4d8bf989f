package dev.segsam.io.pth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PthWriterTest {
    @TempDir
    Path dir;

    static MemorySegment halves(float... v) {
        MemorySegment s = MemorySegment.ofArray(new byte[v.length * 2]);
        for (int i = 0; i < v.length; i++) s.setAtIndex(Elements.I16, i, Float.floatToFloat16(v[i]));
        return s;
    }

    /**
     * Deterministic content whose writer output is committed as java-written.pth. torch.load read that file
     * ({@code python3 tools/reference/pth_fixtures.py verify ...}, output in java-written.verified.txt); this test
     * keeps the writer producing exactly those bytes.
     */
    static PthWriter fixtureContent() {
        float[] ramp = new float[12];
        for (int i = 0; i < ramp.length; i++) ramp[i] = i * 0.5f - 2f;
        float[] four = new float[8];
        for (int i = 0; i < four.length; i++) four[i] = -i;
        return new PthWriter()
                .add("z.ramp", Tensor.of(ramp, 3, 4))
                .add("w4", Tensor.of(four, 2, 1, 2, 2))
                .add("s", Tensor.scalar(7f))
                .add("empty", Tensor.zeros(0, 3))
                .addLongs("ids", new long[] {0, -1, 1L << 40, 70000, -(1L << 62)}, 5)
                .addRaw("a.half", PthDType.FLOAT16, new int[] {4}, halves(1.5f, -2.25f, 65504f, 1e-3f))
                .addRaw("flag", PthDType.BOOL, new int[] {3}, MemorySegment.ofArray(new byte[] {1, 0, 1}))
                .addRaw("bytes", PthDType.UINT8, new int[] {2}, MemorySegment.ofArray(new byte[] {1, (byte) 200}));
    }

    @Test
    void writerOutputIsTheFileTorchLoadVerified() throws Exception {
        Path out = dir.resolve("w.pth");
        fixtureContent().write(out);
        byte[] mine = Files.readAllBytes(out);
        if (Boolean.getBoolean("segsam.regenerate")) Files.write(Path.of("src/test/resources/pth/java-written.pth"), mine);
        byte[] verified = Files.readAllBytes(Fixtures.resource(dir, "java-written.pth"));
        assertArrayEquals(verified, mine, "writer output changed: re-run the torch verification (see java-written.verified.txt)");
        String log = new String(PthWriterTest.class.getResourceAsStream("/pth/java-written.verified.txt").readAllBytes());
        assertTrue(log.strip().endsWith("OK"), "torch.load did not accept the file:\n" + log);
        assertTrue(log.contains("z.ramp float32 [3, 4] stride=[4, 1] [-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]"), log);
        assertTrue(log.contains("ids int64 [5] stride=[1] [0, -1, 1099511627776, 70000, -4611686018427387904]"), log);
    }

    @Test
    void roundTripIsExactAndAligned() throws Exception {
        Path out = dir.resolve("r.pth");
        fixtureContent().write(out);
        try (PthFile f = PthFile.open(out)) {
            assertEquals(List.of("z.ramp", "w4", "s", "empty", "ids", "a.half", "flag", "bytes"), List.copyOf(f.names()));
            assertEquals("archive", f.topFolder());
            assertEquals(-2f, f.get("z.ramp").at(0, 0));
            assertEquals(3.5f, f.get("z.ramp").at(2, 3));
            assertEquals(-7f, f.get("w4").at(1, 0, 1, 1));
            assertEquals(7f, f.get("s").get(0));
            assertArrayEquals(new int[] {0, 3}, f.get("empty").shape());
            assertArrayEquals(new long[] {0, -1, 1L << 40, 70000, -(1L << 62)}, f.longValues("ids"));
            assertArrayEquals(new float[] {1.5f, -2.25f, 65504f, Float.float16ToFloat(Float.floatToFloat16(1e-3f))}, f.get("a.half").toArray());
            assertArrayEquals(new long[] {1, 0, 1}, f.longValues("flag"));
            assertArrayEquals(new long[] {1, 200}, f.longValues("bytes"));
            for (String n : List.of("z.ramp", "w4", "s", "ids", "a.half")) {
                assertTrue(f.isInPlace(n), n);
                assertEquals(0, f.bytes(n).address() % 64, n + ": record data is 64-byte aligned (the mapping is page aligned)");
            }
            assertEquals(List.of(), f.warnings());
        }
    }

    @Test
    void manyTensorsSpanSeveralSetitemsBatches() throws Exception {
        PthWriter w = new PthWriter();
        for (int i = 0; i < 2500; i++) w.add("t" + i, Tensor.of(new float[] {i, -i}, 2));
        Path out = dir.resolve("many.pth");
        w.write(out);
        try (PthFile f = PthFile.open(out)) {
            assertEquals(2500, f.names().size());
            assertEquals(-2499f, f.get("t2499").get(1));
            assertEquals(1234f, f.get("t1234").get(0));
        }
    }

    @Test
    void refusesToOverwriteAndLeavesNoTemporaryFiles() throws Exception {
        Path out = dir.resolve("x.pth");
        Files.writeString(out, "precious");
        assertThrows(FileAlreadyExistsException.class, () -> fixtureContent().write(out));
        assertEquals("precious", Files.readString(out));
        fixtureContent().write(out, true);
        try (PthFile f = PthFile.open(out)) {
            assertEquals(8, f.names().size());
        }
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(out), s.toList());
        }
        if (out.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            Path plain = Files.createFile(dir.resolve("plain-file"));
            assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(out), "permissions of a normally created file");
        }
    }

    @Test
    void rejectsDuplicatesAndWrongSizes() {
        PthWriter w = new PthWriter().add("a", Tensor.scalar(1));
        assertThrows(IllegalArgumentException.class, () -> w.add("a", Tensor.scalar(2)));
        assertThrows(IllegalArgumentException.class, () -> w.addRaw("b", PthDType.INT32, new int[] {2}, MemorySegment.ofArray(new byte[4])));
        assertThrows(IllegalArgumentException.class, () -> w.addLongs("c", new long[] {1, 2}, 3));
    }
}
