package dev.segsam.io.pth;

import dev.segsam.io.AtomicFiles;
import dev.segsam.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import org.apache.commons.compress.archivers.zip.Zip64Mode;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipArchiveOutputStream;

/**
 * Writes a state dict as a PyTorch zip checkpoint that {@code torch.load} reads (also with {@code weights_only=True}):
 * top folder {@code archive/}; {@code data.pkl} as {@code torch.save} writes it (protocol 2, see
 * {@link TorchPickle}); one record {@code data/<i>} per tensor, stored uncompressed with its data 64-byte aligned
 * (so it can be memory-mapped, by {@link PthFile} as by PyTorch); {@code byteorder} = {@code little};
 * {@code version} = {@code 3}. Tensors keep the order they were added in. Entry times are fixed (1980-01-01), so the
 * same content always gives the same bytes.
 *
 * <p>The file is written to a temporary file next to the target and moved into place at the end, so a crash never
 * leaves a half-written file under the target name; an existing target is only replaced when asked to. Files over
 * 4 GiB use Zip64, as PyTorch's do.
 */
public final class PthWriter {
    private record Item(String name, PthDType dtype, int[] shape, Tensor tensor, MemorySegment raw) {
        long numel() {
            long n = 1;
            for (int d : shape) n = Math.multiplyExact(n, d);
            return n;
        }
    }

    private static final String TOP = "archive";
    private static final int ALIGN = 64;
    private static final long ENTRY_TIME = LocalDateTime.of(1980, 1, 1, 0, 0).atZone(ZoneId.systemDefault()).toInstant().toEpochMilli();

    private final Map<String, Item> items = new LinkedHashMap<>();

    /** Adds a float32 tensor. */
    public PthWriter add(String name, Tensor t) {
        return put(new Item(name, PthDType.FLOAT32, t.shape(), t, null));
    }

    /** Adds an int64 tensor. */
    public PthWriter addLongs(String name, long[] values, int... shape) {
        MemorySegment seg = MemorySegment.ofArray(new byte[Math.multiplyExact(values.length, 8)]);
        for (int i = 0; i < values.length; i++) seg.setAtIndex(Elements.I64, i, values[i]);
        return addRaw(name, PthDType.INT64, shape, seg);
    }

    /** Adds a tensor of any supported type from its contiguous little-endian elements (not copied until written). */
    public PthWriter addRaw(String name, PthDType dtype, int[] shape, MemorySegment littleEndianBytes) {
        Item it = new Item(name, dtype, shape.clone(), null, littleEndianBytes);
        for (int d : shape) if (d < 0) throw new IllegalArgumentException("tensor \"" + name + "\": negative dimension in " + Arrays.toString(shape));
        if (littleEndianBytes.byteSize() != it.numel() * dtype.bytes) {
            throw new IllegalArgumentException("tensor \"" + name + "\": " + littleEndianBytes.byteSize() + " bytes for "
                    + dtype.torchName() + " " + Arrays.toString(shape));
        }
        return put(it);
    }

    private PthWriter put(Item it) {
        if (items.putIfAbsent(it.name, it) != null) throw new IllegalArgumentException("duplicate tensor name \"" + it.name + "\"");
        return this;
    }

    /** Writes to {@code target}, which must not exist yet. */
    public void write(Path target) throws IOException {
        write(target, false);
    }

    /** Writes to {@code target}, replacing it atomically if {@code replace} is true. */
    public void write(Path target, boolean replace) throws IOException {
        if (!replace && Files.exists(target)) throw new FileAlreadyExistsException(target.toString(), null, "refusing to overwrite");
        List<TorchPickle.TensorEntry> entries = new ArrayList<>();
        List<MemorySegment> storages = new ArrayList<>();
        for (Item it : items.values()) {
            long[] size = new long[it.shape.length];
            long[] stride = new long[it.shape.length];
            long s = 1;
            for (int i = size.length - 1; i >= 0; i--) {
                size[i] = it.shape[i];
                stride[i] = s;
                s *= Math.max(1, it.shape[i]);
            }
            String key = Integer.toString(storages.size());
            entries.add(new TorchPickle.TensorEntry(it.name, it.dtype, key, it.numel(), 0, size, stride));
            storages.add(it.raw != null ? it.raw : it.tensor.data());
        }
        byte[] pickle = TorchPickle.stateDict(entries);
        AtomicFiles.write(target, replace, tmp -> writeArchive(tmp, pickle, storages));
    }

    /** Writes the zip: {@code data.pkl}, {@code byteorder}, {@code data/0..n-1} from {@code storages}, {@code version}. */
    static void writeArchive(Path out, byte[] pickle, List<MemorySegment> storages) throws IOException {
        try (ZipArchiveOutputStream zip = new ZipArchiveOutputStream(out)) {
            zip.setUseZip64(Zip64Mode.AsNeeded);
            record(zip, "data.pkl", MemorySegment.ofArray(pickle));
            record(zip, "byteorder", MemorySegment.ofArray("little".getBytes(StandardCharsets.US_ASCII)));
            for (int i = 0; i < storages.size(); i++) record(zip, "data/" + i, storages.get(i));
            record(zip, "version", MemorySegment.ofArray("3\n".getBytes(StandardCharsets.US_ASCII)));
        }
    }

    /** One stored, 64-byte-aligned record; size and CRC are set up front so nothing is patched afterwards. */
    private static void record(ZipArchiveOutputStream zip, String name, MemorySegment data) throws IOException {
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            throw new UnsupportedOperationException("writing .pth files needs a little-endian machine");
        }
        ZipArchiveEntry e = new ZipArchiveEntry(TOP + "/" + name);
        e.setMethod(ZipArchiveEntry.STORED);
        e.setAlignment(ALIGN);
        e.setTime(ENTRY_TIME);
        e.setSize(data.byteSize());
        CRC32 crc = new CRC32();
        long chunk = 1L << 30;
        for (long off = 0; off < data.byteSize(); off += chunk) {
            crc.update(data.asSlice(off, Math.min(chunk, data.byteSize() - off)).asByteBuffer());
        }
        e.setCrc(crc.getValue());
        zip.putArchiveEntry(e);
        byte[] buf = new byte[1 << 20];
        for (long off = 0; off < data.byteSize(); off += buf.length) {
            int n = (int) Math.min(buf.length, data.byteSize() - off);
            MemorySegment.copy(data, ValueLayout.JAVA_BYTE, off, buf, 0, n);
            zip.write(buf, 0, n);
        }
        zip.closeArchiveEntry();
    }
}
