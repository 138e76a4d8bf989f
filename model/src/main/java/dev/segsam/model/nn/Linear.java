package dev.segsam.model.nn;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Tensor;

/** {@code nn.Linear(in → out)}: {@code y = x·Wᵀ + b}, {@code W [out, in]}, {@code b [out]} (or no bias). */
public record Linear(Tensor weight, Tensor bias) {
    /** Loads {@code <name>.weight} (and {@code <name>.bias} when {@code hasBias}). */
    public static Linear load(Params p, String name, int in, int out, boolean hasBias) {
        return new Linear(p.get(name + ".weight", out, in), hasBias ? p.get(name + ".bias", out) : null);
    }

    public static Linear load(Params p, String name, int in, int out) {
        return load(p, name, in, out, true);
    }

    public Tensor forward(Backend b, Tensor x) {
        return b.linear(x, weight, bias);
    }

    public int in() {
        return weight.size(1);
    }

    public int out() {
        return weight.size(0);
    }
}
