package dev.segsam.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A file that breaks its format. The message is one line naming the file, the tensor (when one is at fault) and the
 * part of the file at fault: {@code <file>: tensor "<name>": <field>: <problem>}. Each format has its subclass, which
 * lists its fields. Control characters from the file or its name are escaped ({@link Printable}), so the message is
 * always one line.
 */
public class FileFormatException extends IOException {
    private final transient Path file;
    private final String tensor;
    private final String field;

    protected FileFormatException(Path file, String tensor, String field, String problem) {
        this(Printable.of(file) + ": " + (tensor == null ? "" : "tensor \"" + Printable.of(tensor) + "\": ") + field + ": " + Printable.of(problem), file, tensor, field);
    }

    /** For messages of another form (they must still be one line naming the file). */
    protected FileFormatException(String message, Path file, String tensor, String field) {
        super(Printable.of(message));
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

    /** The part of the file at fault (see the subclass for the possible values). */
    public String field() {
        return field;
    }
}
