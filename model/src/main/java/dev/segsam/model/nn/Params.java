package dev.segsam.model.nn;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Shapes;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorScope;
import dev.segsam.tensor.TensorSource;

/**
 * Reads a model's weights by their official state-dict names under a prefix (e.g. {@code image_encoder.blocks.3.}),
 * checks each shape, and puts them on the backend's device. The model owns its weights for its whole life: they are
 * {@linkplain TensorScope#detach detached} from any {@link TensorScope} open while it loads.
 */
public record Params(TensorSource source, Backend backend, String prefix) {

    /** The tensor {@code prefix + name}, which must have exactly {@code shape}. */
    public Tensor get(String name, int... shape) {
        String full = prefix + name;
        if (!source.contains(full)) throw new IllegalArgumentException("missing tensor \"" + full + "\"");
        Tensor t = source.get(full);
        if (!t.hasShape(shape)) {
            throw new IllegalArgumentException("tensor \"" + full + "\" has shape " + Shapes.str(t.shape()) + ", expected " + Shapes.str(shape));
        }
        return TensorScope.detach(backend.upload(t)); // on the CPU, t itself
    }

    /** Parameters under {@code prefix + sub}. */
    public Params at(String sub) {
        return new Params(source, backend, prefix + sub);
    }
}
