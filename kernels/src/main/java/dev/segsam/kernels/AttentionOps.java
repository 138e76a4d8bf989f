package dev.segsam.kernels;

import static dev.segsam.kernels.CudaRuntime.requireDevice;
import static dev.segsam.kernels.KernelArgs.in;
import static dev.segsam.kernels.KernelArgs.out;

import dev.segsam.tensor.Backend.RelPos;
import dev.segsam.tensor.Options.AttentionKind;
import dev.segsam.tensor.Shapes;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorScope;
import java.util.Collections;

/**
 * The CUDA backend's attention and positional encodings. Two ways to compute attention, chosen by
 * {@link AttentionKind}:
 * <ul>
 *   <li>{@link AttentionKind#FLASH} (default): one launch of a fused flash-attention kernel ({@code attention.cuh}):
 *       online softmax over key tiles, the rel-pos bias built inside the kernel from the unscaled q, no score tensor;
 *       fp32 FMAs, or TF32 tensor cores when the GEMM engine is TF32. Head dims 16, 32, 64, 80 with d = dv and shared
 *       memory under 48 KiB (rel-pos grids up to kh + kw = 128 at d = 80); anything else takes score tiles.</li>
 *   <li>{@link AttentionKind#TILED}, materialised score tiles: for each tile of T query rows, {@code S = scale·q_tile·kᵀ}
 *       (GEMM "nt", all B at once), the rel-pos bias and the softmax in place ({@code attn_softmax_f32}), then
 *       {@code out[:, tile] = S·v}. T is the largest multiple of 16 that keeps the [B, T, Nk] tile under the tile budget
 *       ({@code Options.cudaAttentionTileMiB}, 64 MiB: SAM-B's global attention, 12 heads × 4096 keys, gets 336 rows per
 *       tile instead of one 805 MB score tensor). Scaling the product instead of q first differs from the reference by
 *       rounding only (exactly nothing for SAM's power-of-two 0.125).</li>
 * </ul>
 */
final class AttentionOps {
    /** Query rows per block of the flash kernels ({@code SEG_FA_BQ}); keys per tile are 32 as well. */
    static final int FLASH_ROWS = 32;
    /** Shared memory a launch may use without the opt-in attribute. */
    static final int FLASH_MAX_SMEM = 48 * 1024;

    private final CudaRuntime rt;
    private final Gemm gemm;
    private final LayoutOps layout;
    private final boolean fused;
    /** Most bytes one tile of scores [B, T, Nk] may take. */
    private final long tileBytes;

    AttentionOps(CudaRuntime rt, Gemm gemm, LayoutOps layout, AttentionKind kind, long tileBytes) {
        if (tileBytes < 1) throw new IllegalArgumentException("attention tile budget " + tileBytes + " bytes");
        this.rt = rt;
        this.gemm = gemm;
        this.layout = layout;
        this.fused = kind == AttentionKind.FLASH;
        this.tileBytes = tileBytes;
    }

    /** What this attention is, in words (the backend's name). */
    String label() {
        return fused ? "fused flash" : "score tiles";
    }

    private static String str(Tensor t) {
        return Shapes.str(t.shape());
    }

