package dev.segsam.model.train;

import dev.segsam.model.sam.SamConfig;

/**
 * Model sizes for training from scratch on a CPU (no pretrained SAM encoder is reachable from here). {@code small256}:
 * 256×256 input, 8×8 patches (a 32×32 embedding grid, 128×128 low-res masks), a 4-block ViT of width 96 (3 heads of
 * 32; blocks 1 and 3 global, the others 8×8 windows), MLP 384; C = 64 for the prompt encoder and decoders (MLP 256,
 * 8 heads, cross-attention at 32), SAM's structure otherwise. About 0.8 M parameters (3.3 MB in float32) before the
 * SEG-SAM parts. {@code medium256}: the same frame and decoders with a 6-block ViT of width 128 (4 heads of 32;
 * blocks 2 and 5 global), MLP 512 — about 1.7 M parameters, about twice the encoder cost per image.
 */
public final class Architectures {
    private Architectures() {}

    public static SamConfig small256() {
        return new SamConfig(256, 8, 96, 4, 3, new int[] {1, 3}, 8, 384, 64, 256, 8, 2, 64, 16, 3);
    }

    public static SamConfig medium256() {
        return new SamConfig(256, 8, 128, 6, 4, new int[] {2, 5}, 8, 512, 64, 256, 8, 2, 64, 16, 3);
    }

    /**
     * {@code fine256}: {@code small256}'s ViT (4 blocks × 96, 3 heads, blocks 1 and 3 global) on 4×4 patches, so the
     * embedding grid is 64×64 (one token covers 4×4 input pixels) and the low-res masks 256×256; windows of 16×16
     * tokens (the same image extent as small256's 8×8). Four times the tokens of small256.
     */
    public static SamConfig fine256() {
        return new SamConfig(256, 4, 96, 4, 3, new int[] {1, 3}, 16, 384, 64, 256, 8, 2, 64, 16, 3);
    }

    public static SamConfig byName(String name) {
        return switch (name) {
            case "small256" -> small256();
            case "medium256" -> medium256();
            case "fine256" -> fine256();
            case "vit_b" -> SamConfig.vitB();
            default -> throw new IllegalArgumentException("unknown architecture '" + name + "': expected small256, medium256, fine256 or vit_b");
        };
    }
}
