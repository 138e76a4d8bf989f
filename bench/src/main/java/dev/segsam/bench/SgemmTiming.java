package dev.segsam.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;

/**
 * Quick timing of the fast SGEMM outside JMH, for tuning on a shared machine (docs/kernels-cpu.md, v4–v5): per
 * {@link SgemmBench} shape, the median and best GFLOP/s over {@code -Dreps=15} calls after ≥ 1 s of warm-up calls, by wall
 * time and by the calling thread's CPU time (the latter is meaningful with {@code -Dsegsam.threads=1}, where it
 * ignores preemption by other tenants). Knobs: {@code segsam.threads}, {@code segsam.sgemm.kc}, {@code segsam.sgemm.mc}.
 * <pre>{@code java --add-modules jdk.incubator.vector -Dsegsam.threads=1 -cp bench/target/benchmarks.jar \
 *     dev.segsam.bench.SgemmTiming mm:1024x1024x1024 linear:4096x768x2304}</pre>
 */
public final class SgemmTiming {
    private SgemmTiming() {}

    public static void main(String[] args) {
        int reps = Integer.getInteger("reps", 15);
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        for (String shape : args) {
            SgemmBench.Shape s = new SgemmBench.Shape();
            s.shape = shape;
            s.setup();
            double flop = 2.0 * s.batch * s.m * s.k * s.n;
            double[] wall = new double[reps], cpu = new double[reps];
            for (long end = System.nanoTime() + 1_000_000_000L; System.nanoTime() < end; ) s.fast(); // JIT warm-up
            for (int i = 0; i < reps; i++) {
                long c0 = mx.getCurrentThreadCpuTime(), t0 = System.nanoTime();
                s.fast();
                long t = System.nanoTime() - t0, c = mx.getCurrentThreadCpuTime() - c0;
                wall[i] = flop / t;
                cpu[i] = flop / c;
            }
            Arrays.sort(wall);
            Arrays.sort(cpu);
            System.out.printf("%-26s wall: median %6.1f, best %6.1f GFLOP/s | thread CPU time: median %6.1f, best %6.1f%n",
                    shape, wall[reps / 2], wall[reps - 1], cpu[reps / 2], cpu[reps - 1]);
            s.close();
        }
    }
}
