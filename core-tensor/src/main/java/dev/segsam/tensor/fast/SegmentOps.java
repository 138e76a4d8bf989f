package dev.segsam.tensor.fast;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Parallel;
import dev.segsam.tensor.Shapes;
import dev.segsam.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;

/**
 * The fast backend's layout ops, working segment to segment (no heap copies): every one moves contiguous runs with
 * {@link MemorySegment#copy}, the runs distributed over the threads. Same results as the reference, bit for bit
 * (they only move values).
 */
final class SegmentOps {
    private SegmentOps() {}

    private static final long F = Float.BYTES;

    /** {@code x.permute(dims)}: runs of the trailing dimensions that keep their order are copied whole. */
    static Tensor permute(Parallel par, Tensor x, int[] dims) {
        int r = x.rank();
        int[] in = x.shape();
        int[] p = new int[r];
        for (int i = 0; i < r; i++) p[i] = Shapes.axis(dims[i], r);
        int[] out = new int[r];
        for (int i = 0; i < r; i++) out[i] = in[p[i]];
        // the trailing output dims that are also the trailing input dims in order form one contiguous run
        int keep = 0;
        while (keep < r && p[r - 1 - keep] == r - 1 - keep) keep++;
        long run = Shapes.numel(in, r - keep, r);
        int outer = r - keep;
        long[] inStride = Shapes.strides(in);
        int[] outerShape = Arrays.copyOf(out, outer);
        long[] outerStride = new long[outer];
        for (int i = 0; i < outer; i++) outerStride[i] = inStride[p[i]];
        long runs = Shapes.numel(outerShape);
        Tensor y = Tensor.empty(out);
        MemorySegment src = x.data(), dst = y.data();
        if (run < SHORT_RUN && outer > 0) return gatherRows(par, src, dst, y, outerShape, outerStride, run);
        int chunks = (int) Math.min(runs, 256);
        par.forRange(chunks, c -> {
            long from = runs * c / chunks, to = runs * (c + 1) / chunks;
            for (long k = from; k < to; k++) {
                MemorySegment.copy(src, offset(k, outerShape, outerStride) * F, dst, k * run * F, run * F);
            }
        });
        return y;
    }

    /** Runs shorter than this many floats are gathered element by element (one copy call per run costs ~20 ns). */
    static final long SHORT_RUN = 16;

    /** Offset (in floats) of the start of run {@code k}, counting over {@code shape} with input {@code stride}s. */
    private static long offset(long k, int[] shape, long[] stride) {
        long off = 0;
        for (int d = shape.length - 1; d >= 0; d--) {
            off += (k % shape[d]) * stride[d];
            k /= shape[d];
        }
        return off;
    }

    /**
     * Short runs (e.g. a transpose, run = 1 float): each output row — the runs along the last outer dimension, input
     * stride {@code stride[last]} apart — is gathered into a per-thread array and written with one copy. A plain
     * transpose (run 1, and consecutive output rows consecutive in the input) moves V rows at a time: one vector load
     * of V input floats per output column, scattered into the V rows ({@link VectorMath#columnToRows}).
     */
    private static Tensor gatherRows(Parallel par, MemorySegment src, MemorySegment dst, Tensor y, int[] outerShape, long[] outerStride, long run) {
        // merge neighbouring dims that are one dim of the input (e.g. NHWC → NCHW is [C, H·W] ← [H·W, C]: a transpose)
        int[] shape = outerShape.clone();
        long[] stride = outerStride.clone();
        int dims = 1;
        for (int i = 1; i < shape.length; i++) {
            if (stride[dims - 1] == stride[i] * shape[i]) {
                shape[dims - 1] *= shape[i];
                stride[dims - 1] = stride[i];
            } else {
                shape[dims] = shape[i];
                stride[dims++] = stride[i];
            }
        }
        shape = Arrays.copyOf(shape, dims);
        stride = Arrays.copyOf(stride, dims);
        int last = shape.length - 1, n = shape[last], width = Math.toIntExact(n * run);
        long step = stride[last], rows = Shapes.numel(shape) / Math.max(n, 1);
        int[] rowShape = Arrays.copyOf(shape, last);
        long[] rowStride = Arrays.copyOf(stride, last);
        int L = VectorMath.lanes();
        boolean transpose = run == 1 && last > 0 && rowStride[last - 1] == 1 && rowShape[last - 1] % L == 0;
        int group = transpose ? L : 1; // rows per step; a group never crosses the last row dimension
        int per = Math.max(group, (1 << 14) / Math.max(width, 1) / group * group);
        int ws = transpose ? width + L : width; // buffer row stride: rows 2^k floats apart would share L1 sets
        par.forRange(Math.toIntExact((rows + per - 1) / per), c -> {
            float[] buf = Buffers.get(0, group * ws);
            for (long r = (long) c * per, end = Math.min(rows, r + per); r < end; r += group) {
                long base = offset(r, rowShape, rowStride);
                if (transpose) {
                    VectorMath.columnToRows(src, base * F, step * F, n, buf, ws);
                    for (int g = 0; g < group; g++) MemorySegment.copy(buf, g * ws, dst, Tensor.LAYOUT, (r + g) * width * F, width);
                } else {
                    for (int t = 0, i = 0; t < n; t++) {
                        long o = base + t * step;
                        for (int e = 0; e < run; e++) buf[i++] = src.getAtIndex(Tensor.LAYOUT, o + e);
                    }
                    MemorySegment.copy(buf, 0, dst, Tensor.LAYOUT, r * width * F, width);
                }
            }
        });
        return y;
    }

