package dev.segsam.tensor.fast;

import dev.segsam.tensor.Parallel;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API SGEMM behind {@link Sgemm} (loaded only when the {@code jdk.incubator.vector} module is present).
 *
 * <p><b>Blocking</b> (Goto/BLIS scheme; V = floats per vector, 16 with AVX-512; per GEMM, i.e. per batch item):
 * <pre>
 *   K in equal blocks of kb ≤ KC, M in equal blocks of mb ≤ MC rows (mb a multiple of MR)
 *   pack op(B) once, all threads: panels of NR = 2V columns, k-major       bp[K block][N/NR panel][kb][NR]
 *   tasks = row blocks (× column chunks when rows are few), taken one at a time by the pool threads:
 *     for each K block:
 *       copy A[ic:ic+mb, K block] row by row, rows KC apart                 ap[mb][KC]        (L2: 576 KiB)
 *       for each B panel in the chunk:           micro-panel kb×NR          (L2: 128 KiB, reused mb/MR times)
 *         for each MR-row panel of the A block:  tile = A panel · B panel   (registers), then C (+)= tile
 * </pre>
 * <b>Micro-kernel.</b> An MR×NR = 6×2V tile of C (6×32 floats with AVX-512) in 12 vector accumulators; per k it
 * loads 2 B vectors, broadcasts 6 A values and issues 12 FMAs. 12 independent FMA chains cover the FMA latency, and
 * 12 + 2 + 1 registers fit without spills (16 with AVX2, 32 with AVX-512). The A panel is plain rows (a memcpy to
 * pack) at the constant stride KC: the 6 broadcast loads then use constant offsets, as fast as the classic k-major
 * panel that needs a scalar interleave to pack; with the stride a runtime value the loop ran ~7 % slower.
 *
 * <p><b>Block sizes</b> (Zen 4 here: 32 KiB L1d, 1 MiB L2 per core, measured in docs/kernels-cpu.md):
 * KC = 1024 is larger than the textbook "B micro-panel in L1" choice (256: 32 KiB): the micro-panel streams from
 * L2 at full speed, while every extra K block costs one more load/add/store pass over the C tile, which measured
 * ~10 % at KC = 256. With K ≤ 1024 (all SAM shapes but the MLP down projection) C is written exactly once. MC = 144:
 * the A block (144×1024 floats = 576 KiB) and a B micro-panel fit the 1 MiB L2, and packed B (shared by the
 * threads, read once per A block from L3) is re-read M/144 times.
 *
 * <p>Edges: rows beyond M in the last A panel and columns beyond N in the last B panel are computed from whatever the
 * reused buffers hold and never stored (the tile is copied to C row by row, whole vectors, then scalars at the
 * right edge). No allocation in the loops: buffers are per thread and grow only.
 *
 * <p>Determinism: the first K block writes {@code bias + tile}, later ones add into C; which thread runs a task never
 * changes the order of the sums, so results are bit-identical for any thread count.
 */
final class VectorSgemm {
    private VectorSgemm() {}

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int V = S.length();
    static final int MR = 6;
    static final int NR = 2 * V;
    /** Depth of a K block (tuning knob {@code segsam.sgemm.kc}). */
    static final int KC = Math.max(1, Integer.getInteger("segsam.sgemm.kc", 1024));
    /** Rows of a packed A block (tuning knob {@code segsam.sgemm.mc}, rounded up to a multiple of MR). */
    static final int MC = (Math.max(1, Integer.getInteger("segsam.sgemm.mc", 144)) + MR - 1) / MR * MR;

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final long FB = Float.BYTES;

    /** Per thread: [0] = packed A block, [1] = packed B, [2] = one C tile (grown on demand, never shrunk). */
    private static final ThreadLocal<float[][]> BUFFERS = ThreadLocal.withInitial(() -> new float[3][0]);

    static String describe() {
        return S + ", tile " + MR + "×" + NR + ", KC " + KC + ", MC " + MC;
    }

    private static float[] buffer(int which, int size) {
        float[][] b = BUFFERS.get();
        if (b[which].length < size) b[which] = new float[size];
        return b[which];
    }

    /**
     * Runs {@code body(t)} for {@code t < n}; in parallel, each pool thread takes the next task index until none are
     * left, so a thread that is slowed down (the machine is shared) takes fewer tasks.
     */
    static void forRange(Parallel par, int n, IntConsumer body) {
        if (par.threads() == 1 || n == 1) {
            for (int i = 0; i < n; i++) body.accept(i);
            return;
        }
        AtomicInteger next = new AtomicInteger();
        par.forRange(Math.min(n, par.threads()), w -> {
            for (int t; (t = next.getAndIncrement()) < n; ) body.accept(t);
        });
    }

