package dev.segsam.tensor;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.util.Arrays;

/**
 * The lifetime of a computation's temporaries: every tensor allocated on this thread while the scope is open (host or
 * device, by any backend op, {@link Tensor#zeros}, {@link Tensor#of}, {@link Tensor#copy}…) is closed when the scope
 * closes, except those {@linkplain #keep kept}. So a layer reads like its math:
 * <pre>{@code
 * try (TensorScope s = TensorScope.open()) {
 *     Tensor x1 = b.add(x, attn.forward(b, norm1.forward(b, x)));
 *     return s.keep(b.add(x1, mlp.forward(b, norm2.forward(b, x1))));
 * }
 * }</pre>
 *
 * <p><b>Rules.</b>
 * <ul>
 *   <li>Scopes nest. A kept tensor moves to the enclosing scope, or, when there is none, to the caller, who closes it
 *       (or leaves it to the cleaner), exactly as without scopes.</li>
 *   <li>A scope closes only what was allocated while it was open. Inputs, weights and tensors of outer scopes are
 *       never touched; keeping one of them is a no-op, so {@code return s.keep(x)} is right even when {@code x} is the
 *       input passed through.</li>
 *   <li>A tensor and its views ({@link Tensor#reshape}, {@link Tensor#narrow0}) are one allocation: keeping a view keeps
 *       the memory, and it is closed once.</li>
 *   <li>A tensor may still be closed early by hand (a loop that replaces its activation, say); the scope then forgets
 *       it. Closing any tensor twice is an error, as is using it after close (both name the tensor).</li>
 *   <li>A scope belongs to the thread that opened it: tensors allocated by other threads never join it, and only that
 *       thread may keep or close. Each thread that runs a model has its own scopes, so a model shared between threads
 *       needs nothing more. {@link Parallel} hides the caller's scope while it waits for its workers, so work that a
 *       waiting thread runs on their behalf never lands in it.</li>
 *   <li>Without an open scope nothing changes: tensors belong to whoever made them.</li>
 *   <li>Objects that hold tensors beyond the call (a model's weights, a tape's values) take them out of any scope with
 *       {@link #detach}.</li>
 * </ul>
 * Closing a scope while an inner one is still open closes both and then throws (a missing try-with-resources).
 */
public final class TensorScope implements AutoCloseable {
    private static final ThreadLocal<TensorScope> CURRENT = new ThreadLocal<>();

    private final TensorScope parent;
    private final Thread owner;
    final String openedAt; // debug mode only
    private Lifetime[] lives = new Lifetime[16];
    private int size, live;
    private boolean closed;

    private TensorScope(TensorScope parent) {
        this.parent = parent;
        this.owner = Thread.currentThread();
        this.openedAt = Lifetime.DEBUG ? Lifetime.site() : "?";
    }

    /** Opens a scope on the current thread, nested in the one already open (if any). */
    public static TensorScope open() {
        TensorScope s = new TensorScope(CURRENT.get());
        CURRENT.set(s);
        return s;
    }

    /** Whether a scope is open on the current thread. */
    public static boolean isOpen() {
        return CURRENT.get() != null;
    }

    /**
     * Keeps {@code t} (and every view of its memory) past this scope: it moves to the enclosing scope, or to the caller
     * when there is none. A tensor this scope does not hold (an input, a weight, null) is returned as is.
     *
     * @throws IllegalStateException if {@code t} was closed, or this is not the innermost open scope of this thread
     */
    public Tensor keep(Tensor t) {
        checkCurrent("keep");
        if (t == null) return null;
        Lifetime l = t.life();
        if (l.owned && !l.isOpen()) l.check(t);
        if (l.scope == this) {
            remove(l);
            if (parent != null) parent.add(l);
        }
        return t;
    }

    /**
     * Keeps every tensor that the record {@code r} holds: its tensor components, and those of the records, lists and
     * arrays among its components (e.g. a decoder's output, or one holding another's). Returns {@code r}.
     */
    public <R extends Record> R keep(R r) {
        checkCurrent("keep");
        keepAll(r);
        return r;
    }

    private void keepAll(Object o) {
        switch (o) {
            case null -> { }
            case Tensor t -> keep(t);
            case Record r -> {
                for (Method m : ACCESSORS.get(r.getClass())) {
                    try {
                        keepAll(m.invoke(r));
                    } catch (IllegalAccessException | InvocationTargetException e) {
                        throw new IllegalStateException("cannot read " + r.getClass().getName() + "." + m.getName(), e);
                    }
                }
            }
            case Iterable<?> it -> it.forEach(this::keepAll);
            case Object[] a -> Arrays.asList(a).forEach(this::keepAll);
            default -> { }
        }
    }

