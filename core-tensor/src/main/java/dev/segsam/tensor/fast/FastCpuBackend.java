package dev.segsam.tensor.fast;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.CpuBackend;
import dev.segsam.tensor.Device;
import dev.segsam.tensor.Options;
import dev.segsam.tensor.Parallel;
import dev.segsam.tensor.Shapes;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorScope;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;

/**
 * The fast CPU backend: the GEMM-shaped ops — {@link #matmul}, {@link #linear}, {@link #conv2d},
 * {@link #convTranspose2d} — run on {@link Sgemm} (Vector API, packed and blocked, all cores) straight from the
 * tensors' memory (memory-mapped weights included, no copies); attention runs on {@link FlashAttention} (fused,
 * flash-style, heads read and written in place, see {@link #multiHeadAttention} and {@link #encoderAttention});
 * element-wise, normalisation and layout ops are vectorised ({@link VectorMath}, {@link SegmentOps}); the rest is the
 * reference {@link CpuBackend}'s, which stays the oracle (tests compare the two). {@link dev.segsam.tensor.Backends#cpu(Options)}
 * makes it for {@link Options.CpuKind#FAST} (the default) when the JVM has {@code --add-modules jdk.incubator.vector}.
 * Its threads ({@link #parallel()}, from {@link Options#threads()}) are handed to every kernel it calls.
 */
public final class FastCpuBackend implements Backend {
    private final Parallel par;
    private final CpuBackend ref;

    /** The fast backend on every available processor ({@link Options#defaults()}). */
    public FastCpuBackend() {
        this(Options.defaults().threads());
    }

    /** The fast backend with its kernels spread over {@code threads} threads (1 = sequential); needs {@link Sgemm#available()}. */
    public FastCpuBackend(int threads) {
        if (!Sgemm.available()) throw new IllegalStateException(Sgemm.describe());
        this.par = Parallel.of(threads);
        this.ref = new CpuBackend(threads);
    }

    @Override
    public Parallel parallel() {
        return par;
    }

    @Override
    public String name() {
        return "cpu-fast";
    }

    @Override
    public Device device() {
        return Device.CPU;
    }

    @Override
    public Tensor upload(Tensor host) {
        return ref.upload(host);
    }

    @Override
    public Tensor download(Tensor t) {
        return ref.download(t);
    }

    @Override
    public Tensor zeros(int... shape) {
        return ref.zeros(shape);
    }

    private static Sgemm.Mat mat(Tensor t, long ld, long batchStride) {
        return new Sgemm.Mat(t.data(), 0, ld, batchStride);
    }

    // ------------------------------------------------------------------ GEMM-shaped ops

    @Override
    public Tensor matmul(Tensor a, Tensor b) {
        if (a.rank() < 2 || b.rank() < 2) return ref.matmul(a, b);
        int[] as = a.shape(), bs = b.shape();
        int M = as[as.length - 2], K = as[as.length - 1], N = bs[bs.length - 1];
        if (bs[bs.length - 2] != K) return ref.matmul(a, b); // the reference reports the error
        int[] batchA = Arrays.copyOf(as, as.length - 2), batchB = Arrays.copyOf(bs, bs.length - 2);
        int[] batch = Shapes.broadcast(batchA, batchB);
        long nb = Shapes.numel(batch), na = Shapes.numel(batchA), nbb = Shapes.numel(batchB);
        // one strided GEMM covers equal batches and a shared (unbatched) operand; other broadcasts go item by item
        if (!(na == nb || na == 1) || !(nbb == nb || nbb == 1)) return ref.matmul(a, b);
        if (na == nb && !Arrays.equals(batchA, batch) || nbb == nb && nbb > 1 && !Arrays.equals(batchB, batch)) return ref.matmul(a, b);
        int[] os = Arrays.copyOf(batch, batch.length + 2);
        os[batch.length] = M;
        os[batch.length + 1] = N;
        Tensor c = Tensor.empty(os);
        Sgemm.gemm(par, Math.toIntExact(nb), M, N, K, mat(a, K, na == 1 ? 0 : (long) M * K), mat(b, N, nbb == 1 ? 0 : (long) K * N), false,
                mat(c, N, (long) M * N), null);
        return c;
    }

    @Override
    public Tensor linear(Tensor x, Tensor w, Tensor bias) {
        return linear(x, w, bias, false);
    }

    /** GELU fused into the GEMM's store of each output tile ({@link VectorMath#geluVector}, as {@link #gelu}). */
    @Override
    public Tensor linearGelu(Tensor x, Tensor w, Tensor bias) {
        return linear(x, w, bias, true);
    }

    private Tensor linear(Tensor x, Tensor w, Tensor bias, boolean gelu) {
        if (w.rank() != 2 || x.rank() < 1 || x.size(-1) != w.size(1) || bias != null && (bias.rank() != 1 || bias.size(0) != w.size(0))) {
            return gelu ? Backend.super.linearGelu(x, w, bias) : ref.linear(x, w, bias); // the reference reports the error
        }
        int in = w.size(1), out = w.size(0), rows = Math.toIntExact(x.numel() / in);
        int[] s = x.shape();
        s[s.length - 1] = out;
        Tensor y = Tensor.empty(s);
        Sgemm.gemm(par, 1, rows, out, in, mat(x, in, 0), mat(w, in, 0), true, mat(y, out, 0), bias == null ? null : bias.data(), gelu);
        return y;
    }

    /** {@link Im2col}: the reference's values, written in spans (it ran interpreted at the end of a fresh encode). */
    @Override
    public Tensor im2col(Tensor x, int kh, int kw, int sh, int sw, int ph, int pw) {
        return Im2col.run(par, x, kh, kw, sh, sw, ph, pw);
    }

