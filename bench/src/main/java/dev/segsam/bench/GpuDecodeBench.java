package dev.segsam.bench;

import dev.segsam.kernels.CudaBackend;
import dev.segsam.tensor.Options;
import dev.segsam.model.Predictor;
import dev.segsam.model.Prompt;
import dev.segsam.model.preprocess.Preprocessor;
import dev.segsam.model.sam.SamConfig;
import dev.segsam.model.sam.SeededWeights;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.image.RgbImage;
import java.util.ArrayList;
import java.util.List;
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
 * SAM ViT-B's prompt side on the CUDA backend, through the product path ({@link Predictor#predict}: prompt encoder,
 * mask decoder — its attentions are the small-d flash launches — postprocessing to the original 1500×2000 size, the
 * binary mask on the host), on one image embedding computed once in the setup. Seeded random weights.
 * <ul>
 *   <li>{@code decode1}: one box prompt;</li>
 *   <li>{@code decode16}: 16 box prompts on the same embedding (whatever {@link Predictor#predict(Predictor.Encoded, List)}
 *       does with them: in order, one decoder pass each, on this branch);</li>
 *   <li>{@code upsample}: {@link Backend#postprocessMasks} alone, low-res logits [1, 3, 256, 256] → 1024², crop 768×1024 (h×w)
 *       → 1500×2000 (SAM-style postprocessing of a 4:3 photo): {@code impl=flash} runs the CUDA backend's fused
 *       kernel, {@code impl=tiled} the interface default's sequence (two interpolations and a crop), so the pair is the fusion's
 *       gain.</li>
 * </ul>
 * {@code impl} also selects the attention version (flash / tiled) for the decode benchmarks. PyTorch baseline:
 * {@code tools/reference/bench_torch_attention_gpu.py} (SAM's decoder on one embedding, 1 and 16 prompts).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
        "--add-modules=jdk.incubator.vector", "-Xmx6g"})
public class GpuDecodeBench {
    @Param({"FP32", "TF32"})
    String mode;

    @Param({"flash", "tiled"})
    String impl;

    CudaBackend cuda;
    Predictor predictor;
    Predictor.Encoded encoded;
    Prompt box;
    List<Prompt> boxes;
    Tensor lowRes;

    @Setup(Level.Trial)
    public void setup() {
        cuda = CudaBackend.create(Options.fromSystemProperties(), GpuGemmBench.engine(mode),
                "flash".equals(impl) ? Options.AttentionKind.FLASH : Options.AttentionKind.TILED);
        SegSam model = SegSam.load(SeededWeights.generate(SamConfig.vitB(), 20261126L), cuda);
        predictor = new Predictor(model, Preprocessor.Convention.SAM);
        RgbImage image = RgbImage.black(2000, 1500);
        for (int y = 0; y < 1500; y++) for (int x = 0; x < 2000; x++) for (int c = 0; c < 3; c++) image.set(x, y, c, (x * 7 + y * 3 + c * 50) % 256);
        encoded = predictor.encode(image, null);
        box = Prompt.box(500, 300, 1400, 1100);
        boxes = new ArrayList<>();
        for (int i = 0; i < 16; i++) boxes.add(Prompt.box(40f * i, 30f * i, 800 + 40f * i, 600 + 30f * i));
        try (Tensor h = CpuReferenceBench.random(7, 1, 3, 256, 256)) {
            lowRes = cuda.upload(h);
        }
        cuda.synchronize();
    }

    @TearDown(Level.Trial)
    public void close() {
        encoded.close();
        lowRes.close();
        cuda.synchronize();
    }

    @Benchmark
    public boolean[] decode1() {
        return predictor.predict(encoded, box).mask();
    }

    @Benchmark
    public int decode16() {
        int n = 0;
        for (Predictor.Result r : predictor.predict(encoded, boxes)) n += r.mask().length;
        return n;
    }

    @Benchmark
    @SuppressWarnings("try") // the result is only freed: the benchmark times the kernel
    public void upsample() {
        Backend b = cuda;
        try (Tensor m = "flash".equals(impl) ? cuda.postprocessMasks(lowRes, 1024, 768, 1024, 1500, 2000, false)
                : defaultPostprocess(b, lowRes)) {
            cuda.synchronize();
        }
    }

    /** The interface default's sequence (two interpolations, a crop) on the same backend: the unfused comparison. */
    private static Tensor defaultPostprocess(Backend b, Tensor x) {
        try (Tensor up = b.interpolateBilinear(x, 1024, 1024); Tensor rows = b.slice(up, 2, 0, 768); Tensor crop = b.slice(rows, 3, 0, 1024)) {
            return b.interpolateBilinear(crop, 1500, 2000);
        }
    }
}
