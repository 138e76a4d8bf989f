package dev.segsam.io.pth;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** A hand-assembled pickle, for tests that need pickles torch.save would not write. */
final class Pk {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    static Pk proto2() {
        return new Pk().op(0x80).op(2);
    }

    Pk op(int b) {
        out.write(b);
        return this;
    }

    Pk le(long v, int bytes) {
        for (int i = 0; i < bytes; i++) out.write((int) (v >>> (8 * i)));
        return this;
    }

    Pk raw(byte[] b) {
        out.writeBytes(b);
        return this;
    }

    Pk str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return op('X').le(b.length, 4).raw(b);
    }

    Pk i(int v) {
        return v >= 0 && v < 256 ? op('K').le(v, 1) : op('J').le(v, 4);
    }

    Pk global(String module, String name) {
        return op('c').raw((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
    }

    Pk mark() {
        return op('(');
    }

    /** Pushes a tensor: _rebuild_tensor_v2(('storage', torch.<cls>, key, 'cpu', numel), offset, (size...), (stride...), False, OrderedDict()). */
    Pk tensor(String cls, String key, int numel, int offset, int[] size, int[] stride) {
        global("torch._utils", "_rebuild_tensor_v2").mark();
        mark().str("storage").global("torch", cls).str(key).str("cpu").i(numel).op('t').op('Q');
        i(offset);
        mark();
        for (int s : size) i(s);
        op('t').mark();
        for (int s : stride) i(s);
        op('t').op(0x89).global("collections", "OrderedDict").op(')').op('R');
        return op('t').op('R');
    }

    /** A one-element float32 tensor on storage {@code key}. */
    Pk scalarTensor(String key) {
        return tensor("FloatStorage", key, 1, 0, new int[] {}, new int[] {});
    }

    Pk emptyDict() {
        return op('}');
    }

    Pk stop() {
        return op('.');
    }

    byte[] bytes() {
        return out.toByteArray();
    }
}
