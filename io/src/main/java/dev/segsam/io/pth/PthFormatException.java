package dev.segsam.io.pth;

import dev.segsam.io.FileFormatException;
import java.nio.file.Path;

/**
 * A {@code .pth} file that segsam cannot read: not a PyTorch zip checkpoint, truncated, malformed, or refused (see
 * {@link UnsafePickleException}). The message is one line naming the file, the tensor (when one is at fault) and the
 * part of the file at fault, e.g. {@code ckpt.pth: tensor "w": storage: record data/3 has 12 bytes, FloatStorage of 4
 * elements needs 16}. The field is one of {@code format} (not a zip checkpoint, legacy format), {@code zip},
 * {@code data.pkl} (the pickle), {@code byteorder}, {@code state dict} or {@code storage}.
 */
public class PthFormatException extends FileFormatException {
    public PthFormatException(Path file, String tensor, String field, String problem) {
        super(file, tensor, field, problem);
    }

    PthFormatException(String message, Path file, String tensor, String field) {
        super(message, file, tensor, field);
    }
}
