package dev.segsam.kernels;

import static dev.segsam.kernels.KernelArgs.in;
import static dev.segsam.kernels.KernelArgs.out;

import dev.segsam.tensor.Shapes;
import dev.segsam.tensor.Tensor;

/**
 * GEMM dispatch for the CUDA backend: {@code C[z] = act(alpha·op(A[z])·op(B[z]) + bias)} for z < batch, over strided
 * operands inside device tensors (kernel details: {@code src/main/cuda/gemm.cuh}). Every call checks that each operand's
 * last element lies inside its tensor, so an indexing mistake on the Java side fails here, with shapes, instead of as an
 * illegal address on the GPU.
 */
final class Gemm {
    static final int BIAS_NONE = 0, BIAS_COL = 1, BIAS_ROW = 2;
    static final int ACT_NONE = 0, ACT_RELU = 1, ACT_GELU = 2;
    /** gridDim.y and gridDim.z limit. */
    private static final int MAX_GRID_YZ = 65535;

    /**
     * An operand: matrix z starts at element {@code offset + z·batchStride} of {@code t}; rows are {@code ld} elements
     * apart; {@code trans}: stored transposed (A as K×M, B as N×K).
     */
    record Mat(Tensor t, long offset, int ld, long batchStride, boolean trans) {
        static Mat of(Tensor t, long offset, int ld, long batchStride) {
            return new Mat(t, offset, ld, batchStride, false);
        }

        Mat transposed() {
            return new Mat(t, offset, ld, batchStride, true);
        }
    }

    private final CudaRuntime rt;
    final GemmEngine engine;
    private final CublasGemm cublas;

    /** Fails with the one-line reason when a cuBLAS engine is asked for and cuBLAS cannot be loaded. */
    Gemm(CudaRuntime rt, GemmEngine engine) {
        this.rt = rt;
        this.engine = engine;
        if (engine.cublas()) {
            Object c = rt.device.cublas();
            if (c instanceof String why) throw new IllegalStateException(why);
            this.cublas = (CublasGemm) c;
        } else {
            this.cublas = null;
        }
    }

    /**
     * Runs the product; {@code what} names the op for error messages. A and B must not both be transposed (no op
     * needs it). {@code bias} is read as {@code bias[n]} ({@link #BIAS_COL}) or {@code bias[m]} ({@link #BIAS_ROW}).
     */
    void run(String what, int batch, int M, int N, int K, Mat a, Mat b, Mat c, float alpha, Tensor bias, int biasMode, int act) {
        if (a.trans() && b.trans()) throw new IllegalArgumentException(what + ": GEMM with both operands transposed is not implemented");
        if (c.trans()) throw new IllegalArgumentException(what + ": the output cannot be transposed");
        if (batch < 0 || M < 0 || N < 0 || K < 0) throw new IllegalArgumentException(what + ": negative GEMM size");
        if (batch == 0 || M == 0 || N == 0) return;
        String shapes = what + ": batch " + batch + ", M " + M + ", N " + N + ", K " + K;
        check(shapes, "A", a, batch, a.trans() ? K : M, a.trans() ? M : K);
        check(shapes, "B", b, batch, b.trans() ? N : K, b.trans() ? K : N);
        check(shapes, "C", c, batch, M, N);
        if (biasMode != BIAS_NONE) {
            long need = biasMode == BIAS_COL ? N : M;
            if (bias == null || bias.numel() < need) {
                throw new IllegalArgumentException(shapes + ": bias " + (bias == null ? "null" : Shapes.str(bias.shape())) + " needs " + need + " values");
            }
        }
        for (int z0 = 0; z0 < batch; z0 += MAX_GRID_YZ) {
            int nb = Math.min(MAX_GRID_YZ, batch - z0);
            Mat az = shift(a, z0), bz = shift(b, z0), cz = shift(c, z0);
            if (cublas != null) {
                runCublas(shapes, nb, M, N, K, az, bz, cz, alpha, bias, biasMode, act);
            } else {
                runOurs(shapes, nb, M, N, K, az, bz, cz, alpha, bias, biasMode, act);
            }
        }
    }

    private static Mat shift(Mat m, int z0) {
        return z0 == 0 ? m : new Mat(m.t(), m.offset() + z0 * m.batchStride(), m.ld(), m.batchStride(), m.trans());
    }

