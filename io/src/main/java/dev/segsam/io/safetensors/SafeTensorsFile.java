package dev.segsam.io.safetensors;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorSource;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A safetensors file, memory-mapped whole (any size, files over 2 GiB included) and validated on open.
 *
 * <p>Layout: 8 bytes little-endian header length N, N bytes of JSON header, then the data section. Every check of
 * the reference implementation's {@code Metadata::validate} is made before any tensor is touched, and nothing is
 * allocated from a header value that has not been checked against the file size first: header length within the
 * file (and ≤ 100 MB), valid UTF-8 JSON object, no duplicate names, known dtypes, non-negative shapes whose byte size
 * equals the tensor's span, spans that tile the data section exactly from 0 to the end of the file.
 *
 * <p>Reading: {@link #get} returns float32 tensors — F32 data is used in place (zero-copy, a view of the mapping),
 * F16, BF16, F64 and the F8 formats are converted into new tensors. Integer and bool tensors keep their exact values
 * through {@link #longValues} / {@link #booleanValues}; any tensor's raw little-endian bytes are available through
 * {@link #bytes}. Tensors from this file stay valid until {@link #close()}; afterwards, using a zero-copy tensor throws
 * {@link IllegalStateException} (never a crash).
 */
public final class SafeTensorsFile implements TensorSource, AutoCloseable {
    /** The reference implementation's limit on the header size. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;
    static final String METADATA_KEY = "__metadata__";

    private final Path path;
    private final Arena arena;
    private final MemorySegment file;
    private final long dataStart;
    private final Map<String, TensorInfo> tensors; // in data-offset order
    private final Map<String, String> metadata;

    private SafeTensorsFile(Path path, Arena arena, MemorySegment file, long dataStart,
                            Map<String, TensorInfo> tensors, Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.file = file;
        this.dataStart = dataStart;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /** Maps and validates {@code path}. */
    public static SafeTensorsFile open(Path path) throws IOException {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            if (ch.size() < 8) {
                throw new SafeTensorsFormatException(path, null, "header length", "file is truncated: " + ch.size()
                        + " bytes, the 8-byte header length alone needs 8");
            }
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            Header h = parse(path, seg);
            return new SafeTensorsFile(path, arena, seg, h.dataStart, h.tensors, h.metadata);
        } catch (IOException | RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    // ------------------------------------------------------------------ validation

    private record Header(long dataStart, Map<String, TensorInfo> tensors, Map<String, String> metadata) {}

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    static Header parse(Path path, MemorySegment seg) throws SafeTensorsFormatException {
        long size = seg.byteSize();
        if (size < 8) {
            throw new SafeTensorsFormatException(path, null, "header length", "file is truncated: " + size + " bytes, the 8-byte header length alone needs 8");
        }
        long n = seg.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (n < 0 || n > size - 8) {
            throw new SafeTensorsFormatException(path, null, "header length", "header of " + Long.toUnsignedString(n)
                    + " bytes runs past the end of the " + size + "-byte file (truncated download?)");
        }
        if (n > MAX_HEADER_BYTES) {
            throw new SafeTensorsFormatException(path, null, "header length", n + " bytes exceeds the format's limit of " + MAX_HEADER_BYTES);
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(seg.asSlice(8, n).asByteBuffer()).toString();
        } catch (CharacterCodingException e) {
            throw new SafeTensorsFormatException(path, null, "header", "not valid UTF-8");
        }
        if (!text.stripLeading().startsWith("{")) {
            throw new SafeTensorsFormatException(path, null, "header", "does not start with '{' (not a safetensors file?)");
        }
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new SafeTensorsFormatException(path, null, "header", "invalid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) throw new SafeTensorsFormatException(path, null, "header", "not a JSON object");

        Map<String, String> metadata = new LinkedHashMap<>();
        List<TensorInfo> infos = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals(METADATA_KEY)) {
                readMetadata(path, e.getValue(), metadata);
            } else {
                infos.add(readInfo(path, e.getKey(), e.getValue()));
            }
        }

        // The spans must tile [0, data size) exactly: sorted by offsets, each begins where the previous ended.
        infos.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long pos = 0;
        for (TensorInfo t : infos) {
            if (t.begin() != pos) {
                throw new SafeTensorsFormatException(path, t.name(), "data_offsets", t.begin() < pos
                        ? "[" + t.begin() + ", " + t.end() + "] overlaps the previous tensor, which ends at " + pos
                        : "[" + t.begin() + ", " + t.end() + "] leaves a hole after offset " + pos);
            }
            pos = t.end();
        }
        long dataStart = 8 + n;
        if (dataStart + pos != size) {
            throw new SafeTensorsFormatException(path, null, "file size", dataStart + pos > size
                    ? "file is truncated: " + size + " bytes, the header describes " + (dataStart + pos)
                    : size - (dataStart + pos) + " bytes after the last tensor (file is " + size + " bytes, header describes " + (dataStart + pos) + ")");
        }
        Map<String, TensorInfo> byName = new LinkedHashMap<>();
        for (TensorInfo t : infos) byName.put(t.name(), t);
        return new Header(dataStart, Collections.unmodifiableMap(byName), Collections.unmodifiableMap(metadata));
    }

    private static void readMetadata(Path path, JsonNode node, Map<String, String> out) throws SafeTensorsFormatException {
        if (!node.isObject()) throw new SafeTensorsFormatException(path, null, METADATA_KEY, "must be an object of strings");
        for (Map.Entry<String, JsonNode> m : node.properties()) {
            if (!m.getValue().isTextual()) {
                throw new SafeTensorsFormatException(path, null, METADATA_KEY, "value of \"" + m.getKey() + "\" is not a string");
            }
            out.put(m.getKey(), m.getValue().asText());
        }
    }

    private static TensorInfo readInfo(Path path, String name, JsonNode node) throws SafeTensorsFormatException {
        if (!node.isObject()) throw new SafeTensorsFormatException(path, name, "header", "entry is not an object");
        JsonNode dt = node.get("dtype");
        if (dt == null || !dt.isTextual()) throw new SafeTensorsFormatException(path, name, "dtype", "missing or not a string");
        DType dtype = DType.parse(dt.asText());
        if (dtype == null) throw new SafeTensorsFormatException(path, name, "dtype", "unknown dtype \"" + dt.asText() + "\"");

        JsonNode sh = node.get("shape");
        if (sh == null || !sh.isArray()) throw new SafeTensorsFormatException(path, name, "shape", "missing or not an array");
        long[] shape = new long[sh.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.asLong() < 0) {
                throw new SafeTensorsFormatException(path, name, "shape", "dimension " + i + " is " + d + ", expected a non-negative integer");
            }
            shape[i] = d.asLong();
            numel = multiplyOrFail(path, name, numel, shape[i]);
        }

        JsonNode off = node.get("data_offsets");
        if (off == null || !off.isArray() || off.size() != 2) {
            throw new SafeTensorsFormatException(path, name, "data_offsets", "missing or not a pair [begin, end]");
        }
        long[] be = new long[2];
        for (int i = 0; i < 2; i++) {
            JsonNode v = off.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 0) {
                throw new SafeTensorsFormatException(path, name, "data_offsets", (i == 0 ? "begin" : "end") + " is " + v + ", expected a non-negative integer");
            }
            be[i] = v.asLong();
        }
        if (be[1] < be[0]) {
            throw new SafeTensorsFormatException(path, name, "data_offsets", "end " + be[1] + " is before begin " + be[0]);
        }
        long bits = multiplyOrFail(path, name, numel, dtype.bits);
        if (bits % 8 != 0) {
            throw new SafeTensorsFormatException(path, name, "shape", numel + " elements of " + dtype.bits + "-bit " + dtype + " do not end on a byte boundary");
        }
        if (bits / 8 != be[1] - be[0]) {
            throw new SafeTensorsFormatException(path, name, "data_offsets", "span of " + (be[1] - be[0]) + " bytes, but "
                    + dtype + " " + java.util.Arrays.toString(shape) + " needs " + bits / 8);
        }
        return new TensorInfo(name, dtype, shape, be[0], be[1]);
    }

    private static long multiplyOrFail(Path path, String name, long a, long b) throws SafeTensorsFormatException {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            throw new SafeTensorsFormatException(path, name, "shape", "element count overflows 64 bits");
        }
    }

    // ------------------------------------------------------------------ access

    public Path path() {
        return path;
    }

    /** The {@code __metadata__} map (string to string), empty when absent. */
    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Tensor names in data-offset order. */
    @Override
    public Set<String> names() {
        return tensors.keySet();
    }

    /** All header entries in data-offset order. */
    public List<TensorInfo> infos() {
        return List.copyOf(tensors.values());
    }

    /** The header entry of {@code name}. */
    public TensorInfo info(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null) throw new IllegalArgumentException(path + ": no tensor named \"" + name + "\"");
        return t;
    }

    @Override
    public int[] shape(String name) {
        return info(name).intShape();
    }

    /** The raw little-endian bytes of a tensor (a view of the mapping). */
    public MemorySegment bytes(String name) {
        TensorInfo t = info(name);
        return file.asSlice(dataStart + t.begin(), t.byteSize());
    }

    /**
     * The tensor as float32: F32 in place (zero-copy on little-endian machines), F16/BF16/F64/F8 converted into a new
     * tensor. Integer, bool, complex and sub-byte dtypes are refused (use {@link #longValues} or {@link #bytes}).
     */
    @Override
    public Tensor get(String name) {
        TensorInfo t = info(name);
        MemorySegment src = bytes(name);
        if (t.dtype() == DType.F32 && ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
            return Tensor.wrap(src, t.intShape());
        }
        if (!t.dtype().isFloat()) {
            throw new IllegalArgumentException(path + ": tensor \"" + name + "\" is " + t.dtype()
                    + ", not a float dtype; read it with longValues()/booleanValues() or bytes()");
        }
        Tensor out = Tensor.zeros(t.intShape());
        MemorySegment dst = out.data();
        long n = t.numel();
        for (long i = 0; i < n; i++) dst.setAtIndex(Tensor.LAYOUT, i, Floats.read(t.dtype(), src, i));
        return out;
    }

    /** Exact values of an integer or bool tensor (U64 above 2^63−1 wraps to negative, as in two's complement). */
    public long[] longValues(String name) {
        TensorInfo t = info(name);
        if (!t.dtype().isInteger()) {
            throw new IllegalArgumentException(path + ": tensor \"" + name + "\" is " + t.dtype() + ", not an integer dtype; read it with get()");
        }
        long n = t.numel();
        if (n > Integer.MAX_VALUE - 8) throw new IllegalArgumentException(path + ": tensor \"" + name + "\" has too many elements for a Java array: " + n);
        MemorySegment src = bytes(name);
        long[] out = new long[(int) n];
        for (int i = 0; i < out.length; i++) out[i] = Floats.readInteger(t.dtype(), src, i);
        return out;
    }

    /** Values of a BOOL tensor (any non-zero byte is true). */
    public boolean[] booleanValues(String name) {
        TensorInfo t = info(name);
        if (t.dtype() != DType.BOOL) throw new IllegalArgumentException(path + ": tensor \"" + name + "\" is " + t.dtype() + ", not BOOL");
        long[] v = longValues(name);
        boolean[] out = new boolean[v.length];
        for (int i = 0; i < v.length; i++) out[i] = v[i] != 0;
        return out;
    }

    /** Unmaps the file; zero-copy tensors obtained from it become unusable. Closing twice is harmless. */
    @Override
    public synchronized void close() {
        if (arena.scope().isAlive()) arena.close();
    }
}
