package dev.segsam.kernels;

import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;

/**
 * The CUDA-specific checks ({@link CudaKernelChecks}) on the CPU emulator of the kernels ({@code src/test/emu}); the
 * op values are {@link CudaEmuContractTest}'s. Opt-in ({@code ./mvnw -Pemu -pl kernels -am test}).
 */
@Tag("emu")
class CudaEmuTest extends CudaKernelChecks {
    private CudaDevice device, caching;

    @BeforeAll
    void emulator() {
        EmuGpu gpu = EmuGpu.getOrSkip();
        device = new CudaDevice(gpu, true);
        caching = new CudaDevice(gpu, false);
    }

    @Override
    CudaDevice device() {
        return device;
    }

    @Override
    CudaDevice cachingDevice() {
        return caching;
    }

    @Override
    List<GemmEngine> engines() {
        return List.of(GemmEngine.FP32_TILED, GemmEngine.FP32_PER_OUTPUT, GemmEngine.FP32_TILED_64, GemmEngine.FP32_TILED_128,
                GemmEngine.TF32_TENSOR_CORES);
    }

    @Override
    int size() {
        return 1;
    }
}
