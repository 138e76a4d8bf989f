package dev.segsam.io.medical.nifti;

/** The NIfTI-1 {@code datatype} codes segsam reads (complex types are refused), with their {@code bitpix}. */
public enum NiftiDataType {
    UINT8(2, 8, "uint8"),
    INT16(4, 16, "int16"),
    INT32(8, 32, "int32"),
    FLOAT32(16, 32, "float32"),
    FLOAT64(64, 64, "float64"),
    RGB24(128, 24, "rgb24"),
    INT8(256, 8, "int8"),
    UINT16(512, 16, "uint16"),
    UINT32(768, 32, "uint32"),
    INT64(1024, 64, "int64"),
    UINT64(1280, 64, "uint64"),
    RGBA32(2304, 32, "rgba32");

    private final int code;
    private final int bitpix;
    private final String label;

    NiftiDataType(int code, int bitpix, String label) {
        this.code = code;
        this.bitpix = bitpix;
        this.label = label;
    }

    public int code() {
        return code;
    }

    public int bitpix() {
        return bitpix;
    }

    public int bytes() {
        return bitpix / 8;
    }

    /** Lower-case name, e.g. {@code int16} (what {@link dev.segsam.io.medical.Volume#dataType()} reports). */
    public String label() {
        return label;
    }

    /** The type for {@code code}, or null if segsam does not read it. */
    public static NiftiDataType of(int code) {
        for (NiftiDataType t : values()) if (t.code == code) return t;
        return null;
    }

    /** A name for codes segsam refuses (complex, float128), for error messages. */
    static String describeUnsupported(int code) {
        return switch (code) {
            case 0 -> "0 (DT_UNKNOWN)";
            case 1 -> "1 (DT_BINARY, 1 bit per voxel)";
            case 32 -> "32 (complex64)";
            case 1536 -> "1536 (float128)";
            case 1792 -> "1792 (complex128)";
            case 2048 -> "2048 (complex256)";
            default -> code + " (not a NIfTI-1 datatype)";
        };
    }
}
