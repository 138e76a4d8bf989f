import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A/B of two builds in one JVM, for a machine shared with other jobs (scripts/ab-sam.sh builds and runs it): each
 * benchmarks.jar in its own class loader (its own tensor pool and worker pool), the calls of {@link Bench} interleaved
 * A, B, B, A, ... so both builds see the same load. Prints per-call wall and process-CPU medians and the per-pair B/A
 * ratios. Arguments: jarA jarB encodes decodes classesDir (a decode sample is 5 calls).
 */
public class Ab {
    static long cpu() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    public static void main(String[] a) throws Exception {
        String[] jars = {a[0], a[1]};
        int encodes = Integer.parseInt(a[2]), decodes = Integer.parseInt(a[3]);
        Method[][] m = new Method[2][];
        for (int i = 0; i < 2; i++) {
            var cl = new URLClassLoader(new URL[] {Path.of(jars[i]).toUri().toURL(), Path.of(a[4]).toUri().toURL()}, ClassLoader.getPlatformClassLoader());
            Class<?> c = Class.forName("Bench", true, cl);
            m[i] = new Method[] {c.getMethod("setup"), c.getMethod("encode"), c.getMethod("decode")};
            Thread.currentThread().setContextClassLoader(cl);
            m[i][0].invoke(null);
        }
        for (int w = 0; w < 20; w++) for (int i = 0; i < 2; i++) m[i][2].invoke(null); // decode warm-up
        List<double[]> ew = new ArrayList<>(), ec = new ArrayList<>(), dw = new ArrayList<>(), dc = new ArrayList<>();
        for (int r = 0; r < encodes; r++) {
            double[] w = new double[2], c = new double[2];
            for (int k = 0; k < 2; k++) {
                int i = (r + k) % 2; // alternate who goes first
                long t = System.nanoTime(), u = cpu();
                m[i][1].invoke(null);
                w[i] = (System.nanoTime() - t) / 1e6;
                c[i] = (cpu() - u) / 1e6;
            }
            ew.add(w);
            ec.add(c);
            System.out.printf(Locale.ROOT, "encode %d: A %.0f ms (cpu %.0f)  B %.0f ms (cpu %.0f)%n", r, w[0], c[0], w[1], c[1]);
        }
        for (int r = 0; r < decodes; r++) {
            double[] w = new double[2], c = new double[2];
            for (int k = 0; k < 2; k++) {
                int i = (r + k) % 2;
                long t = System.nanoTime(), u = cpu();
                for (int j = 0; j < 5; j++) m[i][2].invoke(null);
                w[i] = (System.nanoTime() - t) / 5e6;
                c[i] = (cpu() - u) / 5e6;
            }
            dw.add(w);
            dc.add(c);
        }
        report("encode wall", ew);
        report("encode cpu ", ec);
        report("decode wall", dw);
        report("decode cpu ", dc);
    }

    static void report(String what, List<double[]> v) {
        double[] A = v.stream().mapToDouble(x -> x[0]).sorted().toArray(), B = v.stream().mapToDouble(x -> x[1]).sorted().toArray();
        double[] ratio = v.stream().mapToDouble(x -> x[1] / x[0]).sorted().toArray();
        System.out.printf(Locale.ROOT, "%s  A median %.1f ms  B median %.1f ms  B/A per pair: median %.3f (min %.3f, max %.3f, n %d)%n", what,
                A[A.length / 2], B[B.length / 2], ratio[ratio.length / 2], ratio[0], ratio[ratio.length - 1], ratio.length);
    }
}