    /** The component accessors of each record class, made accessible once. */
    private static final ClassValue<Method[]> ACCESSORS = new ClassValue<>() {
        @Override
        protected Method[] computeValue(Class<?> c) {
            RecordComponent[] rc = c.getRecordComponents();
            Method[] m = new Method[rc.length];
            for (int i = 0; i < rc.length; i++) {
                m[i] = rc[i].getAccessor();
                m[i].trySetAccessible();
            }
            return m;
        }
    };

    /**
     * Takes {@code t} out of whatever scope holds it: from now on its owner (a model's weights, a tape's values) closes
     * it, or the cleaner does. Returns {@code t}.
     *
     * @throws IllegalStateException when called from another thread than the one whose scope holds {@code t}
     */
    public static Tensor detach(Tensor t) {
        Lifetime l = t.life();
        TensorScope s = l.scope;
        if (s != null) {
            if (Thread.currentThread() != s.owner) {
                throw new IllegalStateException(l.describe(t) + " belongs to a TensorScope of thread " + s.owner.getName()
                        + "; only that thread can detach it");
            }
            s.remove(l);
        }
        return t;
    }

    /** The number of tensors (allocations; views do not count) this scope would close now. */
    public int size() {
        return live;
    }

    /**
     * Closes every tensor allocated in this scope and not kept or closed already, newest first, and makes the enclosing
     * scope current again.
     *
     * @throws IllegalStateException on another thread, on a second close, or (after closing them too) when inner scopes
     *                               were left open
     */
    @Override
    public void close() {
        checkOwner("close");
        if (closed) throw new IllegalStateException("TensorScope opened at " + openedAt + " was closed twice");
        String leaked = null;
        RuntimeException innerFailure = null;
        try {
            for (TensorScope s = CURRENT.get(); s != this && s != null; s = s.parent) {
                leaked = s.openedAt;
                try {
                    s.release();
                } catch (RuntimeException e) {
                    innerFailure = e; // keep closing: this scope's tensors must not outlive it
                }
            }
            release();
        } finally {
            if (parent == null) CURRENT.remove();
            else CURRENT.set(parent);
        }
        if (leaked != null) {
            var e = new IllegalStateException("TensorScope opened at " + openedAt + " was closed while an inner scope (opened at "
                    + leaked + ") was still open; both are closed now");
            if (innerFailure != null) e.addSuppressed(innerFailure);
            throw e;
        }
    }

    /** Registers a new owned tensor with the current thread's scope, if one is open. */
    static void register(Lifetime l) {
        TensorScope s = CURRENT.get();
        if (s != null) s.add(l);
    }

    /**
     * Hides this thread's scope (returned, or null) until {@link #resume}: for a thread that runs a share of a parallel
     * loop (its bodies must not land in its scope) or others' work while it waits (a fork/join join).
     */
    static TensorScope suspend() {
        TensorScope s = CURRENT.get();
        if (s != null) CURRENT.set(null);
        return s;
    }

    static void resume(TensorScope s) {
        if (s != null) CURRENT.set(s);
    }

    /** A tensor of this scope was closed by hand: forget it (on the owner thread; otherwise closing skips it). */
    void forget(Lifetime l) {
        if (Thread.currentThread() == owner && l.scope == this) remove(l);
    }

    private void add(Lifetime l) {
        if (size == lives.length) {
            if (live < size / 2) compact();
            else lives = Arrays.copyOf(lives, size * 2);
        }
        l.scope = this;
        l.slot = size;
        lives[size++] = l;
        live++;
    }

    private void remove(Lifetime l) {
        lives[l.slot] = null;
        l.scope = null;
        live--;
        while (size > 0 && lives[size - 1] == null) size--;
    }

    private void compact() {
        int n = 0;
        for (int i = 0; i < size; i++) {
            Lifetime l = lives[i];
            if (l != null) {
                l.slot = n;
                lives[n++] = l;
            }
        }
        Arrays.fill(lives, n, size, null);
        size = n;
    }

    private void release() {
        closed = true;
        RuntimeException failure = null;
        for (int i = size - 1; i >= 0; i--) {
            Lifetime l = lives[i];
            if (l == null) continue;
            l.scope = null;
            try {
                l.closeFor(this);
            } catch (RuntimeException e) {
                if (failure == null) failure = e;
                else failure.addSuppressed(e);
            }
        }
        lives = null;
        size = live = 0;
        if (failure != null) throw failure;
    }

    private void checkOwner(String what) {
        if (Thread.currentThread() != owner) {
            throw new IllegalStateException("TensorScope." + what + " on thread " + Thread.currentThread().getName()
                    + ", but the scope belongs to thread " + owner.getName() + " (opened at " + openedAt + ")");
        }
    }

    private void checkCurrent(String what) {
        checkOwner(what);
        if (closed) throw new IllegalStateException("TensorScope." + what + " after the scope (opened at " + openedAt + ") was closed");
        if (CURRENT.get() != this) {
            throw new IllegalStateException("TensorScope." + what + " on a scope (opened at " + openedAt
                    + ") that is not the innermost open one of this thread");
        }
    }
}
