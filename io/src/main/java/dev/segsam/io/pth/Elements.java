package dev.segsam.io.pth;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Strided gathers from a storage and decoding of PyTorch's element types. */
final class Elements {
    private Elements() {}

    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * Copies the view {@code (offset, size, stride)} (in elements of {@code bytes} bytes) of {@code storage}, whose
     * elements are in {@code order}, into {@code dst} as contiguous row-major little-endian elements. The view must
     * have been checked to lie inside the storage.
     */
    static void gather(MemorySegment storage, ByteOrder order, int bytes, long offset, long[] size, long[] stride, MemorySegment dst) {
        long numel = 1;
        for (long d : size) numel *= d;
        if (numel == 0) return;
        int last = size.length - 1;
        if (last < 0) {
            copyElement(storage, order, bytes, offset, dst, 0);
            return;
        }
        long inner = size[last];
        long innerStride = stride[last];
        boolean runs = innerStride == 1 && (bytes == 1 || order == ByteOrder.LITTLE_ENDIAN);
        long[] idx = new long[last];
        long base = offset;
        for (long out = 0; out < numel; out += inner) {
            if (runs) {
                MemorySegment.copy(storage, base * bytes, dst, out * bytes, inner * bytes);
            } else {
                for (long j = 0; j < inner; j++) copyElement(storage, order, bytes, base + j * innerStride, dst, out + j);
            }
            for (int d = last - 1; d >= 0; d--) { // odometer over the outer dimensions
                base += stride[d];
                if (++idx[d] < size[d]) break;
                base -= stride[d] * size[d];
                idx[d] = 0;
            }
        }
    }

    private static void copyElement(MemorySegment src, ByteOrder order, int bytes, long at, MemorySegment dst, long out) {
        switch (bytes) {
            case 1 -> dst.set(ValueLayout.JAVA_BYTE, out, src.get(ValueLayout.JAVA_BYTE, at));
            case 2 -> dst.setAtIndex(I16, out, src.getAtIndex(I16.withOrder(order), at));
            case 4 -> dst.setAtIndex(I32, out, src.getAtIndex(I32.withOrder(order), at));
            case 8 -> dst.setAtIndex(I64, out, src.getAtIndex(I64.withOrder(order), at));
            default -> throw new AssertionError(bytes);
        }
    }

    /** Element {@code i} of little-endian contiguous float-typed elements, as float32. */
    static float floatAt(PthDType t, MemorySegment le, long i) {
        return switch (t) {
            case FLOAT32 -> le.getAtIndex(F32, i);
            case FLOAT64 -> (float) le.getAtIndex(F64, i); // round to nearest even, like tensor.float()
            case FLOAT16 -> Float.float16ToFloat(le.getAtIndex(I16, i));
            case BFLOAT16 -> Float.intBitsToFloat((le.getAtIndex(I16, i) & 0xFFFF) << 16);
            default -> throw new IllegalArgumentException(t + " is not a float type");
        };
    }

    /** Element {@code i} of little-endian contiguous integer or bool elements. */
    static long longAt(PthDType t, MemorySegment le, long i) {
        return switch (t) {
            case INT64 -> le.getAtIndex(I64, i);
            case INT32 -> le.getAtIndex(I32, i);
            case INT16 -> le.getAtIndex(I16, i);
            case INT8 -> le.get(ValueLayout.JAVA_BYTE, i);
            case UINT8 -> le.get(ValueLayout.JAVA_BYTE, i) & 0xFFL;
            case BOOL -> le.get(ValueLayout.JAVA_BYTE, i) != 0 ? 1 : 0;
            default -> throw new IllegalArgumentException(t + " is not an integer type");
        };
    }
}
