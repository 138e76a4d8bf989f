package dev.segsam.model.sam;

import dev.segsam.model.Prompt;
import dev.segsam.model.nn.LayerNorm;
import dev.segsam.model.nn.Params;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorScope;
import java.util.ArrayList;
import java.util.List;

/**
 * SAM's prompt encoder (docs/design/sam.md §6): points and boxes become sparse tokens t_p, an optional low-resolution mask becomes
 * the dense embedding; {@link #densePe} is the positional encoding of the image-embedding grid.
 * <pre>
 * pe(p) = [sin(2π·(2p − 1)·G), cos(2π·(2p − 1)·G)]      random Fourier features, G [2, C/2] from the checkpoint
 * point (x, y) in the S×S input frame → pe(((x, y) + 0.5)/S) + point_embeddings[label]   (label −1: not_a_point only)
 * without a box, a padding point (label −1) is appended
 * box (x0, y0, x1, y1) → two corner tokens, + point_embeddings[2] / [3]
 * mask [1, 1, 4g, 4g] → Conv(k2 s2) → LN2d → GELU → Conv(k2 s2) → LN2d → GELU → Conv1×1 → dense [1, C, g, g];
 * no mask → no_mask_embed broadcast over the grid
 * </pre>
 */
public final class PromptEncoder {
    private final SamConfig c;
    private final Tensor gaussian, notAPoint, noMask;
    private final Tensor[] pointEmbeddings = new Tensor[4];
    private final Tensor md0w, md0b, md3w, md3b, md6w, md6b;
    private final LayerNorm md1, md4;

    public PromptEncoder(Params p, SamConfig c) {
        this.c = c;
        int C = c.outChans(), m = c.maskInChans();
        this.gaussian = p.get("pe_layer.positional_encoding_gaussian_matrix", 2, C / 2);
        for (int i = 0; i < 4; i++) pointEmbeddings[i] = p.get("point_embeddings." + i + ".weight", 1, C);
        this.notAPoint = p.get("not_a_point_embed.weight", 1, C);
        this.md0w = p.get("mask_downscaling.0.weight", m / 4, 1, 2, 2);
        this.md0b = p.get("mask_downscaling.0.bias", m / 4);
        this.md1 = LayerNorm.load(p, "mask_downscaling.1", m / 4, 1e-6f);
        this.md3w = p.get("mask_downscaling.3.weight", m, m / 4, 2, 2);
        this.md3b = p.get("mask_downscaling.3.bias", m);
        this.md4 = LayerNorm.load(p, "mask_downscaling.4", m, 1e-6f);
        this.md6w = p.get("mask_downscaling.6.weight", C, m, 1, 1);
        this.md6b = p.get("mask_downscaling.6.bias", C);
        this.noMask = p.get("no_mask_embed.weight", 1, C);
    }

    /**
     * Positional encoding of the embedding grid, {@code [1, C, g, g]}: cell (row i, column j) is encoded at
     * {@code ((j + 0.5)/g, (i + 0.5)/g)}, ordered (x, y).
     */
    public Tensor densePe(Backend b) {
        int g = c.grid();
        float[] xy = new float[g * g * 2];
        for (int i = 0; i < g; i++) {
            for (int j = 0; j < g; j++) {
                xy[(i * g + j) * 2] = ((j + 1) - 0.5f) / g;
                xy[(i * g + j) * 2 + 1] = ((i + 1) - 0.5f) / g;
            }
        }
        try (TensorScope s = TensorScope.open()) {
            Tensor pe = b.fourierPositionEncoding(b.upload(Tensor.of(xy, g, g, 2)), gaussian); // [g, g, C]
            return s.keep(b.permute(pe, 2, 0, 1).reshape(1, c.outChans(), g, g));
        }
    }

    /** Sparse and dense prompt embeddings for one prompt. */
    public record Embeddings(Tensor sparse, Tensor dense) implements AutoCloseable {
        @Override
        public void close() {
            sparse.close();
            dense.close();
        }
    }

