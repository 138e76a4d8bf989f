package dev.segsam.kernels;

import dev.segsam.tensor.Options.AttentionKind;
import dev.segsam.tensor.contract.OpCase;
import dev.segsam.tensor.contract.Precision;
import dev.segsam.tensor.contract.Target;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * The CUDA backend's configurations as targets of the backend contract: the product default (fp32 tiles, fused flash
 * attention) runs every case and the PyTorch goldens; the other GEMM engines run the GEMM-shaped ops (TF32 the
 * attention ops too, since the flash kernels follow the GEMM precision); score-tile attention runs the attention ops.
 * Every backend allocates from a NaN-poisoned pool and synchronises after each launch, so an element a kernel forgets
 * to write fails the comparison and a faulting kernel is named.
 */
final class CudaTargets {
    private CudaTargets() {}

    /**
     * @param device  the device under test (its pools are poisoned here)
     * @param large   whether the large cases run (not on the emulator: slow)
     * @param cublas  whether the cuBLAS engines run
     */
    static List<Target> all(CudaDevice device, boolean large, boolean cublas) {
        Predicate<OpCase> sized = c -> large || c.size() == OpCase.Size.SMALL;
        Predicate<OpCase> gemm = c -> c.family().equals("gemm");
        Predicate<OpCase> attention = c -> c.family().equals("attention");
        List<Target> t = new ArrayList<>();
        t.add(target(device, "cuda fp32-tiles flash", GemmEngine.FP32_TILED, AttentionKind.FLASH, sized, true));
        t.add(target(device, "cuda tf32 flash", GemmEngine.TF32_TENSOR_CORES, AttentionKind.FLASH, sized.and(gemm.or(attention)), false));
        t.add(target(device, "cuda fp32 score-tiles", GemmEngine.FP32_TILED, AttentionKind.TILED, sized.and(attention), false));
        for (GemmEngine e : List.of(GemmEngine.FP32_TILED_128, GemmEngine.FP32_TILED_64, GemmEngine.FP32_PER_OUTPUT)) {
            t.add(target(device, "cuda " + e.name().toLowerCase(java.util.Locale.ROOT), e, AttentionKind.FLASH, sized.and(gemm), false));
        }
        if (cublas) {
            for (GemmEngine e : List.of(GemmEngine.CUBLAS_FP32, GemmEngine.CUBLAS_TF32)) {
                t.add(target(device, "cuda " + e.name().toLowerCase(java.util.Locale.ROOT), e, AttentionKind.FLASH, sized.and(gemm), false));
            }
        }
        return t;
    }

    static Target target(CudaDevice device, String name, GemmEngine engine, AttentionKind attention, Predicate<OpCase> runs, boolean goldens) {
        CudaRuntime rt = device.runtime(-1, true);
        rt.pool.poison = true;
        CudaBackend b = new CudaBackend(rt, engine, attention, 64L << 20);
        return Target.of(name, engine.tf32() ? Precision.TF32 : Precision.FP32, b, runs, goldens);
    }
}
