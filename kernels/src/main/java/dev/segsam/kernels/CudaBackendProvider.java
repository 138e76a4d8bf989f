package dev.segsam.kernels;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.BackendProvider;
import dev.segsam.tensor.Device;
import dev.segsam.tensor.Options;

/**
 * Offers the CUDA backend to {@link dev.segsam.tensor.Backends} through {@link java.util.ServiceLoader}. CUDA is
 * available when {@link CudaProbe} finds a device, the fatbin loads into its primary context, and a self-test kernel
 * returns the right values; otherwise {@link #unavailableReason()} says which step failed, in one line
 * ({@code --device auto} then runs on the CPU, {@code --device cuda} fails with that line). Options with
 * {@link Options#cudaProbe()} false make it unavailable without touching the driver.
 */
public final class CudaBackendProvider implements BackendProvider {
    @Override
    public Device device() {
        return Device.CUDA;
    }

    @Override
    public String unavailableReason() {
        return CudaDevice.sharedFailure();
    }

    @Override
    public String unavailableReason(Options options) {
        return options.cudaProbe() ? unavailableReason() : CudaDevice.DISABLED;
    }

    @Override
    public Backend create(Options options) {
        return CudaBackend.create(options);
    }
}
