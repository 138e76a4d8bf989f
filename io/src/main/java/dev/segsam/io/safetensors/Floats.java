package dev.segsam.io.safetensors;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Decoding of the safetensors element formats (all little-endian) to float or long. */
final class Floats {
    private Floats() {}

    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Element {@code i} of a float-typed tensor as float32. */
    static float read(DType t, MemorySegment s, long i) {
        return switch (t) {
            case F32 -> s.getAtIndex(F32, i);
            case F64 -> (float) s.getAtIndex(F64, i);
            case F16 -> Float.float16ToFloat(s.getAtIndex(I16, i));
            case BF16 -> Float.intBitsToFloat((s.getAtIndex(I16, i) & 0xFFFF) << 16);
            case F8_E5M2 -> Float.float16ToFloat((short) ((s.get(ValueLayout.JAVA_BYTE, i) & 0xFF) << 8)); // the top byte of an F16
            case F8_E4M3 -> e4m3(s.get(ValueLayout.JAVA_BYTE, i) & 0xFF);
            case F8_E8M0 -> e8m0(s.get(ValueLayout.JAVA_BYTE, i) & 0xFF);
            default -> throw new IllegalArgumentException(t + " is not a float dtype");
        };
    }

    /** F8 E4M3 "FN": bias 7, no infinities, S.1111.111 is NaN. */
    static float e4m3(int b) {
        int sign = (b >> 7) & 1, e = (b >> 3) & 0xF, m = b & 7;
        float v;
        if (e == 15 && m == 7) return Float.NaN;
        if (e == 0) v = m / 8f * 0x1p-6f; // subnormal: 0.m · 2^(1−7)
        else v = (1 + m / 8f) * Math.scalb(1f, e - 7);
        return sign == 1 ? -v : v;
    }

    /** F8 E8M0: an unsigned exponent, value 2^(e−127); 0xFF is NaN. */
    static float e8m0(int b) {
        return b == 0xFF ? Float.NaN : (float) Math.scalb(1.0, b - 127);
    }

    /** Element {@code i} of an integer or bool tensor. */
    static long readInteger(DType t, MemorySegment s, long i) {
        return switch (t) {
            case BOOL, U8 -> s.get(ValueLayout.JAVA_BYTE, i) & 0xFFL;
            case I8 -> s.get(ValueLayout.JAVA_BYTE, i);
            case I16 -> s.getAtIndex(I16, i);
            case U16 -> s.getAtIndex(I16, i) & 0xFFFFL;
            case I32 -> s.getAtIndex(I32, i);
            case U32 -> s.getAtIndex(I32, i) & 0xFFFFFFFFL;
            case I64, U64 -> s.getAtIndex(I64, i);
            default -> throw new IllegalArgumentException(t + " is not an integer dtype");
        };
    }
}