    /** {@code x.narrow(dim, start, length)}. */
    static Tensor slice(Tensor x, int dim, int start, int length) {
        int[] s = x.shape();
        int d = Shapes.axis(dim, s.length);
        if (start < 0 || length < 0 || start + length > s[d]) {
            throw new IndexOutOfBoundsException("slice(" + dim + ", " + start + ", " + length + ") of shape " + Shapes.str(s));
        }
        long outer = Shapes.numel(s, 0, d), inner = Shapes.numel(s, d + 1, s.length);
        int[] o = s.clone();
        o[d] = length;
        Tensor y = Tensor.empty(o);
        MemorySegment src = x.data(), dst = y.data();
        long len = length * inner;
        for (long i = 0; i < outer; i++) MemorySegment.copy(src, (i * s[d] + start) * inner * F, dst, i * len * F, len * F);
        return y;
    }

    /** {@code torch.cat(tensors, dim)} (shapes checked by the caller's reference fallback). */
    static Tensor concat(List<Tensor> ts, int dim, int[] out) {
        int d = Shapes.axis(dim, out.length);
        long outer = Shapes.numel(out, 0, d), inner = Shapes.numel(out, d + 1, out.length);
        Tensor y = Tensor.empty(out);
        MemorySegment dst = y.data();
        long at = 0;
        for (Tensor t : ts) {
            long len = t.size(d) * inner;
            MemorySegment src = t.data();
            for (long i = 0; i < outer; i++) MemorySegment.copy(src, i * len * F, dst, (i * out[d] * inner + at) * F, len * F);
            at += len;
        }
        return y;
    }

    /** SAM's window partition: rows of C channels copied whole; padding stays zero. */
    static Backend.Windows windowPartition(Parallel par, Tensor x, int ws) {
        int B = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3);
        int hp = (H + ws - 1) / ws * ws, wp = (W + ws - 1) / ws * ws, nH = hp / ws, nW = wp / ws;
        Tensor y = Tensor.zeros(B * nH * nW, ws, ws, C);
        MemorySegment src = x.data(), dst = y.data();
        par.forRange(B * nH * nW, n -> {
            int b = n / (nH * nW), wr = (n / nW) % nH, wc = n % nW;
            for (int i = 0; i < ws; i++) {
                int py = wr * ws + i;
                if (py >= H) break;
                int cols = Math.min(ws, W - wc * ws); // pixels of this window row inside the image
                if (cols <= 0) continue;
                MemorySegment.copy(src, (((long) b * H + py) * W + (long) wc * ws) * C * F, dst, (((long) n * ws + i) * ws) * C * F, (long) cols * C * F);
            }
        });
        return new Backend.Windows(y, hp, wp);
    }

    /** SAM's window unpartition with the crop to {@code h × w}. */
    static Tensor windowUnpartition(Parallel par, Tensor windows, int ws, int hp, int wp, int h, int w) {
        int nH = hp / ws, nW = wp / ws, C = windows.size(3), B = windows.size(0) / (nH * nW);
        Tensor y = Tensor.empty(B, h, w, C);
        MemorySegment src = windows.data(), dst = y.data();
        par.forRange(B * h, r -> {
            int b = r / h, py = r % h, wr = py / ws, i = py % ws;
            for (int wc = 0; wc < nW; wc++) {
                int cols = Math.min(ws, w - wc * ws);
                if (cols <= 0) break;
                long n = ((long) b * nH + wr) * nW + wc;
                MemorySegment.copy(src, ((n * ws + i) * ws) * C * F, dst, (((long) b * h + py) * w + (long) wc * ws) * C * F, (long) cols * C * F);
            }
        });
        return y;
    }
}
