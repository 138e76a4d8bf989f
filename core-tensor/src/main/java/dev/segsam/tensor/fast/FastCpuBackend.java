package dev.segsam.tensor.fast;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.CpuBackend;
import dev.segsam.tensor.Device;
import dev.segsam.tensor.Parallel;
import dev.segsam.tensor.Shapes;
import dev.segsam.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;

/**
 * The fast CPU backend: the GEMM-shaped ops — {@link #matmul}, {@link #linear}, {@link #conv2d} and
 * {@link #attention} — run on {@link Sgemm} (Vector API, packed and blocked, all cores) straight from the tensors'
 * memory (memory-mapped weights included, no copies); every other op is the reference {@link CpuBackend}'s, which
 * stays the oracle (tests compare the two). Selected for {@code --device cpu} unless {@code -Dsegsam.cpu=reference}
 * or the JVM lacks {@code --add-modules jdk.incubator.vector}.
 *
 * <p>GELU is vectorised ({@link VectorMath}: the erf form through a Chebyshev erfc, float32, ~1e-7 relative).
 * Attention runs as the reference does — q scaled first, the decomposed relative-position terms from the unscaled q —
 * with vectorised float32 softmax rows, per (batch·head, block of {@value #ROWS} queries) job: {@code S = (q·scale)·kᵀ} and
 * {@code O = P·v} are single-threaded GEMMs on a {@code [ROWS, Nk]} score buffer, the jobs spread over the threads.
 */
