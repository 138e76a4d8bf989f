package dev.segsam.tensor.fast;

import dev.segsam.tensor.Parallel;
import java.lang.foreign.MemorySegment;

/**
 * Fast float32 matrix multiply for the CPU: {@code C = A·B} or {@code C = A·Bᵀ}, optionally {@code + bias}, single or
 * batched, on row-major data in {@link MemorySegment}s (off-heap, memory-mapped, or {@code float[]} via
 * {@link Mat#of(float[], long)}). Segments must be readable from other threads (global, shared or automatic arenas,
 * not confined ones), since the work is spread over the threads of the {@link Parallel} the caller passes (its
 * backend's).
 *
 * <p>The work is done by {@code VectorSgemm} (JDK Vector API: packed operands, a 6×32 register tile, cache blocking,
 * all cores; its header explains the blocking). This class holds no Vector API reference, so it loads and answers
 * {@link #available()} even on a JVM started without {@code --add-modules jdk.incubator.vector}; the kernel class
 * is loaded only on the first multiply.
 *
 * <p><b>Switch.</b> {@link dev.segsam.tensor.Options#cpu()} ({@code segsam.cpu} = {@code auto}, the default,
 * {@code fast} or {@code reference}) chooses the CPU backend in {@link dev.segsam.tensor.Backends#cpu(dev.segsam.tensor.Options)}; the
 * reference backend ({@code dev.segsam.tensor.CpuBackend}) stays the oracle either way. Nothing here reads a
 * property.
 *
 * <p><b>Numerics.</b> Sums accumulate in float32 in blocks of {@code K} (order differs from the reference's i-k-j
 * loop, so results agree to rounding, not bit for bit). The result does not depend on the thread count: every
 * element of C is computed by one thread in an order fixed by the blocking alone.
 */
public final class Sgemm {
    private Sgemm() {}

    private static final boolean AVAILABLE = vectorModulePresent(ModuleLayer.boot());

    /** Whether {@code layer} holds the {@code jdk.incubator.vector} module (the JVM needs {@code --add-modules}). */
    static boolean vectorModulePresent(ModuleLayer layer) {
        return layer.findModule("jdk.incubator.vector").isPresent();
    }

    /** True when the Vector API is present in this JVM, so {@link #gemm} can run. */
    public static boolean available() {
        return AVAILABLE;
    }

    /** One line for logs: availability, vector width and tile. */
    public static String describe() {
        return AVAILABLE ? "fast SGEMM: " + VectorSgemm.describe()
                : "fast SGEMM unavailable (start the JVM with --add-modules jdk.incubator.vector)";
    }

    /**
     * A row-major float32 matrix (or a batch of them) in a segment: element {@code (i, j)} of batch item {@code b}
     * is the float at index {@code offset + b·batchStride + i·ld + j}. All four values count floats, not bytes.
     * {@code ld ≥ columns} lets a matrix be a column slice of a wider one (e.g. one head of a [N, 3·768] qkv tensor).
     */
    public record Mat(MemorySegment data, long offset, long ld, long batchStride) {
        public Mat {
            if (offset < 0 || ld < 0 || batchStride < 0) {
                throw new IllegalArgumentException("negative offset/ld/batchStride: " + offset + ", " + ld + ", " + batchStride);
            }
        }

        /** A single contiguous matrix with {@code ld} floats per row, starting at float 0. */
        public static Mat of(MemorySegment data, long ld) {
            return new Mat(data, 0, ld, 0);
        }

        /** A single contiguous matrix in a heap array, {@code ld} floats per row. */
        public static Mat of(float[] data, long ld) {
            return new Mat(MemorySegment.ofArray(data), 0, ld, 0);
        }

