package dev.segsam.bench;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Backends;
import dev.segsam.tensor.CpuBackend;
import dev.segsam.tensor.Options;
import dev.segsam.tensor.Tensor;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * A/B timing of one op on SAM shapes for kernel work on a shared machine: the variants run interleaved (A, B, A, B,
 * …) and each reports its minimum and median, so a burst of load from another tenant hits both alike. Variants:
 * {@code fast} (the fast backend), {@code unfused} (the fast backend with its fused default-method overrides
 * disabled, i.e. the composition of its other ops), {@code reference}.
 * <pre>
 * java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.segsam.bench.OpTiming CASE [reps] [variants]
 * </pre>
 */
public final class OpTiming {
    /** The {@code -Dsegsam.*} properties of this run (threads above all). */
    static final Options OPTIONS = Options.fromSystemProperties();

    public static void main(String[] args) {
        String name = args.length > 0 ? args[0] : "encoderAttention.global";
        int reps = args.length > 1 ? Integer.parseInt(args[1]) : 7;
        String[] variants = args.length > 2 ? args[2].split(",") : new String[] {"fast", "unfused"};
        Map<String, Backend> backends = new LinkedHashMap<>();
        for (String v : variants) backends.put(v, backend(v));
        Function<Backend, Tensor> op = CpuOpsBench.Case.byName(name).op();
        Map<String, double[]> times = new LinkedHashMap<>();
        for (String v : variants) times.put(v, new double[reps]);
        for (String v : variants) op.apply(backends.get(v)).close(); // warm-up
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        boolean cpuTime = OPTIONS.threads() == 1;
        for (int r = 0; r < reps; r++) {
            for (String v : variants) {
                long t0 = cpuTime ? mx.getCurrentThreadCpuTime() : System.nanoTime();
                op.apply(backends.get(v)).close();
                times.get(v)[r] = ((cpuTime ? mx.getCurrentThreadCpuTime() : System.nanoTime()) - t0) / 1e6;
            }
        }
        if (cpuTime) System.out.println("(1 thread: thread CPU time)");
        for (var e : times.entrySet()) {
            double[] t = e.getValue().clone();
            Arrays.sort(t);
            System.out.printf(Locale.ROOT, "%-28s %-10s min %9.2f ms  median %9.2f ms%n", name, e.getKey(), t[0], t[t.length / 2]);
        }
    }

    /** {@code fast}, {@code reference}, or {@code unfused}: fast, with every default method run as its default composition. */
    static Backend backend(String v) {
        return switch (v) {
            case "fast" -> Backends.cpu(OPTIONS.withCpu(Options.CpuKind.FAST));
            case "reference" -> new CpuBackend(OPTIONS.threads());
            case "unfused" -> {
                Backend fast = Backends.cpu(OPTIONS.withCpu(Options.CpuKind.FAST));
                InvocationHandler h = (proxy, m, a) -> {
                    try {
                        return m.isDefault() ? InvocationHandler.invokeDefault(proxy, m, a) : m.invoke(fast, a);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                };
                yield (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, h);
            }
            default -> throw new IllegalArgumentException("variant fast, unfused or reference, got " + v);
        };
    }

    private OpTiming() {}
}