    Tensor attention(Tensor q, Tensor k, Tensor v, float scale, RelPos relPos) {
        requireDevice("attention", q, k, v);
        Shapes.checkAttention(q, k, v, relPos);
        int B = q.size(0), Nq = q.size(1), d = q.size(2), Nk = k.size(1), dv = v.size(2);
        if (relPos != null) requireDevice("attention rel-pos", relPos.relH(), relPos.relW());
        if (B > 65535) throw new IllegalArgumentException("attention: batch·heads " + B + " exceeds one launch (65535)");
        int kh = relPos == null ? 1 : relPos.kh(), kw = relPos == null ? 1 : relPos.kw();
        if (relPos != null && (d + kh + kw) * Float.BYTES > FLASH_MAX_SMEM) {
            throw new IllegalArgumentException("attention: rel-pos head dim " + d + " with " + kh + "+" + kw + " keys needs too much shared memory");
        }
        Tensor y = rt.alloc(B, Nq, dv);
        if (y.numel() == 0) return y;
        String what = "attention q " + str(q) + ", k " + str(k) + ", v " + str(v) + (relPos == null ? "" : " + rel-pos");
        Kernel fk = fused && Nk > 0 ? flashKernel(d, dv) : null;
        int smem = fk == null ? 0 : flashSharedBytes(fk, d, relPos == null ? 0 : kh + kw);
        if (fk != null && smem <= FLASH_MAX_SMEM) {
            // plain [B, N, d] operands: one head per batch item, rows of d floats
            rt.launch(fk, what, (Nq + FLASH_ROWS - 1) / FLASH_ROWS, B, 1, fk.threads, 1, smem, new KernelArgs.FlashAttention(out(y),
                    in(q), in(k), in(v), Nq, Nk, 1, d, Nq * d, 0, d, Nk * d, 0, dv, Nk * dv, 0, dv, Nq * dv, 0, scale,
                    relPos == null ? null : in(relPos.relH()), relPos == null ? null : in(relPos.relW()),
                    relPos == null ? 1 : relPos.qw(), kh, kw));
            return y;
        }
        scoreTiles(what, q, k, v, scale, relPos, y);
        return y;
    }

    /** Attention through materialised score tiles (see the class comment) into {@code y [B, Nq, dv]}. */
    private void scoreTiles(String what, Tensor q, Tensor k, Tensor v, float scale, RelPos relPos, Tensor y) {
        int B = q.size(0), Nq = q.size(1), d = q.size(2), Nk = k.size(1), dv = v.size(2);
        int kh = relPos == null ? 1 : relPos.kh(), kw = relPos == null ? 1 : relPos.kw(), qw = relPos == null ? 1 : relPos.qw();
        int smem = relPos == null ? 0 : (d + kh + kw) * Float.BYTES;
        int T = tileRows(B, Nq, Nk);
        try (Tensor s = rt.alloc(B, T, Nk)) {
            for (int t0 = 0; t0 < Nq; t0 += T) {
                int tn = Math.min(T, Nq - t0);
                gemm.run(what + ", q·kᵀ rows " + t0 + "+" + tn, B, tn, Nk, d, Gemm.Mat.of(q, (long) t0 * d, d, (long) Nq * d),
                        Gemm.Mat.of(k, 0, d, (long) Nk * d).transposed(), Gemm.Mat.of(s, 0, Nk, (long) T * Nk), scale, null,
                        Gemm.BIAS_NONE, Gemm.ACT_NONE);
                rt.launch(Kernel.ATTN_SOFTMAX, what + ", softmax rows " + t0 + "+" + tn, tn, B, 1, 128, 1, smem,
                        new KernelArgs.AttnSoftmax(out(s), T, Nk, in(q), Nq, d, t0, relPos == null ? null : in(relPos.relH()),
                                relPos == null ? null : in(relPos.relW()), qw, kh, kw));
                gemm.run(what + ", p·v rows " + t0 + "+" + tn, B, tn, dv, Nk, Gemm.Mat.of(s, 0, Nk, (long) T * Nk),
                        Gemm.Mat.of(v, 0, dv, (long) Nk * dv), Gemm.Mat.of(y, (long) t0 * dv, dv, (long) Nq * dv), 1f, null,
                        Gemm.BIAS_NONE, Gemm.ACT_NONE);
            }
        }
    }

