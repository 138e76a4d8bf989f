package dev.segsam.kernels;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;

/** {@link SamCudaContract} on the real GPU ({@code -Pgpu}; skipped without one): 1000 predict calls for the memory check. */
@Tag("gpu")
class SamCudaGpuTest extends SamCudaContract {
    private CudaRuntime rt;

    @BeforeAll
    void gpu() {
        CudaProbe.Result probe = CudaProbe.probe();
        Assumptions.assumeTrue(probe.available(), "no GPU: " + probe.reason());
        rt = CudaRuntime.shared();
        assertNotNull(rt, "GPU present (" + probe + ") but the CUDA backend is unusable: " + CudaRuntime.sharedFailure());
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
