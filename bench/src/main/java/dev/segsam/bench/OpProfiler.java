package dev.segsam.bench;

import dev.segsam.tensor.Backend;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Per-op wall time of a {@link Backend}: {@link #wrap} returns a proxy that forwards every call to the backend and adds
 * its wall time to a counter named after the method. Only the outermost call is timed (a default method that calls
 * other ops counts once, under its own name). Not thread-safe: profile one model call at a time.
 */
public final class OpProfiler {
    private final Map<String, long[]> stats = new TreeMap<>(); // name → {calls, nanos}
    /** {@code -Dsegsam.profile.shapes=true}: one row per op and input shapes instead of per op. */
    static final boolean SHAPES = Boolean.getBoolean("segsam.profile.shapes");
    /**
     * {@code -Dsegsam.profile.cpu=true}: the calling thread's CPU time instead of wall time. Meaningful with
     * {@code -Dsegsam.threads=1} (all work on the calling thread), and much less disturbed than wall time on a
     * machine shared with other jobs.
     */
    static final boolean CPU = Boolean.getBoolean("segsam.profile.cpu");
    private static final java.lang.management.ThreadMXBean THREADS = java.lang.management.ManagementFactory.getThreadMXBean();
    private int depth;

    private static long now() {
        return CPU ? THREADS.getCurrentThreadCpuTime() : System.nanoTime();
    }

    /** A backend that behaves like {@code b} and records into this profiler. */
    public Backend wrap(Backend b) {
        InvocationHandler h = (proxy, m, args) -> {
            boolean outer = depth++ == 0;
            long t0 = now();
            try {
                return m.invoke(b, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            } finally {
                depth--;
                if (outer) {
                    String key = m.getName();
                    if (SHAPES && args != null && args.length > 0 && args[0] instanceof dev.segsam.tensor.Tensor t) {
                        key += java.util.Arrays.toString(t.shape());
                        if (args.length > 1 && args[1] instanceof dev.segsam.tensor.Tensor u) key += "·" + java.util.Arrays.toString(u.shape());
                    }
                    long[] s = stats.computeIfAbsent(key, k -> new long[2]);
                    s[0]++;
                    s[1] += now() - t0;
                }
            }
        };
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, h);
    }

    public void reset() {
        stats.clear();
    }

    /** Total recorded milliseconds. */
    public double totalMs() {
        return stats.values().stream().mapToLong(s -> s[1]).sum() / 1e6;
    }

    /** One line per op, slowest first: name, calls, ms (divided by {@code runs}), share of the total. */
    public String table(int runs) {
        List<Map.Entry<String, long[]>> rows = new ArrayList<>(stats.entrySet());
        rows.sort((x, y) -> Long.compare(y.getValue()[1], x.getValue()[1]));
        double total = totalMs();
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "  %-44s %8s %10s %6s%n", "op", "calls", "ms/run", "share"));
        for (var e : rows) {
            double ms = e.getValue()[1] / 1e6;
            sb.append(String.format(Locale.ROOT, "  %-44s %8d %10.2f %5.1f%%%n", e.getKey(), e.getValue()[0] / runs, ms / runs, 100 * ms / total));
        }
        sb.append(String.format(Locale.ROOT, "  %-44s %8s %10.2f%n", "total in ops", "", total / runs));
        return sb.toString();
    }
}