    /**
     * Multi-head attention on head-interleaved projections, as SAM's mask decoder runs it between its projections:
     * {@code q [B, nq, heads·d], k [Bk, nk, heads·d], v [Bk, nk, heads·d] → [B, nq, heads·d]}, head h owning channels
     * {@code h·d … h·d + d − 1}, per head {@code softmax((q_h·scale)·k_hᵀ)·v_h}. {@code Bk} is B, or 1 to share one k / v
     * (one image embedding) between all B query batches (many prompts): batch stride 0, no copy.
     *
     * <p>With a flash kernel for d (16, 32, 64, 80): one launch reading the heads in place (row stride heads·d, head
     * offset h·d), no permute copies, no scores. Otherwise: split heads (permute; k / v repeated B times when shared),
     * {@link #attention}, merge heads.
     */
    Tensor multiHeadAttention(Tensor q, Tensor k, Tensor v, int heads, float scale) {
        requireDevice("multi-head attention", q, k, v);
        Shapes.requireRank(q, 3, "multi-head attention q");
        Shapes.requireRank(k, 3, "multi-head attention k");
        Shapes.requireRank(v, 3, "multi-head attention v");
        int B = q.size(0), nq = q.size(1), nk = k.size(1), Bk = k.size(0);
        if (heads <= 0 || q.size(2) % heads != 0 || v.size(2) % heads != 0) {
            throw new IllegalArgumentException("multi-head attention: " + heads + " heads do not divide q " + str(q) + " / v " + str(v));
        }
        int d = q.size(2) / heads, dv = v.size(2) / heads;
        if (k.size(2) != q.size(2) || v.size(1) != nk || v.size(0) != Bk || (Bk != B && Bk != 1)) {
            throw new IllegalArgumentException("multi-head attention: q " + str(q) + ", k " + str(k) + ", v " + str(v) + " do not match");
        }
        if ((long) B * heads > 65535) throw new IllegalArgumentException("multi-head attention: batch·heads " + B * heads + " exceeds one launch (65535)");
        Kernel fk = fused && nk > 0 ? flashKernel(d, dv) : null;
        if (fk != null && nq > 0) {
            Tensor y = rt.alloc(B, nq, heads * dv);
            int hd = heads * d, hdv = heads * dv, shared = Bk == 1 ? 0 : 1;
            rt.launch(fk, "multi-head attention q " + str(q) + ", k " + str(k) + ", v " + str(v) + ", " + heads + " heads",
                    (nq + FLASH_ROWS - 1) / FLASH_ROWS, B * heads, 1, fk.threads, 1, flashSharedBytes(fk, d, 0),
                    new KernelArgs.FlashAttention(out(y), in(q), in(k), in(v), nq, nk, heads, hd, nq * hd, d, hd, shared * nk * hd, d,
                            hdv, shared * nk * hdv, dv, hdv, nq * hdv, dv, scale, null, null, 1, 1, 1));
            return y;
        }
        try (TensorScope s = TensorScope.open()) {
            Tensor kk = k, vv = v;
            if (Bk != B) { // shared k / v on the fallback path: repeated per batch item
                kk = layout.concat(Collections.nCopies(B, k), 0);
                vv = layout.concat(Collections.nCopies(B, v), 0);
            }
            Tensor qh = layout.permute(q.reshape(B, nq, heads, d), 0, 2, 1, 3);
            Tensor kh = layout.permute(kk.reshape(B, nk, heads, d), 0, 2, 1, 3);
            Tensor vh = layout.permute(vv.reshape(B, nk, heads, dv), 0, 2, 1, 3);
            Tensor o = attention(qh.reshape(B * heads, nq, d), kh.reshape(B * heads, nk, d), vh.reshape(B * heads, nk, dv), scale, null);
            return s.keep(layout.permute(o.reshape(B, heads, nq, dv), 0, 2, 1, 3).reshape(B, nq, heads * dv));
        }
    }

    /**
     * The flash kernel for head dim {@code d} (= {@code dv}) in this backend's precision (TF32 tensor cores when the GEMM
     * engine is TF32), or null where only score tiles apply (other head dims, d ≠ dv).
     */
    Kernel flashKernel(int d, int dv) {
        if (d != dv) return null;
        boolean tf32 = gemm.engine.tf32();
        return switch (d) {
            case 16 -> tf32 ? Kernel.FLASH_ATTN_TF32_D16 : Kernel.FLASH_ATTN_F32_D16;
            case 32 -> tf32 ? Kernel.FLASH_ATTN_TF32_D32 : Kernel.FLASH_ATTN_F32_D32;
            case 64 -> tf32 ? Kernel.FLASH_ATTN_TF32_D64 : Kernel.FLASH_ATTN_F32_D64;
            case 80 -> tf32 ? Kernel.FLASH_ATTN_TF32_D80 : Kernel.FLASH_ATTN_F32_D80;
            default -> null;
        };
    }