    /** {@code conv2d} as {@link Im2col} + one GEMM per image: {@code out[b] = W[O, C·kh·kw]·cols[b] + bias}. */
    @Override
    public Tensor conv2d(Tensor x, Tensor w, Tensor bias, int sh, int sw, int ph, int pw) {
        if (x.rank() != 4 || w.rank() != 4 || x.size(1) != w.size(1)) return ref.conv2d(x, w, bias, sh, sw, ph, pw);
        int B = x.size(0), O = w.size(0), CKK = w.size(1) * w.size(2) * w.size(3);
        try (Tensor cols = Im2col.run(par, x, w.size(2), w.size(3), sh, sw, ph, pw)) {
            int L = cols.size(2), Ho = (x.size(2) + 2 * ph - w.size(2)) / sh + 1, Wo = L / Ho;
            Tensor y = Tensor.empty(B, O, Ho, Wo);
            Sgemm.gemm(par, B, O, L, CKK, mat(w, CKK, 0), mat(cols, L, (long) CKK * L), false, mat(y, L, (long) O * L), null);
            if (bias != null) {
                MemorySegment d = y.data(), bs = bias.data();
                par.forRange(B * O, r -> {
                    float bo = bs.getAtIndex(Tensor.LAYOUT, r % O);
                    for (long i = (long) r * L, end = i + L; i < end; i++) d.setAtIndex(Tensor.LAYOUT, i, d.getAtIndex(Tensor.LAYOUT, i) + bo);
                });
            }
            return y;
        }
    }