public final class FastCpuBackend implements Backend {
    static final int ROWS = 256;
    private final CpuBackend ref = new CpuBackend();

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
        Tensor c = Tensor.zeros(os);
        Sgemm.gemm(Math.toIntExact(nb), M, N, K, mat(a, K, na == 1 ? 0 : (long) M * K), mat(b, N, nbb == 1 ? 0 : (long) K * N), false,
                mat(c, N, (long) M * N), null);
        return c;
    }

    @Override
    public Tensor linear(Tensor x, Tensor w, Tensor bias) {
        if (w.rank() != 2 || x.rank() < 1 || x.size(-1) != w.size(1) || bias != null && (bias.rank() != 1 || bias.size(0) != w.size(0))) {
            return ref.linear(x, w, bias); // the reference reports the error
        }
        int in = w.size(1), out = w.size(0), rows = Math.toIntExact(x.numel() / in);
        int[] s = x.shape();
        s[s.length - 1] = out;
        Tensor y = Tensor.zeros(s);
        Sgemm.gemm(1, rows, out, in, mat(x, in, 0), mat(w, in, 0), true, mat(y, out, 0), bias == null ? null : bias.data());
        return y;
    }

    /** {@code conv2d} as im2col (reference) + one GEMM per image: {@code out[b] = W[O, C·kh·kw]·cols[b] + bias}. */
    @Override
    public Tensor conv2d(Tensor x, Tensor w, Tensor bias, int sh, int sw, int ph, int pw) {
        if (x.rank() != 4 || w.rank() != 4 || x.size(1) != w.size(1)) return ref.conv2d(x, w, bias, sh, sw, ph, pw);
        int B = x.size(0), O = w.size(0), CKK = w.size(1) * w.size(2) * w.size(3);
        try (Tensor cols = ref.im2col(x, w.size(2), w.size(3), sh, sw, ph, pw)) {
            int L = cols.size(2), Ho = (x.size(2) + 2 * ph - w.size(2)) / sh + 1, Wo = L / Ho;
            Tensor y = Tensor.zeros(B, O, Ho, Wo);
            Sgemm.gemm(B, O, L, CKK, mat(w, CKK, 0), mat(cols, L, (long) CKK * L), false, mat(y, L, (long) O * L), null);
            if (bias != null) {
                MemorySegment d = y.data(), bs = bias.data();
                Parallel.forRange(B * O, r -> {
                    float bo = bs.getAtIndex(Tensor.LAYOUT, r % O);
                    for (long i = (long) r * L, end = i + L; i < end; i++) d.setAtIndex(Tensor.LAYOUT, i, d.getAtIndex(Tensor.LAYOUT, i) + bo);
                });
            }
            return y;
        }
    }

    /**
     * {@code conv_transpose2d} (padding 0) as one GEMM per image, {@code cols[(o,i,j), (y,x)] = Σ_c W[c,(o,i,j)]·x[c,(y,x)]},
     * then the scatter {@code out[o, y·s + i, x·s + j] += cols[...]} and the bias.
     */
    @Override
    public Tensor convTranspose2d(Tensor x, Tensor w, Tensor bias, int s) {
        if (x.rank() != 4 || w.rank() != 4 || w.size(0) != x.size(1) || s <= 0) return ref.convTranspose2d(x, w, bias, s);
        int B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), O = w.size(1), kh = w.size(2), kw = w.size(3);
        int Ho = (H - 1) * s + kh, Wo = (W - 1) * s + kw, OKK = O * kh * kw, HW = H * W;
        float[] cols = new float[B * OKK * HW];
        float[] wt = new float[C * OKK];
        w.read(0, wt, 0, wt.length);
        float[] wT = new float[OKK * C];
        for (int c = 0; c < C; c++) for (int r = 0; r < OKK; r++) wT[r * C + c] = wt[c * OKK + r];
        Sgemm.gemm(B, OKK, HW, C, new Sgemm.Mat(MemorySegment.ofArray(wT), 0, C, 0), mat(x, HW, (long) C * HW), false,
                new Sgemm.Mat(MemorySegment.ofArray(cols), 0, HW, (long) OKK * HW), null);
        float[] bv = bias == null ? null : bias.toArray();
        float[] out = new float[B * O * Ho * Wo];
        Parallel.forRange(B * O, bo -> {
            int b = bo / O, o = bo % O, ob = bo * Ho * Wo;
            if (bv != null) java.util.Arrays.fill(out, ob, ob + Ho * Wo, bv[o]);
            for (int i = 0; i < kh; i++) for (int j = 0; j < kw; j++) {
                int row = (b * OKK + (o * kh + i) * kw + j) * HW;
                for (int y = 0; y < H; y++) {
                    int orow = ob + (y * s + i) * Wo + j;
                    for (int xx = 0; xx < W; xx++) out[orow + xx * s] += cols[row + y * W + xx];
                }
            }
        });
        return Tensor.of(out, B, O, Ho, Wo);
    }

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, float scale, RelPos rel) {
        if (q.rank() != 3 || k.rank() != 3 || v.rank() != 3 || k.size(0) != q.size(0) || v.size(0) != q.size(0)
                || k.size(2) != q.size(2) || v.size(1) != k.size(1)) {
            return ref.attention(q, k, v, scale, rel); // the reference reports the error
        }
        int B = q.size(0), Nq = q.size(1), d = q.size(2), Nk = k.size(1), dv = v.size(2);
        float[] rh = rel == null ? null : transposeTable(rel.relH().toArray(), rel.qh(), rel.kh(), d);
        float[] rw = rel == null ? null : transposeTable(rel.relW().toArray(), rel.qw(), rel.kw(), d);
        if (rel != null && (rel.qh() * rel.qw() != Nq || rel.kh() * rel.kw() != Nk)) return ref.attention(q, k, v, scale, rel);
        Tensor out = Tensor.zeros(B, Nq, dv);
        MemorySegment qs = q.data(), ks = k.data(), vs = v.data(), os = out.data();
        int blocks = (Nq + ROWS - 1) / ROWS;
        Parallel.forRange(B * blocks, job -> {
            int b = job / blocks, r0 = (job % blocks) * ROWS, rn = Math.min(ROWS, Nq - r0);
            float[] qb = new float[rn * d];
            MemorySegment.copy(qs, Tensor.LAYOUT, ((long) b * Nq + r0) * d * Float.BYTES, qb, 0, qb.length);
            float[] qsc = new float[qb.length];
            for (int i = 0; i < qb.length; i++) qsc[i] = qb[i] * scale;
            float[] s = new float[rn * Nk];
            Sgemm.gemm(1, rn, Nk, d, Sgemm.Mat.of(qsc, d), new Sgemm.Mat(ks, (long) b * Nk * d, d, 0), true, Sgemm.Mat.of(s, Nk), null, false);
            if (rel != null) addRelPos(s, qb, r0, rn, d, Nk, rh, rw, rel);
            for (int i = 0; i < rn; i++) VectorMath.softmaxRow(s, i * Nk, Nk);
            Sgemm.gemm(1, rn, dv, Nk, Sgemm.Mat.of(s, Nk), new Sgemm.Mat(vs, (long) b * Nk * dv, dv, 0), false,
                    new Sgemm.Mat(os, ((long) b * Nq + r0) * dv, dv, 0), null, false);
        });
        return out;
    }

    /**
     * As the reference: {@code (s + q·Rh[y, ky]) + q·Rw[x, kx]} with the unscaled q of each row. The tables come
     * transposed ({@code rhT[y][c][ky]}, {@code rwT[x][c][kx]}) so both bias rows are i-k-j products whose inner
     * loops run over contiguous memory.
     */
    private static void addRelPos(float[] s, float[] q, int r0, int rn, int d, int Nk, float[] rhT, float[] rwT, RelPos r) {
        int kh = r.kh(), kw = r.kw();
        float[] bh = new float[kh], bw = new float[kw];
        for (int i = 0; i < rn; i++) {
            int qi = r0 + i, y = qi / r.qw(), x = qi % r.qw();
            java.util.Arrays.fill(bh, 0f);
            java.util.Arrays.fill(bw, 0f);
            for (int c = 0; c < d; c++) {
                float qc = q[i * d + c];
                int h0 = (y * d + c) * kh, w0 = (x * d + c) * kw;
                for (int ky = 0; ky < kh; ky++) bh[ky] += qc * rhT[h0 + ky];
                for (int kx = 0; kx < kw; kx++) bw[kx] += qc * rwT[w0 + kx];
            }
            for (int ky = 0; ky < kh; ky++) {
                int row = i * Nk + ky * kw;
                float b = bh[ky];
                for (int kx = 0; kx < kw; kx++) s[row + kx] = (s[row + kx] + b) + bw[kx];
            }
        }
    }

    /** {@code [n, k, d] → [n, d, k]}. */
    private static float[] transposeTable(float[] t, int n, int k, int d) {
        float[] o = new float[t.length];
        for (int a = 0; a < n; a++) for (int j = 0; j < k; j++) for (int c = 0; c < d; c++) o[(a * d + c) * k + j] = t[(a * k + j) * d + c];
        return o;
    }

    /** Exact-form GELU on float32 vectors ({@link VectorMath#gelu}), in chunks over the threads, no heap copy of the whole tensor. */
    @Override
    public Tensor gelu(Tensor x) {
        Tensor y = Tensor.zeros(x.shape());
        long n = x.numel();
        int chunk = 1 << 15;
        MemorySegment in = x.data(), out = y.data();
        Parallel.forRange(Math.toIntExact((n + chunk - 1) / chunk), c -> {
            long from = (long) c * chunk;
            int len = (int) Math.min(chunk, n - from);
            float[] buf = new float[len];
            MemorySegment.copy(in, Tensor.LAYOUT, from * Float.BYTES, buf, 0, len);
            VectorMath.gelu(buf, buf, len);
            MemorySegment.copy(buf, 0, out, Tensor.LAYOUT, from * Float.BYTES, len);
        });
        return y;
    }

    // ------------------------------------------------------------------ everything else: the reference

    @Override public Tensor im2col(Tensor x, int kh, int kw, int sh, int sw, int ph, int pw) { return ref.im2col(x, kh, kw, sh, sw, ph, pw); }
    /** LayerNorm over the last dim, rows in chunks over the threads ({@link VectorMath#layerNormRow}). */
    @Override
    public Tensor layerNorm(Tensor x, Tensor w, Tensor b, float eps) {
        int D = x.rank() == 0 ? 0 : x.size(-1);
        if (D == 0 || w != null && w.numel() != D || b != null && b.numel() != D) return ref.layerNorm(x, w, b, eps);
        float[] wv = w == null ? null : w.toArray(), bv = b == null ? null : b.toArray();
        Tensor y = Tensor.zeros(x.shape());
        long rows = x.numel() / D;
        int per = Math.max(1, (1 << 15) / D);
        MemorySegment in = x.data(), out = y.data();
        Parallel.forRange(Math.toIntExact((rows + per - 1) / per), c -> {
            long r0 = (long) c * per;
            int rn = (int) Math.min(per, rows - r0);
            float[] buf = new float[rn * D];
            MemorySegment.copy(in, Tensor.LAYOUT, r0 * D * Float.BYTES, buf, 0, buf.length);
            for (int r = 0; r < rn; r++) VectorMath.layerNormRow(buf, r * D, D, wv, bv, eps);
            MemorySegment.copy(buf, 0, out, Tensor.LAYOUT, r0 * D * Float.BYTES, buf.length);
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
        if (!same && !rows) return ref.add(a, b);
        int width = (int) Math.min(m, Integer.MAX_VALUE);
        Tensor y = Tensor.zeros(as);
        MemorySegment sa = a.data(), sb = b.data(), out = y.data();
        if (same) {
            int chunk = 1 << 15;
            Parallel.forRange(Math.toIntExact((n + chunk - 1) / chunk), c -> {
                long from = (long) c * chunk;
                int len = (int) Math.min(chunk, n - from);
                float[] x = new float[len], z = new float[len];
                MemorySegment.copy(sa, Tensor.LAYOUT, from * Float.BYTES, x, 0, len);
                MemorySegment.copy(sb, Tensor.LAYOUT, from * Float.BYTES, z, 0, len);
                VectorMath.add(x, z, x, len);
                MemorySegment.copy(x, 0, out, Tensor.LAYOUT, from * Float.BYTES, len);
            });
        } else {
            float[] bv = b.toArray();
            long rowsTotal = n / width;
            int per = Math.max(1, (1 << 15) / width);
            Parallel.forRange(Math.toIntExact((rowsTotal + per - 1) / per), c -> {
                long r0 = (long) c * per;
                int rn = (int) Math.min(per, rowsTotal - r0);
                float[] x = new float[rn * width];
                MemorySegment.copy(sa, Tensor.LAYOUT, r0 * width * Float.BYTES, x, 0, x.length);
                VectorMath.addRows(x, bv, x, rn, width);
                MemorySegment.copy(x, 0, out, Tensor.LAYOUT, r0 * width * Float.BYTES, x.length);
            });
        }
        return y;
    }

    @Override public Tensor layerNorm2d(Tensor x, Tensor w, Tensor b, float eps) { return ref.layerNorm2d(x, w, b, eps); }
    @Override public Tensor relu(Tensor x) { return ref.relu(x); }
    @Override public Tensor sigmoid(Tensor x) { return ref.sigmoid(x); }
    @Override public Tensor softmax(Tensor x) { return ref.softmax(x); }
    @Override public Tensor sub(Tensor a, Tensor b) { return ref.sub(a, b); }
    @Override public Tensor mul(Tensor a, Tensor b) { return ref.mul(a, b); }
    @Override public Tensor div(Tensor a, Tensor b) { return ref.div(a, b); }
    @Override public Tensor scale(Tensor x, float s) { return ref.scale(x, s); }

    @Override
    public Tensor permute(Tensor x, int... dims) {
        if (dims.length != x.rank() || x.rank() == 0) return ref.permute(x, dims);
        boolean[] seen = new boolean[dims.length];
        for (int d : dims) {
            int a = Shapes.axis(d, dims.length);
            if (seen[a]) return ref.permute(x, dims); // the reference reports the error
            seen[a] = true;
        }
        return SegmentOps.permute(x, dims);
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
        return x.rank() == 4 && ws > 0 ? SegmentOps.windowPartition(x, ws) : ref.windowPartition(x, ws);
    }

    @Override
    public Tensor windowUnpartition(Tensor w, int ws, int hp, int wp, int h, int wd) {
        if (w.rank() != 4 || ws <= 0 || hp % ws != 0 || wp % ws != 0 || h > hp || wd > wp || w.size(1) != ws || w.size(2) != ws
                || w.size(0) % ((hp / ws) * (wp / ws)) != 0) {
            return ref.windowUnpartition(w, ws, hp, wp, h, wd);
        }
        return SegmentOps.windowUnpartition(w, ws, hp, wp, h, wd);
    }
    @Override public Tensor interpolateBilinear(Tensor x, int outH, int outW) { return ref.interpolateBilinear(x, outH, outW); }
    @Override public Tensor relPosLookup(Tensor table, int qSize, int kSize) { return ref.relPosLookup(table, qSize, kSize); }
    @Override public Tensor fourierPositionEncoding(Tensor coords, Tensor gaussian) { return ref.fourierPositionEncoding(coords, gaussian); }
    @Override public int[] argmax(Tensor x) { return ref.argmax(x); }
}
