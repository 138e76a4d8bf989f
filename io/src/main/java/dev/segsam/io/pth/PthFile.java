package dev.segsam.io.pth;

import dev.segsam.io.IoLimits;
import dev.segsam.io.pth.RestrictedUnpickler.TensorRef;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A PyTorch checkpoint written by {@code torch.save} (PyTorch ≥ 1.6, the zip format), read without Python and without
 * running anything from the file.
 *
 * <p><b>Format.</b> A zip archive with one top folder (its name varies; it is found from the {@code <top>/data.pkl}
 * record) holding {@code data.pkl}, a pickle (protocol 2 by default) of the saved object; {@code data/<key>}, one
 * record of raw elements per storage; {@code version} (not checked); and, from newer writers, {@code byteorder}
 * ({@code little}/{@code big}; absent means little); other records are ignored. In the pickle each tensor is a call
 * {@code torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)} whose storage is a persistent id
 * {@code ('storage', torch.FloatStorage, key, location, numel)}; offsets and strides are in elements. PyTorch writes the
 * records uncompressed with their data 64-byte aligned, so storages are used in place.
 *
 * <p><b>Safety.</b> The pickle is read by {@link RestrictedUnpickler}, which builds plain Java data from an allowlist
 * of globals and never calls or instantiates anything; a file whose pickle references code-executing globals
 * ({@code os.system}, {@code eval}, ...) or whose state dict contains objects of other classes is refused with an
 * {@link UnsafePickleException}. Every size read from the file (string lengths, memo indices, element counts,
 * storage sizes against the actual zip record sizes, views against their storages) is checked before use, so a
 * malformed or truncated file fails on {@link #open} with a one-line {@link PthFormatException}. What a small file
 * can make the reader allocate is bounded by {@link IoLimits}: the pickle's size, memo, nesting and estimated memory,
 * the zip's record count and inflated sizes, and how far stride-0 views stretch their storages (a one-element storage
 * viewed as a 4 GiB tensor is refused unless the limits are raised). The legacy non-zip
 * format (PyTorch &lt; 1.6 or {@code _use_new_zipfile_serialization=False}) is recognised and refused with the
 * command that converts it.
 *
 * <p><b>Which state dict.</b> A plain state dict ({@code torch.save(model.state_dict())}) is used as is; in a training
 * checkpoint such as {@code {"model": ..., "optimizer": ..., "epoch": ...}} the entry holding tensors is used and
 * the others are skipped, an optimizer <em>object</em> included (it stays an inert placeholder); the full rule is in
 * {@link StateDicts}, and {@link #open(Path, String)} names the entry explicitly. Tensor names are exactly those in
 * the file (a {@code module.} prefix is kept). Skipped entries are listed by {@link #warnings()} and logged once.
 *
 * <p><b>Reading.</b> {@link #get} returns float32 tensors: a contiguous float32 tensor in a stored little-endian
 * record is a zero-copy view of the memory-mapped file; transposed or strided views, float16, bfloat16 and float64
 * are copied or converted into new tensors. {@link #longValues} gives integer and bool tensors exactly, and
 * {@link #bytes} any tensor's elements. Zero-copy tensors stay valid until {@link #close()}; afterwards using one
 * throws {@link IllegalStateException} (never a crash).
 */
public final class PthFile implements TensorSource, AutoCloseable {
    private static final System.Logger LOG = System.getLogger("segsam");
    private static final boolean NATIVE_LE = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

    private final PthArchive archive;
    private final String stateDictKey;
    private final Map<String, PthTensorInfo> tensors;
    private final Map<String, PthArchive.Record> records; // by storage key
    private final List<String> warnings;

    private PthFile(PthArchive archive, String stateDictKey, Map<String, PthTensorInfo> tensors,
                    Map<String, PthArchive.Record> records, List<String> warnings) {
        this.archive = archive;
        this.stateDictKey = stateDictKey;
        this.tensors = tensors;
        this.records = records;
        this.warnings = warnings;
    }

    /** Maps and validates {@code path}, choosing the state dict by the rule in the class comment. */
    public static PthFile open(Path path) throws IOException {
        return open(path, null);
    }

    /**
     * Maps and validates {@code path}, reading the state dict stored under top-level key {@code stateDictKey} (null:
     * choose automatically).
     */
    public static PthFile open(Path path, String stateDictKey) throws IOException {
        return open(path, stateDictKey, IoLimits.defaults());
    }

    /**
     * Maps and validates {@code path} under {@code limits}: the zip's record count, the pickle's size, memo, nesting
     * and estimated memory, and how far tensor views stretch their storages (see {@link IoLimits}).
     */
    public static PthFile open(Path path, String stateDictKey, IoLimits limits) throws IOException {
        PthArchive a = PthArchive.open(path, limits);
        try {
            Object root = RestrictedUnpickler.load(path, a.pickle, limits);
            StateDicts.Selection s = StateDicts.select(path, root, stateDictKey);
            Map<String, PthTensorInfo> infos = new LinkedHashMap<>();
            Map<String, PthArchive.Record> records = new HashMap<>();
            long[] expanded = {0};
            for (Map.Entry<String, TensorRef> e : s.tensors().entrySet()) {
                infos.put(e.getKey(), validate(a, e.getKey(), e.getValue(), records, limits, expanded));
            }
            for (String w : s.warnings()) LOG.log(System.Logger.Level.WARNING, path + ": " + w);
            return new PthFile(a, s.key(), Collections.unmodifiableMap(infos), records, s.warnings());
        } catch (IOException | RuntimeException | Error e) {
            a.close();
            throw e;
        }
    }

    /**
     * Checks a tensor against its storage and the storage against its zip record; a view with more elements than its
     * storage (stride 0) against {@link IoLimits#maxViewExpansion()}, and what such views add beyond their storages,
     * summed over the file in {@code expanded[0]}, against {@link IoLimits#maxExpandedBytes()}.
     */
    private static PthTensorInfo validate(PthArchive a, String name, TensorRef t, Map<String, PthArchive.Record> records,
                                          IoLimits limits, long[] expanded) throws PthFormatException {
        RestrictedUnpickler.StorageRef s = t.storage();
        PthDType dtype = s.type().dtype();
        try {
            PthArchive.Record r = records.get(s.key());
            if (r == null) {
                r = a.storage(s.key());
                if (r == null) throw new PthFormatException(a.path, name, "storage", "no record " + a.top + "/data/" + s.key());
                long need = Math.multiplyExact(s.numel(), (long) dtype.bytes);
                if (r.size() != need) {
                    throw new PthFormatException(a.path, name, "storage", "record data/" + s.key() + " has " + r.size()
                            + " bytes, " + s.type().className() + " of " + s.numel() + " elements needs " + need);
                }
                records.put(s.key(), r);
            }
            long numel = 1;
            long last = t.offset(); // element index of the view's last element
            for (int i = 0; i < t.size().length; i++) {
                numel = Math.multiplyExact(numel, t.size()[i]);
                if (t.size()[i] > 0) last = Math.addExact(last, Math.multiplyExact(t.size()[i] - 1, t.stride()[i]));
            }
            if (numel > 0 && last >= s.numel()) {
                throw new PthFormatException(a.path, name, "storage", "the view (offset " + t.offset() + ", size "
                        + java.util.Arrays.toString(t.size()) + ", stride " + java.util.Arrays.toString(t.stride())
                        + ") reaches element " + last + " of a storage of " + s.numel());
            }
            long bytes = Math.multiplyExact(numel, (long) dtype.bytes);
            if (numel > s.numel()) {
                if (Math.ceilDiv(numel, limits.maxViewExpansion()) > Math.max(s.numel(), 1)) { // numel > k · storage, without overflow
                    throw new PthFormatException(a.path, name, "storage", "the view (size " + java.util.Arrays.toString(t.size())
                            + ", stride " + java.util.Arrays.toString(t.stride()) + ") repeats its storage's " + s.numel()
                            + " elements into " + numel + ", more than the limit of " + limits.maxViewExpansion() + " per element "
                            + IoLimits.hint(IoLimits.VIEW_EXPANSION));
                }
                expanded[0] = Math.addExact(expanded[0], bytes - s.numel() * dtype.bytes);
                if (expanded[0] > limits.maxExpandedBytes()) {
                    throw new PthFormatException(a.path, name, "storage", "views repeating their storages' elements (stride 0) "
                            + "would need " + expanded[0] + " bytes more than the file holds, more than the limit of "
                            + IoLimits.bytes(limits.maxExpandedBytes()) + " " + IoLimits.hint(IoLimits.EXPANDED_BYTES));
                }
            }
        } catch (ArithmeticException e) {
            throw new PthFormatException(a.path, name, "storage", "sizes overflow 64 bits");
        }
        return new PthTensorInfo(name, dtype, t.size(), t.stride(), t.offset(), s.key());
    }

    // ------------------------------------------------------------------ queries

    public Path path() {
        return archive.path;
    }

    /** Tensor names in file (state dict) order. */
    @Override
    public Set<String> names() {
        return tensors.keySet();
    }

    public List<PthTensorInfo> infos() {
        return List.copyOf(tensors.values());
    }

    public PthTensorInfo info(String name) {
        PthTensorInfo t = tensors.get(name);
        if (t == null) throw new IllegalArgumentException(archive.path + ": no tensor named \"" + name + "\"");
        return t;
    }

    /** The top-level entry the state dict came from, or null when the file's top-level object is the state dict. */
    public String stateDictKey() {
        return stateDictKey;
    }

    /** What was skipped, one line each: non-tensor entries, entries next to the state dict, unsupported tensors. */
    public List<String> warnings() {
        return warnings;
    }

    /** The zip's top folder, e.g. {@code archive} or the file's stem. */
    public String topFolder() {
        return archive.top;
    }

    /** The storages' byte order (from the {@code byteorder} record; little when absent). */
    public ByteOrder byteOrder() {
        return archive.order;
    }

    // ------------------------------------------------------------------ data

    /** Whether {@link #bytes} (and, for float32, {@link #get}) returns a view of the mapped file rather than a copy. */
    public boolean isInPlace(String name) {
        PthTensorInfo t = info(name);
        return records.get(t.storageKey()).stored() && archive.order == ByteOrder.LITTLE_ENDIAN && t.isContiguous() && t.numel() > 0;
    }

    /**
     * The tensor's elements, contiguous, row-major and little-endian ({@link PthDType#bytes} each): a view of the file
     * when {@link #isInPlace}, else a new copy.
     *
     * @throws UncheckedIOException wrapping a {@link PthFormatException} if a compressed record cannot be inflated
     */
    public MemorySegment bytes(String name) {
        PthTensorInfo t = info(name);
        PthArchive.Record r = records.get(t.storageKey());
        if (isInPlace(name)) {
            return archive.inPlace(r).asSlice(t.storageOffset() * t.dtype().bytes, t.byteSize());
        }
        MemorySegment out = Arena.ofAuto().allocate(Math.max(1, t.byteSize()), 8).asSlice(0, t.byteSize());
        gather(t, r, out);
        return out;
    }

    private void gather(PthTensorInfo t, PthArchive.Record r, MemorySegment dst) {
        if (t.numel() == 0) return;
        if (r.stored()) {
            Elements.gather(archive.inPlace(r), archive.order, t.dtype().bytes, t.storageOffset(), t.shape(), t.stride(), dst);
            return;
        }
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment storage = tmp.allocate(Math.max(1, r.size()), 8).asSlice(0, r.size());
            archive.copy(r, storage);
            Elements.gather(storage, archive.order, t.dtype().bytes, t.storageOffset(), t.shape(), t.stride(), dst);
        } catch (PthFormatException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The tensor as float32: a zero-copy view of the mapped file for contiguous float32 data in a stored
     * little-endian record; otherwise a new tensor (strided views gathered, float16/bfloat16/float64 converted).
     * Integer and bool tensors are refused: read them with {@link #longValues}.
     */
    @Override
    public Tensor get(String name) {
        PthTensorInfo t = info(name);
        if (!t.dtype().isFloat()) {
            throw new IllegalArgumentException(archive.path + ": tensor \"" + name + "\" is " + t.dtype().torchName()
                    + ", not a float type; read it with longValues()");
        }
        int[] shape = t.intShape();
        if (t.dtype() == PthDType.FLOAT32 && NATIVE_LE) {
            if (isInPlace(name)) return Tensor.wrap(bytes(name), shape);
            Tensor out = Tensor.zeros(shape);
            gather(t, records.get(t.storageKey()), out.data());
            return out;
        }
        MemorySegment le = bytes(name);
        Tensor out = Tensor.zeros(shape);
        MemorySegment dst = out.data();
        for (long i = 0, n = t.numel(); i < n; i++) dst.setAtIndex(Tensor.LAYOUT, i, Elements.floatAt(t.dtype(), le, i));
        return out;
    }

    /** Exact values of an integer or bool tensor (bool as 0/1), row-major. */
    public long[] longValues(String name) {
        PthTensorInfo t = info(name);
        if (!t.dtype().isInteger()) {
            throw new IllegalArgumentException(archive.path + ": tensor \"" + name + "\" is " + t.dtype().torchName()
                    + ", not an integer type; read it with get()");
        }
        if (t.numel() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(archive.path + ": tensor \"" + name + "\" has too many elements for a Java array: " + t.numel());
        }
        MemorySegment le = bytes(name);
        long[] out = new long[(int) t.numel()];
        for (int i = 0; i < out.length; i++) out[i] = Elements.longAt(t.dtype(), le, i);
        return out;
    }

    /** Unmaps the file; zero-copy tensors obtained from it become unusable. Closing twice is harmless. */
    @Override
    public void close() {
        archive.close();
    }
}
