package dev.segsam.tensor.fast;

import dev.segsam.tensor.Parallel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Kernel lab (not a test): thread CPU time of {@link FlashAttention#run} alone on SAM ViT-B's attention shapes, one
 * thread, for kernel work on a shared machine. Prints GFLOP/s (4·nq·nk·d per head: QKᵀ and P·V).
 * <pre>
 * java --add-modules jdk.incubator.vector -cp core-tensor/target/classes:core-tensor/target/test-classes \
 *     dev.segsam.tensor.fast.FlashAttentionLab [global|windowed] [reps]
 * </pre>
 */
public final class FlashAttentionLab {
    private FlashAttentionLab() {}

    public static void main(String[] args) {
        String which = args.length > 0 ? args[0] : "global";
        int reps = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        boolean windowed = which.equals("windowed");
        int H = 64, W = 64, D = 768, heads = 12, hd = D / heads, ws = windowed ? 14 : 0, T = H * W;
        int qh = windowed ? ws : H, qw = windowed ? ws : W, nH = windowed ? (H + ws - 1) / ws : 1, nW = nH;
        SplittableRandom rnd = new SplittableRandom(7);
        Arena arena = Arena.ofConfined();
        MemorySegment qkv = arena.allocate((long) T * 3 * D * 4, 64), out = arena.allocate((long) T * D * 4, 64);
        for (long i = 0; i < (long) T * 3 * D; i++) qkv.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) rnd.nextGaussian());
        float[] rh = new float[qh * qh * hd], rw = new float[qw * qw * hd];
        for (int i = 0; i < rh.length; i++) rh[i] = (float) rnd.nextGaussian() * 0.1f;
        for (int i = 0; i < rw.length; i++) rw[i] = (float) rnd.nextGaussian() * 0.1f;
        var tables = FlashAttention.RelTables.of(rh, rw, qh, qw, qh, qw, hd);
        float[] pad = new float[hd];
        long ld = 3L * D;
        int kwp = tables.kwp();
        FlashAttention.HeadSource src = (index, a) -> {
            int hh = index % heads, win = index / heads, wr = (win / nW) % nH, wc = win % nW;
            a.size(qh * qw, qh * kwp);
            a.q = a.k = a.v = qkv;
            a.out = out;
            a.kPad = a.vPad = pad;
            int nq = 0;
            for (int i = 0; i < qh; i++) {
                for (int j = 0; j < kwp; j++) {
                    int py = (windowed ? wr * ws : 0) + i, px = (windowed ? wc * ws : 0) + j, cell = i * kwp + j;
                    if (j >= qw) {
                        a.kRow[cell] = a.vRow[cell] = FlashAttention.GRID_PAD;
                    } else if (py < H && px < W) {
                        long t = (long) py * W + px;
                        a.kRow[cell] = t * ld + D + hh * hd;
                        a.vRow[cell] = t * ld + 2 * D + hh * hd;
                        a.qRow[nq] = t * ld + hh * hd;
                        a.oRow[nq] = t * D + hh * hd;
                        a.qCell[nq++] = i * qw + j;
                    } else {
                        a.kRow[cell] = a.vRow[cell] = FlashAttention.PAD;
                    }
                }
            }
            a.nq = nq;
        };
        int jobs = nH * nW * heads;
        double flops = 4.0 * jobs * (double) qh * qw * qh * qw * hd; // padded cells included: what a window computes
        var mx = ManagementFactory.getThreadMXBean();
        FlashAttention.run(Parallel.SEQUENTIAL, jobs, qh * qw, hd, hd, 0.125f, tables, src); // warm-up
        FlashAttention.run(Parallel.SEQUENTIAL, jobs, qh * qw, hd, hd, 0.125f, tables, src);
        double[] ms = new double[reps];
        for (int r = 0; r < reps; r++) {
            long t0 = mx.getCurrentThreadCpuTime();
            FlashAttention.run(Parallel.SEQUENTIAL, jobs, qh * qw, hd, hd, 0.125f, tables, src);
            ms[r] = (mx.getCurrentThreadCpuTime() - t0) / 1e6;
        }
        double sum = 0;
        for (long i = 0; i < (long) T * D; i += 997) sum += out.getAtIndex(ValueLayout.JAVA_FLOAT, i);
        Arrays.sort(ms);
        System.out.printf(Locale.ROOT, "%s: min %.1f ms, median %.1f ms, %.1f GFLOP/s at the median (checksum %.6f)%n", which, ms[0], ms[reps / 2],
                flops / ms[reps / 2] / 1e6, sum);
    }
}
