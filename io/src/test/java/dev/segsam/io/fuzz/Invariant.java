package dev.segsam.io.fuzz;

import dev.segsam.io.FileFormatException;
import dev.segsam.io.IoLimits;
import dev.segsam.io.Printable;
import dev.segsam.io.image.ImageReadException;
import dev.segsam.io.medical.MedicalFormatException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The property every fuzz target checks: reading an untrusted file either gives a valid result (checked by the
 * target) or fails with a <em>typed</em> error — one of the io format exceptions ({@link FileFormatException} for
 * safetensors and {@code .pth}, {@link MedicalFormatException} for NIfTI and DICOM, {@link ImageReadException} for
 * pictures) — whose message is one non-blank line naming the file. Anything else is a finding: another exception
 * type, a message over several lines or without the file, and (caught by the fuzzer itself) an {@link OutOfMemoryError},
 * a process past its RSS limit, a hang.
 *
 * <p>The readers run under {@link #LIMITS}, tighter than the defaults, so that the memory a valid small file may ask
 * for stays far below the fuzzing JVM's heap: the budget is then a property of the limits, which is what they are for.
 */
final class Invariant {
    private Invariant() {}

    /** Limits for fuzzing: 1 Mpx images, 4 M-voxel volumes, 16 MiB of pickle objects and of expanded views. */
    static final IoLimits LIMITS = IoLimits.defaults().withMaxImagePixels(1 << 20).withMaxVolumeVoxels(1 << 22)
            .withMaxInflatedBytes(16 << 20).withMaxPickleBytes(4 << 20).withMaxPickleMemory(16 << 20)
            .withMaxExpandedBytes(16 << 20);

    /** Whether every dimension fits the int shape of a {@code Tensor} (readers refuse get() otherwise, by contract). */
    static boolean intDims(long[] shape) {
        for (long d : shape) if (d > Integer.MAX_VALUE) return false;
        return true;
    }

    interface Body {
        void run(Path file) throws Exception;
    }

    /** One scratch file per target and thread, rewritten for every input (no temp-file churn). */
    private static final ThreadLocal<Path> SCRATCH = new ThreadLocal<>();

    static Path scratch(String suffix, byte[] content) throws IOException {
        Path dir = SCRATCH.get();
        if (dir == null) {
            dir = Files.createTempDirectory("segsam-fuzz");
            dir.toFile().deleteOnExit();
            SCRATCH.set(dir);
        }
        Path p = dir.resolve("input" + suffix);
        Files.write(p, content, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
        p.toFile().deleteOnExit();
        return p;
    }

    /** Writes {@code content} to a scratch file named {@code *suffix} and checks {@code body} on it. */
    static void check(String suffix, byte[] content, Body body) throws Exception {
        Path p = scratch(suffix, content);
        try {
            body.run(p);
        } catch (FileFormatException | MedicalFormatException | ImageReadException e) {
            typed(p, e);
        } catch (UncheckedIOException e) {
            // PthFile/SafeTensorsFile data accessors document this wrapper for a record that fails to inflate
            if (!(e.getCause() instanceof FileFormatException f)) throw e;
            typed(p, f);
        }
    }

    private static void typed(Path p, IOException e) {
        String m = e.getMessage();
        if (m == null || m.isBlank() || m.indexOf('\n') >= 0 || m.indexOf('\r') >= 0) {
            throw new AssertionError("not a one-line message: " + m, e);
        }
        if (!m.contains(Printable.of(p))) throw new AssertionError("the message does not name the file: " + m, e);
    }
}
