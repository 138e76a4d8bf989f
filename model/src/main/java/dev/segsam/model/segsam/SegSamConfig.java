package dev.segsam.model.segsam;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.segsam.model.sam.SamConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The SEG-SAM parts' sizes and switches (docs/design/segsam.md §2, §6): everything the paper leaves open is a field here. The
 * SAM part's sizes come from {@link SamConfig}; this record adds
 *
 * @param classes        the K classes (names and descriptions); channel k of M̂_s and entry k−1 of Ĉ_s is class k
 * @param textDim        D_t, the width of the text embeddings f_t
 * @param textEncoder    how f_t was made: {@code "hashed-v1"} (the built-in {@link HashedTextEmbedder}) or
 *                       {@code "external"} (precomputed by the user)
 * @param enhanceBinary  whether Dec_sag gets the enhanced prompt tokens t'_p (default) or the plain t_p
 * @param convention     image preprocessing the model was trained with: {@code "sam"} or {@code "medsam"}
 * @param useT2vse       whether T2VSE enhances the prompt tokens (off: t'_p = t_p; the ablation without T2VSE)
 * @param useCoTokens    whether the semantic-aware decoder has CO-tokens, Ĉ_s and the prior fusion (off: SO-token only)
 */
public record SegSamConfig(List<ClassSpec> classes, int textDim, String textEncoder, boolean enhanceBinary, String convention,
                           boolean useT2vse, boolean useCoTokens) {

    /** All parts on (the full model of the paper). */
    public SegSamConfig(List<ClassSpec> classes, int textDim, String textEncoder, boolean enhanceBinary, String convention) {
        this(classes, textDim, textEncoder, enhanceBinary, convention, true, true);
    }
    public static final String META_CONFIG = "segsam.config";
    public static final String META_CLASSES = "segsam.classes";
    private static final ObjectMapper JSON = new ObjectMapper();

    public SegSamConfig {
        classes = List.copyOf(classes);
        if (classes.isEmpty()) throw new IllegalArgumentException("a SEG-SAM model needs at least one class");
        if (textDim <= 0) throw new IllegalArgumentException("text dim " + textDim);
        if (!convention.equals("sam") && !convention.equals("medsam")) {
            throw new IllegalArgumentException("convention must be sam or medsam, got " + convention);
        }
    }

    public int numClasses() {
        return classes.size();
    }

    /** Class names in channel order (channel 0, background, excluded). */
    public List<String> classNames() {
        return classes.stream().map(ClassSpec::name).toList();
    }

    /** The two metadata entries that carry this config in a weights file. */
    public Map<String, String> toMetadata() {
        ObjectNode c = JSON.createObjectNode();
        c.put("format", "segsam-v1");
        c.put("num_classes", numClasses());
        c.put("text_dim", textDim);
        c.put("text_encoder", textEncoder);
        c.put("enhance_binary", enhanceBinary);
        c.put("convention", convention);
        c.put("use_t2vse", useT2vse);
        c.put("use_co_tokens", useCoTokens);
        ArrayNode cl = JSON.createArrayNode();
        for (ClassSpec s : classes) cl.addObject().put("name", s.name()).put("description", s.description());
        Map<String, String> m = new LinkedHashMap<>();
        m.put(META_CONFIG, c.toString());
        m.put(META_CLASSES, cl.toString());
        return m;
    }

    /** Reads the config from a weights file's metadata; null when the file has no SEG-SAM parts. */
    public static SegSamConfig fromMetadata(Map<String, String> meta) {
        String c = meta.get(META_CONFIG), cl = meta.get(META_CLASSES);
        if (c == null && cl == null) return null;
        if (c == null || cl == null) {
            throw new IllegalArgumentException("SEG-SAM metadata is incomplete: " + (c == null ? META_CONFIG : META_CLASSES) + " is missing");
        }
        try {
            JsonNode cfg = JSON.readTree(c), classes = JSON.readTree(cl);
            List<ClassSpec> specs = new ArrayList<>();
            for (JsonNode n : classes) specs.add(new ClassSpec(n.get("name").asText(), n.path("description").asText(null)));
            SegSamConfig out = new SegSamConfig(specs, cfg.get("text_dim").asInt(), cfg.path("text_encoder").asText("external"),
                    cfg.path("enhance_binary").asBoolean(true), cfg.path("convention").asText("sam"),
                    cfg.path("use_t2vse").asBoolean(true), cfg.path("use_co_tokens").asBoolean(true));
            if (cfg.has("num_classes") && cfg.get("num_classes").asInt() != specs.size()) {
                throw new IllegalArgumentException("SEG-SAM metadata says " + cfg.get("num_classes").asInt() + " classes but lists " + specs.size());
            }
            return out;
        } catch (java.io.IOException | NullPointerException e) {
            throw new IllegalArgumentException("SEG-SAM metadata is not valid: " + e.getMessage());
        }
    }

    /** The same config with the ablation switches set. */
    public SegSamConfig withParts(boolean t2vse, boolean coTokens) {
        return new SegSamConfig(classes, textDim, textEncoder, enhanceBinary, convention, t2vse, coTokens);
    }

    /** Names and shapes of the SEG-SAM tensors ({@code t2vse.*}, {@code semantic_decoder.*}) for SAM sizes {@code s}. */
    public Map<String, int[]> parameterShapes(SamConfig s) {
        int C = s.outChans(), K = numClasses(), M = s.decoderMlp(), ci = C / s.attnDownsample();
        Map<String, int[]> m = new LinkedHashMap<>();
        String t = "t2vse.";
        m.put(t + "text_embeddings", new int[] {K, textDim});
        linear(m, t + "text_proj", textDim, C);
        m.put(t + "text_token.weight", new int[] {1, C});
        attention(m, t + "cross_attn.", C, ci);
        linear(m, t + "norm1", -1, C);
        linear(m, t + "mlp.lin1", C, M);
        linear(m, t + "mlp.lin2", M, C);
        linear(m, t + "norm2", -1, C);
        linear(m, t + "fuse.layers.0", 2 * C, C);
        linear(m, t + "fuse.layers.1", C, C);
        String d = "semantic_decoder.";
        m.put(d + "so_token.weight", new int[] {1, C});
        m.put(d + "co_tokens.weight", new int[] {K, C});
        // the two-way transformer and the upscaling have SAM's mask-decoder names and shapes under this prefix
        for (Map.Entry<String, int[]> e : s.parameterShapes().entrySet()) {
            String k = e.getKey();
            if (k.startsWith("mask_decoder.transformer.") || k.startsWith("mask_decoder.output_upscaling.")) {
                m.put(d + k.substring("mask_decoder.".length()), e.getValue());
            }
        }
        linear(m, d + "co_head.layers.0", C, C);
        linear(m, d + "co_head.layers.1", C, 1);
        linear(m, d + "prior_mlp.layers.0", K, C);
        linear(m, d + "prior_mlp.layers.1", C, C);
        linear(m, d + "so_hypernetwork.layers.0", C, C);
        linear(m, d + "so_hypernetwork.layers.1", C, C);
        linear(m, d + "so_hypernetwork.layers.2", C, (K + 1) * (C / 8));
        return m;
    }

    /** A linear layer's weight [out, in] and bias [out]; {@code in = −1} for a norm's weight and bias [out]. */
    private static void linear(Map<String, int[]> m, String name, int in, int out) {
        m.put(name + ".weight", in < 0 ? new int[] {out} : new int[] {out, in});
        m.put(name + ".bias", new int[] {out});
    }

    private static void attention(Map<String, int[]> m, String pre, int C, int inner) {
        for (String s : new String[] {"q", "k", "v"}) linear(m, pre + s + "_proj", C, inner);
        linear(m, pre + "out_proj", inner, C);
    }
}
