package dev.segsam.kernels;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;

/** {@link SamCudaContract} on the CPU emulator of the kernels ({@code -Pemu}); a few predict rounds only (slow). */
@Tag("emu")
class SamCudaEmuTest extends SamCudaContract {
    private CudaDevice device;

    @BeforeAll
    void emulator() {
        EmuGpu gpu = EmuGpu.getOrSkip();
        device = new CudaDevice(gpu, false); // a caching pool, as in production: the memory check needs reuse
    }

    @Override
    CudaDevice device() {
        return device;
    }

    @Override
    int rounds() {
        return 4;
    }
}
