package dev.segsam.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/** {@link Parallel}'s contract under its default mode (the team): every index once, errors, nesting, concurrent callers. */
class ParallelTest {

    @Test
    void everyIndexRunsExactlyOnceForManySizes() {
        for (int threads : new int[] {2, 3, 4}) {
            Parallel p = Parallel.of(threads);
            for (int n : new int[] {1, 2, 3, 5, 7, 8, 15, 16, 17, 63, 100, 1000, 4099}) {
                AtomicIntegerArray hits = new AtomicIntegerArray(n);
                p.forRange(n, hits::incrementAndGet);
                for (int i = 0; i < n; i++) assertEquals(1, hits.get(i), "threads " + threads + ", n " + n + ", index " + i);
            }
            p.forRange(0, i -> { throw new AssertionError("no index in an empty range"); });
        }
    }

    @Test
    void manyShortLoopsInARowAllComplete() {
        // the decode's pattern: short loops with sequential work between them (helpers spin, then park, then wake)
        Parallel p = Parallel.of(2);
        for (int round = 0; round < 3000; round++) {
            int n = 1 + round % 9;
            AtomicInteger sum = new AtomicInteger();
            p.forRange(n, i -> sum.addAndGet(i + 1));
            assertEquals(n * (n + 1) / 2, sum.get(), "round " + round);
            if (round % 500 == 0) LockSupport.parkNanos(2_000_000); // long enough for the helper to park
        }
    }

    @Test
    void aBodysExceptionReachesTheCallerAsThrownAndTheTeamStaysUsable() {
        Parallel p = Parallel.of(3);
        IllegalStateException boom = new IllegalStateException("index 5");
        IllegalStateException got = assertThrows(IllegalStateException.class, () -> p.forRange(40, i -> {
            if (i == 5) throw boom;
        }));
        assertSame(boom, got);
        AssertionError error = assertThrows(AssertionError.class, () -> p.forRange(10, i -> {
            if (i == 9) throw new AssertionError("an Error too");
        }));
        assertEquals("an Error too", error.getMessage());
        AtomicIntegerArray hits = new AtomicIntegerArray(50);
        p.forRange(50, hits::incrementAndGet);
        for (int i = 0; i < 50; i++) assertEquals(1, hits.get(i));
    }

    @Test
    void aLoopInsideALoopRunsSequentiallyOnThatThread() {
        Parallel p = Parallel.of(2);
        AtomicIntegerArray hits = new AtomicIntegerArray(8 * 16);
        AtomicInteger nestedOnOtherThread = new AtomicInteger();
        p.forRange(8, outer -> {
            Thread t = Thread.currentThread();
            p.forRange(16, inner -> {
                if (Thread.currentThread() != t) nestedOnOtherThread.incrementAndGet();
                hits.incrementAndGet(outer * 16 + inner);
            });
        });
        for (int i = 0; i < hits.length(); i++) assertEquals(1, hits.get(i));
        assertEquals(0, nestedOnOtherThread.get());
    }

    @Test
    void concurrentCallersTakeTurnsAndNeverUseMoreThanTheTeam() throws Exception {
        // the decoder warm-up beside the encode, or serve's requests: four threads share one 2-thread team
        Parallel p = Parallel.of(2);
        AtomicInteger running = new AtomicInteger(), most = new AtomicInteger();
        ExecutorService callers = Executors.newFixedThreadPool(4);
        CountDownLatch start = new CountDownLatch(1);
        List<Future<Long>> results = new ArrayList<>();
        for (int c = 0; c < 4; c++) {
            int caller = c;
            results.add(callers.submit(() -> {
                start.await();
                long total = 0;
                for (int round = 0; round < 300; round++) {
                    AtomicInteger sum = new AtomicInteger();
                    p.forRange(20, i -> {
                        int now = running.incrementAndGet();
                        most.accumulateAndGet(now, Math::max);
                        sum.addAndGet(i + caller);
                        running.decrementAndGet();
                    });
                    total += sum.get();
                }
                return total;
            }));
        }
        start.countDown();
        for (int c = 0; c < 4; c++) assertEquals(300L * (190 + 20 * c), results.get(c).get(60, TimeUnit.SECONDS));
        callers.shutdown();
        assertTrue(most.get() <= 2, most.get() + " bodies ran at once on a 2-thread team");
    }
}
