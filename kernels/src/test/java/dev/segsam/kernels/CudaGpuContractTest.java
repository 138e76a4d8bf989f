package dev.segsam.kernels;

import dev.segsam.tensor.contract.BackendContract;
import dev.segsam.tensor.contract.Target;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;

/**
 * The backend contract on the real GPU, large cases and (where JCublas2 loads) the cuBLAS engines included. Tagged
 * {@code gpu} ({@code ./mvnw -Pgpu -pl kernels -am test}); skipped when {@link CudaProbe} finds no device, failed when a
 * device exists but the backend cannot use it.
 */
@Tag("gpu")
class CudaGpuContractTest extends BackendContract {
    private CudaDevice device;

    @BeforeAll
    void gpu() {
        device = GpuTests.deviceOrSkip();
    }

    @Override
    protected List<Target> targets() {
        return CudaTargets.all(device, true, CudaBackend.cublasUnavailableReason() == null);
    }
}
