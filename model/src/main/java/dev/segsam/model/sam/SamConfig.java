package dev.segsam.model.sam;

import dev.segsam.tensor.TensorSource;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * SAM's architecture sizes (docs/design/sam.md §2, §12). The official models are {@link #vitB()}, {@link #vitL()} and
 * {@link #vitH()}; {@link #infer} reads them off a checkpoint's tensor shapes, so any size (e.g. small test models,
 * SAM-Med2D's 256 input) loads without configuration.
 *
 * @param imgSize          input side S (1024); the embedding grid is {@code S / patch}
 * @param patch            patch size (16)
 * @param embedDim         ViT width D (768 / 1024 / 1280)
 * @param depth            number of ViT blocks (12 / 24 / 32)
 * @param heads            ViT heads (12 / 16 / 16; head dim 64 / 64 / 80)
 * @param globalBlocks     indexes of the blocks with global attention; the others use windows
 * @param window           window side (14)
 * @param mlpHidden        ViT MLP hidden size (4·D)
 * @param outChans         neck output channels = prompt embedding dim = decoder transformer dim C (256)
 * @param decoderMlp       two-way transformer MLP hidden size (2048)
 * @param decoderHeads     two-way transformer heads (8; not visible in the shapes)
 * @param attnDownsample   cross-attention downsample rate (2 → internal dim C/2)
 * @param iouHidden        IoU head hidden size (256)
 * @param maskInChans      mask-downscaling channels (16)
 * @param numMultimask     multimask outputs (3; plus the single-mask token)
 */
public record SamConfig(int imgSize, int patch, int embedDim, int depth, int heads, int[] globalBlocks, int window,
                        int mlpHidden, int outChans, int decoderMlp, int decoderHeads, int attnDownsample, int iouHidden,
                        int maskInChans, int numMultimask) {

    public static SamConfig vitB() {
        return new SamConfig(1024, 16, 768, 12, 12, new int[] {2, 5, 8, 11}, 14, 3072, 256, 2048, 8, 2, 256, 16, 3);
    }

    public static SamConfig vitL() {
        return new SamConfig(1024, 16, 1024, 24, 16, new int[] {5, 11, 17, 23}, 14, 4096, 256, 2048, 8, 2, 256, 16, 3);
    }

    public static SamConfig vitH() {
        return new SamConfig(1024, 16, 1280, 32, 16, new int[] {7, 15, 23, 31}, 14, 5120, 256, 2048, 8, 2, 256, 16, 3);
    }

    /** Embedding grid side ({@code imgSize / patch}, 64). */
    public int grid() {
        return imgSize / patch;
    }

    /** ViT head dim (64, or 80 for ViT-H). */
    public int headDim() {
        return embedDim / heads;
    }

    /** Low-resolution mask side (4 × grid = 256). */
    public int lowResSize() {
        return 4 * grid();
    }

    /** Number of mask tokens (multimask outputs + 1). */
    public int maskTokens() {
        return numMultimask + 1;
    }

    public boolean isGlobal(int block) {
        for (int g : globalBlocks) if (g == block) return true;
        return false;
    }

    /** Short name for logs: vit_b, vit_l, vit_h or custom. */
    public String name() {
        if (equals(vitB())) return "vit_b";
        if (equals(vitL())) return "vit_l";
        if (equals(vitH())) return "vit_h";
        return "custom(D=" + embedDim + ", depth=" + depth + ", S=" + imgSize + ")";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SamConfig c && imgSize == c.imgSize && patch == c.patch && embedDim == c.embedDim
                && depth == c.depth && heads == c.heads && Arrays.equals(globalBlocks, c.globalBlocks) && window == c.window
                && mlpHidden == c.mlpHidden && outChans == c.outChans && decoderMlp == c.decoderMlp
                && decoderHeads == c.decoderHeads && attnDownsample == c.attnDownsample && iouHidden == c.iouHidden
                && maskInChans == c.maskInChans && numMultimask == c.numMultimask;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(new int[] {imgSize, patch, embedDim, depth, heads, window, outChans}) * 31 + Arrays.hashCode(globalBlocks);
    }

    @Override
    public String toString() {
        return name();
    }

    /**
     * Reads the architecture off a checkpoint's shapes: D and the patch from {@code patch_embed.proj.weight}, the grid
     * from {@code pos_embed}, the head dim from {@code rel_pos_h} (so heads = D / head dim), global blocks as those whose
     * rel-pos table has {@code 2·grid − 1} rows (the others give the window), decoder sizes from its linears. The
     * decoder head count is not visible in the shapes and is SAM's 8.
     *
     * @throws IllegalArgumentException when the source does not look like a SAM checkpoint
     */
    public static SamConfig infer(TensorSource src) {
        String pe = "image_encoder.patch_embed.proj.weight", pos = "image_encoder.pos_embed";
        if (!src.contains(pe) || !src.contains(pos) || !src.contains("mask_decoder.iou_token.weight")) {
            throw new IllegalArgumentException("not a SAM checkpoint: no " + (src.contains(pe) ? (src.contains(pos) ? "mask_decoder.iou_token.weight" : pos) : pe));
        }
        int[] w = shape(src, pe);
        int[] p = shape(src, pos);
        if (w.length != 4 || p.length != 4 || w[1] != 3 || w[2] != w[3] || p[1] != p[2] || p[3] != w[0]) {
            throw new IllegalArgumentException("not a SAM checkpoint: " + pe + " " + Arrays.toString(w) + " and " + pos + " " + Arrays.toString(p) + " do not fit");
        }
        int D = w[0], patch = w[2], grid = p[1];
        int depth = 0;
        while (src.contains("image_encoder.blocks." + depth + ".norm1.weight")) depth++;
        if (depth == 0) throw new IllegalArgumentException("not a SAM checkpoint: no image_encoder.blocks.0");
        int headDim = shape(src, "image_encoder.blocks.0.attn.rel_pos_h")[1];
        if (D % headDim != 0) throw new IllegalArgumentException("head dim " + headDim + " does not divide embed dim " + D);
        List<Integer> global = new ArrayList<>();
        int window = 0;
        for (int i = 0; i < depth; i++) {
            int L = shape(src, "image_encoder.blocks." + i + ".attn.rel_pos_h")[0];
            if (L == 2 * grid - 1) {
                global.add(i);
            } else {
                int ws = (L + 1) / 2;
                if (window != 0 && ws != window) throw new IllegalArgumentException("blocks use different window sizes: " + window + " and " + ws);
                window = ws;
            }
        }
        if (window == 0) window = grid; // all global
        int mlp = shape(src, "image_encoder.blocks.0.mlp.lin1.weight")[0];
        int C = shape(src, "image_encoder.neck.0.weight")[0];
        int decMlp = shape(src, "mask_decoder.transformer.layers.0.mlp.lin1.weight")[0];
        int inner = shape(src, "mask_decoder.transformer.layers.0.cross_attn_token_to_image.q_proj.weight")[0];
        int iouHidden = shape(src, "mask_decoder.iou_prediction_head.layers.0.weight")[0];
        int maskIn = shape(src, "prompt_encoder.mask_downscaling.3.weight")[0];
        int tokens = shape(src, "mask_decoder.mask_tokens.weight")[0];
        return new SamConfig(grid * patch, patch, D, depth, D / headDim, global.stream().mapToInt(Integer::intValue).toArray(),
                window, mlp, C, decMlp, 8, C / inner, iouHidden, maskIn, tokens - 1);
    }

    private static int[] shape(TensorSource src, String name) {
        if (!src.contains(name)) throw new IllegalArgumentException("not a SAM checkpoint: missing tensor \"" + name + "\"");
        return src.shape(name);
    }

    /**
     * Every tensor of the checkpoint with its shape, in PyTorch {@code state_dict()} order (docs/design/sam.md §12, Appendix A):
     * 314 tensors and 93,735,472 values for ViT-B.
     */
    public Map<String, int[]> parameterShapes() {
        Map<String, int[]> m = new LinkedHashMap<>();
        int D = embedDim, g = grid(), C = outChans, hd = headDim(), ci = C / attnDownsample, m4 = maskInChans / 4;
        String e = "image_encoder.";
        m.put(e + "pos_embed", new int[] {1, g, g, D});
        m.put(e + "patch_embed.proj.weight", new int[] {D, 3, patch, patch});
        m.put(e + "patch_embed.proj.bias", new int[] {D});
        for (int i = 0; i < depth; i++) {
            String b = e + "blocks." + i + ".";
            int L = isGlobal(i) ? 2 * g - 1 : 2 * window - 1;
            m.put(b + "norm1.weight", new int[] {D});
            m.put(b + "norm1.bias", new int[] {D});
            m.put(b + "attn.rel_pos_h", new int[] {L, hd});
            m.put(b + "attn.rel_pos_w", new int[] {L, hd});
            m.put(b + "attn.qkv.weight", new int[] {3 * D, D});
            m.put(b + "attn.qkv.bias", new int[] {3 * D});
            m.put(b + "attn.proj.weight", new int[] {D, D});
            m.put(b + "attn.proj.bias", new int[] {D});
            m.put(b + "norm2.weight", new int[] {D});
            m.put(b + "norm2.bias", new int[] {D});
            m.put(b + "mlp.lin1.weight", new int[] {mlpHidden, D});
            m.put(b + "mlp.lin1.bias", new int[] {mlpHidden});
            m.put(b + "mlp.lin2.weight", new int[] {D, mlpHidden});
            m.put(b + "mlp.lin2.bias", new int[] {D});
        }
        m.put(e + "neck.0.weight", new int[] {C, D, 1, 1});
        m.put(e + "neck.1.weight", new int[] {C});
        m.put(e + "neck.1.bias", new int[] {C});
        m.put(e + "neck.2.weight", new int[] {C, C, 3, 3});
        m.put(e + "neck.3.weight", new int[] {C});
        m.put(e + "neck.3.bias", new int[] {C});
        String p = "prompt_encoder.";
        m.put(p + "pe_layer.positional_encoding_gaussian_matrix", new int[] {2, C / 2});
        for (int i = 0; i < 4; i++) m.put(p + "point_embeddings." + i + ".weight", new int[] {1, C});
        m.put(p + "not_a_point_embed.weight", new int[] {1, C});
        m.put(p + "mask_downscaling.0.weight", new int[] {m4, 1, 2, 2});
        m.put(p + "mask_downscaling.0.bias", new int[] {m4});
        m.put(p + "mask_downscaling.1.weight", new int[] {m4});
        m.put(p + "mask_downscaling.1.bias", new int[] {m4});
        m.put(p + "mask_downscaling.3.weight", new int[] {maskInChans, m4, 2, 2});
        m.put(p + "mask_downscaling.3.bias", new int[] {maskInChans});
        m.put(p + "mask_downscaling.4.weight", new int[] {maskInChans});
        m.put(p + "mask_downscaling.4.bias", new int[] {maskInChans});
        m.put(p + "mask_downscaling.6.weight", new int[] {C, maskInChans, 1, 1});
        m.put(p + "mask_downscaling.6.bias", new int[] {C});
        m.put(p + "no_mask_embed.weight", new int[] {1, C});
        String t = "mask_decoder.transformer.";
        for (int i = 0; i < 2; i++) {
            String l = t + "layers." + i + ".";
            attention(m, l + "self_attn.", C, C);
            norm(m, l + "norm1.", C);
            attention(m, l + "cross_attn_token_to_image.", C, ci);
            norm(m, l + "norm2.", C);
            m.put(l + "mlp.lin1.weight", new int[] {decoderMlp, C});
            m.put(l + "mlp.lin1.bias", new int[] {decoderMlp});
            m.put(l + "mlp.lin2.weight", new int[] {C, decoderMlp});
            m.put(l + "mlp.lin2.bias", new int[] {C});
            norm(m, l + "norm3.", C);
            norm(m, l + "norm4.", C);
            attention(m, l + "cross_attn_image_to_token.", C, ci);
        }
        attention(m, t + "final_attn_token_to_image.", C, ci);
        norm(m, t + "norm_final_attn.", C);
        String d = "mask_decoder.";
        m.put(d + "iou_token.weight", new int[] {1, C});
        m.put(d + "mask_tokens.weight", new int[] {maskTokens(), C});
        m.put(d + "output_upscaling.0.weight", new int[] {C, C / 4, 2, 2});
        m.put(d + "output_upscaling.0.bias", new int[] {C / 4});
        m.put(d + "output_upscaling.1.weight", new int[] {C / 4});
        m.put(d + "output_upscaling.1.bias", new int[] {C / 4});
        m.put(d + "output_upscaling.3.weight", new int[] {C / 4, C / 8, 2, 2});
        m.put(d + "output_upscaling.3.bias", new int[] {C / 8});
        for (int i = 0; i < maskTokens(); i++) mlp(m, d + "output_hypernetworks_mlps." + i + ".layers.", C, C, C, C / 8);
        mlp(m, d + "iou_prediction_head.layers.", C, iouHidden, iouHidden, maskTokens());
        return m;
    }

    private static void attention(Map<String, int[]> m, String pre, int C, int inner) {
        for (String s : new String[] {"q", "k", "v"}) {
            m.put(pre + s + "_proj.weight", new int[] {inner, C});
            m.put(pre + s + "_proj.bias", new int[] {inner});
        }
        m.put(pre + "out_proj.weight", new int[] {C, inner});
        m.put(pre + "out_proj.bias", new int[] {C});
    }

    private static void norm(Map<String, int[]> m, String pre, int C) {
        m.put(pre + "weight", new int[] {C});
        m.put(pre + "bias", new int[] {C});
    }

    private static void mlp(Map<String, int[]> m, String pre, int... dims) {
        for (int i = 0; i + 1 < dims.length; i++) {
            m.put(pre + i + ".weight", new int[] {dims[i + 1], dims[i]});
            m.put(pre + i + ".bias", new int[] {dims[i + 1]});
        }
    }
}
