package dev.segsam.kernels;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;

/** {@link SamCudaContract} on the real GPU ({@code -Pgpu}; skipped without one): 1000 predict calls for the memory check. */
@Tag("gpu")
class SamCudaGpuTest extends SamCudaContract {
    private CudaRuntime rt;

    @BeforeAll
    void gpu() {
        rt = GpuTests.runtimeOrSkip();
    }

    @Override
    CudaRuntime runtime() {
        return rt;
    }

    @Override
    int rounds() {
        return 1000;
    }
}
