package dev.segsam.model.segsam;

import dev.segsam.model.sam.SamConfig;
import dev.segsam.model.sam.SeededWeights;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorSource;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Fresh SEG-SAM parts for a SAM or MedSAM checkpoint (the paper's "pluggability"; {@code segsam init-segsam}).
 * Initialisation (ours): linear weights and biases uniform in ±1/√fan_in (PyTorch's default for {@code nn.Linear}),
 * tokens with unit variance, norms at weight 1 and bias 0, MLP_fuse's last layer at zero — so the binary outputs of the
 * result equal the source SAM's exactly — and the semantic decoder's two-way transformer and upscaling copied from
 * SAM's mask decoder (a warm start; they are trained afterwards). Deterministic for a given seed.
 */
public final class SegSamInit {
    private SegSamInit() {}

    /** A complete model: every tensor of {@code sam} plus the new ones, and the metadata to store with them. */
    public record Model(Map<String, Tensor> tensors, Map<String, String> metadata) {
        public TensorSource source() {
            return TensorSource.of(tensors, metadata);
        }
    }

    /**
     * @param sam            a SAM checkpoint (its config is inferred)
     * @param classes        the K classes
     * @param textEmbeddings f_t {@code [K][D_t]}: from {@link HashedTextEmbedder} or an external text encoder
     * @param textEncoder    {@code "hashed-v1"} or {@code "external"}
     */
    public static Model create(TensorSource sam, List<ClassSpec> classes, float[][] textEmbeddings, String textEncoder,
                               boolean enhanceBinary, String convention, long seed) {
        SamConfig s = SamConfig.infer(sam);
        if (textEmbeddings.length != classes.size()) {
            throw new IllegalArgumentException(classes.size() + " classes but " + textEmbeddings.length + " text embeddings");
        }
        int dt = textEmbeddings[0].length;
        SegSamConfig cfg = new SegSamConfig(classes, dt, textEncoder, enhanceBinary, convention);
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (String n : sam.names()) {
            if (n.startsWith("t2vse.") || n.startsWith("semantic_decoder.")) continue; // re-initialised below
            out.put(n, sam.get(n));
        }
        for (Map.Entry<String, int[]> e : cfg.parameterShapes(s).entrySet()) {
            String name = e.getKey();
            int[] shape = e.getValue();
            Tensor t;
            if (name.equals("t2vse.text_embeddings")) {
                float[] flat = new float[classes.size() * dt];
                for (int k = 0; k < classes.size(); k++) {
                    if (textEmbeddings[k].length != dt) throw new IllegalArgumentException("text embeddings of different widths");
                    System.arraycopy(textEmbeddings[k], 0, flat, k * dt, dt);
                }
                t = Tensor.of(flat, shape);
            } else if (name.startsWith("semantic_decoder.transformer.") || name.startsWith("semantic_decoder.output_upscaling.")) {
                t = sam.get("mask_decoder." + name.substring("semantic_decoder.".length())).copy();
            } else if (name.startsWith("t2vse.fuse.layers.1.")) {
                t = Tensor.zeros(shape);
            } else if (name.endsWith("_token.weight") || name.endsWith("_tokens.weight")) {
                t = uniform(name, shape, seed, (float) Math.sqrt(3.0));
            } else if (name.matches(".*norm\\d\\.weight")) {
                t = Tensor.zeros(shape).fill(1f);
            } else if (name.matches(".*norm\\d\\.bias")) {
                t = Tensor.zeros(shape);
            } else {
                int fanIn = name.endsWith(".bias") ? cfg.parameterShapes(s).get(name.replace(".bias", ".weight"))[1] : shape[1];
                t = uniform(name, shape, seed, (float) (1.0 / Math.sqrt(fanIn)));
            }
            out.put(name, t);
        }
        Map<String, String> meta = new LinkedHashMap<>(sam.metadata());
        meta.putAll(cfg.toMetadata());
        return new Model(out, meta);
    }

    /** Embeds each class's description with the built-in hashed embedder. */
    public static float[][] hashedEmbeddings(List<ClassSpec> classes, int dim) {
        HashedTextEmbedder e = new HashedTextEmbedder(dim);
        float[][] out = new float[classes.size()][];
        for (int i = 0; i < out.length; i++) out[i] = e.embed(classes.get(i).name() + ". " + classes.get(i).description());
        return out;
    }

    private static Tensor uniform(String name, int[] shape, long seed, float bound) {
        float[] u = SeededWeights.uniform01(seed ^ name.hashCode() * 0x9E3779B97F4A7C15L, Math.toIntExact(dev.segsam.tensor.Shapes.numel(shape)));
        for (int i = 0; i < u.length; i++) u[i] = (2f * u[i] - 1f) * bound;
        return Tensor.of(u, shape);
    }
}
