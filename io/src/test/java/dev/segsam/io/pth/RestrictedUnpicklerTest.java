package dev.segsam.io.pth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.io.pth.RestrictedUnpickler.Opaque;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The unpickler on hand-assembled pickles: refusals, inert placeholders, bounds, and the state-dict rule. */
class RestrictedUnpicklerTest {
    static final Path F = Path.of("ckpt.pth");

    static Object load(Pk p) throws PthFormatException {
        return RestrictedUnpickler.load(F, p.bytes());
    }

    static void assertContains(String message, String part) {
        assertTrue(message.contains(part), "\"" + part + "\" not in: " + message);
    }

    static String error(Pk p) {
        return assertThrows(PthFormatException.class, () -> load(p)).getMessage();
    }

    // ------------------------------------------------------------------ globals

    @ParameterizedTest
    @ValueSource(strings = {"posix system", "os system", "nt system", "os.path join", "builtins eval", "builtins exec",
            "__builtin__ getattr", "builtins __import__", "builtins open", "subprocess Popen", "importlib import_module",
            "functools partial", "operator attrgetter", "runpy run_path", "pickle loads", "torch.hub load", "torch load",
            "numpy load", "webbrowser open", "ctypes CDLL", "sys modules", "shutil rmtree", "socket socket"})
    void codeExecutingGlobalsAreRefusedWherever(String global) {
        String[] mn = global.split(" ");
        String dotted = mn[0] + "." + mn[1];
        var e = assertThrows(UnsafePickleException.class, () -> load(Pk.proto2().global(mn[0], mn[1]).stop()));
        assertEquals(dotted, e.global());
        assertEquals("refusing to load ckpt.pth: the pickle references " + dotted + "; " + UnsafePickleException.SUPPORTED, e.getMessage());
        // the protocol-4 spelling, buried in a list next to the state dict: still refused
        Pk p4 = new Pk().op(0x80).op(4).op(']').op(0x8c).op(mn[0].length()).raw(mn[0].getBytes())
                .op(0x8c).op(mn[1].length()).raw(mn[1].getBytes()).op(0x93).op('a').stop();
        assertEquals(dotted, assertThrows(UnsafePickleException.class, () -> load(p4)).global());
    }

    @Test
    void otherGlobalsAreInertPlaceholdersThatAbsorbEverything() throws Exception {
        // defaultdict(dict) with items, then BUILD: what an optimizer object's state looks like
        Object o = load(Pk.proto2().global("collections", "defaultdict").global("builtins", "dict").op(0x85).op('R')
                .mark().str("k").i(1).op('u').emptyDict().op('b').op(']').op('a').mark().i(2).op('e').stop());
        Opaque op = assertInstanceOf(Opaque.class, o);
        assertEquals("collections.defaultdict", op.global);
        assertTrue(op.instance);
        Object cls = load(Pk.proto2().global("torch.optim.adamw", "AdamW").stop());
        assertEquals("torch.optim.adamw.AdamW", ((Opaque) cls).global);
        assertTrue(!((Opaque) cls).instance);
        Object newobj = load(Pk.proto2().global("torch.optim.adamw", "AdamW").op(')').op(0x81).emptyDict().op('b').stop());
        assertTrue(((Opaque) newobj).instance);
        for (String[] g : new String[][] {{"types", "SimpleNamespace"}, {"torch.serialization", "_get_layout"},
                {"__builtin__", "set"}, {"argparse", "Namespace"}, {"numpy.core.multiarray", "_reconstruct"}}) {
            assertInstanceOf(Opaque.class, load(Pk.proto2().global(g[0], g[1]).stop()), g[0] + "." + g[1]);
        }
    }

    // ------------------------------------------------------------------ bounds

