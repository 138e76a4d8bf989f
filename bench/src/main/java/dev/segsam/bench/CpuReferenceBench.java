package dev.segsam.bench;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.CpuBackend;
import dev.segsam.tensor.Tensor;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The CPU reference ops at SAM's shapes. These are the oracle, not the fast path: the numbers are the baseline the
 * fast CPU backend and the CUDA kernels are measured against (docs/PERF.md).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Xmx6g"})
public class CpuReferenceBench {

    static Tensor random(long seed, int... shape) {
        Random r = new Random(seed);
        float[] v = new float[Math.toIntExact(dev.segsam.tensor.Shapes.numel(shape))];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        return Tensor.of(v, shape);
    }

    /** Square SGEMM n×n·n×n; FLOP = 2n³. */
    @State(Scope.Benchmark)
    public static class Square {
        @Param({"256", "1024"})
        int n;
        Tensor a, b;
        final Backend cpu = new CpuBackend();

        @Setup(Level.Trial)
        public void setup() {
            a = random(1, n, n);
            b = random(2, n, n);
        }

        @TearDown(Level.Trial)
        public void close() {
            a.close();
            b.close();
        }
    }

    @Benchmark
    public Tensor matmulSquare(Square s) {
        return s.cpu.matmul(s.a, s.b);
    }

    /** The ViT-B linears at 4,096 tokens: qkv (768→2304), MLP up (768→3072), MLP down (3072→768). */
    @State(Scope.Benchmark)
    public static class SamLinear {
        @Param({"768x2304", "768x3072", "3072x768"})
        String shape;
        Tensor x, w, bias;
        final Backend cpu = new CpuBackend();

        @Setup(Level.Trial)
        public void setup() {
            String[] p = shape.split("x");
            int in = Integer.parseInt(p[0]), out = Integer.parseInt(p[1]);
            x = random(3, 4096, in);
            w = random(4, out, in);
            bias = random(5, out);
        }
    }

    @Benchmark
    public Tensor linearVitB(SamLinear s) {
        return s.cpu.linear(s.x, s.w, s.bias);
    }

    /**
     * ViT-B attention with decomposed relative position: {@code global} = one head of a global block (4,096 tokens,
     * head dim 64; a global block has 12 heads), {@code windowed} = one head over the 25 padded 14×14 windows of an
     * image (a windowed block has 12 heads).
     */
    @State(Scope.Benchmark)
    public static class SamAttention {
        @Param({"global", "windowed"})
        String kind;
        Tensor q, k, v;
        Backend.RelPos rel;
        final Backend cpu = new CpuBackend();

        @Setup(Level.Trial)
        public void setup() {
            int side = kind.equals("global") ? 64 : 14, batch = kind.equals("global") ? 1 : 25, d = 64;
            int n = side * side;
            q = random(6, batch, n, d);
            k = random(7, batch, n, d);
            v = random(8, batch, n, d);
            Tensor rh = cpu.relPosLookup(random(9, 2 * side - 1, d), side, side);
            Tensor rw = cpu.relPosLookup(random(10, 2 * side - 1, d), side, side);
            rel = new Backend.RelPos(rh, rw, side, side, side, side);
        }
    }

    @Benchmark
    public Tensor attentionVitB(SamAttention s) {
        return s.cpu.attention(s.q, s.k, s.v, 0.125f, s.rel);
    }
}
