package dev.segsam.io.pth;

import dev.segsam.io.IoLimits;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads the pickle of a {@code torch.save} checkpoint ({@code data.pkl}) into plain Java data. It is not a Python
 * unpickler: it never imports, looks up, calls or instantiates anything, and it uses no reflection. Every value it
 * produces is one of: {@code null}, {@link Boolean}, {@link Long}, {@link BigInteger}, {@link Double}, {@link String},
 * {@code byte[]}, {@link Tuple}, {@link ArrayList} (a list), {@link PySet}, {@link LinkedHashMap} (a dict or
 * OrderedDict), {@link StorageRef}, {@link TensorRef}, or one of the inert markers {@link Known}, {@link StorageType},
 * {@link Opaque}.
 *
 * <p><b>Opcodes.</b> Those that data pickles of protocols 2 to 5 use: {@code PROTO FRAME STOP}; {@code MARK POP
 * POP_MARK DUP}; {@code NONE NEWTRUE NEWFALSE BININT BININT1 BININT2 LONG1 LONG4 BINFLOAT}; {@code BINUNICODE
 * SHORT_BINUNICODE BINUNICODE8 BINBYTES SHORT_BINBYTES BINBYTES8}; {@code EMPTY_TUPLE TUPLE TUPLE1 TUPLE2 TUPLE3
 * EMPTY_LIST LIST APPEND APPENDS EMPTY_DICT DICT SETITEM SETITEMS EMPTY_SET ADDITEMS FROZENSET}; {@code BINPUT
 * LONG_BINPUT MEMOIZE BINGET LONG_BINGET}; {@code GLOBAL STACK_GLOBAL REDUCE NEWOBJ NEWOBJ_EX BUILD BINPERSID}. The
 * text opcodes of protocol 0, {@code INST}/{@code OBJ}, the extension registry and out-of-band buffers are refused.
 * Every length and count is checked against the bytes that remain before anything is allocated, so a malformed
 * pickle fails with a {@link PthFormatException}, never a huge allocation; nothing recurses on the pickle's nesting.
 *
 * <p><b>Amplification.</b> Short opcodes build objects much larger than themselves ({@code MEMOIZE} is one byte, a
 * memo entry ~64; {@code EMPTY_DICT} one byte, a map ~64), so a pickle of a few MB could fill gigabytes. Three
 * limits from {@link IoLimits} stop that, each failing with a message that names it: the memo's entries
 * ({@link IoLimits#maxPickleMemo()}), the open MARKs ({@link IoLimits#maxPickleNesting()}), and an estimate of
 * every byte the unpickler allocates ({@link IoLimits#maxPickleMemory()}: strings and bytes by their length, each
 * object, stack slot, container item and memo entry at a fixed cost; freed objects are not refunded, so the
 * estimate bounds the peak from above).
 *
 * <p><b>Globals.</b> {@code GLOBAL}/{@code STACK_GLOBAL} resolve against an allowlist, implemented here in Java:
 * {@code collections.OrderedDict} (→ an empty map), {@code torch._utils._rebuild_tensor_v2} (→ a {@link TensorRef}),
 * {@code torch._utils._rebuild_parameter} and {@code _rebuild_parameter_with_state} (→ the parameter's data tensor),
 * and the storage classes {@code torch.*Storage} (→ a {@link StorageType}; the persistent ids of storages name them).
 * Globals that can execute code or commands when Python loads the file (modules {@code os}, {@code posix},
 * {@code subprocess}, {@code sys}, {@code builtins} except plain types, {@code importlib}, {@code functools},
 * {@code operator}, ... see {@link #DENIED_MODULES}) make the whole file refused with an
 * {@link UnsafePickleException}, wherever they occur: such a file is hostile. Every other global (an optimizer
 * class, {@code collections.defaultdict}, a module class, numpy) becomes an {@link Opaque} marker: calling it
 * ({@code REDUCE}, {@code NEWOBJ}) yields another opaque marker and runs nothing, and {@code BUILD},
 * {@code SETITEM(S)} and {@code APPEND(S)} on one are ignored. Opaque values are therefore inert data; whether they are
 * acceptable is decided by the caller ({@link StateDicts}): they may sit in entries next to the state dict (an
 * optimizer object) but not in it. The deny list is defence in depth, not the safety argument, which is that nothing
 * here executes anything.
 */
final class RestrictedUnpickler {
    /** Modules (and their submodules) whose globals make a file refused outright. */
    static final Set<String> DENIED_MODULES = Set.of(
            "os", "posix", "nt", "posixpath", "ntpath", "subprocess", "sys", "builtins", "__builtin__", "importlib",
            "imp", "runpy", "shutil", "socket", "pickle", "_pickle", "cPickle", "marshal", "shelve", "types",
            "ctypes", "code", "codeop", "pty", "commands", "webbrowser", "multiprocessing", "asyncio", "functools",
            "_functools", "operator", "_operator", "pdb", "bdb", "timeit", "profile", "cProfile", "trace", "io", "_io",
            "tempfile", "pathlib", "glob", "urllib", "urllib2", "http", "ftplib", "smtplib", "telnetlib", "ssl",
            "platform", "signal", "threading", "_thread", "gc", "inspect", "ast", "zipimport", "pkgutil", "site",
            "sysconfig", "pip", "setuptools", "distutils", "dill", "cloudpickle", "joblib", "torch.hub", "torch.jit",
            "torch.package", "torch.utils.cpp_extension", "torch._dynamo");
    /** Individual globals refused outright (in modules that are otherwise merely opaque). */
    static final Set<String> DENIED_GLOBALS = Set.of("torch.load", "torch.save", "torch.serialization.load",
            "torch.serialization._load", "torch.serialization.save", "numpy.load", "numpy.fromfile", "numpy.loadtxt",
            "numpy.genfromtxt");
    /** Plain types and data markers inside denied modules: opaque like any class, not refused. */
    static final Set<String> INERT_IN_DENIED = Set.of("types.SimpleNamespace");
    /** Builtins that are plain types: opaque like any class, not refused (an optimizer object pickles dict). */
    static final Set<String> INERT_BUILTINS = Set.of("dict", "list", "set", "frozenset", "tuple", "object", "int",
            "float", "complex", "str", "bytes", "bytearray", "bool", "slice", "range");

    static final int MAX_PROTOCOL = 5;
    private static final int MAX_GLOBAL_LINE = 1024;

    // ------------------------------------------------------------------ values

    /** A Python tuple. Equality is identity (tuples only serve as dict keys in pickles segsam ignores). */
    static final class Tuple {
        static final Tuple EMPTY = new Tuple(new Object[0]);
        private final Object[] items;

        Tuple(Object[] items) {
            this.items = items;
        }

        int size() {
            return items.length;
        }

        Object get(int i) {
            return items[i];
        }

        @Override
        public String toString() {
            return "tuple of " + items.length;
        }
    }

    /** A Python set or frozenset (its items, unordered semantics not kept). */
    static final class PySet {
        final List<Object> items = new ArrayList<>();

        @Override
        public String toString() {
            return "set of " + items.size();
        }
    }

    /** The allowlisted callables, implemented in Java. */
    enum Known {
        ORDERED_DICT("collections.OrderedDict"),
        REBUILD_TENSOR_V2("torch._utils._rebuild_tensor_v2"),
        REBUILD_PARAMETER("torch._utils._rebuild_parameter"),
        REBUILD_PARAMETER_WITH_STATE("torch._utils._rebuild_parameter_with_state");

        final String global;

        Known(String global) {
            this.global = global;
        }
    }

    /** A storage class {@code torch.<className>}; {@code dtype} is null for classes segsam does not read. */
    record StorageType(String className, PthDType dtype) {}

    /**
     * A global outside the allowlist ({@code instance == false}), or what calling or instantiating one would have
     * produced ({@code instance == true}). Only its name is kept; it can never be called.
     */
    static final class Opaque {
        final String global;
        final boolean instance;

        Opaque(String global, boolean instance) {
            this.global = global;
            this.instance = instance;
        }

        @Override
        public String toString() {
            return instance ? "a " + global + " object" : global;
        }
    }

    /** A storage from a persistent id {@code ('storage', torch.<X>Storage, key, location, numel)}. */
    record StorageRef(String key, StorageType type, String location, long numel) {}

    /**
     * {@code _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, backward_hooks[, metadata])}.
     * {@code metadataFlags} is true when the metadata sets a bit (PyTorch's {@code neg}/{@code conj} view bits).
     */
    record TensorRef(StorageRef storage, long offset, long[] size, long[] stride, boolean metadataFlags) {}

    // ------------------------------------------------------------------ state

    private final Path file;
    private final byte[] data;
    private int pos;
    private int opStart;
    private final ArrayList<Object> stack = new ArrayList<>();
    private int[] marks = new int[16];
    private int markCount;
    private final Map<Long, Object> memo = new HashMap<>();
    private final Map<String, StorageRef> storages = new HashMap<>();
    private final IoLimits limits;
    /** Estimated bytes allocated so far (see the class comment). */
    private long spent;

    /** Estimated costs, in bytes, of what the opcodes allocate (64-bit JVM with compressed pointers, rounded up). */
    static final int OBJECT = 48, SLOT = 8, ENTRY = 48, MEMO_ENTRY = 64, MARK = 4;

    private RestrictedUnpickler(Path file, byte[] data, IoLimits limits) {
        this.file = file;
        this.data = data;
        this.limits = limits;
    }

    /** Unpickles {@code data} (the {@code data.pkl} record of {@code file}) with the default limits. */
    static Object load(Path file, byte[] data) throws PthFormatException {
        return load(file, data, IoLimits.defaults());
    }

    /** Unpickles {@code data} (the {@code data.pkl} record of {@code file}) and returns the top-level object. */
    static Object load(Path file, byte[] data, IoLimits limits) throws PthFormatException {
        return new RestrictedUnpickler(file, data, limits).run();
    }

    /** Counts {@code bytes} against {@link IoLimits#maxPickleMemory()}. */
    private void spend(long bytes) throws PthFormatException {
        spent += bytes;
        if (spent > limits.maxPickleMemory()) {
            throw fail("the objects it builds would take more than the limit of " + IoLimits.bytes(limits.maxPickleMemory())
                    + " " + IoLimits.hint(IoLimits.PICKLE_MEMORY));
        }
    }

    private void memoPut(long key, Object value) throws PthFormatException {
        if (!memo.containsKey(key)) {
            if (memo.size() >= limits.maxPickleMemo()) {
                throw fail("its memo grows past the limit of " + limits.maxPickleMemo() + " entries " + IoLimits.hint(IoLimits.PICKLE_MEMO));
            }
            spend(MEMO_ENTRY);
        }
        memo.put(key, value);
    }

    private PthFormatException fail(String problem) {
        return new PthFormatException(file, null, "data.pkl", "byte " + opStart + ": " + problem);
    }

    // ------------------------------------------------------------------ opcode loop

    private Object run() throws PthFormatException {
        while (pos < data.length) {
            opStart = pos;
            int op = u8();
            switch (op) {
                case 0x80 -> { // PROTO
                    int v = u8();
                    if (v > MAX_PROTOCOL) throw fail("pickle protocol " + v + " is newer than " + MAX_PROTOCOL);
                }
                case 0x95 -> { // FRAME: a length prefix for the bytes that follow; nothing to do
                    long n = le(8);
                    if (n < 0 || n > remaining()) throw fail("FRAME of " + Long.toUnsignedString(n) + " bytes runs past the end");
                }
                case '.' -> { // STOP
                    return pop();
                }
                case '(' -> pushMark();
                case '0' -> { // POP
                    if (stack.size() > base()) stack.removeLast();
                    else popMark();
                }
                case '1' -> popMark(); // POP_MARK
                case '2' -> push(peek()); // DUP
                case 'N' -> push(null);
                case 0x88 -> push(Boolean.TRUE);
                case 0x89 -> push(Boolean.FALSE);
                case 'J' -> push(le(4) << 32 >> 32); // BININT: signed 32-bit
                case 'K' -> push((long) u8()); // BININT1
                case 'M' -> push(le(2)); // BININT2
                case 0x8a -> push(longFrom(take(u8()))); // LONG1
                case 0x8b -> { // LONG4
                    long n = le(4) << 32 >> 32;
                    if (n < 0) throw fail("LONG4 with negative length " + n);
                    push(longFrom(take(n)));
                }
                case 'G' -> push(ByteBuffer.wrap(take(8)).getDouble()); // BINFLOAT: big-endian
                case 'X' -> push(utf8(take(le(4)))); // BINUNICODE
                case 0x8c -> push(utf8(take(u8()))); // SHORT_BINUNICODE
                case 0x8d -> push(utf8(take(le(8)))); // BINUNICODE8
                case 'B' -> push(take(le(4))); // BINBYTES
                case 'C' -> push(take(u8())); // SHORT_BINBYTES
                case 0x8e -> push(take(le(8))); // BINBYTES8
                case ')' -> push(Tuple.EMPTY);
                case 't' -> {
                    List<Object> items = popMark();
                    spend(OBJECT + (long) SLOT * items.size());
                    push(new Tuple(items.toArray()));
                }
                case 0x85, 0x86, 0x87 -> { // TUPLE1..3
                    int n = op - 0x84;
                    Object[] items = new Object[n];
                    for (int i = n - 1; i >= 0; i--) items[i] = pop();
                    spend(OBJECT + (long) SLOT * n);
                    push(new Tuple(items));
                }
                case ']' -> {
                    spend(OBJECT);
                    push(new ArrayList<>());
                }
                case 'l' -> { // LIST
                    List<Object> items = popMark();
                    spend(OBJECT + (long) SLOT * items.size());
                    push(new ArrayList<>(items));
                }
                case 'a' -> { // APPEND
                    Object v = pop();
                    append(peek(), java.util.Collections.singletonList(v));
                }
                case 'e' -> { // APPENDS
                    List<Object> items = popMark();
                    append(peek(), items);
                }
                case '}' -> {
                    spend(OBJECT);
                    push(new LinkedHashMap<>());
                }
                case 'd' -> { // DICT
                    List<Object> items = popMark();
                    spend(OBJECT);
                    LinkedHashMap<Object, Object> d = new LinkedHashMap<>();
                    setItems(d, items);
                    push(d);
                }
                case 's' -> { // SETITEM
                    Object v = pop();
                    Object k = pop();
                    setItems(peek(), java.util.Arrays.asList(k, v));
                }
                case 'u' -> { // SETITEMS
                    List<Object> items = popMark();
                    setItems(peek(), items);
                }
                case 0x8f -> { // EMPTY_SET
                    spend(OBJECT);
                    push(new PySet());
                }
                case 0x90 -> { // ADDITEMS
                    List<Object> items = popMark();
                    Object target = peek();
                    spend((long) SLOT * items.size());
                    if (target instanceof PySet s) s.items.addAll(items);
                    else if (!(target instanceof Opaque)) throw fail("ADDITEMS on " + describe(target));
                }
                case 0x91 -> { // FROZENSET
                    PySet s = new PySet();
                    List<Object> items = popMark();
                    spend(OBJECT + (long) SLOT * items.size());
                    s.items.addAll(items);
                    push(s);
                }
                case 'q' -> memoPut(u8(), peek()); // BINPUT
                case 'r' -> memoPut(le(4), peek()); // LONG_BINPUT
                case 0x94 -> memoPut(memo.size(), peek()); // MEMOIZE
                case 'h' -> push(memoGet(u8())); // BINGET
                case 'j' -> push(memoGet(le(4))); // LONG_BINGET
                case 'c' -> { // GLOBAL
                    String module = line();
                    String name = line();
                    push(resolve(module, name));
                }
                case 0x93 -> { // STACK_GLOBAL
                    Object name = pop();
                    Object module = pop();
                    if (!(module instanceof String m) || !(name instanceof String n)) {
                        throw fail("STACK_GLOBAL needs two strings, got " + describe(module) + " and " + describe(name));
                    }
                    push(resolve(m, n));
                }
                case 'R' -> { // REDUCE
                    Object args = pop();
                    Object func = pop();
                    push(call(func, args, "REDUCE"));
                }
                case 0x81 -> { // NEWOBJ
                    Object args = pop();
                    Object cls = pop();
                    push(call(cls, args, "NEWOBJ"));
                }
                case 0x92 -> { // NEWOBJ_EX
                    pop(); // kwargs: never used, nothing is called
                    Object args = pop();
                    Object cls = pop();
                    push(call(cls, args, "NEWOBJ_EX"));
                }
                case 'b' -> { // BUILD: set an object's state; for the values here, that state is ignored
                    pop();
                    Object target = peek();
                    if (!(target instanceof LinkedHashMap<?, ?>) && !(target instanceof Opaque)) {
                        throw fail("BUILD on " + describe(target));
                    }
                }
                case 'Q' -> push(persistentLoad(pop())); // BINPERSID
                default -> throw fail("unsupported pickle opcode 0x" + Integer.toHexString(op)
                        + (op >= 0x20 && op < 0x7f ? " ('" + (char) op + "')" : "")
                        + "; a torch.save state dict does not use it");
            }
        }
        throw fail("the pickle ends without STOP (truncated?)");
    }

    // ------------------------------------------------------------------ reading bytes

    private int remaining() {
        return data.length - pos;
    }

    private int u8() throws PthFormatException {
        if (pos >= data.length) throw fail("the pickle ends in the middle of an opcode (truncated?)");
        return data[pos++] & 0xFF;
    }

    /** An unsigned little-endian integer of {@code n} (≤ 8) bytes; 8-byte values above 2^63 come back negative. */
    private long le(int n) throws PthFormatException {
        if (n > remaining()) throw fail("the pickle ends in the middle of an opcode (truncated?)");
        long v = 0;
        for (int i = 0; i < n; i++) v |= (data[pos + i] & 0xFFL) << (8 * i);
        pos += n;
        return v;
    }

    private byte[] take(long n) throws PthFormatException {
        if (n < 0 || n > remaining()) {
            throw fail("a length of " + Long.toUnsignedString(n) + " bytes runs past the end of the pickle (" + remaining() + " left)");
        }
        spend(OBJECT + 2 * n); // the bytes, and the String decoded from them
        byte[] b = java.util.Arrays.copyOfRange(data, pos, pos + (int) n);
        pos += (int) n;
        return b;
    }

    private String utf8(byte[] b) throws PthFormatException {
        boolean ascii = true;
        for (byte x : b) ascii &= x >= 0;
        if (ascii) return new String(b, StandardCharsets.US_ASCII);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            throw fail("a string is not valid UTF-8");
        }
    }

    private String line() throws PthFormatException {
        int end = pos;
        int limit = Math.min(data.length, pos + MAX_GLOBAL_LINE);
        while (end < limit && data[end] != '\n') end++;
        if (end >= limit) throw fail("GLOBAL name is not a line of at most " + MAX_GLOBAL_LINE + " bytes");
        String s = utf8(java.util.Arrays.copyOfRange(data, pos, end));
        pos = end + 1;
        return s;
    }

    /** Two's-complement little-endian (LONG1/LONG4) as a Long when it fits, else a BigInteger. */
    private static Object longFrom(byte[] le) {
        if (le.length == 0) return 0L;
        byte[] be = new byte[le.length];
        for (int i = 0; i < le.length; i++) be[i] = le[le.length - 1 - i];
        BigInteger v = new BigInteger(be);
        return v.bitLength() < 64 ? (Object) v.longValue() : v;
    }

    // ------------------------------------------------------------------ stack, marks, memo

    private int base() {
        return markCount == 0 ? 0 : marks[markCount - 1];
    }

    private void push(Object o) throws PthFormatException {
        spend(SLOT);
        stack.add(o);
    }

    private Object pop() throws PthFormatException {
        if (stack.size() <= base()) throw fail("stack underflow");
        return stack.removeLast();
    }

    private Object peek() throws PthFormatException {
        if (stack.size() <= base()) throw fail("stack underflow");
        return stack.getLast();
    }

    private void pushMark() throws PthFormatException {
        if (markCount >= limits.maxPickleNesting()) {
            throw fail("more than the limit of " + limits.maxPickleNesting() + " MARKs are open at once (containers nested too deeply) "
                    + IoLimits.hint(IoLimits.PICKLE_NESTING));
        }
        spend(MARK);
        if (markCount == marks.length) marks = java.util.Arrays.copyOf(marks, marks.length * 2);
        marks[markCount++] = stack.size();
    }

    /** Removes and returns the items above the topmost mark. */
    private List<Object> popMark() throws PthFormatException {
        if (markCount == 0) throw fail("no MARK to pop");
        int from = marks[--markCount];
        List<Object> view = stack.subList(from, stack.size());
        List<Object> items = new ArrayList<>(view);
        view.clear();
        return items;
    }

    private Object memoGet(long key) throws PthFormatException {
        Object v = memo.get(key);
        if (v == null && !memo.containsKey(key)) throw fail("memo entry " + key + " is read before it is written");
        return v;
    }

    private void append(Object target, List<Object> items) throws PthFormatException {
        spend((long) SLOT * items.size());
        if (target instanceof ArrayList<?> list) {
            @SuppressWarnings("unchecked")
            ArrayList<Object> l = (ArrayList<Object>) list;
            l.addAll(items);
        } else if (!(target instanceof Opaque)) {
            throw fail("APPEND on " + describe(target));
        }
    }

    private void setItems(Object target, List<Object> kv) throws PthFormatException {
        if (kv.size() % 2 != 0) throw fail("SETITEMS with an odd number of items (" + kv.size() + ")");
        spend((long) ENTRY * (kv.size() / 2));
        if (target instanceof Opaque) return; // e.g. the items of a defaultdict: dropped with it
        if (!(target instanceof LinkedHashMap<?, ?> map)) throw fail("SETITEM on " + describe(target));
        @SuppressWarnings("unchecked")
        LinkedHashMap<Object, Object> m = (LinkedHashMap<Object, Object>) map;
        for (int i = 0; i < kv.size(); i += 2) {
            Object k = kv.get(i);
            if (k instanceof List<?> || k instanceof Map<?, ?> || k instanceof PySet) {
                throw fail("a dict key is " + describe(k) + ", which Python cannot hash");
            }
            m.put(k, kv.get(i + 1));
        }
    }

    // ------------------------------------------------------------------ globals and calls

    private Object resolve(String module, String name) throws PthFormatException {
        spend(OBJECT + 2L * (module.length() + name.length()));
        String global = module + "." + name;
        for (Known k : Known.values()) {
            if (k.global.equals(global)) return k;
        }
        if (module.equals("torch") && name.endsWith("Storage")) return new StorageType(name, PthDType.ofStorageClass(name));
        if (denied(module, name)) throw new UnsafePickleException(file, null, global, "the pickle references " + global);
        return new Opaque(global, false);
    }

    static boolean denied(String module, String name) {
        if ((module.equals("builtins") || module.equals("__builtin__")) && INERT_BUILTINS.contains(name)) return false;
        if (DENIED_GLOBALS.contains(module + "." + name)) return true;
        if (INERT_IN_DENIED.contains(module + "." + name)) return false;
        for (String m = module; ; m = m.substring(0, m.lastIndexOf('.'))) {
            if (DENIED_MODULES.contains(m)) return true;
            if (m.indexOf('.') < 0) return false;
        }
    }

    private Object call(Object callee, Object args, String op) throws PthFormatException {
        if (!(args instanceof Tuple t)) throw fail(op + " arguments are " + describe(args) + ", not a tuple");
        spend(OBJECT);
        if (callee instanceof Opaque o) return new Opaque(o.global, true); // never called: an inert placeholder
        if (callee instanceof Known k) {
            if (!op.equals("REDUCE") && k != Known.ORDERED_DICT) throw fail(op + " on " + k.global);
            return switch (k) {
                case ORDERED_DICT -> {
                    if (t.size() != 0) throw fail("OrderedDict called with arguments; torch.save never does that");
                    yield new LinkedHashMap<>();
                }
                case REBUILD_TENSOR_V2 -> rebuildTensor(t);
                case REBUILD_PARAMETER, REBUILD_PARAMETER_WITH_STATE -> {
                    int n = k == Known.REBUILD_PARAMETER ? 3 : 4;
                    if (t.size() != n || !(t.get(0) instanceof TensorRef data)) {
                        throw fail(k.global + " needs (tensor, requires_grad, hooks" + (n == 4 ? ", state" : "") + ")");
                    }
                    yield data; // requires_grad, hooks and Python attributes do not matter for weights
                }
            };
        }
        throw fail(op + " on " + describe(callee) + ", which is not callable here");
    }

    private TensorRef rebuildTensor(Tuple a) throws PthFormatException {
        String f = Known.REBUILD_TENSOR_V2.global;
        if (a.size() != 6 && a.size() != 7) throw fail(f + " with " + a.size() + " arguments, expected 6 or 7");
        if (!(a.get(0) instanceof StorageRef storage)) throw fail(f + ": storage is " + describe(a.get(0)));
        long offset = nonNegative(a.get(1), f + ": storage_offset");
        long[] size = longs(a.get(2), f + ": size");
        long[] stride = longs(a.get(3), f + ": stride");
        if (size.length != stride.length) throw fail(f + ": size has " + size.length + " dimensions, stride " + stride.length);
        if (!(a.get(5) instanceof LinkedHashMap<?, ?> hooks) || !hooks.isEmpty()) {
            throw fail(f + ": backward_hooks is " + describe(a.get(5)) + ", expected an empty OrderedDict");
        }
        spend(2L * OBJECT + 16L * size.length);
        boolean flags = false;
        if (a.size() == 7 && a.get(6) != null) {
            if (!(a.get(6) instanceof LinkedHashMap<?, ?> meta)) throw fail(f + ": metadata is " + describe(a.get(6)));
            for (Object v : meta.values()) flags |= !Boolean.FALSE.equals(v);
        }
        return new TensorRef(storage, offset, size, stride, flags);
    }

    private long nonNegative(Object o, String what) throws PthFormatException {
        if (!(o instanceof Long v) || v < 0) throw fail(what + " is " + describe(o) + ", expected a non-negative int");
        return v;
    }

    private long[] longs(Object o, String what) throws PthFormatException {
        List<?> items;
        if (o instanceof Tuple t) items = java.util.Arrays.asList(t.items);
        else if (o instanceof List<?> l) items = l;
        else throw fail(what + " is " + describe(o) + ", expected a tuple of ints");
        long[] out = new long[items.size()];
        for (int i = 0; i < out.length; i++) out[i] = nonNegative(items.get(i), what + "[" + i + "]");
        return out;
    }

    private StorageRef persistentLoad(Object pid) throws PthFormatException {
        if (!(pid instanceof Tuple t) || t.size() != 5 || !"storage".equals(t.get(0))) {
            throw fail("persistent id is " + describe(pid) + ", expected ('storage', type, key, location, numel)");
        }
        if (!(t.get(1) instanceof StorageType type)) throw fail("persistent id names " + describe(t.get(1)) + " as its storage type");
        if (!(t.get(2) instanceof String key)) throw fail("persistent id key is " + describe(t.get(2)));
        if (!(t.get(3) instanceof String location)) throw fail("persistent id location is " + describe(t.get(3)));
        long numel = nonNegative(t.get(4), "persistent id numel");
        spend(OBJECT + ENTRY);
        StorageRef ref = new StorageRef(key, type, location, numel);
        StorageRef seen = storages.putIfAbsent(key, ref);
        if (seen != null && (!seen.type().equals(type) || seen.numel() != numel)) {
            throw fail("storage " + key + " is described twice differently (" + seen.type().className() + " of "
                    + seen.numel() + " vs " + type.className() + " of " + numel + ")");
        }
        return seen != null ? seen : ref;
    }

    /** A short description of a value's kind, never its (possibly huge or cyclic) contents. */
    static String describe(Object o) {
        return switch (o) {
            case null -> "None";
            case Boolean b -> "a bool";
            case Long l -> "an int";
            case BigInteger b -> "an int";
            case Double d -> "a float";
            case String s -> "a string";
            case byte[] b -> "bytes";
            case Tuple t -> "a tuple";
            case List<?> l -> "a list";
            case PySet s -> "a set";
            case Map<?, ?> m -> "a dict";
            case TensorRef t -> "a tensor";
            case StorageRef s -> "a storage";
            case StorageType s -> "torch." + s.className();
            case Known k -> k.global;
            case Opaque op -> op.toString();
            default -> o.getClass().getSimpleName();
        };
    }
}