    @Test
    void lengthsAndIndicesAreCheckedBeforeAnyAllocation() {
        assertContains(error(Pk.proto2().op('X').le(0x7FFF_FFFFL, 4).raw(new byte[3])), "runs past the end");
        assertContains(error(Pk.proto2().op(0x8d).le(-1L, 8)), "runs past the end");
        assertContains(error(Pk.proto2().op('B').le(0xFFFF_FFFFL, 4)), "runs past the end");
        assertContains(error(Pk.proto2().op(0x8e).le(1L << 40, 8)), "runs past the end");
        assertContains(error(Pk.proto2().op(0x8b).le(0x7FFF_FFFFL, 4)), "runs past the end");
        assertContains(error(Pk.proto2().op(0x8b).le(-5, 4)), "negative length");
        assertContains(error(Pk.proto2().op(0x95).le(1L << 50, 8)), "FRAME");
        assertContains(error(Pk.proto2().op('j').le(0xFFFF_FFFFL, 4)), "memo entry 4294967295");
        assertContains(error(Pk.proto2().op('h').le(3, 1)), "memo entry 3");
        assertContains(error(Pk.proto2().i(1).op('t')), "no MARK");
        assertContains(error(Pk.proto2().op('R')), "stack underflow");
        assertContains(error(Pk.proto2().i(1).mark().op('.')), "stack underflow"); // items below a MARK are out of reach
        assertContains(error(Pk.proto2().i(1)), "without STOP");
        assertContains(error(Pk.proto2().op('X').le(10, 4).raw("abc".getBytes())), "runs past the end");
        assertContains(error(Pk.proto2().op('i')), "unsupported pickle opcode 0x69 ('i')");
        assertContains(error(new Pk().op(0x80).op(6)), "protocol 6");
        assertContains(error(Pk.proto2().op('c').raw(new byte[2000])), "GLOBAL name");
        assertContains(error(Pk.proto2().op('X').le(2, 4).raw(new byte[] {(byte) 0xC3, 0x28}).stop()), "UTF-8");
        assertContains(error(Pk.proto2().i(1).mark().i(2).i(3).op('u')), "SETITEM on an int");
        assertContains(error(Pk.proto2().emptyDict().mark().i(2).op('u')), "odd number");
        assertContains(error(Pk.proto2().emptyDict().op(']').i(1).op('s')), "cannot hash");
        assertContains(error(Pk.proto2().i(3).op(')').op('R')), "REDUCE on an int");
        assertContains(error(Pk.proto2().global("collections", "OrderedDict").i(1).op('R')), "not a tuple");
        String msg = error(Pk.proto2().op('i'));
        assertTrue(msg.startsWith("ckpt.pth: data.pkl: byte 2: "), msg);
    }

    @Test
    void numbersDecodeLikePython() throws Exception {
        assertEquals(-2L, load(Pk.proto2().op('J').le(-2, 4).stop()));
        assertEquals(65535L, load(Pk.proto2().op('M').le(65535, 2).stop()));
        assertEquals(-(1L << 62), load(Pk.proto2().op(0x8a).op(8).le(-(1L << 62), 8).stop()));
        assertEquals(0L, load(Pk.proto2().op(0x8a).op(0).stop()));
        assertEquals(new java.math.BigInteger("18446744073709551615"), load(Pk.proto2().op(0x8a).op(9).le(-1L, 8).op(0).stop()));
        assertEquals(1e-4, load(Pk.proto2().op('G').raw(java.nio.ByteBuffer.allocate(8).putDouble(1e-4).array()).stop()));
    }

    // ------------------------------------------------------------------ tensors and the state-dict rule

    /** {"w": tensor, name: <value pushed by v>} as a state dict. */
    static Pk stateDictWith(String name, java.util.function.Consumer<Pk> v) {
        Pk p = Pk.proto2().global("collections", "OrderedDict").op(')').op('R').mark().str("w").scalarTensor("0").str(name);
        v.accept(p);
        return p.op('u').stop();
    }

    static StateDicts.Selection select(Pk p) throws PthFormatException {
        return StateDicts.select(F, load(p), null);
    }

    @Test
    void opaqueObjectsInsideTheStateDictAreRefusedEvenDeepDown() throws Exception {
        var e = assertThrows(UnsafePickleException.class, () -> select(stateDictWith("cfg", p -> p.op(']').emptyDict()
                .str("x").global("mymodule", "Config").op(')').op('R').op('s').op('a'))));
        assertEquals("mymodule.Config", e.global());
        assertEquals("refusing to load ckpt.pth: state dict entry \"cfg\" contains a mymodule.Config object; " + UnsafePickleException.SUPPORTED, e.getMessage());
        var top = assertThrows(UnsafePickleException.class, () -> select(Pk.proto2().global("mymodule", "Model").op(')').op('R').stop()));
        assertTrue(top.getMessage().contains("its top-level object is a mymodule.Model object"), top.getMessage());
    }

    @Test
    void deepAndCyclicValuesAreWalkedWithoutRecursion() throws Exception {
        int depth = 200_000;
        var s = select(stateDictWith("deep", p -> {
            for (int i = 0; i < depth; i++) p.op(']');
            for (int i = 1; i < depth; i++) p.op('a');
        }));
        assertEquals(List.of("w"), List.copyOf(s.tensors().keySet()));
        assertEquals(List.of("skipped state dict entry \"deep\": a list of 1 items, not a tensor"), s.warnings());
        var c = select(stateDictWith("cycle", p -> p.op(']').op('q').op(9).op('h').op(9).op('a')));
        assertEquals(1, c.tensors().size());
    }

