package dev.segsam.io.safetensors;

/**
 * The safetensors dtypes, in the format's order (which is also its alignment order: the reference writer puts
 * larger-alignment tensors first). {@code bits} is the size of one element.
 */
public enum DType {
    BOOL(8), F4(4), F6_E2M3(6), F6_E3M2(6), U8(8), I8(8), F8_E5M2(8), F8_E4M3(8), F8_E8M0(8), I16(16), U16(16),
    F16(16), BF16(16), I32(32), U32(32), F32(32), C64(64), F64(64), I64(64), U64(64);

    public final int bits;

    DType(int bits) {
        this.bits = bits;
    }

    /** Floating-point dtypes that {@link SafeTensorsFile#get} converts to float32. */
    public boolean isFloat() {
        return switch (this) {
            case F16, BF16, F32, F64, F8_E5M2, F8_E4M3, F8_E8M0 -> true;
            default -> false;
        };
    }

    /** Integer and bool dtypes, whose exact values {@link SafeTensorsFile#longValues} returns. */
    public boolean isInteger() {
        return switch (this) {
            case BOOL, U8, I8, I16, U16, I32, U32, I64, U64 -> true;
            default -> false;
        };
    }

    /** The dtype named {@code s} in a header, or null. */
    static DType parse(String s) {
        for (DType d : values()) {
            if (d.name().equals(s)) return d;
        }
        return null;
    }
}
