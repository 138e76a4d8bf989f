package dev.segsam.bench.lab;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Backends;
import dev.segsam.tensor.Tensor;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import java.util.function.Supplier;

/**
 * The decode's heaviest CPU ops at SAM ViT-B shapes, timed in <b>thread CPU time</b> on one thread: a measure that a
 * machine shared with other jobs disturbs far less than wall time (docs/kernels-cpu.md, "Decode II"). Run with
 * {@code -Dsegsam.threads=1} so all work happens on the calling thread:
 * <pre>
 * java --add-modules jdk.incubator.vector -Dsegsam.threads=1 -cp bench/target/benchmarks.jar dev.segsam.bench.lab.DecodeOpsLab [rounds] [name filter]
 * </pre>
 * Prints, per op, the best of {@code rounds} rounds (each the mean of several calls) in CPU ms and GFLOP/s where the
 * op is a GEMM.
 */
public final class DecodeOpsLab {
    private static final ThreadMXBean T = ManagementFactory.getThreadMXBean();

    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 7;
        only = args.length > 1 ? args[1] : "";
        Backend b = Backends.cpu(dev.segsam.tensor.Options.fromSystemProperties()); // -Dsegsam.threads=1: all work on this thread
        Random r = new Random(1);
        Tensor keys = rnd(r, 1, 4096, 256), w128 = rnd(r, 128, 256), b128 = rnd(r, 128);
        Tensor att = rnd(r, 1, 4096, 128), w256 = rnd(r, 256, 128), b256 = rnd(r, 256);
        Tensor src = rnd(r, 1, 256, 64, 64), up0w = rnd(r, 256, 64, 2, 2), up0b = rnd(r, 64);
        Tensor x1 = rnd(r, 1, 64, 128, 128), up1w = rnd(r, 64, 32, 2, 2), up1b = rnd(r, 32);
        Tensor g = rnd(r, 1, 32, 256, 256);
        Tensor sq = rnd(r, 1024, 1024);
        System.out.println(b.name() + ", " + dev.segsam.tensor.fast.Sgemm.describe());
        time("linear 4096x256->128", 2.0 * 4096 * 256 * 128, rounds, () -> b.linear(keys, w128, b128));
        time("linear 4096x128->256", 2.0 * 4096 * 128 * 256, rounds, () -> b.linear(att, w256, b256));
        time("convT up0 256->64 @64", 2.0 * 4096 * 256 * 256, rounds, () -> b.convTranspose2d(src, up0w, up0b, 2));
        time("convT up1 64->32 @128", 2.0 * 16384 * 64 * 128, rounds, () -> b.convTranspose2d(x1, up1w, up1b, 2));
        Tensor img128 = rnd(r, 1, 4096, 128), tok128 = rnd(r, 1, 7, 128), tok256 = rnd(r, 1, 7, 256);
        time("attn i2t q4096 k7 8 heads", 4.0 * 4096 * 7 * 128, rounds, () -> b.multiHeadAttention(img128, tok128, tok128, 8, 0.25f));
        time("attn t2i q7 k4096 8 heads", 4.0 * 4096 * 7 * 128, rounds, () -> b.multiHeadAttention(tok128, img128, img128, 8, 0.25f));
        time("attn self q7 k7 8 heads", 4.0 * 7 * 7 * 256, rounds, () -> b.multiHeadAttention(tok256, tok256, tok256, 8, 0.177f));
        // the absorbed cross attentions (TwoWayTransformer, issue 16 §2 "decode II"): 8 heads × 7 tokens = 56 columns
        Tensor q56 = rnd(r, 1, 56, 256), p56 = rnd(r, 1, 56, 4096), g56 = rnd(r, 56, 256), u56 = rnd(r, 256, 56), c56 = rnd(r, 56);
        Tensor s56 = rnd(r, 1, 4096, 56), sm7 = rnd(r, 1, 4096, 8, 7);
        time("absorb t2i scores 56x4096 K256 (matmulNT)", 2.0 * 56 * 4096 * 256, rounds, () -> b.matmulNT(q56, keys));
        time("absorb t2i values 56x256 K4096 (matmul)", 2.0 * 56 * 4096 * 256, rounds, () -> b.matmul(p56, keys));
        time("absorb i2t scores 4096x256->56 (linear)", 2.0 * 56 * 4096 * 256, rounds, () -> b.linear(keys, g56, c56));
        time("absorb i2t out 4096x56->256 (linear)", 2.0 * 56 * 4096 * 256, rounds, () -> b.linear(s56, u56, b256));
        time("absorb t2i as one-head attention q56 k4096 d256", 4.0 * 56 * 4096 * 256, rounds, () -> b.attention(q56, keys, keys, 1f, null));
        Tensor up = rnd(r, 1, 64, 128, 128), up1 = rnd(r, 1, 256, 64, 64), lnw = rnd(r, 64), lnb = rnd(r, 64);
        time("upscale stage 0 fused (convT+LN2d+GELU)", 2.0 * 4096 * 256 * 256, rounds, () -> b.convTranspose2dLayerNormGelu(up1, up0w, up0b, 2, lnw, lnb, 1e-6f));
        time("upscale stage 1 fused (convT+GELU)", 2.0 * 16384 * 64 * 128, rounds, () -> b.convTranspose2dGelu(up, up1w, up1b, 2));
        // the same with unit-scale outputs (weights scaled by 1/√(C·4)): GELU on N(0, 1) values, as after a trained layer
        Tensor up0ws = b.scale(up0w, 0.03f), up1ws = b.scale(up1w, 0.06f);
        time("upscale stage 0 fused, unit-scale outputs", 2.0 * 4096 * 256 * 256, rounds, () -> b.convTranspose2dLayerNormGelu(up1, up0ws, up0b, 2, lnw, lnb, 1e-6f));
        time("upscale stage 1 fused, unit-scale outputs", 2.0 * 16384 * 64 * 128, rounds, () -> b.convTranspose2dGelu(up, up1ws, up1b, 2));
        time("upscale stage 1 separate, unit-scale outputs", 2.0 * 16384 * 64 * 128, rounds, () -> b.gelu(b.convTranspose2d(up, up1ws, up1b, 2)));
        time("upscale stage 1 separate", 2.0 * 16384 * 64 * 128, rounds, () -> b.gelu(b.convTranspose2d(up, up1w, up1b, 2)));
        Tensor ln256w = rnd(r, 256), ln256b = rnd(r, 256);
        time("i2t out + residual + norm4 separate", 2.0 * 56 * 4096 * 256, rounds, () -> {
            try (Tensor o = b.linear(s56, u56, b256); Tensor sum = b.add(keys, o)) {
                return b.layerNorm(sum, ln256w, ln256b, 1e-5f);
            }
        });
        time("i2t out + residual + norm4 fused", 2.0 * 56 * 4096 * 256, rounds, () -> b.linearAddLayerNorm(s56, u56, b256, keys, ln256w, ln256b, 1e-5f));
        timeFresh("i2t out + residual + norm4 separate fresh", 2.0 * 56 * 4096 * 256, rounds, () -> {
            Tensor o = b.linear(s56, u56, b256), sum = b.add(keys, o);
            Tensor y = b.layerNorm(sum, ln256w, ln256b, 1e-5f);
            o.close();
            sum.close();
            return y;
        });
        timeFresh("i2t out + residual + norm4 fused fresh", 2.0 * 56 * 4096 * 256, rounds, () -> b.linearAddLayerNorm(s56, u56, b256, keys, ln256w, ln256b, 1e-5f));
        time("softmax [56,4096]", 0, rounds, () -> b.softmax(p56));
        time("softmax [4096,8,7]", 0, rounds, () -> b.softmax(sm7));
        time("gelu [1,32,256,256]", 0, rounds, () -> b.gelu(g));
        // GELU on wider inputs: the upscaling's activations with seeded weights have spreads of 8–30 (subnormal
        // intermediates before VectorMath's clamp, docs/PERF.md "decode II")
        for (float spread : new float[] {8f, 32f}) {
            Tensor gs = b.scale(g, spread);
            time("gelu [1,32,256,256] spread " + (int) spread, 0, rounds, () -> b.gelu(gs));
        }
        time("add [1,4096,256]", 0, rounds, () -> b.add(keys, keys));
        time("matmul 1024^3", 2.0 * 1024 * 1024 * 1024, rounds, () -> b.matmul(sq, sq));
        // the same linears when their outputs are not closed right away (the pool cannot hand the block back: every
        // call maps, faults in and zeroes fresh memory), as when a model leaves intermediates to the garbage collector
        timeFresh("linear 4096x256->128 fresh", 2.0 * 4096 * 256 * 128, rounds, () -> b.linear(keys, w128, b128));
        timeFresh("linear 4096x128->256 fresh", 2.0 * 4096 * 128 * 256, rounds, () -> b.linear(att, w256, b256));
        timeFresh("add [1,4096,256] fresh", 0, rounds, () -> b.add(keys, keys));
    }

    static void timeFresh(String name, double flop, int rounds, Supplier<Tensor> op) {
        java.util.List<Tensor> live = new java.util.ArrayList<>();
        time(name, flop, rounds, () -> {
            Tensor t = op.get();
            live.add(t);
            if (live.size() > 100) { // released in bulk, more than the pool keeps
                live.forEach(Tensor::close);
                live.clear();
            }
            return Tensor.scalar(0f);
        });
        live.forEach(Tensor::close);
    }

    static Tensor rnd(Random r, int... shape) {
        float[] v = new float[Math.toIntExact(dev.segsam.tensor.Shapes.numel(shape))];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        return Tensor.of(v, shape);
    }

    static String only = "";

    static void time(String name, double flop, int rounds, Supplier<Tensor> op) {
        if (!name.contains(only)) return;
        for (int i = 0; i < 20; i++) op.get().close(); // warm-up: C2 compiles the paths
        double[] ms = new double[rounds];
        for (int rr = 0; rr < rounds; rr++) {
            int n = 10;
            long c0 = T.getCurrentThreadCpuTime();
            for (int i = 0; i < n; i++) op.get().close();
            ms[rr] = (T.getCurrentThreadCpuTime() - c0) / 1e6 / n;
        }
        Arrays.sort(ms);
        System.out.printf(Locale.ROOT, "%-24s best %7.3f ms  median %7.3f ms%s%n", name, ms[0], ms[rounds / 2],
                flop > 0 ? String.format(Locale.ROOT, "  %6.1f GFLOP/s (best)", flop / ms[0] / 1e6) : "");
    }

    private DecodeOpsLab() {}
}
