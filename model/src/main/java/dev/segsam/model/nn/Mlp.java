package dev.segsam.model.nn;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorScope;

/**
 * SAM's {@code MLP} (mask decoder hypernetworks and IoU head): Linear layers {@code layers.0 … layers.{n−1}} with ReLU
 * between them and nothing after the last.
 */
public record Mlp(Linear[] layers) {
    /** Loads {@code <name>.layers.i} for dims {@code dims[0] → dims[1] → … → dims[n]}. */
    public static Mlp load(Params p, String name, int... dims) {
        Linear[] l = new Linear[dims.length - 1];
        for (int i = 0; i < l.length; i++) l[i] = Linear.load(p, name + ".layers." + i, dims[i], dims[i + 1]);
        return new Mlp(l);
    }

    public Tensor forward(Backend b, Tensor x) {
        try (TensorScope s = TensorScope.open()) {
            Tensor h = x;
            for (int i = 0; i < layers.length; i++) {
                h = layers[i].forward(b, h);
                if (i < layers.length - 1) h = b.relu(h);
            }
            return s.keep(h);
        }
    }
}
