package dev.segsam.kernels;

import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;

/**
 * The CUDA op contract on the CPU emulator of the kernels ({@code src/test/emu}): runs wherever g++ exists, so the
 * kernels' indexing, bounds, barriers, warp exchanges and the Java launch path are tested without a GPU. Opt-in
 * ({@code ./mvnw -Pemu -pl kernels -am test}): the emulator runs each CUDA thread as an OS thread and is slow.
 * Every allocation is exact-sized with a guard page behind it, so an out-of-bounds access crashes the test JVM.
 */
@Tag("emu")
class CudaEmuTest extends CudaOpsContract {
    private CudaRuntime rt, caching;

    @BeforeAll
    void emulator() {
        EmuGpu gpu = EmuGpu.get();
        Assumptions.assumeTrue(gpu != null, EmuGpu.unavailableReason());
        rt = new CudaRuntime(gpu, true);
        rt.pool.poison = true;
        rt.syncEachLaunch = true;
        caching = new CudaRuntime(gpu, false);
        caching.pool.poison = true;
    }

    @Override
    CudaRuntime runtime() {
        return rt;
    }

    @Override
    CudaRuntime cachingRuntime() {
        return caching;
    }

    @Override
    List<GemmMode> gemmModes() {
        return List.of(GemmMode.FP32, GemmMode.FP32_NAIVE, GemmMode.FP32_TILE64, GemmMode.FP32_TILE128, GemmMode.TF32);
    }

    @Override
    int size() {
        return 1;
    }
}
