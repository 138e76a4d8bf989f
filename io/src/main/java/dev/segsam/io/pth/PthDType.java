package dev.segsam.io.pth;

/**
 * The element types of PyTorch storages that segsam reads, each with the legacy storage class that
 * {@code torch.save} names in a checkpoint's pickle ({@code torch.FloatStorage} for float32, and so on; PyTorch 2.x
 * still writes these names for these dtypes). Storages of other classes (complex, quantized) are not read: tensors
 * on them are skipped with a warning.
 */
public enum PthDType {
    FLOAT64("DoubleStorage", 8), FLOAT32("FloatStorage", 4), FLOAT16("HalfStorage", 2), BFLOAT16("BFloat16Storage", 2),
    INT64("LongStorage", 8), INT32("IntStorage", 4), INT16("ShortStorage", 2), INT8("CharStorage", 1),
    UINT8("ByteStorage", 1), BOOL("BoolStorage", 1);

    /** The storage class in module {@code torch}, e.g. {@code FloatStorage}. */
    public final String storageClass;
    /** Bytes per element. */
    public final int bytes;

    PthDType(String storageClass, int bytes) {
        this.storageClass = storageClass;
        this.bytes = bytes;
    }

    /** Floating-point types, which {@link PthFile#get} converts to float32. */
    public boolean isFloat() {
        return this == FLOAT64 || this == FLOAT32 || this == FLOAT16 || this == BFLOAT16;
    }

    /** Integer and bool types, whose exact values {@link PthFile#longValues} returns. */
    public boolean isInteger() {
        return !isFloat();
    }

    /** PyTorch's name without the {@code torch.} prefix, e.g. {@code float32}, {@code bfloat16}. */
    public String torchName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** The dtype whose storage class (in module {@code torch}) is {@code className}, or null. */
    static PthDType ofStorageClass(String className) {
        for (PthDType d : values()) {
            if (d.storageClass.equals(className)) return d;
        }
        return null;
    }
}
