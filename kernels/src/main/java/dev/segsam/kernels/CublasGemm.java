package dev.segsam.kernels;

import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasHandle;
import jcuda.jcublas.cublasMath;
import jcuda.jcublas.cublasOperation;
import jcuda.runtime.cudaStream_t;

/**
 * The optional cuBLAS GEMM ({@code -Dsegsam.gemm=cublas}) through JCublas2 12.6, whose natives link
 * {@code libcublas.so.12}: absent on CUDA-13-only hosts (docs/design/stack.md §4), so {@link #open} reports why it cannot be used
 * instead of failing. Two handles on the backend's stream: one in default (fp32) math, one with TF32 tensor ops.
 *
 * <p>Row-major through column-major cuBLAS: C = op(A)·op(B) (row-major) is Cᵀ = op(B)ᵀ·op(A)ᵀ, and a row-major
 * matrix read as column-major is its transpose, so cuBLAS is called with the operands swapped, m = N, n = M, and each
 * operand transposed exactly when it is transposed here.
 */
final class CublasGemm {
    private static final CUdeviceptr NULL = new CUdeviceptr();
    private final cublasHandle fp32 = new cublasHandle();
    private final cublasHandle tf32 = new cublasHandle();

    private CublasGemm(JCudaGpu gpu) {
        JCublas2.setExceptionsEnabled(true);
        JCublas2.cublasCreate(fp32);
        JCublas2.cublasCreate(tf32);
        cudaStream_t s = new cudaStream_t(gpu.stream());
        JCublas2.cublasSetStream(fp32, s);
        JCublas2.cublasSetStream(tf32, s);
        JCublas2.cublasSetMathMode(fp32, cublasMath.CUBLAS_DEFAULT_MATH);
        JCublas2.cublasSetMathMode(tf32, cublasMath.CUBLAS_TF32_TENSOR_OP_MATH);
    }

    /** The cuBLAS path on {@code gpu}, or a one-line reason why there is none. */
    static Object open(Gpu gpu) {
        if (!(gpu instanceof JCudaGpu j)) return "cuBLAS needs the real CUDA driver (got " + gpu.description() + ")";
        try {
            return new CublasGemm(j);
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            return "cuBLAS unavailable: JCublas2 could not load its natives (libcublas.so.12 not found; CUDA-13 hosts ship only libcublas.so.13)";
        } catch (RuntimeException e) {
            return "cuBLAS unavailable: " + String.valueOf(e.getMessage()).replace('\n', ' ');
        }
    }

    private static Pointer at(long address) {
        return NULL.withByteOffset(address);
    }

    /** Row-major strided-batched C = alpha·op(A)·op(B) (no epilogue; addresses and strides in elements as in {@link Gemm}). */
    void gemm(boolean useTf32, int batch, int M, int N, int K, long a, int lda, long sA, boolean ta, long b, int ldb, long sB,
              boolean tb, long c, int ldc, long sC, float alpha) {
        JCublas2.cublasSgemmStridedBatched(useTf32 ? tf32 : fp32,
                tb ? cublasOperation.CUBLAS_OP_T : cublasOperation.CUBLAS_OP_N,
                ta ? cublasOperation.CUBLAS_OP_T : cublasOperation.CUBLAS_OP_N,
                N, M, K, Pointer.to(new float[] {alpha}),
                at(b), ldb, sB, at(a), lda, sA,
                Pointer.to(new float[] {0f}), at(c), ldc, sC, batch);
    }
}