    @Test
    void unreadableTensorKindsAreSkippedNotRefused() throws Exception {
        var q = select(stateDictWith("q", p -> p.global("torch._utils", "_rebuild_qtensor").op(')').op('R')));
        assertEquals(List.of("skipped state dict entry \"q\": a torch._utils._rebuild_qtensor object, not a tensor"), q.warnings());
        var c = select(stateDictWith("c", p -> p.tensor("ComplexFloatStorage", "1", 2, 0, new int[] {2}, new int[] {1})));
        assertEquals(List.of("skipped state dict entry \"c\": a tensor on a torch.ComplexFloatStorage, which segsam does not read"), c.warnings());
        var n = select(stateDictWith("n", p -> p.global("torch._utils", "_rebuild_tensor_v2").mark()
                .mark().str("storage").global("torch", "FloatStorage").str("2").str("cpu").i(2).op('t').op('Q')
                .i(0).i(2).op(0x85).i(1).op(0x85).op(0x89).emptyDict().emptyDict().str("neg").op(0x88).op('s').op('t').op('R')));
        assertEquals(List.of("skipped state dict entry \"n\": a tensor with PyTorch's neg or conj bit set, which segsam does not read"), n.warnings());
    }

    @Test
    void malformedTensorsAndStoragesAreFormatErrors() {
        assertContains(error(Pk.proto2().tensor("FloatStorage", "0", 4, 0, new int[] {2, 2}, new int[] {2}).stop()), "size has 2 dimensions, stride 1");
        assertContains(error(Pk.proto2().tensor("FloatStorage", "0", 4, -1, new int[] {2}, new int[] {1}).stop()), "storage_offset is an int, expected a non-negative int");
        assertTrue(error(Pk.proto2().mark().scalarTensor("0").tensor("FloatStorage", "0", 2, 0, new int[] {}, new int[] {}).op('t').stop())
                .contains("storage 0 is described twice differently"));
        assertContains(error(Pk.proto2().mark().str("storage").op('t').op('Q').stop()), "persistent id is a tuple");
        assertTrue(error(Pk.proto2().mark().str("storage").global("a", "B").str("0").str("cpu").i(1).op('t').op('Q').stop())
                .contains("persistent id names a.B as its storage type"));
        assertContains(error(Pk.proto2().global("torch._utils", "_rebuild_tensor_v2").mark().i(1).op('t').op('R').stop()), "with 1 arguments");
        // hooks must be the empty OrderedDict torch always writes
        assertTrue(error(Pk.proto2().global("torch._utils", "_rebuild_tensor_v2").mark()
                .mark().str("storage").global("torch", "FloatStorage").str("0").str("cpu").i(1).op('t').op('Q')
                .i(0).op(')').op(')').op(0x89).emptyDict().str("h").i(1).op('s').op('t').op('R').stop()).contains("backward_hooks"));
    }

    @Test
    void choosingTheStateDict() throws Exception {
        // {"ema": {"w": t}, "model": {"w": t}}: several candidates, "model" is preferred
        Pk two = Pk.proto2().emptyDict().mark().str("ema").emptyDict().str("w").scalarTensor("0").op('s')
                .str("model").emptyDict().str("w").scalarTensor("1").op('s').op('u').stop();
        var s = select(two);
        assertEquals("model", s.key());
        assertEquals("1", s.tensors().get("w").storage().key());
        assertEquals("0", StateDicts.select(F, load(two), "ema").tensors().get("w").storage().key());
        // {"a": ..., "b": ...}: ambiguous
        Pk ab = Pk.proto2().emptyDict().mark().str("a").emptyDict().str("w").scalarTensor("0").op('s')
                .str("b").emptyDict().str("w").scalarTensor("1").op('s').op('u').stop();
        var e = assertThrows(PthFormatException.class, () -> select(ab));
        assertTrue(e.getMessage().endsWith("state dict: entries \"a\", \"b\" all hold tensors; open the file with PthFile.open(path, key) to choose one"), e.getMessage());
        assertContains(error2(Pk.proto2().op(']').stop()), "the top-level object is a list, not a dict of tensors");
        assertContains(error2(Pk.proto2().emptyDict().stop()), "the top-level dict is empty");
        assertContains(error2(Pk.proto2().emptyDict().str("epoch").i(3).op('s').stop()), "no tensors: neither the top-level dict nor a dict in it holds any (top-level keys: \"epoch\")");
        // non-string keys are skipped
        var k = select(Pk.proto2().emptyDict().mark().str("w").scalarTensor("0").i(5).scalarTensor("1").op('u').stop());
        assertEquals(List.of("skipped state dict entry an int key: its key is an int, not a string"), k.warnings());
    }

    static String error2(Pk p) {
        return assertThrows(PthFormatException.class, () -> select(p)).getMessage();
    }

    @Test
    void describeNeverPrintsContents() {
        Map<Object, Object> m = new LinkedHashMap<>();
        m.put("k", m);
        assertEquals("a dict of 1 entries", StateDicts.summary(m));
        assertEquals("a string (\"" + "x".repeat(37) + "...\")", StateDicts.summary("x".repeat(100)));
    }
}
