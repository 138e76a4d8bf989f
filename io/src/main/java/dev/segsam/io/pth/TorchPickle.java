package dev.segsam.io.pth;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes the {@code data.pkl} of a state dict the way {@code torch.save} does at its default pickle protocol 2: an
 * {@code OrderedDict} (built by {@code REDUCE} on {@code collections.OrderedDict}) filled with {@code SETITEMS} in
 * batches of 1000, each value a {@code REDUCE} of {@code torch._utils._rebuild_tensor_v2} on {@code (storage,
 * offset, size, stride, False, OrderedDict())} where the storage is the persistent id {@code ('storage',
 * torch.<X>Storage, key, 'cpu', numel)} ({@code BINPERSID}). Globals and repeated strings are memoized.
 */
final class TorchPickle {
    /** One tensor: a view of storage {@code storageKey} ({@code storageNumel} elements of {@code dtype}). */
    record TensorEntry(String name, PthDType dtype, String storageKey, long storageNumel, long offset, long[] size, long[] stride) {}

    private static final int BATCH = 1000; // as CPython's pickler

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final Map<String, Integer> memo = new HashMap<>();

    private TorchPickle() {}

    static byte[] stateDict(List<TensorEntry> entries) {
        TorchPickle p = new TorchPickle();
        p.op(0x80);
        p.op(2); // PROTO 2
        p.global("collections", "OrderedDict");
        p.op(')'); // EMPTY_TUPLE
        p.op('R'); // REDUCE
        for (int i = 0; i < entries.size(); i++) {
            if (i % BATCH == 0) p.op('('); // MARK
            p.tensor(entries.get(i));
            if (i % BATCH == BATCH - 1 || i == entries.size() - 1) p.op('u'); // SETITEMS
        }
        p.op('.'); // STOP
        return p.out.toByteArray();
    }

    private void tensor(TensorEntry t) {
        string(t.name(), false);
        global("torch._utils", "_rebuild_tensor_v2");
        op('(');
        op('(');
        string("storage", true);
        global("torch", t.dtype().storageClass);
        string(t.storageKey(), false);
        string("cpu", true);
        integer(t.storageNumel());
        op('t'); // TUPLE
        op('Q'); // BINPERSID
        integer(t.offset());
        tuple(t.size());
        tuple(t.stride());
        op(0x89); // NEWFALSE: requires_grad
        global("collections", "OrderedDict"); // backward_hooks = OrderedDict()
        op(')');
        op('R');
        op('t');
        op('R');
    }

    private void op(int b) {
        out.write(b);
    }

    private void le(long v, int bytes) {
        for (int i = 0; i < bytes; i++) out.write((int) (v >>> (8 * i)));
    }

    /** Python's pickler chooses the smallest of BININT1, BININT2, BININT, LONG1. */
    private void integer(long v) {
        if (v >= 0 && v < 256) {
            op('K');
            le(v, 1);
        } else if (v >= 0 && v < 65536) {
            op('M');
            le(v, 2);
        } else if (v == (int) v) {
            op('J');
            le(v, 4);
        } else {
            int n = 8; // fewest two's-complement bytes that keep the sign
            while (n > 1 && (v >> (8 * (n - 1) - 1)) == (v >> 63)) n--;
            op(0x8a);
            op(n);
            le(v, n);
        }
    }

    private void tuple(long[] items) {
        if (items.length == 0) {
            op(')');
            return;
        }
        if (items.length > 3) op('(');
        for (long v : items) integer(v);
        op(items.length > 3 ? 't' : 0x84 + items.length); // TUPLE or TUPLE1..3
    }

    private void string(String s, boolean memoize) {
        if (memoize && get(s)) return;
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        op('X'); // BINUNICODE
        le(b.length, 4);
        out.writeBytes(b);
        if (memoize) put(s);
    }

    private void global(String module, String name) {
        String key = "\0global " + module + " " + name; // cannot clash with a memoized string
        if (get(key)) return;
        op('c');
        out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
        put(key);
    }

    private boolean get(String key) {
        Integer i = memo.get(key);
        if (i != null) memoOp('h', 'j', i); // BINGET / LONG_BINGET
        return i != null;
    }

    private void put(String key) {
        int i = memo.size();
        memo.put(key, i);
        memoOp('q', 'r', i); // BINPUT / LONG_BINPUT
    }

    private void memoOp(int shortOp, int longOp, int index) {
        if (index < 256) {
            op(shortOp);
            le(index, 1);
        } else {
            op(longOp);
            le(index, 4);
        }
    }
}
