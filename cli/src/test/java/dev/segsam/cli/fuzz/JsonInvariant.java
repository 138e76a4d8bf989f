package dev.segsam.cli.fuzz;

import dev.segsam.io.Printable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The invariant of the JSON fuzz targets, as for the io targets (docs/FUZZING.md): a valid result, or the parser's
 * typed error whose message is one non-blank line naming the file; anything else (another exception, a multi-line
 * message, an OutOfMemoryError in the fuzzing heap) is a finding.
 */
final class JsonInvariant {
    private JsonInvariant() {}

    private static final ThreadLocal<Path> SCRATCH = new ThreadLocal<>();

    /** {@code content} in a scratch file named {@code name} (rewritten for every input). */
    static Path scratch(String name, byte[] content) throws IOException {
        Path dir = SCRATCH.get();
        if (dir == null) {
            dir = Files.createTempDirectory("segsam-fuzz");
            dir.toFile().deleteOnExit();
            SCRATCH.set(dir);
        }
        Path p = dir.resolve(name);
        Files.write(p, content, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
        p.toFile().deleteOnExit();
        return p;
    }

    static void oneLineNaming(Exception e, Path file) {
        String m = e.getMessage();
        if (m == null || m.isBlank() || m.indexOf('\n') >= 0 || m.indexOf('\r') >= 0) throw new AssertionError("not a one-line message: " + m, e);
        if (!m.contains(Printable.of(file.getFileName().toString()))) throw new AssertionError("the message does not name the file: " + m, e);
        if (m.length() > 400) throw new AssertionError("a message of " + m.length() + " characters", e);
    }
}
