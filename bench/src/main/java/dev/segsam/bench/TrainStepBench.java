package dev.segsam.bench;

import dev.segsam.tensor.Options;
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
 * One SEG-SAM training step on a cached embedding at ViT-B decoder sizes, 5 prompted targets, 12 classes, all four
 * losses, forward + backward on the autodiff tape ({@link TrainStepRun#fixture}). Peer:
 * {@code tools/reference/train_step_torch.py} (PyTorch 1.13 autograd, same sizes); {@code scripts/train-step-ab.sh}
 * runs both (and another git ref) interleaved. One step takes seconds, so few iterations.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
        "--add-modules=jdk.incubator.vector", "-Xmx6g"})
@Warmup(iterations = 2)
@Measurement(iterations = 5)
public class TrainStepBench {
    @Param({"fast"})
    String cpu;

    TrainStepRun.Fixture fx;
    long seed;

    @Setup(Level.Trial)
    public void setup() {
        Options options = Options.fromSystemProperties().withCpu(Options.CpuKind.valueOf(cpu.toUpperCase(java.util.Locale.ROOT)));
        fx = TrainStepRun.fixture(options, 12, 5);
    }

    @Benchmark
    public double trainStep() {
        return fx.step(seed++);
    }
}
