package dev.segsam.cli;

import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** The rule every command that writes a folder follows: a new or empty folder, or a non-empty one only when forced. */
final class OutputFolder {
    private OutputFolder() {}

    /** Fails (before any work is done) if {@code out} is a file, or a non-empty folder without {@code force}. */
    static void requireUsable(Path out, boolean force, String hint) throws IOException {
        if (Files.exists(out) && !Files.isDirectory(out)) throw new IOException(out + " exists and is not a folder");
        if (Files.isDirectory(out) && !force) {
            try (Stream<Path> s = Files.list(out)) {
                if (s.findAny().isPresent()) throw new DirectoryNotEmptyException(out + " is not empty (" + hint + ")");
            }
        }
    }
}
