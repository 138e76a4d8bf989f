package dev.segsam.tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/**
 * Chooses a backend for the {@link Options} it is given (nothing here reads a system property; the command line maps
 * {@code -Dsegsam.*} and its flags onto an {@code Options} value at its edge):
 * <ul>
 *   <li>{@code cpu}: the CPU backend of {@link #cpu(Options)} (fast or reference, with the options' threads);</li>
 *   <li>{@code cuda}: the CUDA backend from a {@link BackendProvider} on the class path, or a
 *       {@link BackendUnavailableException} whose one-line message says why there is none;</li>
 *   <li>{@code auto}: CUDA when available, else CPU, with one log line saying why CUDA was not used.</li>
 * </ul>
 * {@link Options#cudaProbe()} false ({@code segsam.cuda=off}) treats CUDA as unavailable without asking the provider.
 */
public final class Backends {
    private Backends() {}

    private static final System.Logger LOG = System.getLogger("segsam");

    /** Thrown when an explicitly requested device cannot be used. */
    public static final class BackendUnavailableException extends RuntimeException {
        public BackendUnavailableException(String message) {
            super(message);
        }
    }

    /** The backend for {@code device} with otherwise default {@link Options}, resolving AUTO (see the class comment). */
    public static Backend select(Device device) {
        return select(Options.defaults().withDevice(device));
    }

    /** The backend that {@code options} asks for, resolving device AUTO (see the class comment). */
    public static Backend select(Options options) {
        Device device = options.device();
        return switch (device) {
            case CPU -> cpu(options);
            case CUDA -> {
                BackendProvider p = provider(Device.CUDA);
                if (p == null) {
                    throw new BackendUnavailableException("device cuda requested, but the CUDA backend (module segsam-kernels) is not on the class path");
                }
                String why = unavailableReason(p, options);
                if (why != null) throw new BackendUnavailableException("device cuda requested, but CUDA is unavailable: " + why);
                yield p.create(options);
            }
            case AUTO -> {
                BackendProvider p = provider(Device.CUDA);
                String why = p == null ? "the CUDA backend is not on the class path" : unavailableReason(p, options);
                if (why == null) {
                    Backend b = p.create(options);
                    LOG.log(System.Logger.Level.INFO, "device auto: using " + b.name());
                    yield b;
                }
                Backend cpu = cpu(options);
                LOG.log(System.Logger.Level.INFO, "device auto: using the CPU, " + cpu.name() + " (" + why + ")");
                yield cpu;
            }
        };
    }

    /**
     * The CPU backend {@code options} ask for, on {@link Options#threads()} threads: the fast one
     * ({@code dev.segsam.tensor.fast.FastCpuBackend}) for {@link Options.CpuKind#FAST} when the JVM has the Vector API
     * ({@code --add-modules jdk.incubator.vector}; otherwise the reference, with one log line), the reference
     * {@link CpuBackend} for {@link Options.CpuKind#REFERENCE}.
     */
    public static Backend cpu(Options options) {
        if (options.cpu() == Options.CpuKind.REFERENCE) return new CpuBackend(options.threads());
        if (dev.segsam.tensor.fast.Sgemm.available()) return new dev.segsam.tensor.fast.FastCpuBackend(options.threads());
        LOG.log(System.Logger.Level.INFO, "cpu fast requested, using the reference: " + dev.segsam.tensor.fast.Sgemm.describe());
        return new CpuBackend(options.threads());
    }

    /** {@link #cpu(Options)} with the default options (fast, every available processor). */
    public static Backend cpu() {
        return cpu(Options.defaults());
    }

    /** {@link #describeProviders(Options)} with the default options. */
    public static List<String> describeProviders() {
        return describeProviders(Options.defaults());
    }

    /** Every provider on the class path, with its availability under {@code options}, for diagnostics ({@code segsam selftest}). */
    public static List<String> describeProviders(Options options) {
        List<String> out = new ArrayList<>();
        Backend cpu = cpu(options);
        out.add("cpu: " + cpu.name() + ", " + cpu.parallel() + " (" + dev.segsam.tensor.fast.Sgemm.describe() + ")");
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) {
            String why = unavailableReason(p, options);
            out.add(p.device() + ": " + (why == null ? "available" : "unavailable: " + why));
        }
        return out;
    }

    /** Why {@code p} cannot serve {@code options}: a GPU provider is not even asked when the probe is off. */
    private static String unavailableReason(BackendProvider p, Options options) {
        if (p.device() == Device.CUDA && !options.cudaProbe()) return "the GPU probe is off (segsam.cuda=off)";
        return p.unavailableReason(options);
    }

    private static BackendProvider provider(Device d) {
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) {
            if (p.device() == d) return p;
        }
        return null;
    }
}
