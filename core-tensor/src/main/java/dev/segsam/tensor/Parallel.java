package dev.segsam.tensor;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/**
 * A tiny parallel-for over a fixed number of threads, as the CPU ops use it. Each CPU backend holds one, sized from
 * {@link Options#threads()} ({@link Backend#parallel()}), and passes it to the kernels it calls; nothing reads a global
 * thread count, so two backends with different thread counts run side by side in one JVM. {@code threads = 1} runs
 * every loop on the calling thread.
 *
 * <p><b>The team (default).</b> A loop runs on the calling thread and {@code threads − 1} helper threads (daemons, one
 * set per distinct thread count, made on first use and shared by every backend with that count). The calling thread
 * publishes the loop and works on it at once; the helpers take chunks of indices from a shared counter (about four
 * chunks per thread, so a late or slow thread evens out). A helper that finds no loop spins for
 * {@code segsam.parallel.spinMicros} (default {@value #DEFAULT_SPIN_MICROS} µs) before it parks, and the caller spins
 * the same while the last chunks finish: a decode runs ~150 short loops separated by a few µs of sequential code, and a
 * loop handed to a fork-join pool whose workers had parked cost 31–41 µs to start and finish on the 2-core development
 * VM, under 1 µs on the team (docs/kernels-cpu.md, d17). Only one loop uses a team at a
 * time: a second thread that starts a loop meanwhile (the decoder warm-up beside the encode, concurrent requests of
 * {@code serve}) waits its turn, in arrival order, so the compute threads stay {@code threads}.
 *
 * <p><b>The reference.</b> {@code -Dsegsam.parallel=forkjoin} runs loops as before the team: a {@link ForkJoinPool}
 * of {@code threads} workers, the caller waiting; idle workers exit after a minute.
 *
 * <p>Either way a loop started inside a loop body (on a helper, or on the caller while it runs its share) runs
 * sequentially: the outer loop already occupies the threads. A body's exception ends the loop (chunks not yet begun
 * are skipped) and is rethrown to the caller as it was thrown.
 */
public final class Parallel {
    /** One thread: every loop runs on the calling thread. */
    public static final Parallel SEQUENTIAL = new Parallel(1);

    /** How long an idle thread of a team spins before it parks, unless {@code segsam.parallel.spinMicros} says. */
    public static final int DEFAULT_SPIN_MICROS = 50;

    private static final ConcurrentHashMap<Integer, Parallel> SHARED = new ConcurrentHashMap<>();
    private static final boolean FORK_JOIN = "forkjoin".equalsIgnoreCase(System.getProperty("segsam.parallel", "team").trim());
    private static final long SPIN_NANOS = 1000L * Long.getLong("segsam.parallel.spinMicros", DEFAULT_SPIN_MICROS);
    /** Set on a thread while it runs a share of a team's loop (the caller's own share): nested loops run sequentially. */
    private static final ThreadLocal<boolean[]> IN_LOOP = ThreadLocal.withInitial(() -> new boolean[1]);

    private final int threads;
    private final ForkJoinPool pool;
    private final Team team;

    private Parallel(int threads) {
        this.threads = threads;
        this.pool = threads == 1 || !FORK_JOIN ? null : new ForkJoinPool(threads, p -> new Worker(p), null, false);
        this.team = threads == 1 || FORK_JOIN ? null : new Team(threads);
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
        if (threads == 1 || n == 1 || Thread.currentThread() instanceof Worker || Thread.currentThread() instanceof Helper
                || IN_LOOP.get()[0]) {
            // sequential, or already inside a loop (nested parallelism adds nothing here)
            for (int i = 0; i < n; i++) body.accept(i);
            return;
        }
        // bodies never land in the caller's TensorScope (helpers have none; the caller's own share runs with it hidden)
        TensorScope scope = TensorScope.suspend();
        try {
            if (team != null) {
                team.run(n, body);
            } else {
                pool.submit(() -> IntStream.range(0, n).parallel().forEach(body)).join();
            }
        } finally {
            TensorScope.resume(scope);
        }
    }

    @Override
    public String toString() {
        return threads + (threads == 1 ? " thread" : " threads");
    }

