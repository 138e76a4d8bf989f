package dev.segsam.cli.predict;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** Process CPU figures for {@code predict}'s {@code -Dsegsam.timing=true} line (docs/PERF.md, "cold start"). */
public final class ProcessCpu {
    private ProcessCpu() {}

    /** The CPU time of the whole process (every thread, JIT and GC included) so far, or 0 where the JVM cannot say. */
    public static long nanos() {
        return java.lang.management.ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
                ? Math.max(0, os.getProcessCpuTime()) : 0;
    }

    /**
     * ", JIT compiler threads N ms": the CPU time the JVM's compiler threads have used so far (Linux: /proc/self/task,
     * threads named "C1/C2 CompilerThre..."), or "" where it cannot be read. For the cold-start timing only.
     */
    public static String jitSuffix() {
        long ns = jitNanos();
        return ns < 0 ? "" : String.format(Locale.ROOT, ", JIT compiler threads %d", ns / 1_000_000);
    }

    /** The CPU time of the JVM's JIT compiler threads so far in ns (Linux, 10 ms steps), or -1 where it cannot be read. */
    public static long jitNanos() {
        try (var tasks = Files.list(Path.of("/proc/self/task"))) {
            long ticks = 0;
            for (Path t : (Iterable<Path>) tasks::iterator) {
                String stat;
                try {
                    stat = Files.readString(t.resolve("stat"));
                } catch (IOException gone) {
                    continue; // the thread ended
                }
                int open = stat.indexOf('('), close = stat.lastIndexOf(')');
                if (open < 0 || close < open || !stat.substring(open + 1, close).contains("CompilerThre")) continue;
                String[] f = stat.substring(close + 2).split(" "); // fields from 3 (state) on: utime is 14, stime 15
                ticks += Long.parseLong(f[11]) + Long.parseLong(f[12]);
            }
            return ticks * 10_000_000L; // USER_HZ = 100 on Linux
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }
}
