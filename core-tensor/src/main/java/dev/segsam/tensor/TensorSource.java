package dev.segsam.tensor;

import java.util.Map;
import java.util.Set;

/**
 * Named tensors, e.g. a checkpoint: what model code reads its weights from. The {@code io} module implements it for
 * safetensors files (zero-copy, memory-mapped); tests implement it with a map.
 */
public interface TensorSource {
    /** All tensor names. */
    Set<String> names();

    /** Whether a tensor of that name exists. */
    default boolean contains(String name) {
        return names().contains(name);
    }

    /**
     * The tensor as float32 (converted if stored otherwise).
     *
     * @throws IllegalArgumentException naming the tensor when it is missing or not numeric
     */
    Tensor get(String name);

    /** String metadata stored with the tensors (safetensors {@code __metadata__}); empty by default. */
    default Map<String, String> metadata() {
        return Map.of();
    }

    /** Tensors in a map (insertion order), with {@code metadata}; the map is used as is, not copied. */
    static TensorSource of(Map<String, Tensor> tensors, Map<String, String> metadata) {
        return new TensorSource() {
            @Override
            public Set<String> names() {
                return tensors.keySet();
            }

            @Override
            public Tensor get(String name) {
                Tensor t = tensors.get(name);
                if (t == null) throw new IllegalArgumentException("missing tensor \"" + name + "\"");
                return t;
            }

            @Override
            public Map<String, String> metadata() {
                return metadata;
            }
        };
    }

    /** The shape of a tensor without reading (or converting) its values; override where that is cheaper. */
    default int[] shape(String name) {
        return get(name).shape();
    }
}