    /** See {@link Sgemm#gemm}; {@code gelu}: C = GELU(A·op(B) + bias), applied as each C tile is stored for the last time. */
    static void gemm(int batch, int m, int n, int k, Sgemm.Mat a, Sgemm.Mat b, boolean bT, Sgemm.Mat c,
                     MemorySegment bias, Parallel par, boolean gelu) {
        int threads = par.threads();
        // Many items (attention heads, windows): one item per task. Few large items: parallel inside each.
        if (threads > 1 && batch > 1 && (batch >= 4 * threads || batch % threads == 0)) {
            par.forRange(batch, i -> item(i, m, n, k, a, b, bT, c, bias, Parallel.SEQUENTIAL, gelu));
        } else {
            for (int i = 0; i < batch; i++) item(i, m, n, k, a, b, bT, c, bias, par, gelu);
        }
    }

    private static void item(int item, int m, int n, int k, Sgemm.Mat a, Sgemm.Mat b, boolean bT, Sgemm.Mat c,
                             MemorySegment bias, Parallel par, boolean gelu) {
        long aOff = a.offset() + item * a.batchStride(), bOff = b.offset() + item * b.batchStride();
        long cOff = c.offset() + item * c.batchStride();
        MemorySegment as = a.data(), bs = b.data(), cs = c.data();
        long lda = a.ld(), ldb = b.ld(), ldc = c.ld();
        if (k == 0) { // C = bias (or 0), through GELU when fused
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    float y = bias == null ? 0f : bias.getAtIndex(F, j);
                    cs.setAtIndex(F, cOff + i * ldc + j, gelu ? VectorMath.gelu(y) : y);
                }
            }
            return;
        }
        if (m <= SMALL_M) {
            smallM(m, n, k, as, aOff, lda, bs, bOff, ldb, bT, cs, cOff, ldc, bias, par, gelu);
            return;
        }
        // Equal blocks: K in ceil(K/KC) blocks of kb, M in ceil(M/MC) blocks of mb rows (a multiple of MR).
        int kb = ceilDiv(k, ceilDiv(k, KC)), mb = roundUp(ceilDiv(m, ceilDiv(m, MC)), MR), mBlocks = ceilDiv(m, mb);
        int np = ceilDiv(n, NR); // B panels
        float[] bp = buffer(1, Math.multiplyExact(k, np * NR));
        if (bT) { // one panel per task: NR rows of W, read along K
            forRange(par, np, p -> {
                for (int pc = 0; pc < k; pc += kb) {
                    int kc = Math.min(kb, k - pc);
                    packBt(bp, pc * np * NR + p * kc * NR, bs, bOff + (long) p * NR * ldb + pc, ldb, kc, Math.min(NR, n - p * NR));
                }
            });
        } else { // 16 rows of B per task, each read once from start to end (strided reads would defeat the prefetcher)
            forRange(par, ceilDiv(k, 16), q -> {
                for (int r = q * 16; r < Math.min(k, q * 16 + 16); r++) {
                    int pc = r / kb * kb, kc = Math.min(kb, k - pc);
                    packBRow(bp, pc * np * NR + (r - pc) * NR, kc * NR, bs, bOff + (long) r * ldb, n);
                }
            });
        }

        // Enough tasks for the threads: split the columns too when there are few row blocks.
        int nj = par.threads() > 1 && mBlocks < 2 * par.threads() ? Math.min(np, ceilDiv(4 * par.threads(), mBlocks)) : 1;
        int panelsPerTask = ceilDiv(np, nj), tasksPerRow = ceilDiv(np, panelsPerTask);
        forRange(par, mBlocks * tasksPerRow, t -> {
            int ic = (t / tasksPerRow) * mb, mc = Math.min(mb, m - ic);
            int p0 = (t % tasksPerRow) * panelsPerTask, p1 = Math.min(np, p0 + panelsPerTask);
            float[] ap = buffer(0, MC * KC), tile = buffer(2, MR * NR);
            for (int pc = 0; pc < k; pc += kb) {
                int kc = Math.min(kb, k - pc);
                packA(ap, as, aOff + ic * lda + pc, lda, mc, kc);
                for (int p = p0; p < p1; p++) {
                    int j = p * NR, bo = pc * np * NR + p * kc * NR;
                    for (int ir = 0; ir < mc; ir += MR) {
                        kernel(ap, ir * KC, bp, bo, kc, tile);
                        update(tile, cs, (cOff + (ic + ir) * ldc + j) * FB, ldc * FB,
                                Math.min(MR, mc - ir), Math.min(NR, n - j), pc == 0, bias, j, gelu && pc + kc == k);
                    }
                }
            }
        });
    }

    /** At most this many rows of A take {@link #smallM}: packing B would cost more than the product. */
    static final int SMALL_M = 8;

    /** Small-M products with fewer multiply-adds than this run on the calling thread (tuning knob {@code segsam.sgemm.smallpar}). */
    static final long SMALL_PARALLEL_MACS = Long.getLong("segsam.sgemm.smallpar", 1L << 20);

    /**
     * A few rows of A (the mask decoder's 7 tokens, a hypernetwork's single row, 4 mask tokens × the upscaled
     * embedding): no packing. A is copied to an array; with {@code bT} each output is a vectorised dot product of an A row
     * and a row of B (a weight row, read in place: nothing repacks the weights); otherwise each V-wide column strip of B
     * is run through once per A row (the strip stays in L1). Columns are spread over the threads; every output is
     * computed by one thread in a fixed order.
     */
    private static void smallM(int m, int n, int k, MemorySegment as, long aOff, long lda, MemorySegment bs, long bOff, long ldb,
                               boolean bT, MemorySegment cs, long cOff, long ldc, MemorySegment bias, Parallel par,
                               boolean gelu) {
        float[] a = new float[m * k];
        for (int i = 0; i < m; i++) MemorySegment.copy(as, F, (aOff + i * lda) * FB, a, i * k, k);
        int strips = ceilDiv(n, V), perTask = Math.max(1, ceilDiv(strips, 8 * par.threads())), tasks = ceilDiv(strips, perTask);
        // below ~1 M multiply-adds (tens of µs) waking the pool costs more than the second core gives
        forRange((long) m * n * k >= SMALL_PARALLEL_MACS ? par : Parallel.SEQUENTIAL, tasks, t -> {
            int j0 = t * perTask * V, j1 = Math.min(n, j0 + perTask * V);
            smallMColumns(m, k, a, bs, bOff, ldb, bT, cs, cOff, ldc, bias, j0, j1);
            if (gelu) {
                float[] row = buffer(2, j1 - j0);
                for (int i = 0; i < m; i++) {
                    MemorySegment.copy(cs, F, (cOff + i * ldc + j0) * FB, row, 0, j1 - j0);
                    VectorMath.gelu(row, row, j1 - j0);
                    MemorySegment.copy(row, 0, cs, F, (cOff + i * ldc + j0) * FB, j1 - j0);
                }
            }
        });
    }

    /**
     * Columns {@code [j0, j1)} of the small-M product (see {@link #smallM}); {@code a} holds A's m rows of k floats.
     * Register blocks of 4 A rows × 2 columns: with {@code bT} two weight rows are read once per 4 A rows (8 dot products
     * in flight), otherwise a 2V-wide strip of B is read once per 4 A rows (8 accumulators), instead of once per row.
     * Rows beyond m in the last block repeat row m−1 and are not stored. Every output keeps the summation order of a
     * plain one-row loop (lanes over k, {@link VectorMath#sumLanes}, the scalar tail, then + bias; or bias, then k in
     * order), so the blocking does not change a bit.
     */
    private static void smallMColumns(int m, int k, float[] a, MemorySegment bs, long bOff, long ldb, boolean bT, MemorySegment cs,
                                      long cOff, long ldc, MemorySegment bias, int j0, int j1) {
        int kv = k / V * V;
        if (bT) {
            float[] sums = buffer(2, 8);
            for (int j = j0; j < j1; j += 2) {
                int jb = Math.min(j + 1, j1 - 1); // second column (a repeat of j at an odd end)
                long w0 = (bOff + j * ldb) * FB, w1 = (bOff + jb * ldb) * FB;
                float bias0 = bias == null ? 0f : bias.getAtIndex(F, j), bias1 = bias == null ? 0f : bias.getAtIndex(F, jb);
                for (int i0 = 0; i0 < m; i0 += 4) {
                    int r0 = i0 * k, r1 = Math.min(i0 + 1, m - 1) * k, r2 = Math.min(i0 + 2, m - 1) * k, r3 = Math.min(i0 + 3, m - 1) * k;
                    FloatVector s00 = FloatVector.zero(S), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00, s30 = s00, s31 = s00;
                    for (int kk = 0; kk < kv; kk += V) {
                        FloatVector b0 = FloatVector.fromMemorySegment(S, bs, w0 + kk * FB, ORDER);
                        FloatVector b1 = FloatVector.fromMemorySegment(S, bs, w1 + kk * FB, ORDER);
                        FloatVector x = FloatVector.fromArray(S, a, r0 + kk);
                        s00 = x.fma(b0, s00);
                        s01 = x.fma(b1, s01);
                        x = FloatVector.fromArray(S, a, r1 + kk);
                        s10 = x.fma(b0, s10);
                        s11 = x.fma(b1, s11);
                        x = FloatVector.fromArray(S, a, r2 + kk);
                        s20 = x.fma(b0, s20);
                        s21 = x.fma(b1, s21);
                        x = FloatVector.fromArray(S, a, r3 + kk);
                        s30 = x.fma(b0, s30);
                        s31 = x.fma(b1, s31);
                    }
                    // no vector crosses a branch or a call below: all eight sums first (selecting vectors would box them)
                    sums[0] = VectorMath.sumLanes(s00); // fixed order: the same bits compiled or not
                    sums[1] = VectorMath.sumLanes(s01);
                    sums[2] = VectorMath.sumLanes(s10);
                    sums[3] = VectorMath.sumLanes(s11);
                    sums[4] = VectorMath.sumLanes(s20);
                    sums[5] = VectorMath.sumLanes(s21);
                    sums[6] = VectorMath.sumLanes(s30);
                    sums[7] = VectorMath.sumLanes(s31);
                    for (int r = 0, rows = Math.min(4, m - i0); r < rows; r++) {
                        int ro = (i0 + r) * k;
                        float sum0 = sums[2 * r], sum1 = sums[2 * r + 1];
                        for (int kk = kv; kk < k; kk++) {
                            sum0 += a[ro + kk] * bs.get(F, w0 + kk * FB);
                            sum1 += a[ro + kk] * bs.get(F, w1 + kk * FB);
                        }
                        cs.setAtIndex(F, cOff + (i0 + r) * ldc + j, bias0 + sum0);
                        if (jb != j) cs.setAtIndex(F, cOff + (i0 + r) * ldc + jb, bias1 + sum1);
                    }
                }
            }
            return;
        }
        int j = j0;
        for (; j + 2 * V <= j1; j += 2 * V) {
            FloatVector c0 = bias == null ? FloatVector.zero(S) : FloatVector.fromMemorySegment(S, bias, j * FB, ORDER);
            FloatVector c1 = bias == null ? FloatVector.zero(S) : FloatVector.fromMemorySegment(S, bias, (j + V) * FB, ORDER);
            for (int i0 = 0; i0 < m; i0 += 4) {
                int r0 = i0 * k, r1 = Math.min(i0 + 1, m - 1) * k, r2 = Math.min(i0 + 2, m - 1) * k, r3 = Math.min(i0 + 3, m - 1) * k;
                FloatVector s00 = c0, s01 = c1, s10 = c0, s11 = c1, s20 = c0, s21 = c1, s30 = c0, s31 = c1;
                for (int kk = 0; kk < k; kk++) {
                    long bo = (bOff + kk * ldb + j) * FB;
                    FloatVector b0 = FloatVector.fromMemorySegment(S, bs, bo, ORDER), b1 = FloatVector.fromMemorySegment(S, bs, bo + V * FB, ORDER);
                    FloatVector x = FloatVector.broadcast(S, a[r0 + kk]);
                    s00 = b0.fma(x, s00);
                    s01 = b1.fma(x, s01);
                    x = FloatVector.broadcast(S, a[r1 + kk]);
                    s10 = b0.fma(x, s10);
                    s11 = b1.fma(x, s11);
                    x = FloatVector.broadcast(S, a[r2 + kk]);
                    s20 = b0.fma(x, s20);
                    s21 = b1.fma(x, s21);
                    x = FloatVector.broadcast(S, a[r3 + kk]);
                    s30 = b0.fma(x, s30);
                    s31 = b1.fma(x, s31);
                }
                int rows = Math.min(4, m - i0);
                long co = (cOff + i0 * ldc + j) * FB, step = ldc * FB;
                s00.intoMemorySegment(cs, co, ORDER);
                s01.intoMemorySegment(cs, co + V * FB, ORDER);
                if (rows > 1) {
                    s10.intoMemorySegment(cs, co + step, ORDER);
                    s11.intoMemorySegment(cs, co + step + V * FB, ORDER);
                }
                if (rows > 2) {
                    s20.intoMemorySegment(cs, co + 2 * step, ORDER);
                    s21.intoMemorySegment(cs, co + 2 * step + V * FB, ORDER);
                }
                if (rows > 3) {
                    s30.intoMemorySegment(cs, co + 3 * step, ORDER);
                    s31.intoMemorySegment(cs, co + 3 * step + V * FB, ORDER);
                }
            }
        }
        for (; j + V <= j1; j += V) {
            FloatVector b0 = bias == null ? FloatVector.zero(S) : FloatVector.fromMemorySegment(S, bias, j * FB, ORDER);
            for (int i = 0; i < m; i++) {
                FloatVector acc = b0;
                for (int kk = 0; kk < k; kk++) {
                    acc = FloatVector.fromMemorySegment(S, bs, (bOff + kk * ldb + j) * FB, ORDER).fma(FloatVector.broadcast(S, a[i * k + kk]), acc);
                }
                acc.intoMemorySegment(cs, (cOff + i * ldc + j) * FB, ORDER);
            }
        }
        for (; j < j1; j++) {
            for (int i = 0; i < m; i++) {
                float acc = bias == null ? 0f : bias.getAtIndex(F, j);
                for (int kk = 0; kk < k; kk++) acc += a[i * k + kk] * bs.getAtIndex(F, bOff + kk * ldb + j);
                cs.setAtIndex(F, cOff + i * ldc + j, acc);
            }
        }
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    private static int roundUp(int a, int b) {
        return ceilDiv(a, b) * b;
    }

    /** A[0:mc, 0:kc] (row stride lda, from float {@code src}) → ap[i·KC + k], one bulk copy per row. */
    private static void packA(float[] ap, MemorySegment a, long src, long lda, int mc, int kc) {
        for (int i = 0; i < mc; i++) MemorySegment.copy(a, F, (src + i * lda) * FB, ap, i * KC, kc);
    }

    /** One row of B (n floats from float {@code src}) → its NR-wide pieces at bp[dst + p·step], p = 0, 1, ... */
    private static void packBRow(float[] bp, int dst, int step, MemorySegment b, long src, int n) {
        int j = 0;
        for (; j + NR <= n; j += NR, dst += step) {
            FloatVector.fromMemorySegment(S, b, (src + j) * FB, ORDER).intoArray(bp, dst);
            FloatVector.fromMemorySegment(S, b, (src + j + V) * FB, ORDER).intoArray(bp, dst + V);
        }
        if (j < n) MemorySegment.copy(b, F, (src + j) * FB, bp, dst, n - j);
    }

    /** Bᵀ, i.e. W[0:cols, 0:kc] (row stride ldw) → one panel, k-major: bp[dst + k·NR + j] = W[j][k]. */
    private static void packBt(float[] bp, int dst, MemorySegment w, long src, long ldw, int kc, int cols) {
        for (int j = 0; j < cols; j++) {
            long s = src + j * ldw;
            for (int k = 0, d = dst + j; k < kc; k++, d += NR) bp[d] = w.getAtIndex(F, s + k);
        }
    }

    /**
     * tile[0:MR, 0:NR] = A-panel · B-panel over kc. A panel: MR rows of kc floats, KC apart (a constant stride: with
     * the row offsets known to the JIT this runs as fast as a k-major panel, measured); B panel: kc rows of NR floats.
     */
    private static void kernel(float[] ap, int ao, float[] bp, int bo, int kc, float[] tile) {
        kernel(ap, ao, bp, bo, kc, tile, 0, NR, false);
    }

    /**
     * The micro-kernel: {@code c[co + r·ldc + j] (+)= Σ_k ap[ao + r·KC + k]·bp[bo + k·NR + j]} for r &lt; MR, j &lt; NR,
     * i.e. an MR×NR tile of A-panel · B-panel over kc, written whole (MR rows of NR floats) into {@code c} at row stride
     * {@code ldc}; {@code accumulate} adds to what {@code c} holds. The GEMM stores into a per-thread tile; attention
     * ({@link FlashAttention}) writes its score and output blocks directly.
     */
    static void kernel(float[] ap, int ao, float[] bp, int bo, int kc, float[] c, int co, int ldc, boolean accumulate) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (accumulate) {
            c00 = FloatVector.fromArray(S, c, co);
            c01 = FloatVector.fromArray(S, c, co + V);
            c10 = FloatVector.fromArray(S, c, co + ldc);
            c11 = FloatVector.fromArray(S, c, co + ldc + V);
            c20 = FloatVector.fromArray(S, c, co + 2 * ldc);
            c21 = FloatVector.fromArray(S, c, co + 2 * ldc + V);
            c30 = FloatVector.fromArray(S, c, co + 3 * ldc);
            c31 = FloatVector.fromArray(S, c, co + 3 * ldc + V);
            c40 = FloatVector.fromArray(S, c, co + 4 * ldc);
            c41 = FloatVector.fromArray(S, c, co + 4 * ldc + V);
            c50 = FloatVector.fromArray(S, c, co + 5 * ldc);
            c51 = FloatVector.fromArray(S, c, co + 5 * ldc + V);
        } else {
            c00 = FloatVector.zero(S);
            c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = c00;
        }
        for (int k = 0; k < kc; k++, bo += NR) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bo), b1 = FloatVector.fromArray(S, bp, bo + V);
            FloatVector x = FloatVector.broadcast(S, ap[ao + k]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, ap[ao + k + 1 * KC]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, ap[ao + k + 2 * KC]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, ap[ao + k + 3 * KC]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, ap[ao + k + 4 * KC]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, ap[ao + k + 5 * KC]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
        }
        c00.intoArray(c, co);
        c01.intoArray(c, co + V);
        c10.intoArray(c, co + ldc);
        c11.intoArray(c, co + ldc + V);
        c20.intoArray(c, co + 2 * ldc);
        c21.intoArray(c, co + 2 * ldc + V);
        c30.intoArray(c, co + 3 * ldc);
        c31.intoArray(c, co + 3 * ldc + V);
        c40.intoArray(c, co + 4 * ldc);
        c41.intoArray(c, co + 4 * ldc + V);
        c50.intoArray(c, co + 5 * ldc);
        c51.intoArray(c, co + 5 * ldc + V);
    }

    /**
     * C[0:rows, 0:cols] (byte offset {@code co}, row stride {@code ldc} bytes) = (first ? bias[j:j+cols] or 0 : C) +
     * tile, then GELU when {@code gelu} (the last K block of a fused linear + GELU). Whole vectors where the tile is
     * full, scalars at the right edge.
     */
    private static void update(float[] tile, MemorySegment c, long co, long ldc, int rows, int cols, boolean first,
                               MemorySegment bias, int j, boolean gelu) {
        if (gelu) {
            updateGelu(tile, c, co, ldc, rows, cols, first, bias, j);
            return;
        }
        int vecEnd = cols / V * V;
        for (int r = 0; r < rows; r++, co += ldc) {
            int t = r * NR;
            for (int x = 0; x < vecEnd; x += V) {
                long off = co + x * FB;
                FloatVector base = !first ? FloatVector.fromMemorySegment(S, c, off, ORDER)
                        : bias != null ? FloatVector.fromMemorySegment(S, bias, (j + x) * FB, ORDER) : FloatVector.zero(S);
                FloatVector y = base.add(FloatVector.fromArray(S, tile, t + x));
                y.intoMemorySegment(c, off, ORDER);
            }
            for (int x = vecEnd; x < cols; x++) {
                long off = co + x * FB;
                float base = !first ? c.get(F, off) : bias != null ? bias.getAtIndex(F, j + x) : 0f;
                c.set(F, off, base + tile[t + x]);
            }
        }
    }

    /**
     * {@link #update} with GELU: the same sums, then {@link VectorMath#gelu(MemorySegment, long, MemorySegment, long,
     * int)} in place on each row (L1-hot), a call that passes no vectors. With {@link VectorMath#geluVector} called in
     * this loop (or in {@code update}) C2 did not inline it ("callee is too large", "already compiled into a medium
     * method") and boxed every vector: 144 MB of garbage per ViT-B MLP-up call, linearGelu at 74 GFLOP/s against
     * linear's 90 (one thread, measured).
     */
    private static void updateGelu(float[] tile, MemorySegment c, long co, long ldc, int rows, int cols, boolean first,
                                   MemorySegment bias, int j) {
        update(tile, c, co, ldc, rows, cols, first, bias, j, false);
        for (int r = 0; r < rows; r++, co += ldc) VectorMath.gelu(c, co, c, co, cols);
    }
}
