package dev.segsam.kernels;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;

/** {@link TrainingRunCudaContract} on the CPU emulator of the kernels ({@code -Pemu}; 2 steps: each takes minutes there). */
@Tag("emu")
class TrainingRunCudaEmuTest extends TrainingRunCudaContract {
    private CudaDevice device;

    @BeforeAll
    void emulator() {
        EmuGpu gpu = EmuGpu.getOrSkip();
        device = new CudaDevice(gpu, true);
    }

    @Override
    CudaDevice device() {
        return device;
    }

    @Override
    int steps() {
        return 2;
    }
}
