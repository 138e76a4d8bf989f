package dev.segsam.model.sam;

import dev.segsam.model.Prompt;
import dev.segsam.model.nn.Params;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Shapes;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorScope;
import dev.segsam.tensor.TensorSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * SAM: image encoder, prompt encoder and mask decoder, loaded from a checkpoint with SAM's official tensor names
 * (safetensors or {@code .pth}, any ViT size: the architecture is read off the shapes).
 *
 * <p>Immutable after loading and safe to share between threads: every call allocates its own tensors, and the
 * weights and the dense positional encoding are only read.
 *
 * <p>Prompts given to {@link #decode} are in the S×S model input frame; {@link dev.segsam.model.Predictor} maps them
 * from original-image pixels per preprocessing convention ({@link Prompt#mapped}).
 */
public final class SamModel {
    private final SamConfig config;
    private final Backend backend;
    private final ImageEncoderViT encoder;
    private final PromptEncoder prompts;
    private final MaskDecoder decoder;
    private final Tensor densePe;

    private SamModel(SamConfig config, Backend backend, TensorSource src) {
        this.config = config;
        this.backend = backend;
        this.encoder = new ImageEncoderViT(new Params(src, backend, "image_encoder."), config);
        this.prompts = new PromptEncoder(new Params(src, backend, "prompt_encoder."), config);
        this.decoder = new MaskDecoder(new Params(src, backend, "mask_decoder."), config);
        this.densePe = TensorScope.detach(prompts.densePe(backend)); // the model's, like its weights
    }

    /**
     * Loads SAM from {@code src}, inferring the architecture and checking every expected tensor first, so a wrong file
     * fails with one message listing what is missing or misshapen. Tensors beyond SAM's (e.g. SEG-SAM's parts) are
     * ignored here.
     */
    public static SamModel load(TensorSource src, Backend backend) {
        SamConfig c = SamConfig.infer(src);
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, int[]> e : c.parameterShapes().entrySet()) {
            if (!src.contains(e.getKey())) {
                problems.add("missing " + e.getKey());
            } else {
                int[] s = src.shape(e.getKey());
                if (!java.util.Arrays.equals(s, e.getValue())) {
                    problems.add(e.getKey() + " is " + Shapes.str(s) + ", expected " + Shapes.str(e.getValue()));
                }
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("not a usable SAM " + c.name() + " checkpoint: " + problems.size() + " problem(s): "
                    + String.join("; ", problems.subList(0, Math.min(5, problems.size()))) + (problems.size() > 5 ? "; ..." : ""));
        }
        return new SamModel(c, backend, src);
    }

    public SamConfig config() {
        return config;
    }

    public Backend backend() {
        return backend;
    }

    public ImageEncoderViT imageEncoder() {
        return encoder;
    }

    public PromptEncoder promptEncoder() {
        return prompts;
    }

    public MaskDecoder maskDecoder() {
        return decoder;
    }

    /** The dense positional encoding of the embedding grid {@code [1, C, g, g]} (computed once at load). */
    public Tensor densePe() {
        return densePe;
    }

    /** f_v {@code [1, C, g, g]} for a preprocessed input {@code [1, 3, S, S]}; {@code progress} hears each block. */
    public Tensor encode(Tensor input, IntConsumer progress) {
        int S = config.imgSize();
        if (!input.hasShape(1, 3, S, S)) {
            throw new IllegalArgumentException("encoder input must be [1, 3, " + S + ", " + S + "], got " + Shapes.str(input.shape()));
        }
        try (TensorScope s = TensorScope.open()) {
            return s.keep(encoder.forward(backend, backend.upload(input), progress));
        }
    }

    /** One prompt's decoder outputs, restricted to the returned masks: C = 3 with multimask, else 1 (token 0). */
    public record Decoded(Tensor lowRes, Tensor iou, MaskDecoder.Output all) implements AutoCloseable {
        @Override
        public void close() {
            lowRes.close();
            iou.close();
            all.close();
        }
    }

    /**
     * Runs the prompt encoder and the mask decoder for one prompt on an image embedding; {@code p}'s coordinates are in
     * the S×S input frame ({@link Prompt#mapped}), its {@code multimask} chooses the outputs ({@link #select}).
     */
    public Decoded decode(Tensor embedding, Prompt p) {
        Backend b = backend;
        try (TensorScope s = TensorScope.open()) {
            PromptEncoder.Embeddings e = prompts.embed(b, p);
            return s.keep(select(b, decoder.forward(b, embedding, densePe, e.sparse(), e.dense()), p.multimask()));
        }
    }

    /**
     * {@link #decode(Tensor, Prompt)} with the prompt-independent part of the decode taken from {@code contexts} (made on
     * first use, see {@link ImageContexts}): the same outputs. A prompt with a mask input, or null {@code contexts},
     * takes the plain path.
     */
    public Decoded decode(Tensor embedding, ImageContexts contexts, Prompt p) {
        if (contexts == null || p.mask() != null) return decode(embedding, p);
        Backend b = backend;
        try (TensorScope s = TensorScope.open()) {
            MaskDecoder.Output out = decoder.forward(b, imageContext(contexts, embedding), prompts.sparse(b, p));
            return s.keep(select(b, out, p.multimask()));
        }
    }

    /** The mask decoder's {@link TwoWayTransformer.ImageContext} for {@code embedding} f_v, from {@code contexts}. */
    public TwoWayTransformer.ImageContext imageContext(ImageContexts contexts, Tensor embedding) {
        return contexts.get(decoder, () -> decoder.imageContext(backend, embedding, densePe, prompts.noMaskDense(backend)));
    }

    /**
     * SAM's output selection: with {@code multimask} the {@code numMultimask} mask tokens after the first, else the first
     * alone; the returned {@link Decoded} owns {@code out}.
     */
    public Decoded select(Backend b, MaskDecoder.Output out, boolean multimask) {
        int from = multimask ? 1 : 0, n = multimask ? config.numMultimask() : 1;
        return new Decoded(b.slice(out.lowRes(), 1, from, n), b.slice(out.iou(), 1, from, n), out);
    }

    /**
     * Runs B prompts on one image embedding as one batched pass through the mask decoder (SAM's
     * {@code predict_torch} with several prompts): every prompt must yield the same number of sparse tokens (e.g. all
     * boxes, or all with n points) and ask for the same {@code multimask}. Outputs are those of {@link #decode}, with
     * batch dimension B in prompt order: {@code lowRes [B, C, 4g, 4g]}, {@code iou [B, C]}.
     */
    public Decoded decodeBatch(Tensor embedding, List<Prompt> batch) {
        return decodeBatch(embedding, null, batch);
    }

    /**
     * {@link #decodeBatch(Tensor, List)} with the image side from {@code contexts} when no prompt has a mask input (the
     * image's context is shared by the whole batch, not repeated per prompt); null {@code contexts}: the plain path.
     */
    public Decoded decodeBatch(Tensor embedding, ImageContexts contexts, List<Prompt> batch) {
        try (TensorScope s = TensorScope.open()) {
            BatchEmbeddings e = embedBatch(backend, batch, contexts != null);
            MaskDecoder.Output out = e.dense() == null ? decoder.forward(backend, imageContext(contexts, embedding), e.sparse())
                    : decoder.forward(backend, embedding, densePe, e.sparse(), e.dense());
            return s.keep(select(backend, out, batch.getFirst().multimask()));
        }
    }

    /**
     * The prompt encoder's outputs for a batch of prompts: {@code sparse [B, Np, C]} (every prompt must yield the same
     * number of tokens) and {@code dense}: without mask inputs every prompt's dense embedding is no_mask_embed, so one
     * {@code [1, C, g, g]} serves the batch (or none at all, see {@link #embedBatch(Backend, List, boolean)}); with mask
     * inputs {@code [B, C, g, g]}.
     */
    public record BatchEmbeddings(Tensor sparse, Tensor dense) implements AutoCloseable {
        @Override
        public void close() {
            sparse.close();
            if (dense != null) dense.close();
        }
    }

    /** {@link BatchEmbeddings} of {@code batch} (in the input frame) on backend {@code b}. */
    public BatchEmbeddings embedBatch(Backend b, List<Prompt> batch) {
        return embedBatch(b, batch, false);
    }

    /**
     * {@link BatchEmbeddings} of {@code batch}; with {@code noDenseWithoutMasks}, a batch without mask inputs gets a null
     * {@code dense} (its dense embedding is the constant no_mask_embed, which an {@link ImageContexts} entry already holds).
     */
    public BatchEmbeddings embedBatch(Backend b, List<Prompt> batch, boolean noDenseWithoutMasks) {
        if (batch.isEmpty()) throw new IllegalArgumentException("no prompts to decode");
        for (Prompt p : batch) {
            if (p.multimask() != batch.getFirst().multimask()) throw new IllegalArgumentException("batched prompts need equal multimask settings");
        }
        try (TensorScope s = TensorScope.open()) { // on a bad prompt, the parts made so far are closed
            List<Tensor> sparse = new ArrayList<>();
            List<Tensor> dense = new ArrayList<>();
            boolean masks = batch.stream().anyMatch(p -> p.mask() != null);
            for (Prompt p : batch) {
                if (masks) {
                    PromptEncoder.Embeddings e = prompts.embed(b, p);
                    sparse.add(e.sparse());
                    dense.add(e.dense());
                } else {
                    sparse.add(prompts.sparse(b, p));
                }
                if (sparse.getLast().size(1) != sparse.getFirst().size(1)) {
                    throw new IllegalArgumentException("batched prompts need equal token counts: " + sparse.getFirst().size(1)
                            + " and " + sparse.getLast().size(1));
                }
            }
            Tensor d = masks ? b.concat(dense, 0) : noDenseWithoutMasks ? null : prompts.noMaskDense(b);
            return s.keep(new BatchEmbeddings(b.concat(sparse, 0), d)); // the per-prompt parts go with the scope
        }
    }

    /**
     * SAM's {@code postprocess_masks}: low-res logits {@code [1, C, 4g, 4g]} → bilinear to S×S → crop to the resized
     * image {@code resizedH × resizedW} → bilinear to the original {@code origH × origW} (logits; threshold at 0).
     * One backend op ({@link Backend#postprocessMasks}): the CUDA backend fuses it, the CPU backends run the two stages.
     */
    public Tensor postprocess(Tensor lowRes, int resizedH, int resizedW, int origH, int origW) {
        return backend.postprocessMasks(lowRes, config.imgSize(), resizedH, resizedW, origH, origW, false);
    }
}
