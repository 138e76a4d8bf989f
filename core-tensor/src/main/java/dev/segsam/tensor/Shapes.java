package dev.segsam.tensor;

import java.util.Arrays;
import java.util.List;

/** Shape arithmetic shared by tensors and backends: validation, element counts, strides, broadcasting. */
public final class Shapes {
    private Shapes() {}

    /** Validates a shape (no negative dimension, element count fits a long) and returns a defensive copy. */
    public static int[] check(int[] shape) {
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + str(shape));
        }
        numel(shape); // overflow check
        return shape.clone();
    }

    /** Product of the dimensions (1 for a scalar), with overflow detection. */
    public static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) n = Math.multiplyExact(n, (long) d);
        return n;
    }

    /** Product of dimensions {@code [from, to)}. */
    public static long numel(int[] shape, int from, int to) {
        long n = 1;
        for (int i = from; i < to; i++) n *= shape[i];
        return n;
    }

    /** Contiguous row-major strides, in elements. */
    public static long[] strides(int[] shape) {
        long[] s = new long[shape.length];
        long acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= shape[i];
        }
        return s;
    }

    /** Normalises a possibly negative axis against {@code rank}. */
    public static int axis(int d, int rank) {
        int a = d < 0 ? d + rank : d;
        if (a < 0 || a >= rank) throw new IndexOutOfBoundsException("dimension " + d + " out of range for rank " + rank);
        return a;
    }

    static long checkIndex(long i, long numel) {
        if (i < 0 || i >= numel) throw new IndexOutOfBoundsException("index " + i + " out of range for " + numel + " elements");
        return i;
    }

    static long flatIndex(int[] shape, int[] idx) {
        if (idx.length != shape.length) {
            throw new IllegalArgumentException("index of rank " + idx.length + " for shape " + str(shape));
        }
        long flat = 0;
        for (int i = 0; i < shape.length; i++) {
            if (idx[i] < 0 || idx[i] >= shape[i]) {
                throw new IndexOutOfBoundsException("index " + Arrays.toString(idx) + " out of range for shape " + str(shape));
            }
            flat = flat * shape[i] + idx[i];
        }
        return flat;
    }

    static int[] inferReshape(int[] newShape, long numel, int[] oldShape) {
        int[] s = newShape.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < s.length; i++) {
            if (s[i] == -1) {
                if (infer >= 0) throw new IllegalArgumentException("only one dimension can be -1: " + str(newShape));
                infer = i;
            } else if (s[i] < 0) {
                throw new IllegalArgumentException("invalid shape " + str(newShape));
            } else {
                known *= s[i];
            }
        }
        if (infer >= 0) {
            if (known == 0 || numel % known != 0) {
                throw new IllegalArgumentException("cannot reshape " + str(oldShape) + " to " + str(newShape));
            }
            s[infer] = Math.toIntExact(numel / known);
        }
        if (numel(s) != numel) throw new IllegalArgumentException("cannot reshape " + str(oldShape) + " to " + str(newShape));
        return s;
    }

    /**
     * The broadcast shape of {@code a} and {@code b} under NumPy/PyTorch rules: align from the right; each pair of
     * dimensions must be equal or one of them 1.
     */
    public static int[] broadcast(int[] a, int[] b) {
        int r = Math.max(a.length, b.length);
        int[] out = new int[r];
        for (int i = 0; i < r; i++) {
            int da = i < r - a.length ? 1 : a[i - (r - a.length)];
            int db = i < r - b.length ? 1 : b[i - (r - b.length)];
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException("shapes " + str(a) + " and " + str(b) + " do not broadcast");
            }
            out[i] = da == 1 ? db : da;
        }
        return out;
    }

    /**
     * Strides for reading a tensor of shape {@code in} as if it had the (broadcast) shape {@code out}: 0 where the
     * dimension is broadcast or missing.
     */
    public static long[] broadcastStrides(int[] in, int[] out) {
        long[] s = new long[out.length];
        long[] own = strides(in);
        int shift = out.length - in.length;
        for (int i = 0; i < in.length; i++) {
            s[i + shift] = in[i] == 1 && out[i + shift] != 1 ? 0 : own[i];
        }
        return s;
    }

    /** {@code [2, 3, 4]}. */
    public static String str(int[] shape) {
        return Arrays.toString(shape);
    }

    // ------------------------------------------------------------------ shape rules of Backend ops, shared by backends

    /** Output length of a convolution along one axis; fails with a one-line reason for bad parameters. */
    public static int convOut(int in, int k, int s, int p, String what) {
        if (k <= 0 || s <= 0 || p < 0) throw new IllegalArgumentException("conv: bad kernel/stride/padding " + k + "/" + s + "/" + p);
        if (in + 2 * p < k) throw new IllegalArgumentException("conv: kernel " + k + " larger than padded " + what + " " + (in + 2 * p));
        return (in + 2 * p - k) / s + 1;
    }

    /** Checks {@code conv2d(x [B, C, H, W], w [O, C, kh, kw])} and returns the output shape {@code [B, O, Ho, Wo]}. */
    public static int[] conv2d(Tensor x, Tensor w, int sh, int sw, int ph, int pw) {
        requireRank(x, 4, "conv2d input");
        requireRank(w, 4, "conv2d weight");
        if (x.size(1) != w.size(1)) {
            throw new IllegalArgumentException("conv2d: input " + str(x.shape()) + " has " + x.size(1) + " channels, weight "
                    + str(w.shape()) + " expects " + w.size(1));
        }
        return new int[] {x.size(0), w.size(0), convOut(x.size(2), w.size(2), sh, ph, "height"), convOut(x.size(3), w.size(3), sw, pw, "width")};
    }

    /**
     * Checks {@code conv_transpose2d(x [B, C, H, W], w [C, O, kh, kw], stride s)} and returns the output shape
     * {@code [B, O, (H−1)·s + kh, (W−1)·s + kw]}.
     */
    public static int[] convTranspose2d(Tensor x, Tensor w, int s) {
        requireRank(x, 4, "conv_transpose2d input");
        requireRank(w, 4, "conv_transpose2d weight");
        if (s <= 0) throw new IllegalArgumentException("conv_transpose2d: stride " + s);
        if (w.size(0) != x.size(1)) {
            throw new IllegalArgumentException("conv_transpose2d: input " + str(x.shape()) + " has " + x.size(1)
                    + " channels, weight " + str(w.shape()) + " expects " + w.size(0));
        }
        return new int[] {x.size(0), w.size(1), (x.size(2) - 1) * s + w.size(2), (x.size(3) - 1) * s + w.size(3)};
    }

    /** {@code x.permute(dims)}: the output shape and, per output dimension, the input's element stride. */
    public record Permutation(int[] shape, long[] strides) {}

    public static Permutation permute(int[] in, int... dims) {
        int r = in.length;
        if (dims.length != r) throw new IllegalArgumentException("permute: " + dims.length + " dims for rank " + r);
        long[] inStride = strides(in);
        int[] out = new int[r];
        long[] stride = new long[r];
        boolean[] seen = new boolean[r];
        for (int i = 0; i < r; i++) {
            int d = axis(dims[i], r);
            if (seen[d]) throw new IllegalArgumentException("permute: repeated dimension in " + Arrays.toString(dims));
            seen[d] = true;
            out[i] = in[d];
            stride[i] = inStride[d];
        }
        return new Permutation(out, stride);
    }

    /** The shape of {@code torch.cat(tensors, dim)} (dimension {@code dim} normalised); shapes must agree elsewhere. */
    public static int[] concat(List<Tensor> tensors, int dim) {
        if (tensors.isEmpty()) throw new IllegalArgumentException("concat of no tensors");
        int[] first = tensors.get(0).shape();
        int d = axis(dim, first.length);
        int total = 0;
        for (Tensor t : tensors) {
            int[] s = t.shape();
            boolean ok = s.length == first.length;
            for (int i = 0; ok && i < s.length; i++) ok = i == d || s[i] == first[i];
            if (!ok) throw new IllegalArgumentException("concat along " + d + ": shape " + str(s) + " does not match " + str(first));
            total += s[d];
        }
        int[] out = first.clone();
        out[d] = total;
        return out;
    }

    /** Checks {@code window_unpartition}'s arguments and returns the batch size B of {@code windows [B·nH·nW, ws, ws, C]}. */
    public static int windowUnpartitionBatch(Tensor windows, int ws, int hp, int wp, int h, int w) {
        requireRank(windows, 4, "window_unpartition input");
        if (ws <= 0 || hp % ws != 0 || wp % ws != 0 || h > hp || w > wp) {
            throw new IllegalArgumentException("window_unpartition: padded " + hp + "x" + wp + ", window " + ws + ", crop " + h + "x" + w);
        }
        int nH = hp / ws, nW = wp / ws;
        if (windows.size(1) != ws || windows.size(2) != ws || nH * nW == 0 || windows.size(0) % (nH * nW) != 0) {
            throw new IllegalArgumentException("window_unpartition: windows " + str(windows.shape()) + " for " + nH + "x" + nW + " windows of " + ws);
        }
        return windows.size(0) / (nH * nW);
    }

    /** Checks attention operands {@code q [B, Nq, d], k [B, Nk, d], v [B, Nk, dv]} and the optional rel-pos terms. */
    public static void checkAttention(Tensor q, Tensor k, Tensor v, Backend.RelPos r) {
        requireRank(q, 3, "attention q");
        requireRank(k, 3, "attention k");
        requireRank(v, 3, "attention v");
        int B = q.size(0), Nq = q.size(1), d = q.size(2), Nk = k.size(1);
        if (k.size(0) != B || v.size(0) != B || k.size(2) != d || v.size(1) != Nk) {
            throw new IllegalArgumentException("attention shapes do not fit: q " + str(q.shape()) + ", k " + str(k.shape())
                    + ", v " + str(v.shape()));
        }
        if (r != null && (r.qh() * r.qw() != Nq || r.kh() * r.kw() != Nk
                || !r.relH().hasShape(r.qh(), r.kh(), d) || !r.relW().hasShape(r.qw(), r.kw(), d))) {
            throw new IllegalArgumentException("rel-pos " + r.qh() + "x" + r.qw() + " → " + r.kh() + "x" + r.kw()
                    + " with relH " + str(r.relH().shape()) + ", relW " + str(r.relW().shape())
                    + " does not fit Nq " + Nq + ", Nk " + Nk + ", d " + d);
        }
    }

    /** Throws with a message naming {@code what} unless {@code t} has rank {@code rank}. */
    public static void requireRank(Tensor t, int rank, String what) {
        if (t.rank() != rank) {
            throw new IllegalArgumentException(what + " must have rank " + rank + ", got " + str(t.shape()));
        }
    }
}
