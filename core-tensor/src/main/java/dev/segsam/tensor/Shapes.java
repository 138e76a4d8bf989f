package dev.segsam.tensor;

import java.util.Arrays;

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

    /** Throws with a message naming {@code what} unless {@code t} has rank {@code rank}. */
    public static void requireRank(Tensor t, int rank, String what) {
        if (t.rank() != rank) {
            throw new IllegalArgumentException(what + " must have rank " + rank + ", got " + str(t.shape()));
        }
    }
}
