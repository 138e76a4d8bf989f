package dev.segsam.kernels;

import dev.segsam.tensor.contract.BackendContract;
import dev.segsam.tensor.contract.Target;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;

/**
 * The backend contract ({@link dev.segsam.tensor.contract.OpCases}) on the CUDA backend over the CPU emulator of the
 * kernels ({@code src/test/emu}): the kernels' indexing, bounds, barriers, warp exchanges and the Java launch path,
 * without a GPU. Opt-in ({@code ./mvnw -Pemu -pl kernels -am test}): the emulator runs each CUDA thread as an OS thread
 * and is slow, so the large cases are left to the GPU. Every allocation is exact-sized with a guard page behind it, so
 * an out-of-bounds access crashes the test JVM.
 */
@Tag("emu")
class CudaEmuContractTest extends BackendContract {
    private CudaDevice device;

    @BeforeAll
    void emulator() {
        EmuGpu gpu = EmuGpu.getOrSkip();
        device = new CudaDevice(gpu, true);
    }

    @Override
    protected List<Target> targets() {
        return CudaTargets.all(device, false, false);
    }
}
