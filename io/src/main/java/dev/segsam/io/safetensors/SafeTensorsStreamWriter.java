package dev.segsam.io.safetensors;

import dev.segsam.io.AtomicFiles;
import dev.segsam.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes a safetensors file whose tensors arrive one at a time and are not kept: each tensor's float32 data goes at once
 * to a temporary data file beside the target; {@link #finish} writes the header and then copies the data after it,
 * through a temporary file moved into place ({@link AtomicFiles}). Memory stays at the header's entries (a few dozen
 * bytes per tensor) however many tensors there are — for outputs produced one prompt at a time.
 *
 * <p>The tensors are stored in the order they were added (their data offsets increase in that order); every tensor is
 * F32, so each starts aligned to its element size. {@link #close} without {@link #finish} deletes the temporary file.
 */
public final class SafeTensorsStreamWriter implements AutoCloseable {
    private record Entry(String name, int[] shape, long begin, long end) {}

    private final Path target;
    private final Path data;
    private final FileChannel channel;
    private final List<Entry> entries = new ArrayList<>();
    private final Set<String> names = new HashSet<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();
    private long offset;
    private boolean done;

    /** A writer for {@code target}; its data file {@code .<name>.<random>.data.tmp} is created beside it now. */
    public SafeTensorsStreamWriter(Path target) throws IOException {
        this.target = target;
        Path dir = target.toAbsolutePath().getParent();
        this.data = dir.resolve("." + target.getFileName() + "." + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36) + ".data.tmp");
        this.channel = FileChannel.open(data, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, StandardOpenOption.READ);
    }

    /** Adds a {@code __metadata__} entry. */
    public SafeTensorsStreamWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    /** Writes {@code t}'s values (float32) to the data file now; {@code t} can be closed afterwards. */
    public SafeTensorsStreamWriter add(String name, Tensor t) throws IOException {
        if (done) throw new IllegalStateException("finished");
        if (name.equals(SafeTensorsFile.METADATA_KEY)) throw new IllegalArgumentException("\"__metadata__\" is reserved");
        if (!names.add(name)) throw new IllegalArgumentException("duplicate tensor name \"" + name + "\"");
        long bytes = t.numel() * 4;
        MemorySegment src = t.data();
        if (ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
            long chunk = 1L << 30;
            for (long off = 0; off < bytes; off += chunk) writeFully(src.asSlice(off, Math.min(chunk, bytes - off)).asByteBuffer());
        } else {
            ByteBuffer buf = ByteBuffer.allocate(1 << 18).order(ByteOrder.LITTLE_ENDIAN);
            for (long i = 0; i < t.numel(); i++) {
                buf.putFloat(src.getAtIndex(Tensor.LAYOUT, i));
                if (!buf.hasRemaining()) {
                    writeFully(buf.flip());
                    buf.clear();
                }
            }
            writeFully(buf.flip());
        }
        entries.add(new Entry(name, t.shape(), offset, offset + bytes));
        offset += bytes;
        return this;
    }

    /** The number of data bytes written so far. */
    public long dataBytes() {
        return offset;
    }

    /** Writes the file: the header, then the data; replaces {@code target} only if {@code replace}. */
    public void finish(boolean replace) throws IOException {
        if (done) throw new IllegalStateException("finished");
        done = true;
        byte[] header = header();
        try {
            channel.force(false);
            AtomicFiles.writeChannel(target, replace, out -> {
                SafeTensorsWriter.writeFully(out, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).flip());
                SafeTensorsWriter.writeFully(out, ByteBuffer.wrap(header));
                long pos = 0;
                while (pos < offset) pos += channel.transferTo(pos, offset - pos, out);
            });
        } finally {
            close();
        }
    }

    private byte[] header() throws IOException {
        List<SafeTensorsWriter.HeaderEntry> lines = new ArrayList<>(entries.size());
        for (Entry e : entries) lines.add(new SafeTensorsWriter.HeaderEntry(e.name, "F32", e.shape, e.begin, e.end));
        return SafeTensorsWriter.header(metadata, lines);
    }

    private void writeFully(ByteBuffer b) throws IOException {
        SafeTensorsWriter.writeFully(channel, b);
    }

    /** Closes and deletes the data file (after {@link #finish}, or to give up). */
    @Override
    public void close() throws IOException {
        done = true;
        try {
            channel.close();
        } finally {
            Files.deleteIfExists(data);
        }
    }
}
