package dev.segsam.io.safetensors;

import dev.segsam.io.FileFormatException;
import java.nio.file.Path;

/**
 * A safetensors file that breaks the format. The message names the file, the tensor (when one is at fault) and the
 * header field, e.g. {@code model.safetensors: tensor "w": data_offsets: span of 12 bytes, but F32 [2, 2] needs 16}.
 * The field is one of {@code header length}, {@code header}, {@code dtype}, {@code shape}, {@code data_offsets},
 * {@code __metadata__} or {@code file size}.
 */
public final class SafeTensorsFormatException extends FileFormatException {
    public SafeTensorsFormatException(Path file, String tensor, String field, String problem) {
        super(file, tensor, field, problem);
    }
}
