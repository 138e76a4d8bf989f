package dev.segsam.kernels;

import dev.segsam.tensor.Tensor;

/**
 * The arguments of one kernel launch, as a record whose components are the kernel's CUDA parameters: the same names, in
 * the same order, {@code int} for {@code int}, {@code float} for {@code float}, {@code double} for {@code double}, {@link In} for {@code const float*} and
 * {@link Out} for a pointer the kernel writes. Each {@link Kernel} names the record it takes; the launcher
 * ({@link CudaRuntime#launch}) refuses any other, and reads the components in declaration order into the
 * {@code void**} array that {@code cuLaunchKernel} receives. {@code KernelSourceTest} parses the {@code extern "C"}
 * declarations in {@code src/main/cuda} and checks every record against them by name, type and order, so two swapped
 * parameters on either side fail that test, and a swapped input and output does not compile.
 *
 * <p>A record may serve several kernels with one signature (the three unary activations, the nine tiled GEMMs, the
 * eight flash-attention kernels).
 */
sealed interface KernelArgs {

    /** A {@code const float*} argument: {@code tensor}'s storage from element {@code offset} (a null {@code In} is NULL). */
    record In(Tensor tensor, long offset) {}

    /** A pointer argument the kernel writes (or reads and writes): {@code tensor}'s storage from element {@code offset}. */
    record Out(Tensor tensor, long offset) {}

    /** {@code t} from its first element, or null for a null tensor (an optional bias, say). */
    static In in(Tensor t) {
        return t == null ? null : new In(t, 0);
    }

    static In in(Tensor t, long offset) {
        return new In(t, offset);
    }

    static Out out(Tensor t) {
        return new Out(t, 0);
    }

    static Out out(Tensor t, long offset) {
        return new Out(t, offset);
    }

    // ------------------------------------------------------------------ elementwise.cuh

    /** {@code relu_f32}, {@code gelu_f32}, {@code sigmoid_f32}. */
    record Unary(Out out, In x, int n) implements KernelArgs {}

    /** {@code scale_f32}. */
    record Scale(Out out, In x, float s, int n) implements KernelArgs {}

    /** {@code binary_f32}: {@code op} one of ADD, SUB, MUL, DIV; up to 4 merged dimensions with per-input strides. */
    record Binary(Out out, In a, In b, int n, int op, int rank, int d0, int d1, int d2, int d3, int sa0, int sa1, int sa2,
                  int sa3, int sb0, int sb1, int sb2, int sb3) implements KernelArgs {}

    /** {@code bias_act_f32}: the GEMM epilogue as its own pass (after cuBLAS). */
    record BiasAct(Out C, int batch, int M, int N, int ldc, int strideC, In bias, int biasMode, int act) implements KernelArgs {}

    // ------------------------------------------------------------------ norm.cuh

    /** {@code layernorm_f32}: one warp per row of {@code D}. */
    record LayerNorm(Out out, In x, In w, In b, int rows, int D, float eps) implements KernelArgs {}

    /** {@code layernorm2d_f32}. */
    record LayerNorm2d(Out out, In x, In w, In b, int C, int HW, float eps) implements KernelArgs {}

    /** {@code softmax_f32}. */
    record Softmax(Out out, In x, int rows, int D) implements KernelArgs {}

    /** {@code attn_softmax_f32}: rel-pos bias and softmax in place on a tile of scores {@code S [B, T, Nk]}. */
    record AttnSoftmax(Out S, int T, int Nk, In q, int Nq, int d, int t0, In relH, In relW, int qw, int kh, int kw)
            implements KernelArgs {}

    // ------------------------------------------------------------------ layout.cuh

    /** {@code permute_f32}: gather through up to 6 merged input strides. */
    record Permute(Out out, In x, int n, int rank, int d0, int d1, int d2, int d3, int d4, int d5, int s0, int s1, int s2,
                   int s3, int s4, int s5) implements KernelArgs {}

    /** {@code copy_rows_f32}: a strided 2-D copy. */
    record CopyRows(Out dst, int dstLd, In src, int srcLd, int rows, int cols) implements KernelArgs {}

    /** {@code window_partition_f32}. */
    record WindowPartition(Out out, In x, int B, int H, int W, int C, int ws, int nH, int nW) implements KernelArgs {}

    /** {@code window_unpartition_f32}. */
    record WindowUnpartition(Out out, In win, int B, int h, int w, int C, int ws, int nH, int nW) implements KernelArgs {}

    /** {@code im2col_f32}. */
    record Im2col(Out cols, In x, int B, int C, int H, int W, int kh, int kw, int sh, int sw, int ph, int pw, int Ho, int Wo)
            implements KernelArgs {}

    /** {@code col2im_convt_f32}: the gather half of a transposed convolution. */
    record Col2imConvT(Out out, In cols, In bias, int B, int O, int H, int W, int kh, int kw, int s, int Ho, int Wo)
            implements KernelArgs {}

    /** {@code interp_bilinear_f32}. */
    record InterpBilinear(Out out, In x, int planes, int H, int W, int outH, int outW) implements KernelArgs {}

