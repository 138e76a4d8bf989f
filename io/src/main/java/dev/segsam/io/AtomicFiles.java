package dev.segsam.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes a file through a temporary file next to it, synced and moved into place at the end, so a crash never leaves
 * a half-written file under the target name.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    /** Writes the content of a file that exists and is empty. */
    @FunctionalInterface
    public interface Content {
        void writeTo(Path file) throws IOException;
    }

    /**
     * Writes {@code target} with {@code content}; an existing target is replaced (atomically) only if {@code replace},
     * else {@link FileAlreadyExistsException}. The temporary file is removed whatever happens.
     */
    public static void write(Path target, boolean replace, Content content) throws IOException {
        if (!replace && Files.exists(target)) throw new FileAlreadyExistsException(target.toString(), null, "refusing to overwrite");
        Path tmp = temporaryNextTo(target);
        try {
            content.writeTo(tmp);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            if (replace) {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } else {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Writes the content to an open channel (positioned at 0). */
    @FunctionalInterface
    public interface ChannelContent {
        void writeTo(FileChannel channel) throws IOException;
    }

    /** {@link #write} for content produced on a {@link FileChannel}. */
    public static void writeChannel(Path target, boolean replace, ChannelContent content) throws IOException {
        write(target, replace, tmp -> {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                content.writeTo(ch);
            }
        });
    }

    /**
     * A new empty file {@code .<name>.<random>.tmp} beside {@code target}, created like any other file (so the result
     * gets the usual permissions, not the owner-only ones of {@link Files#createTempFile}).
     */
    private static Path temporaryNextTo(Path target) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        for (int attempt = 0; ; attempt++) {
            Path tmp = dir.resolve("." + target.getFileName() + "." + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36) + ".tmp");
            try {
                return Files.createFile(tmp);
            } catch (FileAlreadyExistsException e) {
                if (attempt == 8) throw e;
            }
        }
    }
}
