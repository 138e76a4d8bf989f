package dev.segsam.tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/**
 * Chooses a backend for the {@link Options} it is given (nothing here reads a system property; the command line maps
 * {@code -Dsegsam.*} and its flags onto an {@code Options} value at its edge):
 * <ul>
 *   <li>{@code cpu}: the CPU backend of {@link #cpu(Options)} (fast or reference, with the options' threads; without
 *       the Vector API module one WARN names the JVM option to add, see there);</li>
 *   <li>{@code cuda}: the CUDA backend from a {@link BackendProvider} on the class path, or a
 *       {@link BackendUnavailableException} whose one-line message says why there is none;</li>
 *   <li>{@code auto}: CUDA when available, else CPU, with one DEBUG log line saying why CUDA was not used.</li>
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
                    LOG.log(System.Logger.Level.DEBUG, "device auto: using " + b.name());
                    yield b;
                }
                Backend cpu = cpu(options);
                LOG.log(System.Logger.Level.DEBUG, "device auto: using the CPU, " + cpu.name() + " (" + why + ")");
                yield cpu;
            }
        };
    }

    /** The JVM option the fast CPU path needs, as it is written on a {@code java} command line. */
    public static final String VECTOR_API_OPTION = "--add-modules jdk.incubator.vector";

    private static final java.util.concurrent.atomic.AtomicBoolean SLOW_CPU_WARNED = new java.util.concurrent.atomic.AtomicBoolean();

    /**
     * The CPU backend {@code options} ask for, on {@link Options#threads()} threads:
     * <ul>
     *   <li>{@link Options.CpuKind#AUTO}: the fast one ({@code dev.segsam.tensor.fast.FastCpuBackend}) when the JVM
     *       has the Vector API ({@value #VECTOR_API_OPTION}); otherwise the reference, with one WARN log line per JVM
     *       that names the option to add (the reference is about 11× slower on ViT-B);</li>
     *   <li>{@link Options.CpuKind#FAST}: the fast one, or a {@link BackendUnavailableException} naming the option;</li>
     *   <li>{@link Options.CpuKind#REFERENCE}: the reference {@link CpuBackend}.</li>
     * </ul>
     */
    public static Backend cpu(Options options) {
        return cpu(options, dev.segsam.tensor.fast.Sgemm.available(), SLOW_CPU_WARNED,
                message -> LOG.log(System.Logger.Level.WARNING, message));
    }

    /** {@link #cpu(Options)} with the Vector API's presence, the once-per-JVM flag and the warning sink given (tests). */
    static Backend cpu(Options options, boolean vectorApi, java.util.concurrent.atomic.AtomicBoolean warned,
                       java.util.function.Consumer<String> warn) {
        return switch (options.cpu()) {
            case REFERENCE -> new CpuBackend(options.threads());
            case FAST -> {
                if (!vectorApi) {
                    throw new BackendUnavailableException("the fast CPU path was requested (cpu fast), but this JVM lacks the Vector API: start java with "
                            + VECTOR_API_OPTION + " (and --enable-native-access=ALL-UNNAMED), or ask for cpu auto or reference");
                }
                yield new dev.segsam.tensor.fast.FastCpuBackend(options.threads());
            }
            case AUTO -> {
                if (vectorApi) yield new dev.segsam.tensor.fast.FastCpuBackend(options.threads());
                if (!warned.getAndSet(true)) {
                    warn.accept("the JVM lacks the Vector API, so segsam computes on its reference CPU backend (about 11x slower on ViT-B); "
                            + "start java with " + VECTOR_API_OPTION + " (and --enable-native-access=ALL-UNNAMED) for the fast path, "
                            + "or ask for cpu reference (segsam.cpu=reference, Options.CpuKind.REFERENCE) to silence this");
                }
                yield new CpuBackend(options.threads());
            }
        };
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
        try {
            Backend cpu = cpu(options);
            out.add("cpu: " + cpu.name() + ", " + cpu.parallel() + " (" + dev.segsam.tensor.fast.Sgemm.describe() + ")");
        } catch (BackendUnavailableException e) {
            out.add("cpu: unavailable: " + e.getMessage());
        }
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
