package dev.segsam.tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/**
 * Chooses a backend for a {@link Device}:
 * <ul>
 *   <li>{@code cpu}: the fast CPU backend, or the CPU reference with {@code -Dsegsam.cpu=reference} or without the
 *       Vector API ({@link #cpu()});</li>
 *   <li>{@code cuda}: the CUDA backend from a {@link BackendProvider} on the class path, or a
 *       {@link BackendUnavailableException} whose one-line message says why there is none;</li>
 *   <li>{@code auto}: CUDA when available, else CPU, with one log line saying why CUDA was not used.</li>
 * </ul>
 * The default device comes from the system property {@code segsam.device} (cpu, cuda or auto; default auto).
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

    /** The device named by {@code -Dsegsam.device}, default {@link Device#AUTO}. */
    public static Device defaultDevice() {
        return Device.parse(System.getProperty("segsam.device", "auto"));
    }

    /** The backend for {@code device}, resolving AUTO (see the class comment). */
    public static Backend select(Device device) {
        return select(Options.defaults().withDevice(device)); // TODO(issue 13): callers pass Options
    }

    /** The backend that {@code options} asks for, resolving device AUTO (see the class comment). */
    public static Backend select(Options options) {
        Device device = options.device();
        return switch (device) {
            case CPU -> cpu();
            case CUDA -> {
                BackendProvider p = provider(Device.CUDA);
                if (p == null) {
                    throw new BackendUnavailableException("device cuda requested, but the CUDA backend (module segsam-kernels) is not on the class path");
                }
                String why = p.unavailableReason(options);
                if (why != null) throw new BackendUnavailableException("device cuda requested, but CUDA is unavailable: " + why);
                yield p.create(options);
            }
            case AUTO -> {
                BackendProvider p = provider(Device.CUDA);
                String why = p == null ? "the CUDA backend is not on the class path" : p.unavailableReason(options);
                if (why == null) {
                    Backend b = p.create(options);
                    LOG.log(System.Logger.Level.INFO, "device auto: using " + b.name());
                    yield b;
                }
                Backend cpu = cpu();
                LOG.log(System.Logger.Level.INFO, "device auto: using the CPU, " + cpu.name() + " (" + why + ")");
                yield cpu;
            }
        };
    }

    /**
     * The CPU backend: the fast one ({@code dev.segsam.tensor.fast.FastCpuBackend}) when {@code segsam.cpu=fast} (the
     * default) and the JVM has the Vector API ({@code --add-modules jdk.incubator.vector}), else the reference.
     */
    public static Backend cpu() {
        return dev.segsam.tensor.fast.Sgemm.enabled() ? new dev.segsam.tensor.fast.FastCpuBackend() : new CpuBackend();
    }

    /** Every provider on the class path, with its availability, for diagnostics ({@code segsam selftest}). */
    public static List<String> describeProviders() {
        List<String> out = new ArrayList<>();
        out.add("cpu: " + cpu().name() + " (" + dev.segsam.tensor.fast.Sgemm.describe() + ")");
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) {
            String why = p.unavailableReason();
            out.add(p.device() + ": " + (why == null ? "available" : "unavailable: " + why));
        }
        return out;
    }

    private static BackendProvider provider(Device d) {
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) {
            if (p.device() == d) return p;
        }
        return null;
    }
}
