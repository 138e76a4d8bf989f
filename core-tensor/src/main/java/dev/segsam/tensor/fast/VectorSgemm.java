package dev.segsam.tensor.fast;

import dev.segsam.tensor.Parallel;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.function.IntConsumer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API SGEMM behind {@link Sgemm} (loaded only when the {@code jdk.incubator.vector} module is present).
 *
 * <p><b>Blocking</b> (Goto/BLIS scheme; V = floats per vector, 16 with AVX-512):
 * <pre>
 *   pack op(B) once: panels of NR = 2V columns, k-major, grouped by K block     bp[K/KC][N/NR][KC][NR]
 *   tasks (ic, jc) over MC-row × (N or an N chunk) blocks of C, spread over the threads:
 *     for pc in K step KC:
 *       pack A[ic:ic+MC, pc:pc+KC] into MR-row panels, k-major                  ap[MC/MR][KC][MR]  (L2)
 *       for each B panel jr in the chunk:         B micro-panel KC×NR            (L1, reused MC/MR times)
 *         for ir in MC step MR:                   C[ir:ir+MR, jr:jr+NR] (+)= ap-panel · bp-panel   (registers)
 * </pre>
 * The micro-kernel keeps an MR×NR = 6×2V tile of C in 12 vector accumulators (6×32 floats with AVX-512); per k it
 * loads 2 B vectors, broadcasts 6 A values and issues 12 FMAs. 12 independent FMA chains cover the FMA latency
 * (4 cycles × up to 2 per cycle), and 12 + 2 + 1 registers fit the 16 AVX2 / 32 AVX-512 registers without spills.
 * KC = 256: the B micro-panel (256×32 floats = 32 KiB) is streamed through the 32 KiB L1 while the 6 KiB A panel
 * stays resident; MC = 144: the packed A block (144 KiB) sits in the 1 MiB L2. Measured choices and rejected
 * alternatives: docs/kernels-cpu.md.
 *
 * <p>Edges: tiles with fewer than MR rows skip the missing rows, tiles with fewer than NR columns use masked loads
 * and stores; packed buffers are not cleared, since padding lanes are computed but never stored. No allocation in
 * the loops: pack buffers are per thread and grow only.
 *
 * <p>Determinism: the first K block writes {@code bias + acc} (or {@code acc}), later ones add into C; which thread
 * runs a task never changes the order of the sums, so results are bit-identical for any thread count.
 */
final class VectorSgemm {
    private VectorSgemm() {}

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int V = S.length();
    static final int MR = 6;
    static final int NR = 2 * V;
    /** Depth of a K block (tuning knob {@code segsam.sgemm.kc}). */
    static final int KC = Math.max(1, Integer.getInteger("segsam.sgemm.kc", 256));
    /** Rows of a packed A block (tuning knob {@code segsam.sgemm.mc}, rounded up to a multiple of MR). */
    static final int MC = (Math.max(1, Integer.getInteger("segsam.sgemm.mc", 144)) + MR - 1) / MR * MR;

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final long FB = Float.BYTES;

    /** Per thread: [0] = packed A block, [1] = packed B, [2] = one C tile + one row of A (grown on demand, never shrunk). */
    private static final ThreadLocal<float[][]> BUFFERS = ThreadLocal.withInitial(() -> new float[3][0]);

    static String describe() {
        return S + ", tile " + MR + "×" + NR + ", KC " + KC + ", MC " + MC + ", " + Parallel.THREADS + " threads";
    }

    private static float[] buffer(int which, int size) {
        float[][] b = BUFFERS.get();
        if (b[which].length < size) b[which] = new float[size];
        return b[which];
    }

    private static void forRange(boolean parallel, int n, IntConsumer body) {
        if (parallel) {
            Parallel.forRange(n, body);
        } else {
            for (int i = 0; i < n; i++) body.accept(i);
        }
    }

