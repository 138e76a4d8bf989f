package dev.segsam.bench;

import dev.segsam.model.Predictor;
import dev.segsam.model.Prompt;
import dev.segsam.model.preprocess.Preprocessor;
import dev.segsam.model.sam.SamConfig;
import dev.segsam.model.sam.SeededWeights;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.tensor.Backends;
import dev.segsam.tensor.Options;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.image.RgbImage;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * SAM ViT-B end to end through the product path ({@link Predictor}): {@code encode} = preprocess a 600×450 image and
 * run the image encoder; {@code decode} = one box prompt through the prompt encoder, mask decoder and postprocessing
 * to the original size (binary mask included); {@code decodeBoxes16} = 16 box prompts through
 * {@link Predictor#predict(Predictor.Encoded, java.util.List)} (batched). Seeded random weights (the architecture, not the values, sets the
 * cost). {@code cpu} = {@code fast} (Vector-API backend) or {@code reference}. Baseline:
 * {@code tools/reference/bench_sam_torch.py} on the same machine.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
        "--add-modules=jdk.incubator.vector", "-Xmx6g"})
public class SamBench {
    @Param({"fast"})
    String cpu;

    Predictor predictor;
    RgbImage image;
    Predictor.Encoded encoded;
    Prompt box;
    java.util.List<Prompt> boxes16;

    @Setup(Level.Trial)
    public void setup() {
        // -Dsegsam.* (threads, batch) mapped at this edge, the cpu parameter on top
        Options options = Options.fromSystemProperties().withCpu(Options.CpuKind.valueOf(cpu.toUpperCase(java.util.Locale.ROOT)));
        SegSam model = SegSam.load(SeededWeights.generate(SamConfig.vitB(), 20261126L), Backends.cpu(options));
        predictor = new Predictor(model, Preprocessor.Convention.SAM, options);
        image = testImage();
        encoded = predictor.encode(image, null);
        box = box(150, 100, 420, 330);
        boxes16 = boxes(16);
    }

    /** The 600×450 test image (a deterministic colour pattern). */
    static RgbImage testImage() {
        RgbImage image = RgbImage.black(600, 450);
        for (int y = 0; y < 450; y++) for (int x = 0; x < 600; x++) for (int c = 0; c < 3; c++) image.set(x, y, c, (x * 7 + y * 3 + c * 50) % 256);
        return image;
    }

    /** A single-mask box prompt in image pixels. */
    static Prompt box(float x0, float y0, float x1, float y1) {
        return Prompt.box(x0, y0, x1, y1);
    }

    /** {@code n} different box prompts on the 600×450 image. */
    static java.util.List<Prompt> boxes(int n) {
        java.util.List<Prompt> out = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) out.add(box(20 + 17 * i, 15 + 11 * i, 300 + 13 * i, 250 + 9 * i));
        return out;
    }

    @Benchmark
    @Warmup(iterations = 1, time = 1)
    @Measurement(iterations = 3, time = 1)
    public Tensor encode() {
        try (Predictor.Encoded e = predictor.encode(image, null)) {
            return e.features().fv().reshape(-1);
        }
    }

    @Benchmark
    @Warmup(iterations = 2, time = 2)
    @Measurement(iterations = 5, time = 2)
    public boolean[] decode() {
        return predictor.predict(encoded, box).mask();
    }

    /** 16 different box prompts on the encoded image through the multi-prompt API (batched decoder passes); prompts/s = 16 / time. */
    @Benchmark
    @Warmup(iterations = 1, time = 2)
    @Measurement(iterations = 3, time = 2)
    public java.util.List<Predictor.Result> decodeBoxes16() {
        return predictor.predict(encoded, boxes16);
    }
}