    /**
     * Sparse {@code [1, Nt, C]} and dense {@code [1, C, g, g]} embeddings of {@code p}, whose coordinates are in the S×S
     * model input frame (already mapped from the original image, {@link Prompt#mapped}); its mask, if any, is low-res
     * logits {@code [1, 1, 4g, 4g]}.
     */
    public Embeddings embed(Backend b, Prompt p) {
        try (TensorScope s = TensorScope.open()) {
            Tensor sparse = sparse(b, p);
            Tensor dense = p.mask() == null ? noMaskDense(b) : downscale(b, b.upload(p.mask()));
            return new Embeddings(s.keep(sparse), s.keep(dense));
        }
    }

    /** The sparse embedding t_p {@code [1, Nt, C]} of {@code p} alone (see {@link #embed}). */
    public Tensor sparse(Backend b, Prompt p) {
        int C = c.outChans(), S = c.imgSize();
        float[] box = p.box();
        try (TensorScope s = TensorScope.open()) {
            List<Tensor> parts = new ArrayList<>();
            if (p.pointCount() > 0) {
                boolean pad = box == null;
                int n = p.pointCount() + (pad ? 1 : 0);
                float[] xy = new float[n * 2];
                int[] lab = new int[n];
                for (int i = 0; i < p.pointCount(); i++) {
                    xy[2 * i] = (p.pointX(i) + 0.5f) / S;
                    xy[2 * i + 1] = (p.pointY(i) + 0.5f) / S;
                    lab[i] = p.label(i);
                }
                if (pad) lab[n - 1] = -1; // the padding point (0, 0): its encoding is discarded below
                parts.add(labelled(b, xy, lab, n));
            }
            if (box != null) {
                float[] xy = new float[4];
                for (int i = 0; i < 4; i++) xy[i] = (box[i] + 0.5f) / S;
                parts.add(labelled(b, xy, new int[] {2, 3}, 2));
            }
            return s.keep(parts.isEmpty() ? b.zeros(1, 0, C) : parts.size() == 1 ? parts.get(0) : b.concat(parts, 1));
        }
    }

    /**
     * Fourier encodings of {@code n} normalised points plus the embedding of each label (2, 3 = box corners); label −1
     * gives not_a_point alone. Written with backend ops only, so the point embeddings get gradients when training.
     */
    private Tensor labelled(Backend b, float[] xy, int[] lab, int n) {
        int C = c.outChans();
        try (TensorScope s = TensorScope.open()) {
            Tensor enc = b.fourierPositionEncoding(b.upload(Tensor.of(xy, n, 2)), gaussian); // [n, C]
            List<Tensor> rows = new ArrayList<>();
            for (int i = 0; i < n; i++) rows.add(lab[i] == -1 ? notAPoint : b.add(b.slice(enc, 0, i, 1), pointEmbeddings[lab[i]]));
            return s.keep(b.concat(rows, 0).reshape(1, n, C));
        }
    }

    /** The dense embedding of a prompt without a mask input: no_mask_embed at every grid cell, {@code [1, C, g, g]}. */
    public Tensor noMaskDense(Backend b) {
        int g = c.grid();
        try (TensorScope s = TensorScope.open()) {
            return s.keep(b.add(b.zeros(1, c.outChans(), g, g), noMask.reshape(1, c.outChans(), 1, 1)));
        }
    }

    /** The mask input path: {@code [1, 1, 4g, 4g] → [1, C, g, g]}. */
    private Tensor downscale(Backend b, Tensor mask) {
        int L = c.lowResSize();
        if (!mask.hasShape(1, 1, L, L)) {
            throw new IllegalArgumentException("mask input must be [1, 1, " + L + ", " + L + "], got " + java.util.Arrays.toString(mask.shape()));
        }
        try (TensorScope s = TensorScope.open()) {
            Tensor a = b.gelu(md1.forward2d(b, b.conv2d(mask, md0w, md0b, 2, 2, 0, 0)));
            a = b.gelu(md4.forward2d(b, b.conv2d(a, md3w, md3b, 2, 2, 0, 0)));
            return s.keep(b.conv2d(a, md6w, md6b, 1, 1, 0, 0));
        }
    }
}
