package dev.segsam.io.pth;

import java.util.Arrays;

/**
 * One tensor of a checkpoint as {@code torch._utils._rebuild_tensor_v2} describes it: a view of storage
 * {@code storageKey} (the zip record {@code <top>/data/<storageKey>}) starting {@code storageOffset} elements in,
 * with the given shape and strides (in elements; PyTorch strides are never negative). Several tensors may view the
 * same storage.
 */
public record PthTensorInfo(String name, PthDType dtype, long[] shape, long[] stride, long storageOffset, String storageKey) {
    public PthTensorInfo {
        shape = shape.clone();
        stride = stride.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    @Override
    public long[] stride() {
        return stride.clone();
    }

    public int rank() {
        return shape.length;
    }

    /** Number of elements (validated on open not to overflow). */
    public long numel() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    /** Bytes of the tensor's elements once contiguous. */
    public long byteSize() {
        return numel() * dtype.bytes;
    }

    /** Whether the elements lie in row-major order without gaps (strides of size-1 dimensions do not matter). */
    public boolean isContiguous() {
        long expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] == 0) return true;
            if (shape[i] != 1 && stride[i] != expected) return false;
            expected *= shape[i];
        }
        return true;
    }

    /** The shape as ints, as {@link dev.segsam.tensor.Tensor} needs; fails for a dimension of 2^31 or more. */
    public int[] intShape() {
        int[] s = new int[shape.length];
        for (int i = 0; i < s.length; i++) {
            if (shape[i] > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("tensor \"" + name + "\": dimension " + i + " (" + shape[i] + ") is too large for a tensor");
            }
            s[i] = (int) shape[i];
        }
        return s;
    }

    @Override
    public String toString() {
        return name + " " + dtype.torchName() + " " + Arrays.toString(shape);
    }
}
