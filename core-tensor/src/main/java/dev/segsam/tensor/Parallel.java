package dev.segsam.tensor;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/**
 * A tiny parallel-for over a fixed number of threads, as the CPU ops use it. Each CPU backend holds one, sized from
 * {@link Options#threads()} ({@link Backend#parallel()}), and passes it to the kernels it calls; nothing reads a global
 * thread count, so two backends with different thread counts run side by side in one JVM. {@code threads = 1} runs
 * every loop on the calling thread.
 *
 * <p>Workers: one {@link ForkJoinPool} of {@code threads} daemon workers per distinct thread count, made on first use
 * and shared by every backend with that count (so a test suite that makes hundreds of backends does not make hundreds
 * of pools); idle workers exit after a minute. A loop started on one of these workers runs sequentially: the outer
 * loop already occupies the threads.
 */
public final class Parallel {
    /** One thread: every loop runs on the calling thread. */
    public static final Parallel SEQUENTIAL = new Parallel(1);

    private static final ConcurrentHashMap<Integer, Parallel> SHARED = new ConcurrentHashMap<>();

    private final int threads;
    private final ForkJoinPool pool;

    private Parallel(int threads) {
        this.threads = threads;
        this.pool = threads == 1 ? null : new ForkJoinPool(threads, p -> new Worker(p), null, false);
    }

    /** The parallel-for over {@code threads} threads (≥ 1). */
    public static Parallel of(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        return threads == 1 ? SEQUENTIAL : SHARED.computeIfAbsent(threads, Parallel::new);
    }

    /** How many threads loops use. */
    public int threads() {
        return threads;
    }

    /** Runs {@code body(i)} for every {@code i} in {@code [0, n)}, in parallel when there is more than one thread. */
    public void forRange(int n, IntConsumer body) {
        if (n <= 0) return;
        if (pool == null || n == 1 || Thread.currentThread() instanceof Worker) {
            // sequential, or already inside a worker (nested parallelism adds nothing here)
            for (int i = 0; i < n; i++) body.accept(i);
            return;
        }
        // while this thread waits it may run queued work; hide its TensorScope so nothing of that lands in it
        TensorScope scope = TensorScope.suspend();
        try {
            pool.submit(() -> IntStream.range(0, n).parallel().forEach(body)).join();
        } finally {
            TensorScope.resume(scope);
        }
    }

    @Override
    public String toString() {
        return threads + (threads == 1 ? " thread" : " threads");
    }

    /** A worker thread of one of our pools (daemon, named for thread dumps). */
    private static final class Worker extends ForkJoinWorkerThread {
        Worker(ForkJoinPool pool) {
            super(null, pool, true);
            setName("segsam-cpu-" + pool.getParallelism() + "t");
        }
    }
}
