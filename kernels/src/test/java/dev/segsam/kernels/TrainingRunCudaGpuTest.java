package dev.segsam.kernels;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;

/** {@link TrainingRunCudaContract} on the real GPU ({@code -Pgpu}; skipped without one): 10 steps. */
@Tag("gpu")
class TrainingRunCudaGpuTest extends TrainingRunCudaContract {
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
    int steps() {
        return 10;
    }
}
