package dev.segsam.io.pth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Views and storages that disagree with their zip records are refused on open, naming the tensor. */
class PthBadViewsTest {
    @TempDir
    Path dir;

    private Path file(String name, List<MemorySegment> storages, TorchPickle.TensorEntry... entries) throws Exception {
        Path p = dir.resolve(name);
        PthWriter.writeArchive(p, TorchPickle.stateDict(List.of(entries)), storages);
        return p;
    }

    private static MemorySegment floats(float... v) {
        MemorySegment s = MemorySegment.ofArray(new byte[v.length * 4]);
        for (int i = 0; i < v.length; i++) s.setAtIndex(Elements.F32, i, v[i]);
        return s;
    }

    private static TorchPickle.TensorEntry view(String name, long numel, long offset, long[] size, long[] stride) {
        return new TorchPickle.TensorEntry(name, PthDType.FLOAT32, "0", numel, offset, size, stride);
    }

    @Test
    void viewsPastTheirStorageAreRefused() throws Exception {
        MemorySegment six = floats(0, 1, 2, 3, 4, 5);
        Path ok = file("ok.pth", List.of(six), view("t", 6, 1, new long[] {2, 2}, new long[] {1, 3}),
                view("bcast", 6, 5, new long[] {3, 2}, new long[] {0, 0}));
        try (PthFile f = PthFile.open(ok)) {
            assertArrayEquals(new float[] {1, 4, 2, 5}, f.get("t").toArray(), "offset 1, strides (1, 3)");
            assertArrayEquals(new float[] {5, 5, 5, 5, 5, 5}, f.get("bcast").toArray());
        }
        Path past = file("past.pth", List.of(six), view("t", 6, 2, new long[] {2, 2}, new long[] {1, 3}));
        var e = assertThrows(PthFormatException.class, () -> PthFile.open(past));
        assertEquals("t", e.tensor());
        assertEquals(past + ": tensor \"t\": storage: the view (offset 2, size [2, 2], stride [1, 3]) reaches element 6 of a storage of 6", e.getMessage());

        Path huge = file("huge.pth", List.of(six), view("h", 6, 0, new long[] {1L << 40, 1L << 40}, new long[] {0, 0}));
        e = assertThrows(PthFormatException.class, () -> PthFile.open(huge));
        assertTrue(e.getMessage().endsWith("sizes overflow 64 bits"), e.getMessage());

        Path claims = file("claims.pth", List.of(six), view("c", 1L << 40, 0, new long[] {2}, new long[] {1}));
        e = assertThrows(PthFormatException.class, () -> PthFile.open(claims));
        assertTrue(e.getMessage().endsWith("record data/0 has 24 bytes, FloatStorage of 1099511627776 elements needs 4398046511104"), e.getMessage());

        Path missing = file("missing.pth", List.of(), view("m", 6, 0, new long[] {6}, new long[] {1}));
        e = assertThrows(PthFormatException.class, () -> PthFile.open(missing));
        assertTrue(e.getMessage().endsWith("tensor \"m\": storage: no record archive/data/0"), e.getMessage());
    }

    @Test
    void emptyViewsNeedNoStorageElements() throws Exception {
        Path p = file("empty.pth", List.of(MemorySegment.ofArray(new byte[0])), view("e", 0, 0, new long[] {0, 5}, new long[] {5, 1}));
        try (PthFile f = PthFile.open(p)) {
            assertEquals(0, f.get("e").numel());
            assertEquals(0, f.bytes("e").byteSize());
        }
    }
}
