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
 * Reverse-mode automatic differentiation over the {@link Backend} ops, on the CPU.
 *
 * <p>Use: mark trainable tensors with {@link #param}, run the model with {@link #backend()} (a {@link Backend} that
 * computes with the wrapped backend and records every op whose inputs depend on a parameter), then call
 * {@link #backward(Tensor, float[])} with the gradient of the loss with respect to an output, and read
 * {@link #grad(Tensor)} for each parameter. Frozen parts run on the plain backend and record nothing; tensors that
 * are not parameters and not computed from one are constants.
 *
 * <p>Tensors are identified by their storage and offset, so reshaped views share a node (and a gradient). The tape owns
 * every value it computes: the tensors it returns are borrowed views of them that ignore {@code close()} and never
 * join a {@link TensorScope} (model code may run on the tape with its scopes as usual), and the values themselves are
 * {@linkplain TensorScope#detach detached} from any scope; {@link #close()} frees them all. A tape is single-use and
 * not thread-safe.
 */
public final class Tape implements AutoCloseable {
    final Backend base;
    private final TapeBackend backend;
    private final Map<Key, Node> nodes = new HashMap<>();
    private final List<Node> order = new ArrayList<>();
    private final List<Tensor> owned = new ArrayList<>();
    private boolean backwardDone;

    public Tape(Backend base) {
        if (!base.device().equals(dev.segsam.tensor.Device.CPU)) throw new IllegalArgumentException("autodiff runs on the CPU");
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

    /** A recorded value: its gradient (allocated on first use) and how to pass it on to the op's inputs. */
    static final class Node {
        final int[] shape;
        final int numel;
        float[] grad;
        Runnable backward; // null for parameters (leaves)

        Node(int[] shape) {
            this.shape = shape;
            this.numel = Math.toIntExact(Shapes.numel(shape));
        }

        float[] grad() {
            if (grad == null) grad = new float[numel];
            return grad;
        }
    }

    /** Marks {@code t} as a trainable leaf; returns it. */
    public Tensor param(Tensor t) {
        nodes.computeIfAbsent(Key.of(t), k -> new Node(t.shape()));
        return t;
    }

    /** Whether {@code t} is a parameter or depends on one. */
    public boolean tracks(Tensor t) {
        return nodes.containsKey(Key.of(t));
    }

    Node node(Tensor t) {
        return t == null ? null : nodes.get(Key.of(t));
    }

    /**
     * Registers an op output. {@code real} is the freshly computed tensor (owned by the tape); the returned view is what
     * the model gets. {@code backward} receives the node (whose gradient is complete when it runs).
     */
    Tensor record(Tensor real, java.util.function.Consumer<Node> backward) {
        owned.add(TensorScope.detach(real));
        Tensor view = Tensor.wrap(real.data(), real.shape());
        Node n = new Node(real.shape());
        n.backward = () -> {
            if (n.grad != null) backward.accept(n);
        };
        nodes.put(Key.of(view), n);
        order.add(n);
        return view;
    }

    /** Keeps a constant output alive until the tape closes (views returned to the model ignore close()). */
    Tensor constant(Tensor real) {
        owned.add(TensorScope.detach(real));
        return Tensor.wrap(real.data(), real.shape());
    }

    /** Adds {@code g} (shaped like {@code t}) into the gradient of {@code t}, if it is tracked. */
    void accumulate(Tensor t, float[] g) {
        Node n = node(t);
        if (n == null) return;
        float[] acc = n.grad();
        if (g.length != acc.length) throw new IllegalStateException("gradient of " + g.length + " for a tensor of " + acc.length);
        for (int i = 0; i < g.length; i++) acc[i] += g[i];
    }

    /**
     * Back-propagates from {@code output} with {@code dLossDOutput} (shaped like {@code output}), through every op
     * recorded before it, in reverse order. Gradients accumulate: calling it for several outputs sums them.
     */
    public void backward(Tensor output, float[] dLossDOutput) {
        Node out = node(output);
        if (out == null) throw new IllegalArgumentException("the output does not depend on any parameter");
        accumulate(output, dLossDOutput);
        backwardDone = true;
        for (int i = order.size() - 1; i >= 0; i--) {
            Node n = order.get(i);
            if (n.backward != null) n.backward.run();
        }
        // intermediate gradients are consumed: clear them so a second backward starts clean
        for (Node n : order) n.grad = null;
    }

    /** Runs backward for several outputs at once (their gradients summed), in one reverse sweep. */
    public void backward(List<Tensor> outputs, List<float[]> grads) {
        for (int i = 0; i < outputs.size(); i++) {
            if (node(outputs.get(i)) == null) throw new IllegalArgumentException("output " + i + " does not depend on any parameter");
            accumulate(outputs.get(i), grads.get(i));
        }
        backwardDone = true;
        for (int i = order.size() - 1; i >= 0; i--) {
            Node n = order.get(i);
            if (n.backward != null) n.backward.run();
        }
        for (Node n : order) n.grad = null;
    }

    /** The gradient of a parameter after {@link #backward}, shaped like it (zeros if the loss does not depend on it). */
    public float[] grad(Tensor param) {
        Node n = node(param);
        if (n == null) throw new IllegalArgumentException("not a parameter of this tape");
        if (!backwardDone) throw new IllegalStateException("backward has not run");
        return n.grad == null ? new float[n.numel] : n.grad;
    }

    /** Frees every tensor the tape computed. */
    @Override
    public void close() {
        for (Tensor t : owned) t.close();
        owned.clear();
        nodes.clear();
        order.clear();
    }
}
