package dev.segsam.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The lifetime rules of {@link Tensor} and {@link TensorScope} (the class comments state them). */
class TensorScopeTest {
    private final Backend b = new CpuBackend();

    @Test
    void aScopeClosesWhatItAllocatedExceptWhatIsKept() {
        Tensor temp, view, kept;
        try (TensorScope s = TensorScope.open()) {
            temp = Tensor.zeros(2, 3);
            view = temp.reshape(6);
            Tensor x = Tensor.of(new float[] {1, 2, 3}, 3);
            kept = s.keep(b.add(x, x)); // x and the op's output: two allocations; views do not count
            assertEquals(2, s.size());
        }
        assertFalse(temp.isOpen());
        assertFalse(view.isOpen());
        assertThrows(IllegalStateException.class, () -> view.get(0));
        assertEquals(6f, kept.get(2));
        kept.close(); // the caller owns it now (no enclosing scope)
        assertFalse(kept.isOpen());
    }

    @Test
    void keptTensorsMoveToTheEnclosingScope() {
        Tensor inner;
        try (TensorScope outer = TensorScope.open()) {
            try (TensorScope s = TensorScope.open()) {
                inner = s.keep(Tensor.zeros(4));
                Tensor.zeros(5);
            }
            assertTrue(inner.isOpen());
            assertEquals(1, outer.size());
        }
        assertFalse(inner.isOpen());
    }

    @Test
    void inputsWeightsAndOuterTensorsAreNeverClosedByAnInnerScope() {
        Tensor input = Tensor.zeros(3); // no scope: the caller's
        Tensor outerTemp;
        try (TensorScope outer = TensorScope.open()) {
            outerTemp = Tensor.zeros(3);
            try (TensorScope s = TensorScope.open()) {
                assertSame(input, s.keep(input));         // passing an input through is fine
                assertSame(outerTemp, s.keep(outerTemp)); // and so is an outer scope's tensor
                assertNull(s.keep((Tensor) null));
                b.add(input, outerTemp);
            }
            assertTrue(outerTemp.isOpen());
        }
        assertTrue(input.isOpen());
        assertFalse(outerTemp.isOpen());
        input.close();
    }

