package dev.segsam.kernels;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;

/** {@link SamCudaContract} on the real GPU ({@code -Pgpu}; skipped without one): 1000 predict calls for the memory check. */
@Tag("gpu")
class SamCudaGpuTest extends SamCudaContract {
    private CudaDevice device;

    @BeforeAll
    void gpu() {
        device = GpuTests.deviceOrSkip();
    }

    @Override
    CudaDevice device() {
        return device;
    }

    @Override
    int rounds() {
        return 1000;
    }
}
