package dev.segsam.bench;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.CpuBackend;
import dev.segsam.tensor.Options;
import dev.segsam.tensor.Parallel;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.fast.Sgemm;
import dev.segsam.tensor.fast.Sgemm.Mat;
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
 * The fast CPU SGEMM ({@link Sgemm}) next to the CPU reference ({@link CpuBackend}) at the same shapes.
 *
 * <p>Shape parameter {@code op:dims}; FLOP per call = 2·batch·M·K·N (GFLOP/s = that / time; {@code
 * tools/reference/jmh_gflops.py} prints them from a JMH JSON file):
 * <ul>
 *   <li>{@code mm:MxKxN}: {@code C = A·B} ({@code matmul}).</li>
 *   <li>{@code linear:MxKxN}: {@code Y = X·Wᵀ + bias}, W is [N,K] (SAM ViT-B: 4,096 global or 4,900 windowed
 *       tokens; qkv 768→2304, MLP up 768→3072, MLP down 3072→768).</li>
 *   <li>{@code bmm:BxMxKxN} / {@code bmmT:BxMxKxN}: batched {@code A·B} / {@code A·Bᵀ}, e.g. attention P·V and Q·Kᵀ
 *       over 25 windows × 12 heads of 196 tokens, head dim 64.</li>
 * </ul>
 * {@code fast} uses all {@code segsam.threads} (default: all cores), {@code fast1t} one thread; {@code reference}
 * runs the oracle (all cores). Run: {@code scripts/bench.sh SgemmBench -rf json -rff sgemm.json}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
        "--add-modules=jdk.incubator.vector", "-Xmx6g"})
public class SgemmBench {
    /** The threads of the fast SGEMM: {@code -Dsegsam.threads} (mapped through {@link Options}), else all cores. */
    static final Parallel PAR = Parallel.of(Options.fromSystemProperties().threads());


    @State(Scope.Benchmark)
    public static class Shape {
        @Param({"mm:256x256x256", "mm:1024x1024x1024", "mm:2048x2048x2048",
                "linear:4096x768x2304", "linear:4096x768x3072", "linear:4096x3072x768",
                "linear:4900x768x2304", "linear:4900x768x3072", "linear:4900x3072x768",
                "bmmT:300x196x64x196", "bmm:300x196x196x64"})
        String shape;

        String op;
        int batch, m, k, n;
        Tensor a, b, bias, out, bRef; // bRef: what the reference multiplies by (Bᵀ materialised for bmmT)
        final Backend cpu = new CpuBackend();

        @Setup(Level.Trial)
        public void setup() {
            String[] p = shape.split(":");
            op = p[0];
            String[] d = p[1].split("x");
            int o = d.length == 4 ? 1 : 0;
            batch = o == 1 ? Integer.parseInt(d[0]) : 1;
            m = Integer.parseInt(d[o]);
            k = Integer.parseInt(d[o + 1]);
            n = Integer.parseInt(d[o + 2]);
            boolean transposed = op.equals("linear") || op.equals("bmmT");
            a = CpuReferenceBench.random(1, batch, m, k);
            b = transposed ? CpuReferenceBench.random(2, batch, n, k) : CpuReferenceBench.random(2, batch, k, n);
            bias = CpuReferenceBench.random(3, n);
            out = Tensor.zeros(batch, m, n);
            bRef = op.equals("bmmT") ? cpu.permute(b, 0, 2, 1) : b;
        }

        @TearDown(Level.Trial)
        public void close() {
            for (Tensor t : new Tensor[] {a, b, bias, out, bRef}) t.close();
        }

        void fast() {
            boolean transposed = op.equals("linear") || op.equals("bmmT");
            Sgemm.gemm(PAR, batch, m, n, k, new Mat(a.data(), 0, k, (long) m * k),
                    new Mat(b.data(), 0, transposed ? k : n, (long) k * n), transposed,
                    new Mat(out.data(), 0, n, (long) m * n), op.equals("linear") ? bias.data() : null);
        }

        Tensor reference() {
            return switch (op) {
                case "linear" -> cpu.linear(a.reshape(m, k), b.reshape(n, k), bias);
                default -> cpu.matmul(batch == 1 ? a.reshape(m, k) : a, batch == 1 ? bRef.reshape(k, n) : bRef);
            };
        }
    }

    @Benchmark
    public Tensor fast(Shape s) {
        s.fast();
        return s.out;
    }

    @Benchmark
    @Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
            "--add-modules=jdk.incubator.vector", "-Xmx6g", "-Dsegsam.threads=1"})
    public Tensor fast1t(Shape s) {
        s.fast();
        return s.out;
    }

    @Benchmark
    public Tensor reference(Shape s) {
        try (Tensor t = s.reference()) {
            return t;
        }
    }
}
