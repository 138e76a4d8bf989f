package dev.segsam.bench;

import dev.segsam.kernels.CudaBackend;
import dev.segsam.tensor.Options;
import dev.segsam.tensor.Backend;
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
 * The CUDA backend's attention at SAM ViT-B's image-encoder shapes, with the decomposed rel-pos bias, as
 * {@code EncoderAttention} calls it: {@code attention(q, k, v, 0.125, relPos)} on {@code [B·heads, N, 64]} operands
 * (one call per invocation, synchronised inside the measured method).
 * <ul>
 *   <li>{@code global:12x4096x64} — one image, 12 heads, a 64×64 grid (rel-pos tables [64, 64, 64]);</li>
 *   <li>{@code window:300x196x64} — 25 windows × 12 heads of 14×14 tokens (tables [14, 14, 64]).</li>
 * </ul>
 * {@code impl}: {@code flash} (the fused kernels, lab v2/v3) or {@code tiled} (materialised score tiles, lab v1: GEMM,
 * rel-pos softmax, GEMM per query tile); {@code mode}: FP32 or TF32 (selects the flash variant and the tiles' GEMMs). FLOP = 4·B·N²·d (two products; the
 * bias adds 2·B·N·(kh + kw)·d). PyTorch baseline: {@code tools/reference/bench_torch_attention_gpu.py} (SDPA math fp32 and
 * bf16 flash, the bias added as SAM does).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Measurement(iterations = 3, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
        "--add-modules=jdk.incubator.vector", "-Xmx4g"})
public class GpuAttentionBench {

    @State(Scope.Benchmark)
    public static class Shape {
        @Param({"global:12x4096x64", "window:300x196x64"})
        String shape;

        @Param({"FP32", "TF32"})
        String mode;

        @Param({"flash", "tiled"})
        String impl;

        CudaBackend cuda;
        Tensor q, k, v, relH, relW;
        Backend.RelPos rel;

        @Setup(Level.Trial)
        public void setup() {
            String[] d = shape.split(":")[1].split("x");
            int b = Integer.parseInt(d[0]), n = Integer.parseInt(d[1]), hd = Integer.parseInt(d[2]);
            int side = (int) Math.round(Math.sqrt(n));
            cuda = CudaBackend.create(Options.fromSystemProperties(), GpuGemmBench.engine(mode),
                "flash".equals(impl) ? Options.AttentionKind.FLASH : Options.AttentionKind.TILED);
            try (Tensor hq = CpuReferenceBench.random(1, b, n, hd); Tensor hk = CpuReferenceBench.random(2, b, n, hd);
                 Tensor hv = CpuReferenceBench.random(3, b, n, hd); Tensor hh = CpuReferenceBench.random(4, side, side, hd);
                 Tensor hw = CpuReferenceBench.random(5, side, side, hd)) {
                q = cuda.upload(hq);
                k = cuda.upload(hk);
                v = cuda.upload(hv);
                relH = cuda.upload(hh);
                relW = cuda.upload(hw);
            }
            rel = new Backend.RelPos(relH, relW, side, side, side, side);
            cuda.synchronize();
        }

        @TearDown(Level.Trial)
        public void close() {
            for (Tensor t : new Tensor[] {q, k, v, relH, relW}) t.close();
            cuda.synchronize();
        }
    }

    @Benchmark
    @SuppressWarnings("try") // the result is only freed: the benchmark times the kernel
    public void attention(Shape s) {
        try (Tensor o = s.cuda.attention(s.q, s.k, s.v, 0.125f, s.rel)) {
            s.cuda.synchronize();
        }
    }
}
