package dev.segsam.io.safetensors;

import java.util.Arrays;

/**
 * One header entry: {@code "name": {"dtype": ..., "shape": [...], "data_offsets": [begin, end]}}; offsets are relative
 * to the start of the data section, end exclusive.
 */
public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {
    public long numel() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    /** The shape as ints, as {@link dev.segsam.tensor.Tensor} needs; fails for a dimension of 2^31 or more. */
    public int[] intShape() {
        int[] s = new int[shape.length];
        for (int i = 0; i < s.length; i++) {
            if (shape[i] > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("tensor \"" + name + "\": dimension " + i + " (" + shape[i] + ") is too large for a tensor; read it with bytes()");
            }
            s[i] = (int) shape[i];
        }
        return s;
    }

    public long byteSize() {
        return end - begin;
    }

    @Override
    public String toString() {
        return name + " " + dtype + " " + Arrays.toString(shape);
    }
}
