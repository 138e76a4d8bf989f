package dev.segsam.bench;

import dev.segsam.kernels.CudaBackend;
import dev.segsam.kernels.GemmEngine;
import dev.segsam.tensor.Options;
import dev.segsam.tensor.Tensor;
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
 * The CUDA backend's GEMM at SAM ViT-B's linear shapes, as the model calls it: {@code linear(x, W, null)} =
 * {@code x·Wᵀ} (x [M, K] and W [N, K] on the GPU, the output allocated from the pool and closed), one call per
 * invocation, <b>synchronised inside the measured method</b> (JMH times the host thread; without the sync it would
 * time kernel launches). The PyTorch baseline is {@code torch.matmul(x, W.T)} at the same shapes
 * ({@code tools/reference/bench_torch_gemm_gpu.py}); {@code scripts/gpu-check.sh} runs both and prints the ratios.
 *
 * <p>{@code mode}: the GEMM engine by its lab name ({@link #engine}): FP32 (fp32 tiles), TF32 (tensor cores);
 * FP32_TILE64/128 and FP32_NAIVE (one thread per output) for the kernel lab; CUBLAS_FP32/TF32 only where JCublas2 loads,
 * i.e. never on CUDA-13-only hosts. Shapes {@code linear:MxKxN}: 4096 tokens (global) and
 * 4900 (windowed, padded) × qkv 768→2304, MLP up 768→3072, MLP down 3072→768. FLOP = 2·M·K·N
 * ({@code tools/reference/jmh_gflops.py} prints GFLOP/s).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Measurement(iterations = 3, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
        "--add-modules=jdk.incubator.vector", "-Xmx4g"})
public class GpuGemmBench {

    @State(Scope.Benchmark)
    public static class Shape {
        @Param({"linear:4096x768x2304", "linear:4096x768x3072", "linear:4096x3072x768",
                "linear:4900x768x2304", "linear:4900x768x3072", "linear:4900x3072x768"})
        String shape;

        @Param({"FP32", "TF32"})
        String mode;

        CudaBackend cuda;
        Tensor x, w;

        @Setup(Level.Trial)
        public void setup() {
            String[] d = shape.split(":")[1].split("x");
            int m = Integer.parseInt(d[0]), k = Integer.parseInt(d[1]), n = Integer.parseInt(d[2]);
            Options options = Options.fromSystemProperties();
            // fails the trial with the one-line reason if unavailable
            cuda = CudaBackend.create(options, engine(mode), options.cudaAttention());
            try (Tensor hx = CpuReferenceBench.random(1, m, k); Tensor hw = CpuReferenceBench.random(2, n, k)) {
                x = cuda.upload(hx);
                w = cuda.upload(hw);
            }
            cuda.synchronize();
        }

        @TearDown(Level.Trial)
        public void close() {
            x.close();
            w.close();
            cuda.synchronize();
        }
    }

    @Benchmark
    @SuppressWarnings("try") // the result is only freed: the benchmark times the kernel
    public void linear(Shape s) {
        try (Tensor y = s.cuda.linear(s.x, s.w, null)) {
            s.cuda.synchronize();
        }
    }

    /** The lab's mode names (kept for the recorded results, gpu-check.sh and gpu_summary.py) → the GEMM engines. */
    static GemmEngine engine(String mode) {
        return switch (mode) {
            case "FP32" -> GemmEngine.FP32_TILED;
            case "TF32" -> GemmEngine.TF32_TENSOR_CORES;
            case "FP32_TILE64" -> GemmEngine.FP32_TILED_64;
            case "FP32_TILE128" -> GemmEngine.FP32_TILED_128;
            case "FP32_NAIVE" -> GemmEngine.FP32_PER_OUTPUT;
            default -> GemmEngine.valueOf(mode); // CUBLAS_FP32, CUBLAS_TF32, or an engine's own name
        };
    }
}
