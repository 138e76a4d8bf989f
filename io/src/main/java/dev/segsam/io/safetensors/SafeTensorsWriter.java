package dev.segsam.io.safetensors;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.segsam.io.AtomicFiles;
import dev.segsam.tensor.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes safetensors files the way the reference writer does: tensors ordered by descending dtype alignment, then
 * name, so every tensor starts aligned to its element size; the JSON header padded with spaces so the data section
 * starts on an 8-byte boundary; {@code __metadata__} first.
 *
 * <p>The file is written to a temporary file next to the target and moved into place at the end, so a crash never
 * leaves a half-written file under the target name; an existing target is only replaced when asked to.
 */
public final class SafeTensorsWriter {
    private record Item(String name, DType dtype, int[] shape, Tensor tensor, MemorySegment raw) {
        long byteSize() {
            long n = 1;
            for (int d : shape) n *= d;
            return n * dtype.bits / 8;
        }
    }

    private final Map<String, Item> items = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    /** Adds a float32 tensor, stored as F32. */
    public SafeTensorsWriter add(String name, Tensor t) {
        return add(name, t, DType.F32);
    }

    /** Adds a float32 tensor stored as {@code F32}, {@code F16} or {@code BF16} (round to nearest even). */
    public SafeTensorsWriter add(String name, Tensor t, DType storedAs) {
        if (storedAs != DType.F32 && storedAs != DType.F16 && storedAs != DType.BF16) {
            throw new IllegalArgumentException("float tensors can be stored as F32, F16 or BF16, not " + storedAs);
        }
        return put(new Item(name, storedAs, t.shape(), t, null));
    }

    /** Adds raw little-endian bytes of the given dtype and shape (e.g. integer label maps). */
    public SafeTensorsWriter addRaw(String name, DType dtype, int[] shape, MemorySegment littleEndianBytes) {
        Item it = new Item(name, dtype, shape.clone(), null, littleEndianBytes);
        if (it.byteSize() * 8 != numel(shape) * dtype.bits || littleEndianBytes.byteSize() != it.byteSize()) {
            throw new IllegalArgumentException("tensor \"" + name + "\": " + littleEndianBytes.byteSize() + " bytes for "
                    + dtype + " " + java.util.Arrays.toString(shape));
        }
        return put(it);
    }

    /** Adds a 64-bit integer tensor. */
    public SafeTensorsWriter addLongs(String name, long[] values, int... shape) {
        if (numel(shape) != values.length) throw new IllegalArgumentException("tensor \"" + name + "\": " + values.length + " values for shape " + java.util.Arrays.toString(shape));
        MemorySegment seg = MemorySegment.ofArray(new byte[values.length * 8]);
        for (int i = 0; i < values.length; i++) seg.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i, values[i]);
        return addRaw(name, DType.I64, shape, seg);
    }

    /** Adds a {@code __metadata__} entry. */
    public SafeTensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    private SafeTensorsWriter put(Item it) {
        if (it.name.equals(SafeTensorsFile.METADATA_KEY)) throw new IllegalArgumentException("\"__metadata__\" is reserved");
        if (items.putIfAbsent(it.name, it) != null) throw new IllegalArgumentException("duplicate tensor name \"" + it.name + "\"");
        return this;
    }

    private static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) n = Math.multiplyExact(n, d);
        return n;
    }

    /** Writes to {@code target}, which must not exist yet. */
    public void write(Path target) throws IOException {
        write(target, false);
    }

    /** Writes to {@code target}, replacing it atomically if {@code replace} is true. */
    public void write(Path target, boolean replace) throws IOException {
        if (!replace && Files.exists(target)) throw new FileAlreadyExistsException(target.toString(), null, "refusing to overwrite");
        List<Item> order = new ArrayList<>(items.values());
        order.sort(Comparator.comparing((Item i) -> i.dtype.ordinal()).reversed().thenComparing(i -> i.name));
        byte[] header = header(order);
        AtomicFiles.write(target, replace, tmp -> {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).flip();
                writeFully(ch, len);
                writeFully(ch, ByteBuffer.wrap(header));
                for (Item it : order) writeData(ch, it);
            }
        });
    }

    private byte[] header(List<Item> order) throws IOException {
        List<HeaderEntry> entries = new ArrayList<>(order.size());
        long off = 0;
        for (Item it : order) {
            entries.add(new HeaderEntry(it.name, it.dtype.name(), it.shape, off, off + it.byteSize()));
            off += it.byteSize();
        }
        return header(metadata, entries);
    }

    /** One tensor's line in the JSON header: its dtype name, shape and byte range in the data section. */
    record HeaderEntry(String name, String dtype, int[] shape, long begin, long end) {}

    /** The JSON header ({@code __metadata__} first, then the tensors in data order), padded with spaces to 8 bytes. */
    static byte[] header(Map<String, String> metadata, List<HeaderEntry> entries) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator g = new JsonFactory().createGenerator(out)) {
            g.writeStartObject();
            if (!metadata.isEmpty()) {
                g.writeObjectFieldStart(SafeTensorsFile.METADATA_KEY);
                for (Map.Entry<String, String> m : metadata.entrySet()) g.writeStringField(m.getKey(), m.getValue());
                g.writeEndObject();
            }
            for (HeaderEntry e : entries) {
                g.writeObjectFieldStart(e.name());
                g.writeStringField("dtype", e.dtype());
                g.writeArrayFieldStart("shape");
                for (int d : e.shape()) g.writeNumber(d);
                g.writeEndArray();
                g.writeArrayFieldStart("data_offsets");
                g.writeNumber(e.begin());
                g.writeNumber(e.end());
                g.writeEndArray();
                g.writeEndObject();
            }
            g.writeEndObject();
        }
        while (out.size() % 8 != 0) out.write(' ');
        return out.toByteArray();
    }

    private static void writeData(FileChannel ch, Item it) throws IOException {
        if (it.raw != null) {
            writeSegment(ch, it.raw);
            return;
        }
        MemorySegment src = it.tensor.data();
        if (it.dtype == DType.F32 && ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
            writeSegment(ch, src);
            return;
        }
        // convert in chunks of 64 Ki elements
        long n = it.tensor.numel();
        int elemBytes = it.dtype.bits / 8;
        ByteBuffer buf = ByteBuffer.allocate(65536 * elemBytes).order(ByteOrder.LITTLE_ENDIAN);
        for (long i = 0; i < n; i++) {
            float v = src.getAtIndex(Tensor.LAYOUT, i);
            switch (it.dtype) {
                case F32 -> buf.putFloat(v);
                case F16 -> buf.putShort(Float.floatToFloat16(v));
                case BF16 -> buf.putShort(toBf16(v));
                default -> throw new AssertionError(it.dtype);
            }
            if (!buf.hasRemaining()) {
                writeFully(ch, buf.flip());
                buf.clear();
            }
        }
        writeFully(ch, buf.flip());
    }

    /** float32 → bfloat16, round to nearest even; NaN stays a (quiet) NaN. */
    static short toBf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) return (short) ((bits >>> 16) | 0x40);
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    private static void writeSegment(FileChannel ch, MemorySegment seg) throws IOException {
        long chunk = 1L << 30;
        for (long off = 0; off < seg.byteSize(); off += chunk) {
            writeFully(ch, seg.asSlice(off, Math.min(chunk, seg.byteSize() - off)).asByteBuffer());
        }
    }

    static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }
}
