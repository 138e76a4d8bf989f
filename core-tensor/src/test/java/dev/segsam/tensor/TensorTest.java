package dev.segsam.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class TensorTest {
    @Test
    void ofKeepsRowMajorValuesAndShape() {
        Tensor t = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        assertEquals(6, t.numel());
        assertEquals(6f, t.at(1, 2));
        assertEquals(3, t.size(-1));
        assertArrayEquals(new int[] {2, 3}, t.shape());
    }

    @Test
    void reshapeInfersMinusOneAndSharesStorage() {
        Tensor t = Tensor.zeros(2, 6);
        Tensor r = t.reshape(3, -1);
        assertArrayEquals(new int[] {3, 4}, r.shape());
        r.set(5, 42f);
        assertEquals(42f, t.get(5));
        assertThrows(IllegalArgumentException.class, () -> t.reshape(5, -1));
    }

    @Test
    void narrow0IsAViewOfRows() {
        Tensor t = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 3, 2);
        Tensor rows = t.narrow0(1, 2);
        assertArrayEquals(new float[] {3, 4, 5, 6}, rows.toArray());
        rows.set(0, -3f);
        assertEquals(-3f, t.at(1, 0));
        assertThrows(IndexOutOfBoundsException.class, () -> t.narrow0(2, 2));
    }

    @Test
    void closeFreesOwnedMemoryAndInvalidatesViews() {
        Tensor t = Tensor.zeros(4);
        Tensor view = t.reshape(2, 2);
        t.close();
        assertThrows(IllegalStateException.class, () -> view.get(0));
        assertThrows(IllegalStateException.class, t::close); // a second close is an error (TensorScopeTest has more)
    }

    @Test
    void wrapBorrowsWithoutCopyAndCloseDoesNotFree() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(16);
            seg.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 3, 7.5f);
            Tensor t = Tensor.wrap(seg, 2, 2);
            assertEquals(7.5f, t.at(1, 1));
            t.close();
            assertEquals(7.5f, seg.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 3)); // still alive
            assertFalse(((HostStorage) t.storage()).owned());
        }
    }

    @Test
    void allocateInArenaLivesAsLongAsTheArena() {
        Tensor t;
        try (Arena arena = Arena.ofConfined()) {
            t = Tensor.allocate(arena, 3).fill(2f);
            assertEquals(2f, t.get(2));
        }
        assertThrows(IllegalStateException.class, () -> t.get(0));
    }

    @Test
    void badShapesAreRejectedWithTheShapeInTheMessage() {
        var e = assertThrows(IllegalArgumentException.class, () -> Tensor.of(new float[3], 2, 2));
        assertTrue(e.getMessage().contains("[2, 2]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(2, -1));
        assertThrows(ArithmeticException.class, () -> Tensor.zeros(Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE));
    }

    @Test
    void broadcastShapes() {
        assertArrayEquals(new int[] {2, 3, 4}, Shapes.broadcast(new int[] {2, 1, 4}, new int[] {3, 1}));
        assertArrayEquals(new long[] {0, 1, 0}, Shapes.broadcastStrides(new int[] {3, 1}, new int[] {2, 3, 4}));
    }

    @Test
    void deviceSelection() {
        assertEquals(Device.CPU, Backends.select(Device.CPU).device());
        assertEquals(Device.CUDA, Device.parse(" CUDA "));
        var e = assertThrows(IllegalArgumentException.class, () -> Device.parse("tpu"));
        assertTrue(e.getMessage().contains("cpu, cuda or auto"));
        // core-tensor alone has no CUDA provider: auto falls back to the CPU, cuda fails with a one-line reason
        assertEquals(Device.CPU, Backends.select(Device.AUTO).device());
        var u = assertThrows(Backends.BackendUnavailableException.class, () -> Backends.select(Device.CUDA));
        assertFalse(u.getMessage().contains("\n"));
    }
}
