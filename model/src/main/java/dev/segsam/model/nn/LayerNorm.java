package dev.segsam.model.nn;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Tensor;

/**
 * {@code nn.LayerNorm(dim, eps)} over the last dimension, or SAM's {@code LayerNorm2d} over the channels of an NCHW
 * tensor ({@link #forward2d}). SAM uses eps 1e-6 in the image encoder and every LayerNorm2d, PyTorch's default 1e-5
 * in the two-way transformer.
 */
public record LayerNorm(Tensor weight, Tensor bias, float eps) {
    public static LayerNorm load(Params p, String name, int dim, float eps) {
        return new LayerNorm(p.get(name + ".weight", dim), p.get(name + ".bias", dim), eps);
    }

    /** Over the last dimension. */
    public Tensor forward(Backend b, Tensor x) {
        return b.layerNorm(x, weight, bias, eps);
    }

    /** Over dimension 1 of {@code [B, C, H, W]}. */
    public Tensor forward2d(Backend b, Tensor x) {
        return b.layerNorm2d(x, weight, bias, eps);
    }
}