    /** {@code relpos_resize_f32}. */
    record RelPosResize(Out out, In t, int L, int Lout, int d) implements KernelArgs {}

    /** {@code relpos_gather_f32}. */
    record RelPosGather(Out out, In t, int L, int qn, int kn, int d, float qScale, float kScale, float shift)
            implements KernelArgs {}

    /** {@code fourier_pe_f32}. */
    record FourierPe(Out out, In coords, In g, int n, int F, float twoPi) implements KernelArgs {}

    /** {@code argmax_f32}: {@code out} receives int32 indices. */
    record Argmax(Out out, In x, int rows, int D) implements KernelArgs {}

    // ------------------------------------------------------------------ gemm.cuh

    /** {@code gemm_per_output_f32}: the simplest GEMM, with per-operand transpose flags. */
    record GemmPerOutput(int M, int N, int K, In A, int lda, int sA, int ta, In B, int ldb, int sB, int tb, Out C, int ldc,
                         int sC, float alpha, In bias, int biasMode, int act) implements KernelArgs {}

    /** The tiled GEMMs ({@code sgemm128_*}, {@code sgemm64_*}, {@code tf32gemm_*}); the layout is in the kernel's name. */
    record GemmTiled(int M, int N, int K, In A, int lda, int sA, In B, int ldb, int sB, Out C, int ldc, int sC, float alpha,
                     In bias, int biasMode, int act) implements KernelArgs {}

    // ------------------------------------------------------------------ attention.cuh

    /**
     * The flash-attention kernels ({@code flash_attn_{f32,tf32}_d{16,32,64,80}}): operands through (row, batch, head)
     * strides ({@code ld*}, {@code sb*}, {@code sh*}), rel-pos tables optional.
     */
    record FlashAttention(Out out, In q, In k, In v, int Nq, int Nk, int heads, int ldq, int sbq, int shq, int ldk, int sbk,
                          int shk, int ldv, int sbv, int shv, int ldo, int sbo, int sho, float scale, In relH, In relW, int qw,
                          int kh, int kw) implements KernelArgs {}

    /** {@code mask_postprocess_f32}. */
    record MaskPostprocess(Out out, In x, int planes, int H, int W, int S, int ch, int cw, int outH, int outW, int threshold)
            implements KernelArgs {}

    // ------------------------------------------------------------------ backward.cuh

    /** {@code gelu_backward_f32}, {@code relu_backward_f32}: {@code dx = dy·f'(x)}. */
    record UnaryBackward(Out dx, In x, In dy, int n) implements KernelArgs {}

    /** {@code sigmoid_backward_f32}: from the output y. */
    record SigmoidBackward(Out dx, In y, In dy, int n) implements KernelArgs {}

    /** {@code softmax_backward_f32}: one warp per row. */
    record SoftmaxBackward(Out dx, In y, In dy, int rows, int D) implements KernelArgs {}

    /** {@code layernorm_backward_dx_f32}: one warp per row; writes the row statistics for the next kernel. */
    record LayerNormBackwardDx(Out dx, Out stats, In x, In w, In dy, int rows, int D, float eps) implements KernelArgs {}

    /** {@code layernorm_backward_wb_f32}: one thread per column. */
    record LayerNormBackwardWb(Out dw, Out db, In x, In dy, In stats, int rows, int D) implements KernelArgs {}

    /** {@code sum_to_f32}: one warp per output element; up to 4 kept and 4 summed merged dimensions of g. */
    record SumTo(Out out, In g, int nOut, int k0, int k1, int k2, int k3, int ks0, int ks1, int ks2, int ks3, int nRed, int r0,
                 int r1, int r2, int r3, int rs0, int rs1, int rs2, int rs3) implements KernelArgs {}

    /** {@code col2im_f32}: the adjoint of im2col, gathered per element of x. */
    record Col2im(Out x, In cols, int B, int C, int H, int W, int kh, int kw, int sh, int sw, int ph, int pw, int Ho, int Wo)
            implements KernelArgs {}

    /** {@code interp_bilinear_backward_f32}: gathered per element of dx. */
    record InterpBilinearBackward(Out dx, In dy, int planes, int H, int W, int outH, int outW) implements KernelArgs {}

    /** {@code relpos_gather_backward_f32}: gathered per table element. */
    record RelPosGatherBackward(Out dt, In dy, int L, int qn, int kn, int d, float qScale, float kScale, float shift)
            implements KernelArgs {}

    // ------------------------------------------------------------------ optimizer.cuh

    /** {@code sum_squares_f32}: one block; Σ x² in double, written as a float pair. */
    record SumSquares(Out out, In x, int n) implements KernelArgs {}

    /** {@code adamw_f32}: in place on p, m, v; the step's scalars in double. */
    record AdamW(Out p, Out m, Out v, In grad, int n, double lr, double weightDecay, double beta1, double beta2, double eps,
                 double gradScale, double bias1, double bias2) implements KernelArgs {}
}