    /**
     * {@code conv_transpose2d} (padding 0) as one GEMM per image, {@code cols[(o,i,j), (y,x)] = Σ_c W[c,(o,i,j)]·x[c,(y,x)]},
     * then per output plane (in a per-thread array): the bias, and {@code out[o, y·s + i, x·s + j] += cols[...]}.
     */
    @Override
    public Tensor convTranspose2d(Tensor x, Tensor w, Tensor bias, int s) {
        if (x.rank() != 4 || w.rank() != 4 || w.size(0) != x.size(1) || s <= 0 || bias != null && bias.numel() != w.size(1)) {
            return ref.convTranspose2d(x, w, bias, s);
        }
        int B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), O = w.size(1), kh = w.size(2), kw = w.size(3);
        int Ho = (H - 1) * s + kh, Wo = (W - 1) * s + kw, OKK = O * kh * kw, HW = H * W;
        float[] wt = w.toArray(), wT = new float[OKK * C]; // [C, OKK] → [OKK, C], the GEMM's A
        for (int c = 0; c < C; c++) for (int r = 0; r < OKK; r++) wT[r * C + c] = wt[c * OKK + r];
        float[] bv = bias == null ? null : bias.toArray();
        Tensor y = Tensor.empty(B, O, Ho, Wo);
        if (s == kh && s == kw) { // every output pixel gets exactly one tap: tiles of input rows, no cols tensor
            convTransposeCover(x, wT, bv, y, B, C, H, W, O, s);
            return y;
        }
        try (Tensor cols = Tensor.empty(B, OKK, HW)) {
            Sgemm.gemm(par, B, OKK, HW, C, new Sgemm.Mat(MemorySegment.ofArray(wT), 0, C, 0), mat(x, HW, (long) C * HW), false,
                    mat(cols, HW, (long) OKK * HW), null);
            MemorySegment cs = cols.data(), out = y.data();
            par.forRange(B * O, bo -> {
                int b = bo / O, o = bo % O;
                float[] plane = Buffers.get(0, Ho * Wo), tap = Buffers.get(1, HW);
                float b0 = bv == null ? 0f : bv[o];
                boolean cover = s == kh && s == kw; // every output pixel gets exactly one tap: write bias + tap
                if (!cover) Arrays.fill(plane, 0, Ho * Wo, b0);
                for (int i = 0; i < kh; i++) {
                    for (int j = 0; j < kw; j++) { // tap (i, j) of output channel o: one H×W row of cols
                        MemorySegment.copy(cs, Tensor.LAYOUT, ((long) b * OKK + (o * kh + i) * kw + j) * HW * Float.BYTES, tap, 0, HW);
                        for (int yy = 0, t = 0; yy < H; yy++) {
                            int d = (yy * s + i) * Wo + j;
                            if (cover) for (int xx = 0; xx < W; xx++, d += s) plane[d] = b0 + tap[t++];
                            else for (int xx = 0; xx < W; xx++, d += s) plane[d] += tap[t++];
                        }
                    }
                }
                MemorySegment.copy(plane, 0, out, Tensor.LAYOUT, (long) bo * Ho * Wo * Float.BYTES, Ho * Wo);
            });
        }
        return y;
    }

    /** {@link ResidualNormOps}: per block of rows the GEMM, the residual and the norm in one pass (bit-identical to the three ops). */
    @Override
    public Tensor linearAddLayerNorm(Tensor x, Tensor w, Tensor bias, Tensor residual, Tensor lnW, Tensor lnB, float eps) {
        boolean ok = RESIDUAL_NORM_FUSED && w.rank() == 2 && x.rank() >= 1 && x.size(-1) == w.size(1) && w.size(0) > 0 && x.numel() > 0
                && (bias == null || bias.rank() == 1 && bias.size(0) == w.size(0))
                && (lnW == null || lnW.numel() == w.size(0)) && (lnB == null || lnB.numel() == w.size(0));
        if (ok) {
            int[] s = x.shape();
            s[s.length - 1] = w.size(0);
            ok = Arrays.equals(s, residual.shape());
        }
        return ok ? ResidualNormOps.linearAddLayerNorm(par, x, w, bias, residual, lnW, lnB, eps)
                : Backend.super.linearAddLayerNorm(x, w, bias, residual, lnW, lnB, eps);
    }

    /** {@code -Dsegsam.residualnorm.fused=false} (lab knob): {@link #linearAddLayerNorm} as the three separate ops. */
    static final boolean RESIDUAL_NORM_FUSED = Boolean.parseBoolean(System.getProperty("segsam.residualnorm.fused", "true"));

    /** {@link UpscaleOps}: GELU applied to each task's block of products (kernel = stride), bit-identical to the two ops. */
    @Override
    public Tensor convTranspose2dGelu(Tensor x, Tensor w, Tensor bias, int s) {
        if (!coverShapes(x, w, bias, s)) return Backend.super.convTranspose2dGelu(x, w, bias, s);
        return UpscaleOps.convTransposeGelu(par, x, w, bias, s, false, null, null, 0f);
    }

    /** {@link UpscaleOps}: GELU and the projection over the output channels on each task's block (equal to float rounding). */
    @Override
    public Tensor convTranspose2dGeluProject(Tensor x, Tensor w, Tensor bias, int s, Tensor proj) {
        if (!coverShapes(x, w, bias, s) || !PROJECT_FUSED || proj.rank() != 3 || proj.size(0) != x.size(0) || proj.size(2) != w.size(1)
                || proj.size(1) == 0) {
            return Backend.super.convTranspose2dGeluProject(x, w, bias, s, proj);
        }
        return UpscaleOps.convTransposeGelu(par, x, w, bias, s, false, null, null, 0f, proj);
    }

    /** {@code -Dsegsam.upscale.project=false} (lab knob): the masks product as a separate matmul after the last upscaling stage. */
    static final boolean PROJECT_FUSED = Boolean.parseBoolean(System.getProperty("segsam.upscale.project", "true"));

    /** {@link UpscaleOps}: LayerNorm2d and GELU on each task's block of products (kernel = stride), bit-identical to the three ops. */
    @Override
    public Tensor convTranspose2dLayerNormGelu(Tensor x, Tensor w, Tensor bias, int s, Tensor lnW, Tensor lnB, float eps) {
        int O = w.rank() == 4 ? w.size(1) : -1;
        if (!coverShapes(x, w, bias, s) || lnW != null && lnW.numel() != O || lnB != null && lnB.numel() != O) {
            return Backend.super.convTranspose2dLayerNormGelu(x, w, bias, s, lnW, lnB, eps);
        }
        return UpscaleOps.convTransposeGelu(par, x, w, bias, s, true, lnW, lnB, eps);
    }

    /** Shapes {@link UpscaleOps} takes: rank 4, {@code w [C, O, s, s]}, bias {@code [O]} or none, a non-empty output. */
    private static boolean coverShapes(Tensor x, Tensor w, Tensor bias, int s) {
        return UPSCALE_FUSED && x.rank() == 4 && w.rank() == 4 && w.size(0) == x.size(1) && s > 0 && w.size(2) == s && w.size(3) == s
                && (bias == null || bias.numel() == w.size(1)) && x.numel() > 0 && w.size(1) > 0;
    }

    /** {@code -Dsegsam.upscale.fused=false} (lab knob): the upscaling stages as separate ops (the A/B of docs/PERF.md "decode II"). */
    static final boolean UPSCALE_FUSED = Boolean.parseBoolean(System.getProperty("segsam.upscale.fused", "true"));

    /**
     * {@code -Dsegsam.convt.zip=false}: assemble the stride-2 output rows with scalar stores (the kernel before
     * {@link VectorMath#interleave2}, kept for A/B runs in docs/kernels-cpu.md); the values are the same either way.
     */
    static final boolean CONVT_ZIP = Boolean.parseBoolean(System.getProperty("segsam.convt.zip", "true"));

    /** Input pixels per task of {@link #convTransposeCover} (whole input rows): the task's cols block stays in L2. */
    static final int CONVT_PIXELS = 512;

    /**
     * {@code conv_transpose2d} with kernel = stride (SAM's 2×2, stride 2 upscaling: each output pixel is one tap), in
     * tasks of whole input rows (about {@value #CONVT_PIXELS} pixels): a single-threaded GEMM
     * {@code cols[(o,i,j), p] = Σ_c W[c,(o,i,j)]·x[c, p]} for the task's pixels into a per-thread array (L2-resident),
     * then each output row {@code out[o, y·s + i, :]} is assembled from the s taps {@code (o, i, j)} plus the bias and
     * copied out whole. Compared with one GEMM into a {@code [O·s·s, H·W]} tensor and a per-plane scatter, the
     * products are never written to and re-read from memory (8 MB each way for SAM's second upscaling layer). Every
     * value is the same expression as there (the GEMM sums over c in one order for any column split; then bias + tap).
     */
    private void convTransposeCover(Tensor x, float[] wT, float[] bv, Tensor y, int B, int C, int H, int W, int O, int s) {
        int OKK = O * s * s, HW = H * W, Ho = H * s, Wo = W * s;
        int rows = Math.max(1, Math.min(H, CONVT_PIXELS / Math.max(1, W))), tiles = (H + rows - 1) / rows;
        MemorySegment xs = x.data(), out = y.data(), ws = MemorySegment.ofArray(wT);
        par.forRange(B * tiles, t -> {
            int b = t / tiles, y0 = (t % tiles) * rows, yn = Math.min(rows, H - y0), P = yn * W;
            float[] cols = Buffers.get(0, OKK * P), row = Buffers.get(1, Wo);
            Sgemm.gemm(Parallel.SEQUENTIAL, 1, OKK, P, C, new Sgemm.Mat(ws, 0, C, 0), new Sgemm.Mat(xs, (long) b * C * HW + (long) y0 * W, HW, 0),
                    false, new Sgemm.Mat(MemorySegment.ofArray(cols), 0, P, 0), null);
            for (int o = 0; o < O; o++) {
                float b0 = bv == null ? 0f : bv[o];
                for (int i = 0; i < s; i++) {
                    for (int yy = 0; yy < yn; yy++) {
                        int done = 0;
                        if (s == 2 && CONVT_ZIP) { // both taps of the row at once: vector permutes, the scalar loop finishes
                            int src = (o * s + i) * s * P + yy * W;
                            done = VectorMath.interleave2(cols, src, cols, src + P, b0, row, 0, W);
                        }
                        for (int j = 0; j < s; j++) {
                            int src = ((o * s + i) * s + j) * P + yy * W;
                            for (int xx = done, d = j + done * s; xx < W; xx++, d += s) row[d] = b0 + cols[src + xx];
                        }
                        long at = (((long) b * O + o) * Ho + (long) (y0 + yy) * s + i) * Wo;
                        MemorySegment.copy(row, 0, out, Tensor.LAYOUT, at * Float.BYTES, Wo);
                    }
                }
            }
        });
    }

    /** {@link FlashAttention} over the B items of {@code q, k, v}, contiguous rows. */
    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, float scale, RelPos rel) {
        if (q.rank() != 3 || k.rank() != 3 || v.rank() != 3 || k.size(0) != q.size(0) || v.size(0) != q.size(0)
                || k.size(2) != q.size(2) || v.size(1) != k.size(1) || k.size(1) == 0 || !FlashAttention.supports(q.size(2))
                || rel != null && (rel.qh() * rel.qw() != q.size(1) || rel.kh() * rel.kw() != k.size(1)
                        || !rel.relH().hasShape(rel.qh(), rel.kh(), q.size(2)) || !rel.relW().hasShape(rel.qw(), rel.kw(), q.size(2)))) {
            return ref.attention(q, k, v, scale, rel); // the reference reports errors and handles the odd cases
        }
        int B = q.size(0), Nq = q.size(1), d = q.size(2), Nk = k.size(1), dv = v.size(2);
        Tensor out = Tensor.empty(B, Nq, dv);
        MemorySegment qs = q.data(), ks = k.data(), vs = v.data(), os = out.data();
        FlashAttention.RelTables tables = rel == null ? null
                : FlashAttention.RelTables.of(rel.relH().toArray(), rel.relW().toArray(), rel.qh(), rel.qw(), rel.kh(), rel.kw(), d);
        int kw = rel == null ? Nk : rel.kw(), kwp = rel == null ? Nk : tables.kwp(), nk = rel == null ? Nk : rel.kh() * kwp;
        FlashAttention.run(par, B, Nq, d, dv, scale, tables, (b, h) -> {
            h.size(Nq, nk);
            h.q = qs;
            h.k = ks;
            h.v = vs;
            h.out = os;
            for (int i = 0; i < Nq; i++) {
                h.qRow[i] = ((long) b * Nq + i) * d;
                h.oRow[i] = ((long) b * Nq + i) * dv;
                h.qCell[i] = i;
            }
            for (int j = 0; j < nk; j++) { // key grid rows padded from kw to kwp with rel-pos (see FlashAttention.Head)
                int ky = j / kwp, kx = j % kwp;
                boolean real = kx < kw;
                h.kRow[j] = real ? ((long) b * Nk + ky * kw + kx) * d : FlashAttention.GRID_PAD;
                h.vRow[j] = real ? ((long) b * Nk + ky * kw + kx) * dv : FlashAttention.GRID_PAD;
            }
        });
        return out;
    }

    /** {@link FlashAttention} reading each head in place from the interleaved projections and writing the merged output. */
    @Override
    public Tensor multiHeadAttention(Tensor q, Tensor k, Tensor v, int heads, float scale) {
        if (q.rank() != 3 || k.rank() != 3 || v.rank() != 3 || heads <= 0 || q.size(2) % heads != 0 || v.size(2) % heads != 0
                || k.size(2) != q.size(2) || k.size(0) != q.size(0) || v.size(0) != q.size(0) || v.size(1) != k.size(1)
                || k.size(1) == 0 || !FlashAttention.supports(q.size(2) / heads)) {
            return Backend.super.multiHeadAttention(q, k, v, heads, scale);
        }
        int B = q.size(0), nq = q.size(1), nk = k.size(1), C = q.size(2), d = C / heads, Cv = v.size(2), dv = Cv / heads;
        Tensor out = Tensor.empty(B, nq, Cv);
        MemorySegment qs = q.data(), ks = k.data(), vs = v.data(), os = out.data();
        if (ShortKeyAttention.supports(nk)) { // SAM's image→token attention: 4 096 queries, ~7 keys
            ShortKeyAttention.run(par, qs, ks, vs, os, B, nq, nk, heads, d, dv, scale);
            return out;
        }
        FlashAttention.run(par, B * heads, nq, d, dv, scale, null, (index, h) -> {
            int b = index / heads, hh = index % heads;
            h.size(nq, nk);
            h.q = qs;
            h.k = ks;
            h.v = vs;
            h.out = os;
            for (int i = 0; i < nq; i++) {
                h.qRow[i] = ((long) b * nq + i) * C + hh * d;
                h.oRow[i] = ((long) b * nq + i) * Cv + hh * dv;
            }
            for (int j = 0; j < nk; j++) {
                h.kRow[j] = ((long) b * nk + j) * C + hh * d;
                h.vRow[j] = ((long) b * nk + j) * Cv + hh * dv;
            }
        });
        return out;
    }

    /**
     * SAM's encoder attention branch, fused: qkv is projected for the real tokens only ({@code [B·H·W, 3D]}, no window
     * partition copy), each (window,) head runs {@link FlashAttention} on its rows in place — a window's padded cells
     * are keys whose q/k/v rows are the qkv bias (what zero padding projects to), and are never queries, since their
     * outputs would be cropped — and writes into {@code [B·H·W, D]} at column h·hd, which {@code proj} reads directly.
     * Compared with the composition, it skips the partition/unpartition, permute and slice copies and the projections
     * and queries of padded cells (16 % of a windowed block's qkv/proj work at 64×64 tokens in 14×14 windows).
     */
    @Override
    public Tensor encoderAttention(Tensor x, Tensor qkvW, Tensor qkvB, Tensor projW, Tensor projB, int heads, int window,
                                   Tensor relPosH, Tensor relPosW) {
        int D = x.rank() == 4 ? x.size(3) : 0;
        if (x.rank() != 4 || heads <= 0 || D % heads != 0 || !qkvW.hasShape(3 * D, D) || qkvB != null && !qkvB.hasShape(3 * D)
                || !projW.hasShape(D, D) || projB != null && !projB.hasShape(D) || !FlashAttention.supports(D / heads)
                || relPosH.rank() != 2 || relPosW.rank() != 2 || relPosH.size(1) != D / heads || relPosW.size(1) != D / heads) {
            return Backend.super.encoderAttention(x, qkvW, qkvB, projW, projB, heads, window, relPosH, relPosW);
        }
        int B = x.size(0), H = x.size(1), W = x.size(2), hd = D / heads, T = B * H * W;
        int ws = window > 0 ? window : 0, qh = ws > 0 ? ws : H, qw = ws > 0 ? ws : W;
        int nH = ws > 0 ? (H + ws - 1) / ws : 1, nW = ws > 0 ? (W + ws - 1) / ws : 1;
        float[] bias = qkvB == null ? new float[3 * D] : qkvB.toArray();
        float[][] kPad = new float[heads][], vPad = new float[heads][];
        for (int h = 0; h < heads; h++) {
            kPad[h] = Arrays.copyOfRange(bias, D + h * hd, D + (h + 1) * hd);
            vPad[h] = Arrays.copyOfRange(bias, 2 * D + h * hd, 2 * D + (h + 1) * hd);
        }
        try (TensorScope s = TensorScope.open()) {
            var tables = FlashAttention.RelTables.of(ref.relPosLookup(relPosH, qh, qh).toArray(), ref.relPosLookup(relPosW, qw, qw).toArray(),
                    qh, qw, qh, qw, hd);
            Tensor qkv = linear(x.reshape(T, D), qkvW, qkvB), o = Tensor.empty(T, D);
            MemorySegment qs = qkv.data(), os = o.data();
            long ld = 3L * D;
            int kwp = tables.kwp();
            FlashAttention.run(par, B * nH * nW * heads, qh * qw, hd, hd, (float) Math.pow(hd, -0.5), tables, (index, a) -> {
                int hh = index % heads, win = index / heads, b = win / (nH * nW), wr = (win / nW) % nH, wc = win % nW;
                a.size(qh * qw, qh * kwp);
                a.q = a.k = a.v = qs;
                a.out = os;
                a.kPad = kPad[hh];
                a.vPad = vPad[hh];
                int nq = 0;
                for (int i = 0; i < qh; i++) {
                    for (int j = 0; j < kwp; j++) {
                        int py = wr * ws + i, px = wc * ws + j, cell = i * kwp + j;
                        if (j >= qw) {
                            a.kRow[cell] = a.vRow[cell] = FlashAttention.GRID_PAD;
                        } else if (py < H && px < W) {
                            long t = ((long) b * H + py) * W + px;
                            a.kRow[cell] = t * ld + D + hh * hd;
                            a.vRow[cell] = t * ld + 2 * D + hh * hd;
                            a.qRow[nq] = t * ld + hh * hd;
                            a.oRow[nq] = t * D + hh * hd;
                            a.qCell[nq++] = i * qw + j;
                        } else {
                            a.kRow[cell] = a.vRow[cell] = FlashAttention.PAD;
                        }
                    }
                }
                a.nq = nq;
            });
            return s.keep(linear(o, projW, projB).reshape(B, H, W, D));
        }
    }

    /** Exact-form GELU on float32 vectors ({@link VectorMath#gelu}), in chunks over the threads, segment to segment. */
    @Override
    public Tensor gelu(Tensor x) {
        Tensor y = Tensor.empty(x.shape());
        MemorySegment in = x.data(), out = y.data();
        chunks(x.numel(), CHUNK, (from, len) -> VectorMath.gelu(in, from * Float.BYTES, out, from * Float.BYTES, len));
        return y;
    }

    /** Floats per chunk of the element-wise loops (128 KiB: L2-resident per-thread buffers). */
    static final int CHUNK = 1 << 15;

    interface Chunk {
        void run(long from, int len);
    }

    /** {@code body(from, len)} over {@code [0, n)} in pieces of at most {@code chunk}, spread over the threads. */
    void chunks(long n, int chunk, Chunk body) {
        par.forRange(Math.toIntExact((n + chunk - 1) / chunk), c -> {
            long from = (long) c * chunk;
            body.run(from, (int) Math.min(chunk, n - from));
        });
    }

    // ------------------------------------------------------------------ everything else: the reference

    /** LayerNorm over the last dim, rows in chunks over the threads ({@link VectorMath#layerNormRow}). */
    @Override
    public Tensor layerNorm(Tensor x, Tensor w, Tensor b, float eps) {
        int D = x.rank() == 0 ? 0 : x.size(-1);
        if (D == 0 || w != null && w.numel() != D || b != null && b.numel() != D) return ref.layerNorm(x, w, b, eps);
        float[] wv = w == null ? null : w.toArray(), bv = b == null ? null : b.toArray();
        Tensor y = Tensor.empty(x.shape());
        MemorySegment in = x.data(), out = y.data();
        int per = Math.max(1, CHUNK / D);
        chunks(x.numel() / D, per, (r0, rn) -> {
            float[] buf = Buffers.get(0, rn * D);
            MemorySegment.copy(in, Tensor.LAYOUT, r0 * D * Float.BYTES, buf, 0, rn * D);
            for (int r = 0; r < rn; r++) VectorMath.layerNormRow(buf, r * D, D, wv, bv, eps);
            MemorySegment.copy(buf, 0, out, Tensor.LAYOUT, r0 * D * Float.BYTES, rn * D);
        });
        return y;
    }

    /** {@code a + b}: same shapes, or {@code b} broadcast along the leading dims (bias, position table), vectorised; else the reference. */
    @Override
    public Tensor add(Tensor a, Tensor b) {
        int[] as = a.shape(), bs = b.shape();
        long n = a.numel(), m = b.numel();
        boolean same = Arrays.equals(as, bs);
        boolean rows = !same && bs.length <= as.length && m > 0 && n % m == 0
                && Arrays.equals(bs, Arrays.copyOfRange(as, as.length - bs.length, as.length));
        // also [..] + [1, ..] style leading ones on b
        if (!same && !rows) {
            int lead = 0;
            while (lead < bs.length && bs[lead] == 1) lead++;
            int[] core = Arrays.copyOfRange(bs, lead, bs.length);
            rows = core.length <= as.length && m > 0 && n % m == 0 && bs.length <= as.length
                    && Arrays.equals(core, Arrays.copyOfRange(as, as.length - core.length, as.length));
        }
        if (!same && !rows) return channelAdd(a, b) ? addPerChannel(a, b) : ref.add(a, b);
        Tensor y = Tensor.empty(as);
        MemorySegment sa = a.data(), sb = b.data(), out = y.data();
        if (same) {
            chunks(n, CHUNK, (from, len) -> VectorMath.add(sa, from * Float.BYTES, sb, from * Float.BYTES, out, from * Float.BYTES, len));
        } else {
            int width = Math.toIntExact(m);
            float[] bv = b.toArray();
            chunks(n / width, Math.max(1, CHUNK / width), (r0, rn) -> {
                float[] x = Buffers.get(0, rn * width);
                MemorySegment.copy(sa, Tensor.LAYOUT, r0 * width * Float.BYTES, x, 0, rn * width);
                VectorMath.addRows(x, bv, x, rn, width);
                MemorySegment.copy(x, 0, out, Tensor.LAYOUT, r0 * width * Float.BYTES, rn * width);
            });
        }
        return y;
    }

    /** Whether {@code b} is one value per channel of the 4-D {@code a}: shape {@code [1, C, 1, 1]} or {@code [C, 1, 1]}. */
    private static boolean channelAdd(Tensor a, Tensor b) {
        int[] as = a.shape(), bs = b.shape();
        if (as.length != 4 || as[2] * as[3] <= 1) return false;
        return bs.length == 4 && bs[0] == 1 && bs[1] == as[1] && bs[2] == 1 && bs[3] == 1
                || bs.length == 3 && bs[0] == as[1] && bs[1] == 1 && bs[2] == 1;
    }

    /**
     * {@code a[B, C, H, W] + b[C]} broadcast over the pixels (the mask decoder's dense prompt embedding): plane by plane
     * in per-thread arrays; each sum is the same single float add as the reference's, so the bits are equal.
     */
    private Tensor addPerChannel(Tensor a, Tensor b) {
        int[] as = a.shape();
        int C = as[1], HW = as[2] * as[3];
        float[] bv = b.toArray();
        Tensor y = Tensor.empty(as);
        MemorySegment in = a.data(), out = y.data();
        par.forRange(as[0] * C, plane -> {
            float[] v = Buffers.get(0, HW);
            float add = bv[plane % C];
            MemorySegment.copy(in, Tensor.LAYOUT, (long) plane * HW * Float.BYTES, v, 0, HW);
            for (int i = 0; i < HW; i++) v[i] += add;
            MemorySegment.copy(v, 0, out, Tensor.LAYOUT, (long) plane * HW * Float.BYTES, HW);
        });
        return y;
    }

    /**
     * SAM's LayerNorm2d, vectorised across pixels: blocks of {@value #PIXELS} pixels × all C channels are copied into a
     * per-thread array and normalised column by column ({@link VectorMath#layerNormColumns}), so every load is
     * contiguous (the reference walks each pixel's channels H·W floats apart).
     */
    @Override
    public Tensor layerNorm2d(Tensor x, Tensor w, Tensor b, float eps) {
        if (x.rank() != 4 || x.size(1) == 0 || w != null && w.numel() != x.size(1) || b != null && b.numel() != x.size(1)) {
            return ref.layerNorm2d(x, w, b, eps);
        }
        int B = x.size(0), C = x.size(1), HW = x.size(2) * x.size(3), blocks = (HW + PIXELS - 1) / PIXELS;
        float[] wv = w == null ? null : w.toArray(), bv = b == null ? null : b.toArray();
        Tensor y = Tensor.empty(x.shape());
        MemorySegment in = x.data(), out = y.data();
        par.forRange(B * blocks, t -> {
            int bi = t / blocks, p0 = (t % blocks) * PIXELS, pn = Math.min(PIXELS, HW - p0);
            float[] v = Buffers.get(0, C * pn);
            for (int c = 0; c < C; c++) MemorySegment.copy(in, Tensor.LAYOUT, (((long) bi * C + c) * HW + p0) * Float.BYTES, v, c * pn, pn);
            VectorMath.layerNormColumns(v, C, pn, wv, bv, eps);
            for (int c = 0; c < C; c++) MemorySegment.copy(v, c * pn, out, Tensor.LAYOUT, (((long) bi * C + c) * HW + p0) * Float.BYTES, pn);
        });
        return y;
    }

    /** Pixels per block of {@link #layerNorm2d}. */
    static final int PIXELS = 256;
    @Override public Tensor relu(Tensor x) { return ref.relu(x); }
    @Override public Tensor sigmoid(Tensor x) { return ref.sigmoid(x); }
    /** Softmax over the last dim, vectorised ({@link RowSoftmax}: long rows along the row, short ones in chunks). */
    @Override
    public Tensor softmax(Tensor x) {
        return x.rank() == 0 || x.size(-1) == 0 ? ref.softmax(x) : RowSoftmax.softmax(par, x);
    }
    @Override public Tensor sub(Tensor a, Tensor b) { return orElse(FastBackward.elementwise(par, FastBackward.Op.SUB, a, b, 0f), () -> ref.sub(a, b)); }
    @Override public Tensor mul(Tensor a, Tensor b) { return orElse(FastBackward.elementwise(par, FastBackward.Op.MUL, a, b, 0f), () -> ref.mul(a, b)); }
    @Override public Tensor div(Tensor a, Tensor b) { return orElse(FastBackward.elementwise(par, FastBackward.Op.DIV, a, b, 0f), () -> ref.div(a, b)); }
    @Override public Tensor scale(Tensor x, float s) { return FastBackward.elementwise(par, FastBackward.Op.SCALE, x, null, s); }

    @Override
    public Tensor permute(Tensor x, int... dims) {
        if (dims.length != x.rank() || x.rank() == 0) return ref.permute(x, dims);
        boolean[] seen = new boolean[dims.length];
        for (int d : dims) {
            int a = Shapes.axis(d, dims.length);
            if (seen[a]) return ref.permute(x, dims); // the reference reports the error
            seen[a] = true;
        }
        return SegmentOps.permute(par, x, dims);
    }

    @Override
    public Tensor concat(List<Tensor> tensors, int dim) {
        if (tensors.isEmpty()) return ref.concat(tensors, dim);
        int[] first = tensors.get(0).shape();
        int d;
        try {
            d = Shapes.axis(dim, first.length);
        } catch (IndexOutOfBoundsException e) {
            return ref.concat(tensors, dim);
        }
        int total = 0;
        for (Tensor t : tensors) {
            int[] s = t.shape();
            if (s.length != first.length) return ref.concat(tensors, dim);
            for (int i = 0; i < s.length; i++) if (i != d && s[i] != first[i]) return ref.concat(tensors, dim);
            total += s[d];
        }
        int[] out = first.clone();
        out[d] = total;
        return SegmentOps.concat(tensors, dim, out);
    }

    @Override
    public Tensor slice(Tensor x, int dim, int start, int length) {
        return SegmentOps.slice(x, dim, start, length);
    }

    @Override
    public Windows windowPartition(Tensor x, int ws) {
        return x.rank() == 4 && ws > 0 ? SegmentOps.windowPartition(par, x, ws) : ref.windowPartition(x, ws);
    }

    @Override
    public Tensor windowUnpartition(Tensor w, int ws, int hp, int wp, int h, int wd) {
        if (w.rank() != 4 || ws <= 0 || hp % ws != 0 || wp % ws != 0 || h > hp || wd > wp || w.size(1) != ws || w.size(2) != ws
                || w.size(0) % ((hp / ws) * (wp / ws)) != 0) {
            return ref.windowUnpartition(w, ws, hp, wp, h, wd);
        }
        return SegmentOps.windowUnpartition(par, w, ws, hp, wp, h, wd);
    }
    /**
     * Bilinear resize (align_corners=False), separable: each input row needed is interpolated horizontally once (kept
     * while consecutive output rows use it: a 4× upsample uses each row pair for 4 output rows), then every output row
     * is {@code h0·top + h1·bottom} in vectors. The same float expression as the reference
     * ({@code h0·(w0·a + w1·b) + h1·(w0·c + w1·d)}, no fused multiply-add), so the results are bit-identical.
     */
    @Override
    public Tensor interpolateBilinear(Tensor x, int outH, int outW) {
        if (x.rank() != 4 || outH <= 0 || outW <= 0 || x.numel() == 0) {
            return ref.interpolateBilinear(x, outH, outW); // empty input (or output) and errors: the reference
        }
        return bilinear(x, outH, outW, outH, outW);
    }

    /**
     * SAM's mask postprocessing (upscale to the padded input size, crop the image's region, resize to the original
     * size) without materialising the cropped-away part or the crop copies: the first resize computes only the rows
     * and columns inside the crop (each output pixel depends only on its own coordinates and the full sizes, so the
     * values are those the full resize would have), the second reads that. Bit-identical to the default composition.
     */
    @Override
    public Tensor postprocessMasks(Tensor lowRes, int padSize, int h, int w, int outH, int outW, boolean threshold) {
        if (lowRes.rank() != 4 || lowRes.numel() == 0 || h < 1 || w < 1 || h > padSize || w > padSize || outH < 1 || outW < 1) {
            return Backend.super.postprocessMasks(lowRes, padSize, h, w, outH, outW, threshold); // it reports the errors
        }
        try (TensorScope s = TensorScope.open()) {
            Tensor logits = interpolateBilinear(bilinear(lowRes, padSize, padSize, h, w), outH, outW);
            if (!threshold) return s.keep(logits);
            float[] v = logits.toArray();
            for (int i = 0; i < v.length; i++) v[i] = v[i] > 0f ? 1f : 0f;
            logits.write(0, v, 0, v.length);
            return s.keep(logits);
        }
    }

    /** Bilinear resize to {@code fullH × fullW}, keeping only the output rows {@code < outH} and columns {@code < outW}. */
    private Tensor bilinear(Tensor x, int fullH, int fullW, int outH, int outW) {
        int planes = x.size(0) * x.size(1), H = x.size(2), W = x.size(3);
        int[] y0 = new int[fullH], y1 = new int[fullH], fx0 = new int[fullW], fx1 = new int[fullW];
        float[] hy0 = new float[fullH], hy1 = new float[fullH], fw0 = new float[fullW], fw1 = new float[fullW];
        lerp(H, fullH, y0, y1, hy0, hy1);
        lerp(W, fullW, fx0, fx1, fw0, fw1);
        // the horizontal pass walks the whole index arrays: cut them to the kept columns
        int[] x0 = Arrays.copyOf(fx0, outW), x1 = Arrays.copyOf(fx1, outW);
        float[] wx0 = Arrays.copyOf(fw0, outW), wx1 = Arrays.copyOf(fw1, outW);
        Tensor y = Tensor.empty(x.size(0), x.size(1), outH, outW);
        MemorySegment in = x.data(), out = y.data();
        int parts = Math.max(1, Math.min(outH, 4 * par.threads() / planes + 1));
        par.forRange(planes * parts, t -> {
            int plane = t / parts, r0 = outH * (t % parts) / parts, r1 = outH * (t % parts + 1) / parts;
            float[] row = Buffers.get(0, W), top = Buffers.get(1, outW), bottom = Buffers.get(2, outW), o = Buffers.get(3, outW);
            int topRow = -1, bottomRow = -1;
            for (int oy = r0; oy < r1; oy++) {
                if (topRow != y0[oy]) {
                    if (bottomRow == y0[oy]) { // slide down: the old bottom row is the new top row
                        float[] swap = top;
                        top = bottom;
                        bottom = swap;
                        bottomRow = -1;
                    } else {
                        horizontal(in, ((long) plane * H + y0[oy]) * W, row, W, x0, x1, wx0, wx1, top);
                    }
                    topRow = y0[oy];
                }
                if (bottomRow != y1[oy]) {
                    horizontal(in, ((long) plane * H + y1[oy]) * W, row, W, x0, x1, wx0, wx1, bottom);
                    bottomRow = y1[oy];
                }
                VectorMath.blend(hy0[oy], top, hy1[oy], bottom, o, outW);
                MemorySegment.copy(o, 0, out, Tensor.LAYOUT, ((long) plane * outH + oy) * outW * Float.BYTES, outW);
            }
        });
        return y;
    }

    /** Source indices and weights of align_corners=False linear interpolation, float32 maths as PyTorch (and the reference). */
    private static void lerp(int in, int out, int[] i0, int[] i1, float[] l0, float[] l1) {
        float scale = (float) in / (float) out;
        for (int d = 0; d < out; d++) {
            float src = Math.max(scale * (d + 0.5f) - 0.5f, 0f);
            int a = (int) src;
            i0[d] = a;
            i1[d] = a + (a < in - 1 ? 1 : 0);
            l1[d] = src - a;
            l0[d] = 1f - l1[d];
        }
    }

    /** {@code dst[ox] = w0[ox]·row[x0[ox]] + w1[ox]·row[x1[ox]]} for the input row at float {@code at}. */
    private static void horizontal(MemorySegment in, long at, float[] row, int W, int[] x0, int[] x1, float[] w0, float[] w1, float[] dst) {
        MemorySegment.copy(in, Tensor.LAYOUT, at * Float.BYTES, row, 0, W);
        for (int ox = 0; ox < x0.length; ox++) dst[ox] = w0[ox] * row[x0[ox]] + w1[ox] * row[x1[ox]];
    }

    @Override public Tensor relPosLookup(Tensor table, int qSize, int kSize) { return ref.relPosLookup(table, qSize, kSize); }
    @Override public Tensor fourierPositionEncoding(Tensor coords, Tensor gaussian) { return ref.fourierPositionEncoding(coords, gaussian); }
    @Override public int[] argmax(Tensor x) { return ref.argmax(x); }
    /** The reference's double-precision pass (bit-identical to it; images in parallel). */
    @Override public ClassMaps classMaps(Tensor logits, Tensor region) { return ref.classMaps(logits, region); }

    // ------------------------------------------------------------------ backward ops (FastBackward; the rest: Backend's defaults)

    @Override public Tensor geluBackward(Tensor x, Tensor dy) { return FastBackward.geluBackward(par, x, dy); }
    @Override public Tensor reluBackward(Tensor x, Tensor dy) { return FastBackward.reluBackward(par, x, dy); }
    @Override public Tensor sigmoidBackward(Tensor y, Tensor dy) { return FastBackward.sigmoidBackward(par, y, dy); }
    @Override public Tensor softmaxBackward(Tensor y, Tensor dy) { return FastBackward.softmaxBackward(par, y, dy); }
    @Override public Tensor sumTo(Tensor g, int... shape) { return FastBackward.sumTo(par, g, shape); }
    @Override public LayerNormGrads layerNormBackward(Tensor x, Tensor w, Tensor dy, float eps) { return FastBackward.layerNormBackward(par, x, w, dy, eps); }

    /** {@code a·bᵀ} as one SGEMM reading b's rows ({@link FastBackward#matmulNT}); other batch broadcasts: the default. */
    @Override
    public Tensor matmulNT(Tensor a, Tensor b) {
        return orElse(FastBackward.matmulNT(par, a, b), () -> Backend.super.matmulNT(a, b));
    }

    private static Tensor orElse(Tensor fast, java.util.function.Supplier<Tensor> fallback) {
        return fast != null ? fast : fallback.get();
    }

    /** Fused per batch item ({@link FastBackward#attentionBackward}); other shapes: the default composition. */
    @Override
    public AttentionGrads attentionBackward(Tensor q, Tensor k, Tensor v, float scale, Tensor dOut) {
        AttentionGrads g = FastBackward.attentionBackward(par, q, k, v, scale, dOut);
        return g != null ? g : Backend.super.attentionBackward(q, k, v, scale, dOut);
    }
}