    /** The caller plus {@code threads − 1} spinning-then-parking helpers; one loop at a time (a fair lock). */
    private static final class Team {
        private final Helper[] helpers;
        private final ReentrantLock turn = new ReentrantLock(true);
        /** The loop being run (or the last one); helpers compare it with the last one they saw. */
        private volatile Loop current;

        Team(int threads) {
            helpers = new Helper[threads - 1];
            for (int i = 0; i < helpers.length; i++) {
                helpers[i] = new Helper(this, threads, i);
                helpers[i].start();
            }
        }

        void run(int n, IntConsumer body) {
            turn.lock();
            boolean[] inLoop = IN_LOOP.get();
            try {
                Loop loop = new Loop(n, body, helpers.length + 1);
                current = loop;
                for (Helper h : helpers) if (h.parked) LockSupport.unpark(h);
                inLoop[0] = true;
                loop.work();
                loop.await();
                loop.body = null;
                if (loop.error != null) {
                    if (loop.error instanceof RuntimeException e) throw e;
                    if (loop.error instanceof Error e) throw e;
                    throw new RuntimeException(loop.error);
                }
            } finally {
                inLoop[0] = false;
                turn.unlock();
            }
        }
    }

    /** One {@code forRange}: chunks of indices handed out by a counter; the caller waits until every chunk is done. */
    private static final class Loop {
        final int n, chunk, chunks;
        /** Cleared once the loop is done, so that an idle team does not keep what the body captured reachable. */
        IntConsumer body;
        final AtomicInteger next = new AtomicInteger(), left;
        volatile Throwable error;
        volatile Thread waiter;

        Loop(int n, IntConsumer body, int threads) {
            this.n = n;
            this.body = body;
            this.chunk = Math.max(1, n / (4 * threads));
            this.chunks = (int) (((long) n + chunk - 1) / chunk);
            this.left = new AtomicInteger(chunks);
        }

        /** Takes chunks until none is left; the last chunk done wakes a parked caller. */
        void work() {
            int c;
            while ((c = next.getAndIncrement()) < chunks) {
                if (error == null) {
                    int from = (int) ((long) c * chunk), to = (int) Math.min(n, (long) from + chunk);
                    try {
                        for (int i = from; i < to; i++) body.accept(i);
                    } catch (Throwable t) {
                        if (error == null) error = t;
                    }
                }
                if (left.decrementAndGet() == 0) {
                    Thread w = waiter;
                    if (w != null) LockSupport.unpark(w);
                }
            }
        }

        /** The caller: spins while the last chunks finish, then parks until the last one wakes it. */
        void await() {
            long until = System.nanoTime() + SPIN_NANOS;
            while (left.get() > 0 && System.nanoTime() < until) Thread.onSpinWait();
            if (left.get() == 0) return;
            waiter = Thread.currentThread();
            while (left.get() > 0) LockSupport.park(this);
        }
    }

    /** A helper of a team: runs each new loop's chunks, spins a little for the next loop, then parks. */
    private static final class Helper extends Thread {
        private final Team team;
        volatile boolean parked;

        Helper(Team team, int threads, int index) {
            super("segsam-cpu-" + threads + "t-" + (index + 1));
            this.team = team;
            setDaemon(true);
        }

        @Override
        public void run() {
            Loop seen = null;
            while (true) {
                Loop loop = team.current;
                if (loop != seen) {
                    seen = loop;
                    loop.work();
                    continue;
                }
                long until = System.nanoTime() + SPIN_NANOS;
                while ((loop = team.current) == seen && System.nanoTime() < until) Thread.onSpinWait();
                if (loop != seen) continue;
                parked = true; // then re-check: a loop published before this write is seen below, a later one unparks us
                if (team.current == seen) LockSupport.park(this);
                parked = false;
            }
        }
    }

    /** A worker thread of one of our fork-join pools (the reference mode; daemon, named for thread dumps). */
    private static final class Worker extends ForkJoinWorkerThread {
        Worker(ForkJoinPool pool) {
            super(null, pool, true);
            setName("segsam-cpu-" + pool.getParallelism() + "t");
        }
    }
}
