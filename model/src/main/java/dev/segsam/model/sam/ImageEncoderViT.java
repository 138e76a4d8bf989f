package dev.segsam.model.sam;

import dev.segsam.model.nn.LayerNorm;
import dev.segsam.model.nn.Params;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorScope;
import java.util.function.IntConsumer;

/**
 * SAM's image encoder (docs/design/sam.md §5): the frozen ViT that turns the preprocessed image into the image embedding f_v.
 * <pre>
 * x = Conv2d(3 → D, k = s = 16)(img) → NHWC [B, 64, 64, D] + pos_embed
 * x = blocks(x)                         (windowed 14×14 or global attention)
 * f_v = LN2d(Conv3×3(LN2d(Conv1×1(x as NCHW))))      [B, 256, 64, 64], both convs without bias, LN2d eps 1e-6
 * </pre>
 */
public final class ImageEncoderViT {
    private final SamConfig c;
    private final Tensor patchW, patchB, posEmbed, neck0, neck2;
    private final LayerNorm neck1, neck3;
    private final EncoderBlock[] blocks;

    public ImageEncoderViT(Params p, SamConfig c) {
        this.c = c;
        int D = c.embedDim(), g = c.grid(), C = c.outChans();
        this.patchW = p.get("patch_embed.proj.weight", D, 3, c.patch(), c.patch());
        this.patchB = p.get("patch_embed.proj.bias", D);
        this.posEmbed = p.get("pos_embed", 1, g, g, D);
        this.blocks = new EncoderBlock[c.depth()];
        for (int i = 0; i < blocks.length; i++) blocks[i] = new EncoderBlock(p.at("blocks." + i + "."), c, i);
        this.neck0 = p.get("neck.0.weight", C, D, 1, 1);
        this.neck1 = LayerNorm.load(p, "neck.1", C, 1e-6f);
        this.neck2 = p.get("neck.2.weight", C, C, 3, 3);
        this.neck3 = LayerNorm.load(p, "neck.3", C, 1e-6f);
    }

    /** Patch embedding plus absolute position: {@code img [B, 3, S, S] → [B, g, g, D]} (the input of block 0). */
    public Tensor embed(Backend b, Tensor img) {
        try (TensorScope s = TensorScope.open()) {
            Tensor x = b.conv2d(img, patchW, patchB, c.patch(), c.patch(), 0, 0);       // [B, D, g, g]
            return s.keep(b.add(b.permute(x, 0, 2, 3, 1), posEmbed));
        }
    }

    /** Block {@code i}: {@code [B, g, g, D] → [B, g, g, D]}. */
    public Tensor block(Backend b, int i, Tensor x) {
        return blocks[i].forward(b, x);
    }

    /** The neck: {@code [B, g, g, D] → f_v [B, C, g, g]}. */
    public Tensor neck(Backend b, Tensor x) {
        try (TensorScope s = TensorScope.open()) {
            Tensor a = neck1.forward2d(b, b.conv2d(b.permute(x, 0, 3, 1, 2), neck0, null, 1, 1, 0, 0));
            return s.keep(neck3.forward2d(b, b.conv2d(a, neck2, null, 1, 1, 1, 1)));
        }
    }

    /** The whole encoder; {@code progress} (or null) is told after each block, with the block index. */
    public Tensor forward(Backend b, Tensor img, IntConsumer progress) {
        try (TensorScope s = TensorScope.open()) {
            Tensor x = embed(b, img);
            for (int i = 0; i < blocks.length; i++) {
                Tensor y = blocks[i].forward(b, x);
                x.close(); // the previous activation goes at once, not with the scope (there are up to 32)
                x = y;
                if (progress != null) progress.accept(i);
            }
            return s.keep(neck(b, x));
        }
    }

    public int depth() {
        return blocks.length;
    }
}
