package dev.segsam.io.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WriterTest {
    @TempDir
    Path dir;

    /**
     * Deterministic content whose writer output is committed as java-written.safetensors. That file was read by
     * the independent reader ({@code python3 tools/reference/safetensors_fixture.py verify ...}, output in
     * java-written.verified.txt); this test keeps the writer producing exactly those bytes.
     */
    static SafeTensorsWriter fixtureContent() {
        float[] ramp = new float[12];
        for (int i = 0; i < ramp.length; i++) ramp[i] = i * 0.5f - 2f;
        return new SafeTensorsWriter()
                .metadata("written_by", "segsam WriterTest")
                .metadata("config", "{\"k\": 3}")
                .add("z.ramp", Tensor.of(ramp, 3, 4))
                .add("a.half", Tensor.of(new float[] {1.5f, -2.25f, 65504f, 1e-3f}, 4), DType.F16)
                .add("m.bf16", Tensor.of(new float[] {3.140625f, -1f, 1e30f}, 3), DType.BF16)
                .addLongs("ids", new long[] {0, -1, 1L << 40}, 3)
                .addRaw("flag", DType.U8, new int[] {2}, MemorySegment.ofArray(new byte[] {1, (byte) 200}))
                .add("s", Tensor.scalar(7f));
    }

    @Test
    void writerOutputIsTheFileTheReferenceVerified() throws Exception {
        Path out = dir.resolve("w.safetensors");
        fixtureContent().write(out);
        byte[] mine = Files.readAllBytes(out);
        if (Boolean.getBoolean("segsam.regenerate")) {
            Files.write(Path.of("src/test/resources/safetensors/java-written.safetensors"), mine);
        }
        byte[] verified = Files.readAllBytes(ReferenceFixtureTest.resource(dir, "java-written.safetensors"));
        assertArrayEquals(verified, mine, "writer output changed: re-run the reference verification (see java-written.verified.txt)");
        String log = new String(WriterTest.class.getResourceAsStream("/safetensors/java-written.verified.txt").readAllBytes());
        assertTrue(log.strip().endsWith("OK"), "the reference reader did not accept the file:\n" + log);
    }

    @Test
    void roundTripAndLayoutRules() throws Exception {
        Path out = dir.resolve("r.safetensors");
        fixtureContent().write(out);
        try (SafeTensorsFile f = SafeTensorsFile.open(out)) {
            assertArrayEquals(new float[] {-2f, -1.5f, -1f}, java.util.Arrays.copyOf(f.get("z.ramp").toArray(), 3));
            assertArrayEquals(new float[] {1.5f, -2.25f, 65504f, Float.float16ToFloat(Float.floatToFloat16(1e-3f))}, f.get("a.half").toArray());
            assertArrayEquals(new float[] {3.140625f, -1f, 1.0002555517425873e30f /* torch: bfloat16(1e30) */}, f.get("m.bf16").toArray());
            assertArrayEquals(new long[] {0, -1, 1L << 40}, f.longValues("ids"));
            assertArrayEquals(new long[] {1, 200}, f.longValues("flag"));
            assertEquals("{\"k\": 3}", f.metadata().get("config"));
            // reference order: descending alignment (I64 > F32 > BF16 > F16 > U8), then name
            assertEquals(List.of("ids", "s", "z.ramp", "m.bf16", "a.half", "flag"), List.copyOf(f.names()));
            for (TensorInfo t : f.infos()) assertEquals(0, t.begin() % (t.dtype().bits / 8), t.name() + " is aligned");
        }
        long n = ByteBuffer.wrap(Files.readAllBytes(out), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, (8 + n) % 8, "data section starts on an 8-byte boundary");
    }

    @Test
    void refusesToOverwriteAndLeavesNoTemporaryFiles() throws Exception {
        Path out = dir.resolve("x.safetensors");
        Files.writeString(out, "precious");
        assertThrows(FileAlreadyExistsException.class, () -> fixtureContent().write(out));
        assertEquals("precious", Files.readString(out));
        fixtureContent().write(out, true);
        try (SafeTensorsFile f = SafeTensorsFile.open(out)) {
            assertEquals(6, f.names().size());
        }
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(out), s.toList());
        }
    }

    @Test
    void bf16RoundsToNearestEven() {
        // 1 + 2^-8 lies exactly between bf16 neighbours 1 and 1 + 2^-7: ties to even → 1.0
        assertEquals((short) 0x3F80, SafeTensorsWriter.toBf16(1f + 0x1p-8f));
        // 1 + 3·2^-8 lies between 1 + 2^-7 (odd) and 1 + 2^-6 (even): → 1 + 2^-6
        assertEquals((short) 0x3F82, SafeTensorsWriter.toBf16(1f + 3 * 0x1p-8f));
        assertTrue(Float.isNaN(Float.intBitsToFloat(SafeTensorsWriter.toBf16(Float.NaN) << 16)));
    }

    @Test
    void rejectsDuplicateAndReservedNames() {
        SafeTensorsWriter w = new SafeTensorsWriter().add("a", Tensor.scalar(1));
        assertThrows(IllegalArgumentException.class, () -> w.add("a", Tensor.scalar(2)));
        assertThrows(IllegalArgumentException.class, () -> w.add("__metadata__", Tensor.scalar(2)));
    }
}
