package dev.segsam.kernels;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.BackendProvider;
import dev.segsam.tensor.Device;

/**
 * Offers the CUDA backend to {@link dev.segsam.tensor.Backends} through {@link java.util.ServiceLoader}.
 *
 * <p>Status: the device probe is real; the CUDA implementation of the backend's ops is the subject of the
 * "CUDA backend I/II" issues and does not exist yet, so this provider reports CUDA as unavailable with a reason that
 * says so ({@code --device auto} then runs on the CPU, {@code --device cuda} fails with that one line).
 */
public final class CudaBackendProvider implements BackendProvider {
    @Override
    public Device device() {
        return Device.CUDA;
    }

    @Override
    public String unavailableReason() {
        CudaProbe.Result r = CudaProbe.probe();
        if (!r.available()) return r.reason();
        return "found " + r + ", but segsam's CUDA kernels are not implemented yet";
    }

    @Override
    public Backend create() {
        throw new UnsupportedOperationException(unavailableReason());
    }
}
