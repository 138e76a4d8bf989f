package dev.segsam.tensor;

/**
 * A {@link java.util.ServiceLoader} service through which modules above core-tensor (e.g. {@code kernels} for CUDA)
 * offer a backend without core-tensor depending on them. Register an implementation in
 * {@code META-INF/services/dev.segsam.tensor.BackendProvider}.
 */
public interface BackendProvider {
    /** The device the provided backend runs on. */
    Device device();

    /**
     * Why the backend cannot be created on this machine (e.g. "no NVIDIA driver: libcuda.so.1 not found"), or
     * {@code null} when it can. Must not throw, and should be cheap after the first call.
     */
    String unavailableReason();

    /**
     * Why the backend cannot be created with {@code options} (e.g. CUDA with {@link Options#cudaProbe()} false: the
     * driver must not even be touched), or {@code null} when it can. Default: {@link #unavailableReason()}.
     */
    default String unavailableReason(Options options) {
        return unavailableReason();
    }

    /**
     * Creates the backend configured by {@code options} (the device-specific fields: GEMM engine and precision, memory
     * pool, attention kind, synchronisation); only called when {@link #unavailableReason()} is null.
     */
    Backend create(Options options);
}
