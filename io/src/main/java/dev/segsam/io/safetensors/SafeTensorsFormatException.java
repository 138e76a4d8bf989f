package dev.segsam.io.safetensors;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A safetensors file that breaks the format. The message names the file, the tensor (when one is at fault) and the
 * header field, e.g. {@code model.safetensors: tensor "w": data_offsets: span of 12 bytes, but F32 [2, 2] needs 16}.
 */
public final class SafeTensorsFormatException extends IOException {
    private final transient Path file;
    private final String tensor;
    private final String field;

    public SafeTensorsFormatException(Path file, String tensor, String field, String problem) {
        super(file + ": " + (tensor == null ? "" : "tensor \"" + tensor + "\": ") + field + ": " + problem);
        this.file = file;
        this.tensor = tensor;
        this.field = field;
    }

    public Path file() {
        return file;
    }

    /** The tensor at fault, or null for file-level problems. */
    public String tensor() {
        return tensor;
    }

    /** The header field at fault: {@code header length}, {@code header}, {@code dtype}, {@code shape}, {@code data_offsets}, {@code __metadata__} or {@code file size}. */
    public String field() {
        return field;
    }
}