        /** Fails unless every element of a {@code batch × rows × cols} view lies inside the segment. */
        void check(String name, int batch, int rows, int cols) {
            long last = offset + (batch - 1) * batchStride + (rows - 1) * ld + cols; // one past the last element read
            if (ld < cols || last * Float.BYTES > data.byteSize()) {
                throw new IndexOutOfBoundsException(name + ": " + batch + "×" + rows + "×" + cols + " view (offset "
                        + offset + ", ld " + ld + ", batchStride " + batchStride + ") does not fit a segment of "
                        + data.byteSize() + " bytes");
            }
        }
    }

    /**
     * For each batch item {@code b < batch}: {@code C_b[M,N] = A_b[M,K] · op(B_b) (+ bias[N])}, overwriting C.
     *
     * @param bTransposed false: {@code B_b} is {@code [K,N]}, op(B) = B (matmul); true: {@code B_b} is {@code [N,K]},
     *                    op(B) = Bᵀ (linear layers {@code x·Wᵀ}, attention {@code Q·Kᵀ})
     * @param bias        null, or {@code N} floats from float 0 of the segment, added to every row of every C
     * @param par         the threads to spread the work over ({@link Parallel#SEQUENTIAL}: the calling thread only)
     * @throws IllegalStateException when the Vector API is not {@link #available()}
     */
    public static void gemm(Parallel par, int batch, int m, int n, int k, Mat a, Mat b, boolean bTransposed, Mat c, MemorySegment bias) {
        gemm(par, batch, m, n, k, a, b, bTransposed, c, bias, false);
    }

    /** As {@link #gemm(Parallel, int, int, int, int, Mat, Mat, boolean, Mat, MemorySegment)}; {@code gelu}: C = GELU(A·op(B) + bias), fused into the store. */
    static void gemm(Parallel par, int batch, int m, int n, int k, Mat a, Mat b, boolean bTransposed, Mat c, MemorySegment bias,
                     boolean gelu) {
        if (!AVAILABLE) throw new IllegalStateException(describe());
        if (batch < 0 || m < 0 || n < 0 || k < 0) {
            throw new IllegalArgumentException("negative size: batch " + batch + ", M " + m + ", N " + n + ", K " + k);
        }
        if (batch == 0 || m == 0 || n == 0) return;
        if (k > 0) {
            a.check("A", batch, m, k);
            b.check("B", batch, bTransposed ? n : k, bTransposed ? k : n);
        }
        c.check("C", batch, m, n);
        if (bias != null && bias.byteSize() < (long) n * Float.BYTES) {
            throw new IndexOutOfBoundsException("bias: " + bias.byteSize() + " bytes for " + n + " outputs");
        }
        VectorSgemm.gemm(batch, m, n, k, a, b, bTransposed, c, bias, par, gelu);
    }

    /**
     * {@code c[M,N] = a[M,K]·op(b)} on heap arrays at the given offsets, on the calling thread only (for callers that
     * already run in parallel); {@code bTransposed}: b is [N,K].
     */
    public static void gemmSerial(int m, int n, int k, float[] a, int ao, float[] b, int bo, boolean bTransposed, float[] c, int co) {
        gemm(Parallel.SEQUENTIAL, 1, m, n, k, new Mat(MemorySegment.ofArray(a), ao, k, 0),
                new Mat(MemorySegment.ofArray(b), bo, bTransposed ? k : n, 0), bTransposed, new Mat(MemorySegment.ofArray(c), co, n, 0), null);
    }

    /** {@code c[M,N] = a[M,K]·b[K,N]}, contiguous row-major arrays. */
    public static void matmul(Parallel par, int m, int n, int k, float[] a, float[] b, float[] c) {
        gemm(par, 1, m, n, k, Mat.of(a, k), Mat.of(b, n), false, Mat.of(c, n), null);
    }

    /** {@code y[M,N] = x[M,K]·w[N,K]ᵀ + bias[N]} (bias may be null), contiguous row-major arrays. */
    public static void linear(Parallel par, int m, int n, int k, float[] x, float[] w, float[] bias, float[] y) {
        gemm(par, 1, m, n, k, Mat.of(x, k), Mat.of(w, k), true, Mat.of(y, n), bias == null ? null : MemorySegment.ofArray(bias));
    }
}
