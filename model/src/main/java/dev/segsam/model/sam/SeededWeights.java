package dev.segsam.model.sam;

import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorSource;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Deterministic random SAM weights, generated identically by {@code tools/reference/sam_reference.py}
 * ({@code seeded_weights}), so parity tests need no committed weights: each tensor is filled from SplitMix64 seeded
 * by {@code FNV-1a64(name) XOR seed}, value {@code (2u − 1)·scale + offset} with {@code u} a 24-bit uniform, in
 * float32. Scales: 1/√fan_in for matrices and kernels; 0.5 for pos_embed and rel-pos tables (random, not SAM's
 * zeros, so bugs there show); 1 for token and point embeddings and the Fourier matrix; norms' weights 1 ± 0.2 and
 * biases ± 0.1.
 */
public final class SeededWeights {
    private SeededWeights() {}

    private static final long GAMMA = 0x9E3779B97F4A7C15L;

    /** All of {@code config}'s tensors as a {@link TensorSource}, generated on construction. */
    public static TensorSource generate(SamConfig config, long seed) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (Map.Entry<String, int[]> e : config.parameterShapes().entrySet()) m.put(e.getKey(), tensor(e.getKey(), e.getValue(), seed));
        return of(m);
    }

    /** A map as a {@link TensorSource} without metadata. */
    public static TensorSource of(Map<String, Tensor> m) {
        return TensorSource.of(m, Map.of());
    }

    /** One tensor, exactly as the Python reference makes it. */
    public static Tensor tensor(String name, int[] shape, long seed) {
        int n = Math.toIntExact(dev.segsam.tensor.Shapes.numel(shape));
        float[] scaleOffset = scale(name, shape);
        float scale = scaleOffset[0], offset = scaleOffset[1];
        float[] v = uniform01(fnv1a64(name) ^ seed, n);
        for (int i = 0; i < n; i++) {
            float x = (2f * v[i] - 1f) * scale;
            v[i] = offset != 0f ? x + offset : x;
        }
        return Tensor.of(v, shape);
    }

    /** {@code n} floats in [0, 1): the top 24 bits of SplitMix64 outputs for states {@code seed + i·γ}, i = 1..n. */
    public static float[] uniform01(long seed, int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            long z = seed + (i + 1L) * GAMMA;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            z = z ^ (z >>> 31);
            out[i] = (float) (z >>> 40) * 0x1p-24f;
        }
        return out;
    }

    static long fnv1a64(String s) {
        long h = 0xCBF29CE484222325L;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) h = (h ^ (b & 0xFF)) * 0x100000001B3L;
        return h;
    }

    private static float[] scale(String name, int[] shape) {
        if (name.endsWith("pos_embed") || name.endsWith("rel_pos_h") || name.endsWith("rel_pos_w")) return new float[] {0.5f, 0f};
        if (name.contains("positional_encoding_gaussian_matrix") || name.matches(".*point_embeddings\\.[0-3]\\.weight")
                || name.endsWith("not_a_point_embed.weight") || name.endsWith("no_mask_embed.weight")
                || name.endsWith("iou_token.weight") || name.endsWith("mask_tokens.weight")) {
            return new float[] {1f, 0f};
        }
        if (shape.length == 1) return name.endsWith(".weight") ? new float[] {0.2f, 1f} : new float[] {0.1f, 0f};
        long fanIn = 1;
        for (int i = 1; i < shape.length; i++) fanIn *= shape[i];
        return new float[] {(float) (1.0 / Math.sqrt(fanIn)), 0f};
    }
}
