package dev.segsam.kernels;

import dev.segsam.tensor.Options;

/**
 * Which code computes the CUDA backend's matrix products ({@link CudaBackend#matmul}, linears, convolutions, the
 * products of score-tile attention). The product engines are chosen by {@link Options#gemmEngine()} and
 * {@link Options#gemmPrecision()} ({@link #of}); the pinned ones fix one kernel and exist for the kernel lab
 * (benchmarks) and the tests. docs/kernels-cuda.md keeps each kernel's lab history and measured verdict.
 */
public enum GemmEngine {
    /** Exact fp32 on register-blocked shared-memory tiles: 128×128 where they give every SM two blocks, else 64×64. */
    FP32_TILED("fp32 tiles"),
    /** TF32 tensor cores ({@code mma.sync} m16n8k8): inputs rounded to 10-bit mantissas, fp32 sums; 128×128 tiles. */
    TF32_TENSOR_CORES("tf32 tensor cores"),
    /** cuBLAS SGEMM in default (fp32) math, the epilogue as a second pass; only where JCublas2 loads. */
    CUBLAS_FP32("cublas fp32"),
    /** cuBLAS SGEMM with TF32 tensor-op math. */
    CUBLAS_TF32("cublas tf32"),
    /** Pinned: always the 128×128 fp32 tiles. */
    FP32_TILED_128("fp32 128x128 tiles"),
    /** Pinned: always the 64×64 fp32 tiles. */
    FP32_TILED_64("fp32 64x64 tiles"),
    /** Pinned: one thread per output, operands straight from global memory; the simplest kernel, the lab's baseline. */
    FP32_PER_OUTPUT("fp32 one thread per output");

    private final String label;

    GemmEngine(String label) {
        this.label = label;
    }

    /** What the engine is, in words (backend names, logs). */
    public String label() {
        return label;
    }

    /** The product engine {@code options} ask for. */
    public static GemmEngine of(Options options) {
        boolean tf32 = options.gemmPrecision() == Options.GemmPrecision.TF32;
        return switch (options.gemmEngine()) {
            case OURS -> tf32 ? TF32_TENSOR_CORES : FP32_TILED;
            case CUBLAS -> tf32 ? CUBLAS_TF32 : CUBLAS_FP32;
        };
    }

    public boolean cublas() {
        return this == CUBLAS_FP32 || this == CUBLAS_TF32;
    }

    /** TF32 inputs (tensor cores): the flash-attention kernels follow this precision too. */
    public boolean tf32() {
        return this == TF32_TENSOR_CORES || this == CUBLAS_TF32;
    }

    /** The same precision on segsam's kernels (the fallback when cuBLAS is unavailable). */
    public GemmEngine withoutCublas() {
        return this == CUBLAS_FP32 ? FP32_TILED : this == CUBLAS_TF32 ? TF32_TENSOR_CORES : this;
    }
}
