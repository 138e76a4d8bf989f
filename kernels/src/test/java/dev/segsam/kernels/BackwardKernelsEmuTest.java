package dev.segsam.kernels;

import dev.segsam.tensor.Options.AttentionKind;
import dev.segsam.tensor.contract.BackendContract;
import dev.segsam.tensor.contract.OpCase;
import dev.segsam.tensor.contract.Target;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;

/**
 * The backend contract's backward and optimiser cases only (the autodiff tape's ops: the kernels of
 * {@code backward.cuh} and the default compositions on this backend; AdamW and Σ x²: {@code optimizer.cuh}) on the CUDA backend over the emulator, each against the CPU reference
 * ({@code BackwardOps}): the quick subset of {@link CudaEmuContractTest} for work on the backward kernels
 * ({@code ./mvnw -Pemu -pl kernels -am test -Dtest=BackwardKernelsEmuTest}).
 */
@Tag("emu")
class BackwardKernelsEmuTest extends BackendContract {
    static final Set<String> BACKWARD = Set.of("softmaxBackward", "layerNormBackward", "geluBackward", "reluBackward", "sigmoidBackward",
            "sumTo", "col2im", "interpolateBilinearBackward", "relPosLookupBackward", "attentionBackward", "sumSquares", "adamw");
    private CudaDevice device;

    @BeforeAll
    void emulator() {
        EmuGpu gpu = EmuGpu.getOrSkip();
        device = new CudaDevice(gpu, true);
    }

    /** The PyTorch goldens are forward ops: {@link CudaEmuContractTest} runs them (not a test here). */
    @Override
    public void matchesPyTorch(String name, Target target, dev.segsam.tensor.Golden.Case c) {}

    @Override
    protected List<Target> targets() {
        return List.of(CudaTargets.target(device, "cuda fp32-tiles flash (backward)", GemmEngine.FP32_TILED, AttentionKind.FLASH,
                c -> BACKWARD.contains(c.op()) && c.size() == OpCase.Size.SMALL, false));
    }
}
