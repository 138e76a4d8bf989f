package dev.segsam.tensor;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/**
 * A tiny parallel-for used by the CPU ops. The thread count is the system property {@code segsam.threads}
 * (default: all available processors); {@code -Dsegsam.threads=1} makes every op run sequentially.
 */
public final class Parallel {
    private Parallel() {}

    /** Number of worker threads the CPU ops use. */
    public static final int THREADS = Math.max(1, Integer.getInteger("segsam.threads",
            Runtime.getRuntime().availableProcessors()));

    private static final ForkJoinPool POOL = THREADS > 1 ? new ForkJoinPool(THREADS) : null;

    /** Runs {@code body(i)} for every {@code i} in {@code [0, n)}, in parallel when it is worth it. */
    public static void forRange(int n, IntConsumer body) {
        if (n <= 0) return;
        if (POOL == null || n == 1 || (Thread.currentThread() instanceof ForkJoinWorkerThread w && w.getPool() == POOL)) {
            // sequential, or already inside a worker of our pool (nested parallelism adds nothing here)
            for (int i = 0; i < n; i++) body.accept(i);
            return;
        }
        // while this thread waits it may run queued work; hide its TensorScope so nothing of that lands in it
        TensorScope scope = TensorScope.suspend();
        try {
            POOL.submit(() -> IntStream.range(0, n).parallel().forEach(body)).join();
        } finally {
            TensorScope.resume(scope);
        }
    }
}
