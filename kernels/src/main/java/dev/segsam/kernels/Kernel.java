package dev.segsam.kernels;

import dev.segsam.kernels.KernelArgs.AttnSoftmax;
import dev.segsam.kernels.KernelArgs.Argmax;
import dev.segsam.kernels.KernelArgs.BiasAct;
import dev.segsam.kernels.KernelArgs.Binary;
import dev.segsam.kernels.KernelArgs.Col2imConvT;
import dev.segsam.kernels.KernelArgs.CopyRows;
import dev.segsam.kernels.KernelArgs.FlashAttention;
import dev.segsam.kernels.KernelArgs.FourierPe;
import dev.segsam.kernels.KernelArgs.GemmPerOutput;
import dev.segsam.kernels.KernelArgs.GemmTiled;
import dev.segsam.kernels.KernelArgs.Im2col;
import dev.segsam.kernels.KernelArgs.InterpBilinear;
import dev.segsam.kernels.KernelArgs.LayerNorm;
import dev.segsam.kernels.KernelArgs.LayerNorm2d;
import dev.segsam.kernels.KernelArgs.MaskPostprocess;
import dev.segsam.kernels.KernelArgs.Permute;
import dev.segsam.kernels.KernelArgs.RelPosGather;
import dev.segsam.kernels.KernelArgs.RelPosResize;
import dev.segsam.kernels.KernelArgs.Scale;
import dev.segsam.kernels.KernelArgs.Softmax;
import dev.segsam.kernels.KernelArgs.Unary;
import dev.segsam.kernels.KernelArgs.WindowPartition;
import dev.segsam.kernels.KernelArgs.WindowUnpartition;

/**
 * Every CUDA kernel the Java side launches: its {@code extern "C"} name, the block size it was written for, and the
 * {@link KernelArgs} record that carries its parameters. {@code KernelSourceTest} checks this table against the
 * declarations in {@code src/main/cuda} ({@code __launch_bounds__}, parameter names, types and order) and against the
 * names in the committed fatbin.
 */
enum Kernel {
    RELU("relu_f32", 256, Unary.class),
    GELU("gelu_f32", 256, Unary.class),
    SIGMOID("sigmoid_f32", 256, Unary.class),
    SCALE("scale_f32", 256, Scale.class),
    BINARY("binary_f32", 256, Binary.class),
    BIAS_ACT("bias_act_f32", 256, BiasAct.class),
    LAYERNORM("layernorm_f32", 256, LayerNorm.class),
    LAYERNORM2D("layernorm2d_f32", 256, LayerNorm2d.class),
    SOFTMAX("softmax_f32", 256, Softmax.class),
    ATTN_SOFTMAX("attn_softmax_f32", 128, AttnSoftmax.class),
    PERMUTE("permute_f32", 256, Permute.class),
    COPY_ROWS("copy_rows_f32", 256, CopyRows.class),
    WINDOW_PARTITION("window_partition_f32", 256, WindowPartition.class),
    WINDOW_UNPARTITION("window_unpartition_f32", 256, WindowUnpartition.class),
    IM2COL("im2col_f32", 256, Im2col.class),
    COL2IM_CONVT("col2im_convt_f32", 256, Col2imConvT.class),
    INTERP_BILINEAR("interp_bilinear_f32", 256, InterpBilinear.class),
    RELPOS_RESIZE("relpos_resize_f32", 256, RelPosResize.class),
    RELPOS_GATHER("relpos_gather_f32", 256, RelPosGather.class),
    FOURIER_PE("fourier_pe_f32", 256, FourierPe.class),
    ARGMAX("argmax_f32", 256, Argmax.class),
    FLASH_ATTN_F32_D16("flash_attn_f32_d16", 128, FlashAttention.class),
    FLASH_ATTN_F32_D32("flash_attn_f32_d32", 128, FlashAttention.class),
    FLASH_ATTN_F32_D64("flash_attn_f32_d64", 128, FlashAttention.class),
    FLASH_ATTN_F32_D80("flash_attn_f32_d80", 128, FlashAttention.class),
    FLASH_ATTN_TF32_D16("flash_attn_tf32_d16", 64, FlashAttention.class),
    FLASH_ATTN_TF32_D32("flash_attn_tf32_d32", 64, FlashAttention.class),
    FLASH_ATTN_TF32_D64("flash_attn_tf32_d64", 64, FlashAttention.class),
    FLASH_ATTN_TF32_D80("flash_attn_tf32_d80", 64, FlashAttention.class),
    MASK_POSTPROCESS("mask_postprocess_f32", 256, MaskPostprocess.class),
    GEMM_PER_OUTPUT("gemm_per_output_f32", 256, GemmPerOutput.class),
    SGEMM128_NN("sgemm128_nn", 256, GemmTiled.class),
    SGEMM128_NT("sgemm128_nt", 256, GemmTiled.class),
    SGEMM128_TN("sgemm128_tn", 256, GemmTiled.class),
    SGEMM64_NN("sgemm64_nn", 256, GemmTiled.class),
    SGEMM64_NT("sgemm64_nt", 256, GemmTiled.class),
    SGEMM64_TN("sgemm64_tn", 256, GemmTiled.class),
    TF32GEMM_NN("tf32gemm_nn", 256, GemmTiled.class),
    TF32GEMM_NT("tf32gemm_nt", 256, GemmTiled.class),
    TF32GEMM_TN("tf32gemm_tn", 256, GemmTiled.class),
    GELU_BACKWARD("gelu_backward_f32", 256, KernelArgs.UnaryBackward.class),
    RELU_BACKWARD("relu_backward_f32", 256, KernelArgs.UnaryBackward.class),
    SIGMOID_BACKWARD("sigmoid_backward_f32", 256, KernelArgs.SigmoidBackward.class),
    SOFTMAX_BACKWARD("softmax_backward_f32", 256, KernelArgs.SoftmaxBackward.class),
    LAYERNORM_BACKWARD_DX("layernorm_backward_dx_f32", 256, KernelArgs.LayerNormBackwardDx.class),
    LAYERNORM_BACKWARD_WB("layernorm_backward_wb_f32", 256, KernelArgs.LayerNormBackwardWb.class),
    SUM_TO("sum_to_f32", 256, KernelArgs.SumTo.class),
    COL2IM("col2im_f32", 256, KernelArgs.Col2im.class),
    INTERP_BILINEAR_BACKWARD("interp_bilinear_backward_f32", 256, KernelArgs.InterpBilinearBackward.class),
    RELPOS_GATHER_BACKWARD("relpos_gather_backward_f32", 256, KernelArgs.RelPosGatherBackward.class),
    SUM_SQUARES("sum_squares_f32", 256, KernelArgs.SumSquares.class),
    ADAMW("adamw_f32", 256, KernelArgs.AdamW.class);

    /** The {@code extern "C"} name in the fatbin. */
    final String symbol;
    /** Threads per block the kernel is written for (its {@code __launch_bounds__}). */
    final int threads;
    /** The record whose components are the kernel's parameters. */
    final Class<? extends KernelArgs> args;

    Kernel(String symbol, int threads, Class<? extends KernelArgs> args) {
        this.symbol = symbol;
        this.threads = threads;
        this.args = args;
    }
}