    @Test
    void keepingAViewKeepsItsMemoryOnce() {
        Tensor view;
        try (TensorScope s = TensorScope.open()) {
            Tensor t = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2);
            view = s.keep(t.narrow0(1, 1).reshape(2));
            s.keep(t); // the same allocation: already kept
        }
        assertEquals(3f, view.get(0));
        view.close();
    }

    @Test
    void closingTwiceIsAnErrorNamingTheTensor() {
        Tensor t = Tensor.zeros(2, 3);
        Tensor view = t.reshape(3, 2);
        view.close();
        var e = assertThrows(IllegalStateException.class, t::close);
        assertTrue(e.getMessage().contains("tensor [2, 3] on cpu"), e.getMessage());
        assertTrue(e.getMessage().contains("closed twice"), e.getMessage());
        if (Lifetime.DEBUG) {
            assertTrue(e.getMessage().contains("made by TensorScopeTest.closingTwiceIsAnErrorNamingTheTensor"), e.getMessage());
            assertTrue(e.getMessage().contains("it was closed at TensorScopeTest.closingTwiceIsAnErrorNamingTheTensor"), e.getMessage());
        }
    }

    @Test
    void closingATensorOfAClosedScopeIsAnError() {
        Tensor t;
        try (TensorScope s = TensorScope.open()) {
            t = Tensor.zeros(7);
        }
        var e = assertThrows(IllegalStateException.class, t::close);
        if (Lifetime.DEBUG) assertTrue(e.getMessage().contains("closed with the TensorScope opened at TensorScopeTest"), e.getMessage());
    }

    @Test
    void anEarlyCloseByHandIsForgottenByTheScope() {
        try (TensorScope s = TensorScope.open()) {
            Tensor x = Tensor.zeros(8);
            for (int i = 0; i < 40; i++) { // a loop that replaces its activation, as the image encoder does
                Tensor y = b.add(x, x);
                x.close();
                x = y;
            }
            assertEquals(1, s.size());
        } // closes only the last one: no "closed twice"
    }

    @Test
    void useAfterCloseNamesTheTensorAndTheOpThatMadeIt() {
        Tensor a = Tensor.zeros(2, 3);
        Tensor y = b.add(a, a);
        y.close();
        var e = assertThrows(IllegalStateException.class, () -> y.get(0));
        assertTrue(e.getMessage().contains("tensor [2, 3] on cpu"), e.getMessage());
        assertTrue(e.getMessage().contains("used after close()"), e.getMessage());
        if (Lifetime.DEBUG) {
            assertTrue(e.getMessage().contains("made by CpuBackend.broadcastBinary:") && e.getMessage().contains(" in CpuBackend.add:"), e.getMessage());
            assertTrue(e.getMessage().contains("called from TensorScopeTest.useAfterCloseNamesTheTensorAndTheOpThatMadeIt"), e.getMessage());
        } else {
            assertTrue(e.getMessage().contains("-Dsegsam.tensor.debug=true"), e.getMessage());
        }
        // every way in is guarded, views included
        assertThrows(IllegalStateException.class, y::data);
        assertThrows(IllegalStateException.class, y::storage);
        assertThrows(IllegalStateException.class, () -> y.reshape(6));
        assertThrows(IllegalStateException.class, () -> b.add(y, a));
        var v = assertThrows(IllegalStateException.class, () -> y.narrow0(0, 1));
        assertTrue(v.getMessage().contains("[2, 3]"), v.getMessage());
        a.close();
    }

    @Test
    void aStaleSegmentFailsInsteadOfWritingIntoTheTensorThatRecycledItsMemory() {
        assumeTrue(Lifetime.DEBUG, "needs -Dsegsam.tensor.debug=true (the test suite sets it)");
        int n = 12_347; // a size no other test uses, so the pool hands the block straight back
        Tensor t = Tensor.zeros(n);
        MemorySegment stale = t.data();
        long address = stale.address();
        t.close();
        Tensor u = Tensor.zeros(n);
        assertEquals(address, u.data().address(), "the pool recycled the block (else the test proves nothing)");
        assertThrows(IllegalStateException.class, () -> stale.setAtIndex(Tensor.LAYOUT, 5, 42f));
        assertThrows(IllegalStateException.class, () -> stale.getAtIndex(Tensor.LAYOUT, 5));
        assertEquals(0f, u.get(5));
        u.close();
    }

    @Test
    void aSegmentStaysUsableWhileItsTensorIsOpen() {
        Tensor t = Tensor.zeros(4);
        MemorySegment seg = t.data();
        seg.setAtIndex(Tensor.LAYOUT, 2, 9f);
        assertEquals(9f, t.get(2));
        assertEquals(9f, t.reshape(2, 2).data().getAtIndex(Tensor.LAYOUT, 2));
        t.close();
    }

    @Test
    void keepingARecordKeepsEveryTensorInIt() {
        record Pair(Tensor a, Tensor b) {}
        record Out(Pair pair, List<Tensor> rest, Tensor missing) {}
        Out o;
        Tensor dropped;
        try (TensorScope s = TensorScope.open()) {
            dropped = Tensor.zeros(1);
            o = s.keep(new Out(new Pair(Tensor.zeros(1), Tensor.zeros(2)), List.of(Tensor.zeros(3), Tensor.zeros(4)), null));
            assertEquals(1, s.size());
        }
        assertFalse(dropped.isOpen());
        assertTrue(o.pair().a().isOpen() && o.pair().b().isOpen() && o.rest().get(0).isOpen() && o.rest().get(1).isOpen());
    }

    @Test
    void detachedTensorsOutliveTheirScope() {
        Tensor w;
        try (TensorScope s = TensorScope.open()) {
            w = TensorScope.detach(Tensor.zeros(3)); // e.g. a weight loaded while a caller's scope is open
            assertEquals(0, s.size());
        }
        assertTrue(w.isOpen());
        w.close();
    }

    @Test
    void withoutAScopeNothingChanges() {
        assertFalse(TensorScope.isOpen());
        Tensor t = b.add(Tensor.zeros(2), Tensor.zeros(2));
        assertTrue(t.isOpen());
        t.close();
    }

    @Test
    void borrowedMemoryNeverJoinsAScopeAndCloseDoesNothing() {
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            Tensor w;
            try (TensorScope s = TensorScope.open()) {
                w = Tensor.wrap(arena.allocate(16), 4);
                assertEquals(0, s.size());
            }
            w.close();
            w.close();
            assertTrue(w.isOpen());
            assertEquals(0f, w.get(3));
        }
    }

    @Test
    void aBorrowedViewIgnoresCloseAndScopesAndDiesWithItsOwner() {
        Tensor owner = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        Tensor b;
        try (TensorScope s = TensorScope.open()) {
            b = owner.narrow0(1, 1).borrow();
            assertEquals(0, s.size());
            Tensor r = b.reshape(3);
            r.close();
            b.close();
        }
        assertTrue(b.isOpen());
        assertSame(owner.storage(), b.storage());
        assertEquals(5f, b.get(1));
        owner.close();
        assertFalse(b.isOpen());
        assertThrows(IllegalStateException.class, () -> b.get(0));
        assertThrows(IllegalStateException.class, b::storage);
    }

    @Test
    void anInnerScopeLeftOpenIsClosedWithItsParentAndReported() {
        Tensor t;
        TensorScope outer = TensorScope.open();
        TensorScope.open(); // never closed: a missing try-with-resources
        t = Tensor.zeros(2);
        var e = assertThrows(IllegalStateException.class, outer::close);
        assertTrue(e.getMessage().contains("inner scope"), e.getMessage());
        assertFalse(t.isOpen());
        assertFalse(TensorScope.isOpen());
        assertThrows(IllegalStateException.class, outer::close); // closed twice
    }

    @Test
    void keepOnAnOuterScopeWhileAnInnerIsOpenIsAnError() {
        try (TensorScope outer = TensorScope.open()) {
            try (TensorScope inner = TensorScope.open()) {
                Tensor t = Tensor.zeros(1);
                assertThrows(IllegalStateException.class, () -> outer.keep(t));
            }
        }
    }

    @Test
    void aScopeBelongsToItsThread() throws Exception {
        try (TensorScope s = TensorScope.open()) {
            AtomicReference<Tensor> other = new AtomicReference<>();
            AtomicReference<Throwable> keepError = new AtomicReference<>(), closeError = new AtomicReference<>();
            Thread th = new Thread(() -> {
                other.set(Tensor.zeros(3)); // not in s: s is not this thread's
                keepError.set(catching(() -> s.keep(other.get())));
                closeError.set(catching(s::close));
            });
            th.start();
            th.join();
            assertEquals(0, s.size());
            assertTrue(keepError.get() instanceof IllegalStateException, String.valueOf(keepError.get()));
            assertTrue(closeError.get() instanceof IllegalStateException, String.valueOf(closeError.get()));
            Tensor mine = Tensor.zeros(3);
            assertEquals(1, s.size());
            Thread closer = new Thread(mine::close); // closing by hand from another thread is allowed
            closer.start();
            closer.join();
            assertFalse(mine.isOpen());
            assertTrue(other.get().isOpen());
            other.get().close();
        } // skips the tensor the other thread closed
    }

    @Test
    void workRunByParallelNeverLandsInTheCallersScope() {
        ConcurrentLinkedQueue<Tensor> made = new ConcurrentLinkedQueue<>();
        try (TensorScope s = TensorScope.open()) {
            Parallel.of(4).forRange(64, i -> made.add(Tensor.zeros(1 + i)));
            assertEquals(0, s.size());
            assertSame(s, currentAfterParallel(s));
        }
        assertEquals(64, made.size());
        for (Tensor t : made) {
            assertTrue(t.isOpen());
            t.close();
        }
    }

    /** The scope is current again after Parallel returns: a tensor allocated now joins it. */
    private static TensorScope currentAfterParallel(TensorScope s) {
        int before = s.size();
        Tensor t = Tensor.zeros(1);
        assertEquals(before + 1, s.size());
        t.close();
        return s;
    }

    @Test
    void eachThreadHasItsOwnScopes() throws Exception {
        List<Thread> threads = new ArrayList<>();
        ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<Tensor> results = new ConcurrentLinkedQueue<>();
        for (int k = 0; k < 4; k++) {
            threads.add(new Thread(() -> {
                try {
                    for (int r = 0; r < 50; r++) {
                        try (TensorScope s = TensorScope.open()) {
                            Tensor x = Tensor.of(new float[] {1, 2}, 2);
                            Tensor y = b.add(b.add(x, x), x);
                            results.add(s.keep(y));
                            if (s.size() != 2) throw new AssertionError("scope holds " + s.size());
                        }
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            }));
        }
        threads.forEach(Thread::start);
        for (Thread t : threads) t.join();
        assertTrue(errors.isEmpty(), errors.toString());
        assertEquals(200, results.size());
        for (Tensor y : results) {
            assertEquals(6f, y.get(1));
            y.close();
        }
    }

    private static Throwable catching(Runnable r) {
        try {
            r.run();
            return null;
        } catch (Throwable e) {
            return e;
        }
    }
}
