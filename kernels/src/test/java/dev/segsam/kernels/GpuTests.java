package dev.segsam.kernels;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import org.junit.jupiter.api.Assumptions;

/** Shared set-up of the GPU-tagged tests. */
final class GpuTests {
    private GpuTests() {}

    /**
     * The shared CUDA device; skips the calling test class when {@link CudaProbe} finds no device, and fails it when a
     * device exists but the backend cannot use it (fatbin not loading, self-test failing): that is a bug, not a skip.
     */
    static CudaDevice deviceOrSkip() {
        CudaProbe.Result probe = CudaProbe.probe();
        Assumptions.assumeTrue(probe.available(), "no GPU: " + probe.reason());
        CudaDevice device = CudaDevice.shared();
        assertNotNull(device, "GPU present (" + probe + ") but the CUDA backend is unusable: " + CudaDevice.sharedFailure());
        return device;
    }
}
