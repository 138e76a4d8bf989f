package dev.segsam.kernels;

/**
 * Every CUDA kernel the Java side launches, with the block size and parameter kinds it was written for: {@code p} a
 * device pointer (8 bytes), {@code i} an {@code int}, {@code f} a {@code float}. The launcher refuses arguments that do
 * not match (a wrong width would reach the kernel as garbage), and {@code KernelSourceTest} checks this table against
 * the {@code extern "C"} declarations in {@code src/main/cuda} ({@code __launch_bounds__} and parameter types) and
 * against the names in the committed fatbin.
 */
enum Kernel {
    RELU("relu_f32", 256, "ppi"),
    GELU("gelu_f32", 256, "ppi"),
    SIGMOID("sigmoid_f32", 256, "ppi"),
    SCALE("scale_f32", 256, "ppfi"),
    BINARY("binary_f32", 256, "pppiiiiiiiiiiiiiii"),
    BIAS_ACT("bias_act_f32", 256, "piiiiipii"),
    LAYERNORM("layernorm_f32", 256, "ppppiif"),
    LAYERNORM2D("layernorm2d_f32", 256, "ppppiif"),
    SOFTMAX("softmax_f32", 256, "ppii"),
    ATTN_SOFTMAX("attn_softmax_f32", 128, "piipiiippiii"),
    PERMUTE("permute_f32", 256, "ppiiiiiiiiiiiiii"),
    COPY_ROWS("copy_rows_f32", 256, "pipiii"),
    WINDOW_PARTITION("window_partition_f32", 256, "ppiiiiiii"),
    WINDOW_UNPARTITION("window_unpartition_f32", 256, "ppiiiiiii"),
    IM2COL("im2col_f32", 256, "ppiiiiiiiiiiii"),
    COL2IM_CONVT("col2im_convt_f32", 256, "pppiiiiiiiii"),
    INTERP_BILINEAR("interp_bilinear_f32", 256, "ppiiiii"),
    RELPOS_RESIZE("relpos_resize_f32", 256, "ppiii"),
    RELPOS_GATHER("relpos_gather_f32", 256, "ppiiiifff"),
    FOURIER_PE("fourier_pe_f32", 256, "pppiif"),
    ARGMAX("argmax_f32", 256, "ppii"),
    FLASH_ATTN_F32_D16("flash_attn_f32_d16", 128, Kernel.FLASH_PARAMS),
    FLASH_ATTN_F32_D32("flash_attn_f32_d32", 128, Kernel.FLASH_PARAMS),
    FLASH_ATTN_F32_D64("flash_attn_f32_d64", 128, Kernel.FLASH_PARAMS),
    FLASH_ATTN_F32_D80("flash_attn_f32_d80", 128, Kernel.FLASH_PARAMS),
    FLASH_ATTN_TF32_D16("flash_attn_tf32_d16", 64, Kernel.FLASH_PARAMS),
    FLASH_ATTN_TF32_D32("flash_attn_tf32_d32", 64, Kernel.FLASH_PARAMS),
    FLASH_ATTN_TF32_D64("flash_attn_tf32_d64", 64, Kernel.FLASH_PARAMS),
    FLASH_ATTN_TF32_D80("flash_attn_tf32_d80", 64, Kernel.FLASH_PARAMS),
    MASK_POSTPROCESS("mask_postprocess_f32", 256, "ppiiiiiiiii"),
    GEMM_NAIVE("gemm_naive_f32", 256, "iiipiiipiiipiifpii"),
    SGEMM128_NN("sgemm128_nn", 256, Kernel.GEMM_PARAMS),
    SGEMM128_NT("sgemm128_nt", 256, Kernel.GEMM_PARAMS),
    SGEMM128_TN("sgemm128_tn", 256, Kernel.GEMM_PARAMS),
    SGEMM64_NN("sgemm64_nn", 256, Kernel.GEMM_PARAMS),
    SGEMM64_NT("sgemm64_nt", 256, Kernel.GEMM_PARAMS),
    SGEMM64_TN("sgemm64_tn", 256, Kernel.GEMM_PARAMS),
    TF32GEMM_NN("tf32gemm_nn", 256, Kernel.GEMM_PARAMS),
    TF32GEMM_NT("tf32gemm_nt", 256, Kernel.GEMM_PARAMS),
    TF32GEMM_TN("tf32gemm_tn", 256, Kernel.GEMM_PARAMS);

    /** M, N, K, A, lda, sA, B, ldb, sB, C, ldc, sC, alpha, bias, biasMode, act. */
    private static final String GEMM_PARAMS = "iiipiipiipiifpii";
    /** out, q, k, v, Nq, Nk, heads, (row, batch, head) strides of q, k, v, out, scale, relH, relW, qw, kh, kw. */
    private static final String FLASH_PARAMS = "ppppiiiiiiiiiiiiiiifppiii";

    /** The {@code extern "C"} name in the fatbin. */
    final String symbol;
    /** Threads per block the kernel is written for (its {@code __launch_bounds__}). */
    final int threads;
    /** Parameter kinds in order: p pointer, i int, f float. */
    final String params;

    Kernel(String symbol, int threads, String params) {
        this.symbol = symbol;
        this.threads = threads;
        this.params = params;
    }
}
