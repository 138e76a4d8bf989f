package dev.segsam.tensor.autodiff;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Shapes;
import dev.segsam.tensor.Storage;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorScope;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reverse-mode automatic differentiation over the {@link Backend} ops.
 *
 * <p>Use: mark trainable tensors with {@link #param}, run the model with {@link #backend()} (a {@link Backend} that
 * computes with the wrapped backend and records every op whose inputs depend on a parameter), then call
 * {@link #backward(Tensor, float[])} with the gradient of the loss with respect to an output, and read
 * {@link #grad(Tensor)} for each parameter. Frozen parts run on the plain backend and record nothing; tensors that
 * are not parameters and not computed from one are constants.
 *
 * <p>Every backward formula is a wrapped-backend op (the forward ops and its backward ops: {@link Backend#softmaxBackward},
 * {@link Backend#layerNormBackward}, {@link Backend#attentionBackward}…), and gradients are tensors of that backend,
 * so the backward pass runs on the same kernels as the forward. A node's gradient is freed once it has been passed on
 * to its op's inputs; parameters' gradients live until {@link #close()}.
 *
 * <p>Tensors are identified by their storage and offset, so reshaped views share a node (and a gradient). The tape owns
 * every value it computes: the tensors it returns are borrowed views of them that ignore {@code close()} and never
 * join a {@link TensorScope} (model code may run on the tape with its scopes as usual), and the values themselves are
 * {@linkplain TensorScope#detach detached} from any scope; {@link #close()} frees them all. Forward values a backward
 * formula needs are held by reference when the tape owns them (or they are parameters) and copied otherwise, so the
 * model may free its inputs as it goes. A tape is single-use and not thread-safe. It runs on any backend: the values,
 * gradients and views it hands out are tensors of the wrapped backend (on the host {@link Tensor#wrap} views, on a
 * device {@link Tensor#borrow} views of device memory); nothing is copied to the host except the loss gradients
 * passed to {@link #backward} (uploaded), {@link #grad} (downloaded) and the Fourier position encoding's backward
 * (a small host formula).
 */
public final class Tape implements AutoCloseable {
    final Backend base;
    private final TapeBackend backend;
    private final Map<Key, Node> nodes = new HashMap<>();
    private final List<Node> order = new ArrayList<>();
    private final List<Tensor> owned = new ArrayList<>();
    private final java.util.Set<Storage> views = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    private boolean backwardDone;

    public Tape(Backend base) {
        this.base = base;
        this.backend = new TapeBackend(this);
    }

    /** The recording backend. */
    public Backend backend() {
        return backend;
    }

    /** Identity of a tensor's values: its storage (by identity), element offset and size. */
    record Key(Storage storage, long offset, long numel) {
        static Key of(Tensor t) {
            return new Key(t.storage(), t.storageOffset(), t.numel());
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.storage == storage && k.offset == offset && k.numel == numel;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(storage) * 31 + Long.hashCode(offset) * 17 + Long.hashCode(numel);
        }
    }

    /** A recorded value: its gradient (a tensor of the wrapped backend, made on first use) and how to pass it on. */
    static final class Node {
        final int[] shape;
        Tensor grad;
        Runnable backward; // null for parameters (leaves)

        Node(int[] shape) {
            this.shape = shape;
        }
    }

    /** Marks {@code t} as a trainable leaf; returns it. */
    public Tensor param(Tensor t) {
        nodes.computeIfAbsent(Key.of(t), k -> new Node(t.shape()));
        return t;
    }

    /** Whether {@code t} is a parameter or depends on one. */
    public boolean tracks(Tensor t) {
        return t != null && nodes.containsKey(Key.of(t));
    }

    Node node(Tensor t) {
        return t == null ? null : nodes.get(Key.of(t));
    }

    /**
     * Registers an op output. {@code real} is the freshly computed tensor (owned by the tape); the returned view is what
     * the model gets. {@code backward} receives the node's gradient (complete when it runs), inside a scope that closes
     * the formula's temporaries.
     */
    Tensor record(Tensor real, java.util.function.Consumer<Tensor> backward) {
        return record(real, (g, y) -> backward.accept(g));
    }

    /** As {@link #record(Tensor, java.util.function.Consumer)}, the formula also given the output (the view). */
    Tensor record(Tensor real, java.util.function.BiConsumer<Tensor, Tensor> backward) {
        Tensor view = own(real);
        Node n = new Node(real.shape());
        n.backward = () -> {
            if (n.grad == null) return;
            try (TensorScope _ = TensorScope.open()) {
                backward.accept(n.grad, view);
            }
            n.grad.close();
            n.grad = null;
        };
        nodes.put(Key.of(view), n);
        order.add(n);
        return view;
    }

    private Tensor own(Tensor real) {
        owned.add(TensorScope.detach(real));
        // Host: a wrap of the segment (in debug mode it dies with real's arena). Device: a borrowed device view.
        Tensor view = real.isHost() ? Tensor.wrap(real.data(), real.shape()) : real.borrow();
        views.add(view.storage());
        return view;
    }

    /** Keeps a constant output alive until the tape closes (views returned to the model ignore close()). */
    Tensor constant(Tensor real) {
        return own(real);
    }

    /**
     * A forward value for a backward formula: {@code t} itself when the tape owns it or it is a parameter, else a
     * tape-owned copy (the model may free its own tensors before backward runs).
     */
    Tensor hold(Tensor t) {
        if (t == null || views.contains(t.storage()) || tracks(t)) return t;
        try (TensorScope s = TensorScope.open()) {
            return constant(s.keep(base.scale(t, 1f)));
        }
    }

    /**
     * Adds {@code g} (a fresh tensor of the wrapped backend with {@code t}'s number of elements) into the gradient of
     * {@code t}, if it is tracked, taking it over (out of any scope); otherwise leaves it to its scope.
     */
    void accumulate(Tensor t, Tensor g) {
        Node n = node(t);
        if (n == null) return;
        if (g.numel() != t.numel()) throw new IllegalStateException("gradient " + Shapes.str(g.shape()) + " for a tensor " + Shapes.str(t.shape()));
        if (n.grad == null) {
            n.grad = TensorScope.detach(g).reshape(n.shape);
        } else {
            Tensor old = n.grad;
            try (TensorScope s = TensorScope.open()) {
                n.grad = TensorScope.detach(s.keep(base.add(old, g.reshape(n.shape))));
            }
            old.close();
        }
    }

    /** Adds a copy of {@code g} (which stays the caller's) into the gradient of {@code t}. */
    void accumulateCopy(Tensor t, Tensor g) {
        Node n = node(t);
        if (n == null) return;
        if (n.grad == null) {
            try (TensorScope s = TensorScope.open()) {
                accumulate(t, s.keep(base.scale(g, 1f)));
            }
        } else {
            accumulate(t, g);
        }
    }

    /**
     * Back-propagates from {@code output} with {@code dLossDOutput} (shaped like {@code output}), through every op
     * recorded before it, in reverse order. Gradients accumulate: calling it for several outputs sums them.
     */
    public void backward(Tensor output, float[] dLossDOutput) {
        backward(List.of(output), List.of(dLossDOutput));
    }

    /** Runs backward for several outputs at once (their gradients summed), in one reverse sweep. */
    public void backward(List<Tensor> outputs, List<float[]> grads) {
        for (int i = 0; i < outputs.size(); i++) {
            Tensor o = outputs.get(i);
            if (node(o) == null) throw new IllegalArgumentException("output " + i + " does not depend on any parameter");
            if (grads.get(i).length != o.numel()) throw new IllegalArgumentException("gradient of " + grads.get(i).length + " for an output of " + o.numel());
            try (TensorScope s = TensorScope.open()) {
                Tensor host = Tensor.of(grads.get(i), o.shape());
                Tensor up = base.upload(host);
                accumulate(o, s.keep(up));
            }
        }
        backwardDone = true;
        for (int i = order.size() - 1; i >= 0; i--) {
            Node n = order.get(i);
            if (n.backward != null) n.backward.run();
        }
    }

    /** The gradient of a parameter after {@link #backward}, shaped like it (zeros if the loss does not depend on it). */
    public float[] grad(Tensor param) {
        Tensor g = gradTensor(param);
        if (g == null) return new float[Math.toIntExact(param.numel())];
        try (TensorScope _ = TensorScope.open()) {
            return base.download(g).toArray();
        }
    }

    /** The gradient of a parameter after {@link #backward} as a tensor of the wrapped backend (owned by the tape), or null if zero. */
    public Tensor gradTensor(Tensor param) {
        Node n = node(param);
        if (n == null) throw new IllegalArgumentException("not a parameter of this tape");
        if (!backwardDone) throw new IllegalStateException("backward has not run");
        return n.grad;
    }

    /** Frees every tensor the tape computed. */
    @Override
    public void close() {
        for (Tensor t : owned) t.close();
        for (Node n : nodes.values()) {
            if (n.grad != null) n.grad.close();
            n.grad = null;
        }
        owned.clear();
        views.clear();
        nodes.clear();
        order.clear();
    }
}
