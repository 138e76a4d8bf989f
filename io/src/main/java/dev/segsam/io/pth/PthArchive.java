package dev.segsam.io.pth;

import dev.segsam.io.IoLimits;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipFile;

/**
 * The zip container of a {@code torch.save} checkpoint: the file memory-mapped whole plus its zip directory (read
 * with Commons Compress). Finds the top folder from the one {@code <top>/data.pkl} record, reads the pickle and the
 * {@code byteorder} record, and hands out storage records either in place (stored records, which is how PyTorch
 * writes them) or inflated (deflated records, as a re-zipped file might have). Recognises, and refuses with a hint,
 * the legacy pre-1.6 format, bare pickles, TorchScript archives and safetensors files.
 */
final class PthArchive implements AutoCloseable {
    /** Deflate cannot expand more than ~1032:1; a record claiming more is malformed (or a zip bomb). */
    private static final long MAX_INFLATE_RATIO = 1100;

    private static final byte[] LEGACY_MAGIC = {(byte) 0x80, 0x02, (byte) 0x8a, 0x0a, 0x6c, (byte) 0xfc, (byte) 0x9c,
            0x46, (byte) 0xf9, 0x20, 0x6a, (byte) 0xa8, 0x50, 0x19};

    /** A zip record: where its bytes are and how they are stored. */
    record Record(String name, ZipArchiveEntry entry, long dataOffset, long size, boolean stored) {}

    final Path path;
    final MemorySegment file;
    final String top;
    /** From the {@code byteorder} record; absent means little-endian. */
    ByteOrder order = ByteOrder.LITTLE_ENDIAN;
    /** The {@code data.pkl} record. */
    byte[] pickle;
    private final Arena arena;
    private final ZipFile zip;
    private final Map<String, ZipArchiveEntry> entries;
    private final IoLimits limits;

    private PthArchive(Path path, Arena arena, MemorySegment file, ZipFile zip, Map<String, ZipArchiveEntry> entries, String top,
                       IoLimits limits) {
        this.path = path;
        this.limits = limits;
        this.arena = arena;
        this.file = file;
        this.zip = zip;
        this.entries = entries;
        this.top = top;
    }

