package dev.segsam.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.List;

/**
 * The life of one block of tensor memory, shared by the tensor that allocated it and all its views
 * ({@link Tensor#reshape}, {@link Tensor#narrow0}): open until closed exactly once, by {@link Tensor#close()} on any of
 * them or by the {@link TensorScope} that holds it. Every accessor of a tensor's memory asks {@link #check} first, so
 * use after close is an {@link IllegalStateException} that names the tensor, never a read of memory that now belongs
 * to another tensor.
 *
 * <p>Borrowed memory ({@link Tensor#wrap}, {@link Tensor#allocate(Arena, int...)}) belongs to someone else: such a
 * lifetime is never closed and never joins a scope ({@code close()} on it does nothing).
 *
 * <p>Debug mode ({@code -Dsegsam.tensor.debug=true}; the test suite runs in it) also records where each tensor was
 * made and closed, and gives every owned host tensor its own shared arena: {@link Tensor#data()} hands out segments of
 * that arena, which is closed with the tensor, so a segment kept past {@code close()} fails on its next access
 * ({@code IllegalStateException: Already closed}) even after its block was recycled for another tensor.
 */
final class Lifetime {
    /** Debug mode: allocation and close sites, per-tensor arenas for {@code data()} segments. */
    static final boolean DEBUG = Boolean.getBoolean("segsam.tensor.debug");

    private static final int OPEN = 0, CLOSED = 1;
    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(Lifetime.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final Storage storage;
    final boolean owned;
    private final Lifetime lender;       // {@link Tensor#borrow()}: the lifetime of the memory's owner, else null
    private final int[] shape;           // of the tensor that made it (views may differ)
    private final String madeAt;         // debug mode only
    private final Arena arena;           // debug mode, owned host memory only
    final MemorySegment segment;         // the block seen through {@code arena} (debug), else null
    private volatile int state;
    private volatile String closedAt;    // debug mode only

    // Written only by the thread that owns the scope (see TensorScope).
    TensorScope scope;
    int slot;

    @SuppressWarnings("restricted") // reinterpret, debug mode only; the launchers and surefire enable native access
    Lifetime(Storage storage, boolean owned, int[] shape) {
        this(storage, owned, shape, null);
    }

    /** A borrowed lifetime ({@code owned == false}) that ends when {@code lender} ends ({@link Tensor#borrow()}). */
    @SuppressWarnings("restricted")
    Lifetime(Storage storage, boolean owned, int[] shape, Lifetime lender) {
        this.storage = storage;
        this.owned = owned;
        this.lender = lender;
        this.shape = shape;
        if (DEBUG) {
            this.madeAt = site();
            if (owned && storage instanceof HostStorage h) {
                this.arena = Arena.ofShared();
                this.segment = h.segment().reinterpret(arena, null);
            } else {
                this.arena = null;
                this.segment = null;
            }
        } else {
            this.madeAt = null;
            this.arena = null;
            this.segment = null;
        }
    }

    boolean isOpen() {
        return state == OPEN && (lender == null || lender.isOpen());
    }

    /** Fails, naming {@code t}, once this lifetime is closed. */
    void check(Tensor t) {
        if (state != OPEN) throw new IllegalStateException(describe(t) + " was used after close()" + closedInfo());
        if (lender != null) lender.check(t);
    }

    /** {@link Tensor#close()}: the owner closes it, exactly once. */
    void close(Tensor t) {
        if (!owned) return;
        if (!STATE.compareAndSet(this, OPEN, CLOSED)) {
            throw new IllegalStateException(describe(t) + " was closed twice" + closedInfo());
        }
        if (DEBUG) closedAt = "closed at " + site();
        TensorScope s = scope;
        if (s != null) s.forget(this);
        release();
    }

    /** Closes it for scope {@code s}, unless its owner already did. */
    void closeFor(TensorScope s) {
        if (STATE.compareAndSet(this, OPEN, CLOSED)) {
            if (DEBUG) closedAt = "closed with the TensorScope opened at " + s.openedAt;
            release();
        }
    }

    private void release() {
        try {
            if (arena != null) arena.close();
        } finally {
            storage.close();
        }
    }

    /** E.g. "tensor [2, 3] on cpu (a view of [6]) (made by CpuBackend.broadcastBinary:374 in CpuBackend.add:379, called from …)". */
    String describe(Tensor t) {
        StringBuilder sb = new StringBuilder("tensor ").append(Shapes.str(t.shapeRef())).append(" on ").append(storage.device());
        if (!java.util.Arrays.equals(shape, t.shapeRef())) sb.append(" (a view of ").append(Shapes.str(shape)).append(')');
        if (madeAt != null) sb.append(" (made by ").append(madeAt).append(')');
        return sb.toString();
    }

    private String closedInfo() {
        if (!DEBUG) return " (run with -Dsegsam.tensor.debug=true to see where it was made and closed)";
        String c = closedAt;
        return c == null ? "" : "; it was " + c;
    }

    // ------------------------------------------------------------------ debug: where things happen

    private static final StackWalker WALKER = StackWalker.getInstance();
    private static final List<String> PLUMBING = List.of(Lifetime.class.getName(), Tensor.class.getName(),
            TensorScope.class.getName(), HostStorage.class.getName());
    private static final String PACKAGE = Tensor.class.getPackageName();

    /**
     * Where the caller is, as {@code Class.method:line}: the first frame outside the tensor plumbing (the op code that
     * allocated, say); when that is inside core-tensor, also the core-tensor method that outside code called (the
     * backend op) and that outside frame (the model code):
     * {@code "CpuBackend.broadcastBinary:374 in CpuBackend.add:379, called from EncoderBlock.forward:40"}.
     */
    static String site() {
        return WALKER.walk(frames -> {
            StackWalker.StackFrame first = null, entry = null;
            for (var it = frames.iterator(); it.hasNext(); ) {
                StackWalker.StackFrame f = it.next();
                if (first == null) {
                    if (PLUMBING.contains(f.getClassName())) continue;
                    first = f;
                    if (outside(f)) return str(f);
                } else if (outside(f)) {
                    return str(first) + (entry == null ? "" : " in " + str(entry)) + ", called from " + str(f);
                } else {
                    entry = f;
                }
            }
            return first == null ? "?" : str(first);
        });
    }

    /** Outside core-tensor (or a test class). */
    private static boolean outside(StackWalker.StackFrame f) {
        String c = f.getClassName();
        return !c.startsWith(PACKAGE + ".") || c.endsWith("Test");
    }

    private static String str(StackWalker.StackFrame f) {
        String c = f.getClassName();
        return c.substring(c.lastIndexOf('.') + 1) + "." + f.getMethodName() + ":" + f.getLineNumber();
    }
}
