package dev.segsam.cli;

import dev.segsam.tensor.Device;
import dev.segsam.tensor.Options;
import picocli.CommandLine.Option;

/**
 * The compute flags of the commands that run a model ({@code --device}, {@code --threads}), a picocli mixin. Their
 * {@link #options()} is where the command line meets the library: the documented {@code -Dsegsam.*} properties
 * ({@link Options#fromSystemProperties()}) with these flags on top, made once per command and passed to
 * {@link dev.segsam.tensor.Backends#select(Options)} and the predictor.
 */
final class ComputeOptions {
    @Option(names = "--device", paramLabel = "cpu|cuda|auto", description = "where to run (default: -Dsegsam.device, else auto)")
    String device;

    @Option(names = "--threads", paramLabel = "N", description = "threads for CPU work (default: -Dsegsam.threads, else all cores)")
    Integer threads;

    /** The options of this run: the {@code segsam.*} system properties, then the flags. */
    Options options() {
        return Main.options(device, threads);
    }

    /**
     * As {@link #options()}, but on the CPU unless {@code --device} or {@code -Dsegsam.device} names a device: training
     * and evaluation do not follow {@code auto} onto a GPU (their CUDA path is new; ask for it with {@code --device cuda}).
     */
    Options cpuUnlessAsked() {
        Options o = options();
        return device == null && System.getProperty("segsam.device") == null ? o.withDevice(Device.CPU) : o;
    }
}