    private static void check(String shapes, String name, Mat m, int batch, int rows, int cols) {
        if (m.ld() < cols || m.batchStride() < 0 || m.batchStride() > Integer.MAX_VALUE || m.offset() < 0) {
            throw new IllegalArgumentException(shapes + ": operand " + name + " (" + rows + "×" + cols + ") has leading dimension "
                    + m.ld() + ", batch stride " + m.batchStride() + ", offset " + m.offset());
        }
        if ((long) rows * cols == 0) return;
        long last = m.offset() + (batch - 1) * m.batchStride() + (long) (rows - 1) * m.ld() + cols - 1;
        long cap = CudaRuntime.capacity(m.t());
        if (last >= cap) {
            throw new IllegalArgumentException(shapes + ": operand " + name + " (" + rows + "×" + cols + ", ld " + m.ld()
                    + ", batch stride " + m.batchStride() + ", offset " + m.offset() + ") reaches element " + last
                    + " of a tensor " + Shapes.str(m.t().shape()) + " with " + cap + " elements");
        }
    }

    /** The kernel for {@link #engine}, the operand layout and the problem size. */
    Kernel choose(int batch, int M, int N, boolean ta, boolean tb) {
        int layout = ta ? 2 : (tb ? 1 : 0); // nn, nt, tn
        return switch (engine) {
            case FP32_PER_OUTPUT -> Kernel.GEMM_PER_OUTPUT;
            case TF32_TENSOR_CORES, CUBLAS_TF32 -> new Kernel[] {Kernel.TF32GEMM_NN, Kernel.TF32GEMM_NT, Kernel.TF32GEMM_TN}[layout];
            case FP32_TILED_64 -> tile64(layout);
            case FP32_TILED_128 -> tile128(layout);
            case FP32_TILED, CUBLAS_FP32 -> {
                // 128×128 tiles when they give every SM at least two blocks, else 64×64 (four times as many blocks)
                long tiles128 = (long) ((M + 127) / 128) * ((N + 127) / 128) * batch;
                yield tiles128 >= 2L * rt.gpu.multiprocessors() ? tile128(layout) : tile64(layout);
            }
        };
    }

    private static Kernel tile64(int layout) {
        return new Kernel[] {Kernel.SGEMM64_NN, Kernel.SGEMM64_NT, Kernel.SGEMM64_TN}[layout];
    }

    private static Kernel tile128(int layout) {
        return new Kernel[] {Kernel.SGEMM128_NN, Kernel.SGEMM128_NT, Kernel.SGEMM128_TN}[layout];
    }

    private void runOurs(String shapes, int batch, int M, int N, int K, Mat a, Mat b, Mat c, float alpha, Tensor bias, int biasMode, int act) {
        Kernel k = choose(batch, M, N, a.trans(), b.trans());
        int tile = switch (k) {
            case GEMM_PER_OUTPUT -> 16;
            case SGEMM64_NN, SGEMM64_NT, SGEMM64_TN -> 64;
            default -> 128;
        };
        int gx = (N + tile - 1) / tile, gy = (M + tile - 1) / tile;
        if (gy > MAX_GRID_YZ) throw new IllegalArgumentException(shapes + ": M too large for one launch");
        int sA = (int) a.batchStride(), sB = (int) b.batchStride(), sC = (int) c.batchStride();
        KernelArgs args = k == Kernel.GEMM_PER_OUTPUT
                ? new KernelArgs.GemmPerOutput(M, N, K, in(a.t(), a.offset()), a.ld(), sA, a.trans() ? 1 : 0, in(b.t(), b.offset()),
                        b.ld(), sB, b.trans() ? 1 : 0, out(c.t(), c.offset()), c.ld(), sC, alpha, in(bias), biasMode, act)
                : new KernelArgs.GemmTiled(M, N, K, in(a.t(), a.offset()), a.ld(), sA, in(b.t(), b.offset()), b.ld(), sB,
                        out(c.t(), c.offset()), c.ld(), sC, alpha, in(bias), biasMode, act);
        rt.launch(k, shapes, gx, gy, batch, 256, 1, 0, args);
    }

    private void runCublas(String shapes, int batch, int M, int N, int K, Mat a, Mat b, Mat c, float alpha, Tensor bias, int biasMode, int act) {
        rt.gpu.enterThread();
        try {
            cublas.gemm(engine.tf32(), batch, M, N, K, CudaRuntime.address(a.t(), a.offset()), Math.max(a.ld(), 1), a.batchStride(), a.trans(),
                    CudaRuntime.address(b.t(), b.offset()), Math.max(b.ld(), 1), b.batchStride(), b.trans(),
                    CudaRuntime.address(c.t(), c.offset()), Math.max(c.ld(), 1), c.batchStride(), alpha);
        } catch (RuntimeException e) {
            throw new CudaOpException("cuBLAS sgemm (" + shapes + "): " + e.getMessage(), e);
        }
        if (biasMode != BIAS_NONE || act != ACT_NONE) {
            rt.launch1d(Kernel.BIAS_ACT, shapes + " epilogue", (long) batch * M * N, new KernelArgs.BiasAct(out(c.t(), c.offset()),
                    batch, M, N, c.ld(), (int) c.batchStride(), in(bias), biasMode, act));
        }
    }
}
