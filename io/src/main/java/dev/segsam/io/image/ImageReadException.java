package dev.segsam.io.image;

import dev.segsam.io.Printable;
import java.io.IOException;
import java.nio.file.Path;

/**
 * An image file that cannot be read. The one-line message names the file and the problem, e.g.
 * {@code scan.tif: unsupported image: 32-bit float samples}; {@link #reason()} says which kind of problem it is.
 */
public final class ImageReadException extends IOException {
    /** What went wrong. */
    public enum Reason {
        /** The path does not exist (or is not a regular file). */
        MISSING,
        /** The content is not in an image format the JDK can decode. */
        NOT_AN_IMAGE,
        /** A recognised image whose kind segsam does not handle (sample type, colour space, channel count). */
        UNSUPPORTED,
        /** A recognised format whose content is damaged or truncated. */
        CORRUPT,
        /** An image whose header declares more pixels than the limit ({@code IoLimits.maxImagePixels}); nothing was decoded. */
        TOO_LARGE
    }

    private final transient Path file;
    private final Reason reason;

    public ImageReadException(Path file, Reason reason, String problem) {
        this(file, reason, problem, null);
    }

    public ImageReadException(Path file, Reason reason, String problem, Throwable cause) {
        super(Printable.of(file) + ": " + Printable.of(problem), cause);
        this.file = file;
        this.reason = reason;
    }

    public Path file() {
        return file;
    }

    public Reason reason() {
        return reason;
    }
}