    /** Dynamic shared memory of a flash launch (the layouts in attention.cuh); {@code nb = kh + kw}, 0 without rel-pos. */
    static int flashSharedBytes(Kernel k, int d, int nb) {
        int bq = FLASH_ROWS, bk = FLASH_ROWS;
        long floats = k.threads == 64
                ? (long) bk * (d + 4) + (long) bk * (d + 8) + 2L * 16 * (bk + 4) // tf32: K, V, P slabs (q staged in their place)
                : (long) bq * (d + 1) + Math.max((long) bk * (d + 1), (long) bq * (bk + 1)) + (long) bk * d; // fp32: Q, K/P, V
        floats += (long) bq * nb;
        return (int) Math.min(Integer.MAX_VALUE, floats * Float.BYTES);
    }

    /** Query rows per score tile (see the class comment). */
    int tileRows(int B, int Nq, int Nk) {
        long perRow = Math.max(1L, (long) B * Math.max(Nk, 1) * Float.BYTES);
        long t = Math.max(1, Math.min(Nq, tileBytes / perRow));
        if (t >= 16 && t < Nq) t -= t % 16;
        return (int) t;
    }

    Tensor relPosLookup(Tensor table, int qSize, int kSize) {
        requireDevice("rel_pos lookup", table);
        Shapes.requireRank(table, 2, "rel_pos table");
        if (qSize <= 0 || kSize <= 0) throw new IllegalArgumentException("rel_pos sizes " + qSize + ", " + kSize);
        int maxDist = 2 * Math.max(qSize, kSize) - 1;
        int L = table.size(0), d = table.size(1);
        if (L == 0) throw new IllegalArgumentException("empty rel_pos table");
        String what = "rel_pos lookup " + str(table) + " for " + qSize + "x" + kSize;
        try (TensorScope s = TensorScope.open()) {
            Tensor t = table;
            if (L != maxDist) {
                t = rt.alloc(maxDist, d);
                rt.launch1d(Kernel.RELPOS_RESIZE, what + " (resize to " + maxDist + ")", t.numel(), new KernelArgs.RelPosResize(out(t), in(table), L, maxDist, d));
            }
            // the reference's float32 index maths, scales computed here exactly as it does
            float qScale = (float) Math.max((double) kSize / qSize, 1.0);
            float kScale = (float) Math.max((double) qSize / kSize, 1.0);
            float shift = (float) ((kSize - 1) * Math.max((double) qSize / kSize, 1.0));
            Tensor y = rt.alloc(qSize, kSize, d);
            rt.launch1d(Kernel.RELPOS_GATHER, what, y.numel(), new KernelArgs.RelPosGather(out(y), in(t), maxDist, qSize, kSize, d, qScale, kScale, shift));
            return s.keep(y);
        }
    }

    Tensor fourierPositionEncoding(Tensor coords, Tensor gaussian) {
        requireDevice("position encoding", coords, gaussian);
        if (coords.rank() < 1 || coords.size(-1) != 2) {
            throw new IllegalArgumentException("position encoding coords must end in 2, got " + str(coords));
        }
        Shapes.requireRank(gaussian, 2, "gaussian matrix");
        if (gaussian.size(0) != 2) throw new IllegalArgumentException("gaussian matrix must be [2, F], got " + str(gaussian));
        int F = gaussian.size(1), np = (int) (coords.numel() / 2);
        int[] s = coords.shape();
        s[s.length - 1] = 2 * F;
        Tensor y = rt.alloc(s);
        rt.launch1d(Kernel.FOURIER_PE, "position encoding " + str(coords) + " · " + str(gaussian), (long) np * F,
                new KernelArgs.FourierPe(out(y), in(coords), in(gaussian), np, F, (float) (2 * Math.PI)));
        return y;
    }
}
