// One thread: thread CPU and heap bytes allocated per linear / linearGelu call on the ViT-B MLP-up shape (4096 x 768 -> 3072).
// Run: java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar tools/perf/LgLab.java
import dev.segsam.tensor.*;
import java.util.*;
public class LgLab {
    public static void main(String[] a) {
        Backend b = Backends.cpu(Options.fromSystemProperties().withCpu(Options.CpuKind.FAST).withThreads(1));
        SplittableRandom r = new SplittableRandom(1);
        float[] xv = new float[4096 * 768], wv = new float[3072 * 768], bv = new float[3072];
        for (int i = 0; i < xv.length; i++) xv[i] = (float) r.nextGaussian();
        for (int i = 0; i < wv.length; i++) wv[i] = (float) r.nextGaussian() * 0.036f;
        Tensor x = Tensor.of(xv, 4096, 768), w = Tensor.of(wv, 3072, 768), bias = Tensor.of(bv, 3072);
        var mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long[] alloc = new long[2];
        String[] names = {"linear", "linearGelu"};
        double[][] t = new double[2][7];
        for (int rep = -2; rep < 7; rep++) for (int k = 0; k < 2; k++) {
            long t0 = mx.getCurrentThreadCpuTime(), a0 = mx.getCurrentThreadAllocatedBytes();
            Tensor y = k == 0 ? b.linear(x, w, bias) : b.linearGelu(x, w, bias);
            if (rep >= 0) t[k][rep] = (mx.getCurrentThreadCpuTime() - t0) / 1e6;
            y.close();
            alloc[k] = mx.getCurrentThreadAllocatedBytes() - a0;
        }
        double gf = 2.0 * 4096 * 768 * 3072 / 1e9;
        for (int k = 0; k < 2; k++) { Arrays.sort(t[k]); System.out.printf(Locale.ROOT, "%s median %.1f ms %.1f GFLOP/s, last call allocated %d KB%n", names[k], t[k][3], gf / t[k][3] * 1e3, alloc[k] / 1024); }
    }
}