    static void gemm(int batch, int m, int n, int k, Sgemm.Mat a, Sgemm.Mat b, boolean bT, Sgemm.Mat c,
                     MemorySegment bias, boolean parallel) {
        int threads = Parallel.THREADS;
        // Many items (attention heads, windows): one item per task. Few large items: parallel inside each.
        if (parallel && batch > 1 && (batch >= 4 * threads || batch % threads == 0)) {
            Parallel.forRange(batch, i -> item(i, m, n, k, a, b, bT, c, bias, false));
        } else {
            for (int i = 0; i < batch; i++) item(i, m, n, k, a, b, bT, c, bias, parallel);
        }
    }

    private static void item(int item, int m, int n, int k, Sgemm.Mat a, Sgemm.Mat b, boolean bT, Sgemm.Mat c,
                             MemorySegment bias, boolean parallel) {
        long aOff = a.offset() + item * a.batchStride(), bOff = b.offset() + item * b.batchStride();
        long cOff = c.offset() + item * c.batchStride();
        MemorySegment as = a.data(), bs = b.data(), cs = c.data();
        long lda = a.ld(), ldb = b.ld(), ldc = c.ld();
        if (k == 0) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) cs.setAtIndex(F, cOff + i * ldc + j, bias == null ? 0f : bias.getAtIndex(F, j));
            }
            return;
        }
        // Equal blocks: K in ceil(K/KC) blocks of kb, M in ceil(M/MC) blocks of mb rows (a multiple of MR).
        int kb = ceilDiv(k, ceilDiv(k, KC)), mb = roundUp(ceilDiv(m, ceilDiv(m, MC)), MR), mBlocks = ceilDiv(m, mb);
        int np = ceilDiv(n, NR); // B panels
        float[] bp = buffer(1, Math.multiplyExact(k, np * NR));
        forRange(parallel, np, p -> {
            for (int pc = 0; pc < k; pc += kb) {
                int kc = Math.min(kb, k - pc), dst = pc * np * NR + p * kc * NR, cols = Math.min(NR, n - p * NR);
                if (bT) {
                    packBt(bp, dst, bs, bOff + (long) p * NR * ldb + pc, ldb, kc, cols);
                } else {
                    packB(bp, dst, bs, bOff + (long) pc * ldb + (long) p * NR, ldb, kc, cols);
                }
            }
        });

        // Enough tasks for the threads: split the columns too when there are few row blocks.
        int nj = parallel && mBlocks < 2 * Parallel.THREADS ? Math.min(np, ceilDiv(4 * Parallel.THREADS, mBlocks)) : 1;
        int panelsPerTask = ceilDiv(np, nj), tasksPerRow = ceilDiv(np, panelsPerTask);
        forRange(parallel, mBlocks * tasksPerRow, t -> {
            int ic = (t / tasksPerRow) * mb, mc = Math.min(mb, m - ic);
            int p0 = (t % tasksPerRow) * panelsPerTask, p1 = Math.min(np, p0 + panelsPerTask);
            float[] ap = buffer(0, MC * KC), tile = buffer(2, MR * NR + KC);
            for (int pc = 0; pc < k; pc += kb) {
                int kc = Math.min(kb, k - pc);
                packA(ap, as, aOff + ic * lda + pc, lda, mc, kc, tile);
                for (int p = p0; p < p1; p++) {
                    int j = p * NR, bo = pc * np * NR + p * kc * NR;
                    for (int ir = 0; ir < mc; ir += MR) {
                        kernel(ap, ir * kc, bp, bo, kc, tile);
                        update(tile, cs, (cOff + (ic + ir) * ldc + j) * FB, ldc * FB,
                                Math.min(MR, mc - ir), Math.min(NR, n - j), pc == 0, bias, j);
                    }
                }
            }
        });
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    private static int roundUp(int a, int b) {
        return ceilDiv(a, b) * b;
    }

    /**
     * A[0:mc, 0:kc] (row stride lda, from float {@code src}) → MR-row panels, k-major: ap[ir·kc + k·MR + r].
     * Each row is first bulk-copied into {@code scratch} (after its first MR·NR floats, the C tile).
     */
    private static void packA(float[] ap, MemorySegment a, long src, long lda, int mc, int kc, float[] scratch) {
        int s0 = MR * NR;
        for (int ir = 0; ir < mc; ir += MR) {
            int rows = Math.min(MR, mc - ir);
            for (int r = 0; r < rows; r++) {
                MemorySegment.copy(a, F, (src + (ir + r) * lda) * FB, scratch, s0, kc);
                for (int k = 0, d = ir * kc + r; k < kc; k++, d += MR) ap[d] = scratch[s0 + k];
            }
        }
    }

    /** B[0:kc, 0:cols] (row stride ldb) → one panel, k-major: bp[dst + k·NR + j]. */
    private static void packB(float[] bp, int dst, MemorySegment b, long src, long ldb, int kc, int cols) {
        for (int k = 0; k < kc; k++, src += ldb, dst += NR) {
            if (cols == NR) {
                FloatVector.fromMemorySegment(S, b, src * FB, ORDER).intoArray(bp, dst);
                FloatVector.fromMemorySegment(S, b, (src + V) * FB, ORDER).intoArray(bp, dst + V);
            } else {
                for (int j = 0; j < cols; j++) bp[dst + j] = b.getAtIndex(F, src + j);
            }
        }
    }

    /** Bᵀ, i.e. W[0:cols, 0:kc] (row stride ldw) → one panel, k-major: bp[dst + k·NR + j] = W[j][k]. */
    private static void packBt(float[] bp, int dst, MemorySegment w, long src, long ldw, int kc, int cols) {
        for (int j = 0; j < cols; j++) {
            long s = src + j * ldw;
            for (int k = 0, d = dst + j; k < kc; k++, d += NR) bp[d] = w.getAtIndex(F, s + k);
        }
    }

    /** tile[0:MR, 0:NR] = A-panel · B-panel over kc (A panel k-major with MR values per k, B panel with NR). */
    private static void kernel(float[] ap, int ao, float[] bp, int bo, int kc, float[] tile) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        for (int k = 0; k < kc; k++, ao += MR, bo += NR) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bo), b1 = FloatVector.fromArray(S, bp, bo + V);
            FloatVector x = FloatVector.broadcast(S, ap[ao]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, ap[ao + 1]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, ap[ao + 2]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, ap[ao + 3]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, ap[ao + 4]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, ap[ao + 5]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, V);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + V);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + V);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + V);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + V);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + V);
    }

    /**
     * C[0:rows, 0:cols] (byte offset {@code co}, row stride {@code ldc} bytes) = (first ? bias[j:j+cols] or 0 : C) +
     * tile. Whole vectors where the tile is full, scalars at the right edge.
     */
    private static void update(float[] tile, MemorySegment c, long co, long ldc, int rows, int cols, boolean first,
                               MemorySegment bias, int j) {
        int vecEnd = cols / V * V;
        for (int r = 0; r < rows; r++, co += ldc) {
            int t = r * NR;
            for (int x = 0; x < vecEnd; x += V) {
                long off = co + x * FB;
                FloatVector base = !first ? FloatVector.fromMemorySegment(S, c, off, ORDER)
                        : bias != null ? FloatVector.fromMemorySegment(S, bias, (j + x) * FB, ORDER) : FloatVector.zero(S);
                base.add(FloatVector.fromArray(S, tile, t + x)).intoMemorySegment(c, off, ORDER);
            }
            for (int x = vecEnd; x < cols; x++) {
                long off = co + x * FB;
                float base = !first ? c.get(F, off) : bias != null ? bias.getAtIndex(F, j + x) : 0f;
                c.set(F, off, base + tile[t + x]);
            }
        }
    }
}