    /**
     * Maps and checks {@code path}: the number of zip records ({@link IoLimits#maxZipEntries()}, read from the end
     * record before Commons Compress loads the directory) and the size of {@code data.pkl}
     * ({@link IoLimits#maxPickleBytes()}), which is read.
     */
    static PthArchive open(Path path, IoLimits limits) throws IOException {
        Arena arena = Arena.ofShared();
        ZipFile zip = null;
        try {
            MemorySegment file;
            try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
                file = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            }
            checkSignature(path, file);
            checkEntryCount(path, file, limits.maxZipEntries());
            try {
                zip = ZipFile.builder().setPath(path).get();
            } catch (IOException | RuntimeException e) {
                throw new PthFormatException(path, null, "zip", "not a complete zip archive (truncated or corrupted download?): " + e.getMessage());
            }
            Map<String, ZipArchiveEntry> entries = new HashMap<>();
            List<String> pickles = new ArrayList<>();
            for (ZipArchiveEntry e : Collections.list(zip.getEntries())) {
                if (entries.putIfAbsent(e.getName(), e) != null) {
                    throw new PthFormatException(path, null, "zip", "record " + e.getName() + " appears twice");
                }
                int slash = e.getName().indexOf('/');
                if (slash > 0 && slash == e.getName().length() - 9 && e.getName().endsWith("/data.pkl")) pickles.add(e.getName());
            }
            if (pickles.size() != 1) {
                throw new PthFormatException(path, null, "zip", pickles.isEmpty()
                        ? "no <folder>/data.pkl record: a zip file, but not a torch.save checkpoint"
                        : "several data.pkl records (" + String.join(", ", pickles) + ")");
            }
            String top = pickles.getFirst().substring(0, pickles.getFirst().length() - "/data.pkl".length());
            if (entries.containsKey(top + "/constants.pkl")) {
                throw new PthFormatException(path, null, "format", "a TorchScript archive (torch.jit.save), not a torch.save "
                        + "checkpoint; re-save its weights in Python: torch.save(torch.jit.load(f).state_dict(), f2)");
            }
            PthArchive a = new PthArchive(path, arena, file, zip, entries, top, limits);
            ZipArchiveEntry bo = entries.get(top + "/byteorder");
            if (bo != null) {
                String s = new String(a.read(a.record(bo), 16, null), StandardCharsets.US_ASCII).strip();
                a.order = switch (s) {
                    case "little" -> ByteOrder.LITTLE_ENDIAN;
                    case "big" -> ByteOrder.BIG_ENDIAN;
                    default -> throw new PthFormatException(path, null, "byteorder", "\"" + s + "\", expected \"little\" or \"big\"");
                };
            }
            a.pickle = a.read(a.record(entries.get(pickles.getFirst())), limits.maxPickleBytes(), IoLimits.PICKLE_BYTES);
            return a;
        } catch (IOException | RuntimeException | Error e) {
            if (zip != null) ZipFile.closeQuietly(zip);
            arena.close();
            throw e;
        }
    }

    /** Refuses anything that is not a zip, naming what it looks like instead. */
    private static void checkSignature(Path path, MemorySegment f) throws PthFormatException {
        long n = f.byteSize();
        byte[] head = new byte[(int) Math.min(n, 16)];
        MemorySegment.copy(f, ValueLayout.JAVA_BYTE, 0, head, 0, head.length);
        if (head.length >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) return;
        String redo = "re-save it with torch >= 1.6 in Python: torch.save(torch.load(f), f2)";
        if (n == 0) throw new PthFormatException(path, null, "format", "the file is empty");
        if (startsWith(head, LEGACY_MAGIC)) {
            throw new PthFormatException(path, null, "format", "the legacy (pre-1.6, non-zip) PyTorch format, which segsam does not read; " + redo);
        }
        if ((head[0] & 0xFF) == 0x80) {
            throw new PthFormatException(path, null, "format", "a bare pickle, not a PyTorch zip checkpoint; " + redo);
        }
        if (n >= 262 && "ustar".equals(new String(f.asSlice(257, 5).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII))) {
            throw new PthFormatException(path, null, "format", "a tar archive (the oldest PyTorch format?), not a zip checkpoint; " + redo);
        }
        if (head.length >= 9 && head[8] == '{') {
            throw new PthFormatException(path, null, "format", "not a zip archive; it looks like a safetensors file (read it with SafeTensorsFile)");
        }
        throw new PthFormatException(path, null, "format", "not a PyTorch checkpoint: it does not start with the zip signature PK\\x03\\x04");
    }

    /**
     * Refuses zips whose end record announces more than {@code max} entries (zip64 included), before the central
     * directory is parsed. Files whose end record cannot be found are left to Commons Compress to report.
     */
    private static void checkEntryCount(Path path, MemorySegment f, long max) throws PthFormatException {
        long n = f.byteSize();
        long stop = Math.max(0, n - 22 - 65535);
        for (long at = n - 22; at >= stop; at--) {
            if (f.get(LE32, at) != 0x06054b50) continue;
            long entries = f.get(LE16, at + 10) & 0xFFFF;
            if (entries == 0xFFFF && at >= 20 && f.get(LE32, at - 20) == 0x07064b50) { // zip64 end locator
                long z = f.get(LE64, at - 20 + 8);
                if (z >= 0 && z <= n - 56 && f.get(LE32, z) == 0x06064b50) entries = f.get(LE64, z + 32);
            }
            if (entries < 0 || entries > max) {
                throw new PthFormatException(path, null, "zip", "the zip directory announces " + Long.toUnsignedString(entries)
                        + " records, more than the limit of " + max + " " + IoLimits.hint(IoLimits.ZIP_ENTRIES));
            }
            return;
        }
    }

    private static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt LE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static boolean startsWith(byte[] a, byte[] prefix) {
        if (a.length < prefix.length) return false;
        for (int i = 0; i < prefix.length; i++) if (a[i] != prefix[i]) return false;
        return true;
    }

    // ------------------------------------------------------------------ records

    /** The record {@code <top>/data/<key>} of a storage, or null. */
    Record storage(String key) throws PthFormatException {
        ZipArchiveEntry e = entries.get(top + "/data/" + key);
        return e == null ? null : record(e);
    }

    private Record record(ZipArchiveEntry e) throws PthFormatException {
        String name = e.getName();
        long size = e.getSize();
        long csize = e.getCompressedSize();
        long off = e.getDataOffset();
        if (size < 0 || csize < 0) throw new PthFormatException(path, null, "zip", "record " + name + " has no recorded size");
        boolean stored = e.getMethod() == ZipArchiveEntry.STORED;
        if (!stored && e.getMethod() != ZipArchiveEntry.DEFLATED) {
            throw new PthFormatException(path, null, "zip", "record " + name + " uses zip method " + e.getMethod() + "; only stored and deflated records are read");
        }
        if (!zip.canReadEntryData(e)) throw new PthFormatException(path, null, "zip", "record " + name + " cannot be read (encrypted?)");
        if (off < 0 || csize > file.byteSize() || off > file.byteSize() - csize) {
            throw new PthFormatException(path, null, "zip", "record " + name + " lies outside the " + file.byteSize() + "-byte file (truncated?)");
        }
        if (stored && size != csize) {
            throw new PthFormatException(path, null, "zip", "stored record " + name + " has size " + size + " but " + csize + " bytes in the archive");
        }
        if (!stored && size > csize * MAX_INFLATE_RATIO + 65536) {
            throw new PthFormatException(path, null, "zip", "record " + name + " claims " + size + " bytes from " + csize + " compressed ones");
        }
        if (!stored && size > limits.maxInflatedBytes()) {
            throw new PthFormatException(path, null, "zip", "deflated record " + name + " inflates to " + size
                    + " bytes, more than the limit of " + IoLimits.bytes(limits.maxInflatedBytes()) + " " + IoLimits.hint(IoLimits.INFLATED_BYTES));
        }
        return new Record(name, e, off, size, stored);
    }

    /** A record's bytes in place (stored records only). */
    MemorySegment inPlace(Record r) {
        return file.asSlice(r.dataOffset(), r.size());
    }

    /** A small record's whole content, refused if larger than {@code max} bytes (the limit set by {@code property}, if any). */
    private byte[] read(Record r, long max, String property) throws PthFormatException {
        if (r.size() > max) {
            throw new PthFormatException(path, null, "zip", "record " + r.name() + " has " + r.size() + " bytes, more than the "
                    + (property == null ? max + " allowed" : "limit of " + IoLimits.bytes(max) + " " + IoLimits.hint(property)));
        }
        byte[] b = new byte[(int) r.size()];
        copy(r, MemorySegment.ofArray(b));
        return b;
    }

    /** Copies a record's whole content into {@code dst}, which has exactly the record's size. */
    void copy(Record r, MemorySegment dst) throws PthFormatException {
        if (r.stored()) {
            MemorySegment.copy(inPlace(r), 0, dst, 0, r.size());
            return;
        }
        synchronized (this) { // one inflating reader at a time on the shared zip channel
            inflate(r, dst);
        }
    }

    private void inflate(Record r, MemorySegment dst) throws PthFormatException {
        try (InputStream in = zip.getInputStream(r.entry())) {
            byte[] buf = new byte[1 << 16];
            long at = 0;
            for (int n; (n = in.read(buf)) > 0; at += n) {
                if (n > r.size() - at) throw new IOException("more bytes than its recorded size " + r.size());
                MemorySegment.copy(MemorySegment.ofArray(buf), 0, dst, at, n);
            }
            if (at != r.size()) throw new IOException(at + " bytes, but its recorded size is " + r.size());
        } catch (IOException | RuntimeException e) {
            throw new PthFormatException(path, null, "zip", "record " + r.name() + " cannot be inflated: " + e.getMessage());
        }
    }

    @Override
    public synchronized void close() {
        ZipFile.closeQuietly(zip);
        if (arena.scope().isAlive()) arena.close();
    }
}
