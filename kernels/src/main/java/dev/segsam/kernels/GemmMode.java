package dev.segsam.kernels;

import java.util.Locale;

/**
 * Which kernel runs the CUDA backend's matrix products. {@link #FP32} (the default) and {@link #TF32} are the product paths, chosen by
 * {@code -Dsegsam.gemm.precision=fp32|tf32}; {@link #CUBLAS_FP32}/{@link #CUBLAS_TF32} by {@code -Dsegsam.gemm=cublas}
 * (only where JCublas2 loads). The others pin one kernel version, for the lab and the tests.
 */
public enum GemmMode {
    /** Exact fp32 tiles, 128×128 or 64×64 by problem size (v3). */
    FP32,
    /** TF32 tensor cores (v4): 10-bit mantissas in, fp32 sums. */
    TF32,
    /** One thread per output (v1). */
    FP32_NAIVE,
    /** Always the 64×64 fp32 tiles. */
    FP32_TILE64,
    /** Always the 128×128 fp32 tiles. */
    FP32_TILE128,
    /** cuBLAS SGEMM, default (fp32) math. */
    CUBLAS_FP32,
    /** cuBLAS SGEMM with TF32 tensor-op math. */
    CUBLAS_TF32;

    public boolean cublas() {
        return this == CUBLAS_FP32 || this == CUBLAS_TF32;
    }

    public boolean tf32() {
        return this == TF32 || this == CUBLAS_TF32;
    }

    /** From {@code segsam.gemm} (ours | cublas) and {@code segsam.gemm.precision} (fp32 | tf32). */
    /** Same precision through our kernels (the fallback when cuBLAS is unavailable). */
    public GemmMode withoutCublas() {
        return this == CUBLAS_FP32 ? FP32 : this == CUBLAS_TF32 ? TF32 : this;
    }

    public static GemmMode fromProperties() {
        String engine = System.getProperty("segsam.gemm", "ours").trim().toLowerCase(Locale.ROOT);
        String precision = System.getProperty("segsam.gemm.precision", "fp32").trim().toLowerCase(Locale.ROOT);
        boolean tf32 = switch (precision) {
            case "fp32" -> false;
            case "tf32" -> true;
            default -> throw new IllegalArgumentException("segsam.gemm.precision must be fp32 or tf32, got " + precision);
        };
        return switch (engine) {
            case "ours" -> tf32 ? TF32 : FP32;
            case "cublas" -> tf32 ? CUBLAS_TF32 : CUBLAS_FP32;
            default -> throw new IllegalArgumentException("segsam.gemm must be ours or cublas, got " + engine);
        };
    }
}
