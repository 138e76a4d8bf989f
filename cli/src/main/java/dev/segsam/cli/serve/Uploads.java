package dev.segsam.cli.serve;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipInputStream;

/**
 * Uploaded files on the server's disk: request bodies copied into the server's private upload folder under names the
 * server makes (never the client's), stopping at a size limit; zip archives (a DICOM series) unpacked flat into a
 * folder with limits on entries and unpacked bytes. Nothing here takes a path from the client.
 */
final class Uploads {
    private Uploads() {}

    /** At most this many files in a zipped DICOM series. */
    static final int MAX_ZIP_ENTRIES = 10_000;

    /**
     * Copies {@code in} to {@code target}, failing with 413 once more than {@code limit} bytes arrive ({@code target}
     * is then deleted). Returns the number of bytes.
     */
    static long copyLimited(InputStream in, Path target, long limit) throws IOException {
        long n = 0;
        byte[] buf = new byte[64 * 1024];
        try (OutputStream out = Files.newOutputStream(target)) {
            for (int r; (r = in.read(buf)) >= 0; ) {
                n += r;
                if (n > limit) {
                    drain(in);
                    throw tooLarge(limit);
                }
                out.write(buf, 0, r);
            }
        } catch (ApiException | IOException e) {
            Files.deleteIfExists(target);
            throw e;
        }
        return n;
    }

    /** Bytes of a refused body read and discarded so that the client gets to read the refusal; past it, the connection is cut. */
    static final long DRAIN_MAX = 64L << 20;

    /** Reads and discards up to {@link #DRAIN_MAX} bytes of {@code in} (the rest of a refused request body). */
    static void drain(InputStream in) {
        try {
            byte[] buf = new byte[64 * 1024];
            long left = DRAIN_MAX;
            for (int r; left > 0 && (r = in.read(buf, 0, (int) Math.min(buf.length, left))) >= 0; ) left -= r;
        } catch (IOException ignored) {
            // the client stopped sending: nothing to drain
        }
    }

    static ApiException tooLarge(long limit) {
        return new ApiException(413, "upload is larger than the server's limit of " + mib(limit) + " (segsam serve --max-upload-mb)");
    }

    static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.0f MiB", bytes / 1048576.0);
    }

    /** Whether {@code file} starts like a zip archive ({@code PK\3\4}, or {@code PK\5\6} for an empty one). */
    static boolean isZip(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] h = in.readNBytes(4);
            return h.length == 4 && h[0] == 'P' && h[1] == 'K' && ((h[2] == 3 && h[3] == 4) || (h[2] == 5 && h[3] == 6));
        }
    }

    /**
     * Unpacks the files of {@code zip} into the new folder {@code dir} as {@code 00000.dcm, 00001.dcm, ...} (folder
     * structure and names inside the archive are ignored, so no entry can point outside {@code dir}); at most
     * {@link #MAX_ZIP_ENTRIES} files and {@code maxBytes} unpacked bytes. Returns the number of files.
     */
    static int unzipFlat(Path zip, Path dir, long maxBytes) throws IOException {
        Files.createDirectories(dir);
        int files = 0;
        long total = 0;
        byte[] buf = new byte[64 * 1024];
        try (ZipInputStream in = new ZipInputStream(Files.newInputStream(zip))) {
            for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
                if (e.isDirectory()) continue;
                String base = e.getName().substring(e.getName().lastIndexOf('/') + 1);
                if (base.startsWith(".") || base.equalsIgnoreCase("DICOMDIR")) continue; // macOS metadata, the index file
                if (++files > MAX_ZIP_ENTRIES) throw new ApiException(413, "zip archive has more than " + MAX_ZIP_ENTRIES + " files");
                try (OutputStream out = Files.newOutputStream(dir.resolve(String.format(Locale.ROOT, "%05d.dcm", files - 1)))) {
                    for (int r; (r = in.read(buf)) >= 0; ) {
                        total += r;
                        if (total > maxBytes) throw new ApiException(413, "zip archive unpacks to more than " + mib(maxBytes));
                        out.write(buf, 0, r);
                    }
                }
            }
        } catch (ZipException e) {
            throw new ApiException(400, "not a readable zip archive: " + e.getMessage());
        }
        if (files == 0) throw new ApiException(400, "zip archive holds no files (expected the DICOM files of one series)");
        return files;
    }

    /** Deletes {@code p} and everything under it, quietly. */
    static void deleteTree(Path p) {
        if (p == null || !Files.exists(p)) return;
        try (var s = Files.walk(p)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(q -> {
                try {
                    Files.deleteIfExists(q);
                } catch (IOException ignored) {
                    // best effort: the folder is the server's own temporary space
                }
            });
        } catch (IOException ignored) {
            // likewise
        }
    }
}
