package dev.segsam.model.segsam;

import dev.segsam.model.Prompt;
import dev.segsam.model.nn.Params;
import dev.segsam.model.sam.ImageContexts;
import dev.segsam.model.sam.MaskDecoder;
import dev.segsam.model.sam.PromptEncoder;
import dev.segsam.model.sam.SamConfig;
import dev.segsam.model.sam.SamModel;
import dev.segsam.model.sam.TwoWayTransformer;
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
 * SEG-SAM (docs/design/segsam.md §2): SAM's image encoder (f_v), prompt encoder (t_p) and mask decoder (Dec_sag → M̂_b), plus T2VSE
 * (t_p → t'_p using the class descriptions) and the semantic-aware decoder (Dec_saw → M̂_s, Ĉ_s).
 *
 * <p>A weights file without {@code t2vse.*} / {@code semantic_decoder.*} tensors and SEG-SAM metadata loads as plain
 * SAM ({@link #hasSemantics()} false): binary outputs only. Immutable and thread-safe like {@link SamModel}.
 */
public final class SegSam {
    private static final System.Logger LOG = System.getLogger("segsam");

    private final SamModel sam;
    private final SegSamConfig config; // null for plain SAM
    private final TextToVisionSemanticEnhancement t2vse;
    private final SemanticAwareDecoder decoder;

    private SegSam(SamModel sam, SegSamConfig config, TextToVisionSemanticEnhancement t2vse, SemanticAwareDecoder decoder) {
        this.sam = sam;
        this.config = config;
        this.t2vse = t2vse;
        this.decoder = decoder;
    }

    /**
     * Loads SAM and, when the file has them, the SEG-SAM parts, checking every tensor first: missing or misshapen
     * tensors and a class count that does not match the tensors fail with one message naming them.
     */
    public static SegSam load(TensorSource src, Backend b) {
        SamModel sam = SamModel.load(src, b);
        SegSamConfig cfg = SegSamConfig.fromMetadata(src.metadata());
        boolean hasParts = src.names().stream().anyMatch(n -> n.startsWith("t2vse.") || n.startsWith("semantic_decoder."));
        if (cfg == null) {
            if (hasParts) throw new IllegalArgumentException("the file has SEG-SAM tensors but no " + SegSamConfig.META_CONFIG + " metadata");
            LOG.log(System.Logger.Level.DEBUG, "plain SAM " + sam.config().name() + " checkpoint: binary masks only (no semantic parts)");
            return new SegSam(sam, null, null, null);
        }
        SamConfig s = sam.config();
        if (src.contains("t2vse.text_embeddings")) {
            int rows = src.shape("t2vse.text_embeddings")[0];
            if (rows != cfg.numClasses()) {
                throw new IllegalArgumentException("class count mismatch: the metadata lists " + cfg.numClasses()
                        + " classes but t2vse.text_embeddings has " + rows + " rows");
            }
        }
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, int[]> e : cfg.parameterShapes(s).entrySet()) {
            if (!src.contains(e.getKey())) problems.add("missing " + e.getKey());
            else if (!java.util.Arrays.equals(src.shape(e.getKey()), e.getValue())) {
                problems.add(e.getKey() + " is " + Shapes.str(src.shape(e.getKey())) + ", expected " + Shapes.str(e.getValue()));
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("not a usable SEG-SAM checkpoint (" + cfg.numClasses() + " classes): " + problems.size()
                    + " problem(s): " + String.join("; ", problems.subList(0, Math.min(5, problems.size()))) + (problems.size() > 5 ? "; ..." : ""));
        }
        var t2vse = new TextToVisionSemanticEnhancement(new Params(src, b, "t2vse."), s.outChans(), cfg.textDim(), cfg.numClasses(),
                s.decoderMlp(), s.attnDownsample(), s.decoderHeads());
        var dec = new SemanticAwareDecoder(new Params(src, b, "semantic_decoder."), s, cfg.numClasses(), cfg.useCoTokens());
        return new SegSam(sam, cfg, t2vse, dec);
    }

    public SamModel sam() {
        return sam;
    }

    public boolean hasSemantics() {
        return config != null;
    }

    /** The SEG-SAM config, or null for a plain SAM checkpoint. */
    public SegSamConfig config() {
        return config;
    }

    public TextToVisionSemanticEnhancement t2vse() {
        return t2vse;
    }

    public SemanticAwareDecoder semanticDecoder() {
        return decoder;
    }

    /**
     * Per-image features: f_v, (with semantics) t'_text, and the decoders' per-image contexts ({@link ImageContexts}:
     * the prompt-independent part of a decode, made on the first decode without a mask input and reused by every later
     * one; null turns that reuse off). Closing the features closes all three.
     */
    public record Features(Tensor fv, Tensor textSummary, ImageContexts contexts) implements AutoCloseable {
        /** Features with a fresh, empty {@link ImageContexts}. */
        public Features(Tensor fv, Tensor textSummary) {
            this(fv, textSummary, new ImageContexts());
        }

        @Override
        public void close() {
            if (contexts != null) contexts.close();
            fv.close();
            if (textSummary != null) textSummary.close();
        }
    }

    /** Encodes a preprocessed input {@code [1, 3, S, S]}: f_v, and t'_text when the model has semantics. */
    public Features encode(Tensor input, IntConsumer progress) {
        return features(sam.encode(input, progress));
    }

    /** The per-image features for an already computed f_v (e.g. a cached embedding). */
    public Features features(Tensor fv) {
        return features(sam.backend(), fv);
    }

    /** The per-image features computed on backend {@code b} (a training tape, say). */
    public Features features(Backend b, Tensor fv) {
        return new Features(fv, config == null || !config.useT2vse() ? null : t2vse.summarize(b, fv, sam.densePe()));
    }

    /**
     * Makes {@code f}'s decoder contexts now, on the model's backend: the image side of SAM's mask decoder and (with
     * semantics) of Dec_saw, which the first prompt without a mask input would otherwise make ({@link ImageContexts};
     * ViT-B: ~0.8 GFLOP, about 40 ms of CPU per docs/PERF.md "cold start II"). {@code Predictor.encode} calls it, so that this per-image work is part
     * of encoding the image and the first prompt costs what every later one does. Nothing to do without contexts.
     */
    public void prepareContexts(Features f) {
        if (f.contexts() == null) return;
        try (TensorScope s = TensorScope.open()) {
            sam.imageContext(f.contexts(), f.fv());
            if (config != null) semanticContext(sam.backend(), f);
        }
    }

    /** Dec_saw's image context for {@code f} from its {@link ImageContexts} (made on first use). */
    private TwoWayTransformer.ImageContext semanticContext(Backend b, Features f) {
        return f.contexts().get(decoder, () -> decoder.imageContext(b, f.fv(), sam.densePe(), sam.promptEncoder().noMaskDense(b)));
    }

    /** Outputs for one prompt: SAM's ({@code binary}) and, with semantics, the semantic decoder's. */
    public record Decoded(SamModel.Decoded binary, SemanticAwareDecoder.Output semantic) implements AutoCloseable {
        @Override
        public void close() {
            binary.close();
            if (semantic != null) semantic.close();
        }
    }

    /** Decodes one prompt given in the model input frame (see {@link SamModel#decode}). */
    public Decoded decode(Features f, Prompt p) {
        return decode(sam.backend(), f, p);
    }

    /**
     * {@link #decode} on backend {@code b} (the model's own, or a training tape over it). On the model's own backend a
     * prompt without a mask input takes the image side of both decoders from {@code f}'s {@link ImageContexts}; a
     * training tape computes everything itself (the gradients need the whole graph).
     */
    public Decoded decode(Backend b, Features f, Prompt p) {
        boolean cached = b == sam.backend() && f.contexts() != null && p.mask() == null;
        if (config == null && b == sam.backend()) return new Decoded(sam.decode(f.fv(), cached ? f.contexts() : null, p), null);
        try (TensorScope s = TensorScope.open()) {
            if (cached) return s.keep(decodeEmbedded(b, f, sam.promptEncoder().sparse(b, p), null, p.multimask()));
            PromptEncoder.Embeddings e = sam.promptEncoder().embed(b, p);
            return s.keep(decodeEmbedded(b, f, e.sparse(), e.dense(), p.multimask()));
        }
    }

    /**
     * B prompts on one image in one batched pass through SAM's decoder and Dec_saw (as {@link SamModel#decodeBatch}:
     * equal sparse token counts and multimask settings). Outputs are those of {@link #decode} with batch dimension B
     * in prompt order: binary {@code lowRes [B, C, 4g, 4g]}, {@code iou [B, C]}; semantic M̂_s {@code [B, K+1, 4g, 4g]},
     * Ĉ_s {@code [B, K]}. Without mask inputs the batch shares the image's contexts ({@link Features#contexts()}).
     */
    public Decoded decodeBatch(Features f, List<Prompt> batch) {
        if (config == null) return new Decoded(sam.decodeBatch(f.fv(), f.contexts(), batch), null);
        Backend b = sam.backend();
        try (TensorScope s = TensorScope.open()) {
            SamModel.BatchEmbeddings e = sam.embedBatch(b, batch, f.contexts() != null);
            return s.keep(decodeEmbedded(b, f, e.sparse(), e.dense(), batch.getFirst().multimask()));
        }
    }

    /**
     * Both decoders on prompt embeddings {@code sparse [B, Np, C]}, {@code dense [1 or B, C, g, g]}: t'_p from T2VSE (when
     * on), SAM's decoder on t'_p or t_p (per the config), Dec_saw on t'_p (none for plain SAM). A null {@code dense}
     * means no mask inputs: both decoders take their image side from {@code f}'s contexts.
     */
    private Decoded decodeEmbedded(Backend b, Features f, Tensor sparse, Tensor dense, boolean multimask) {
        try (TensorScope s = TensorScope.open()) {
            Tensor enhanced = config == null || !config.useT2vse() ? sparse : t2vse.enhance(b, sparse, f.textSummary());
            Tensor forBinary = config != null && config.enhanceBinary() ? enhanced : sparse;
            MaskDecoder.Output out = dense == null ? sam.maskDecoder().forward(b, sam.imageContext(f.contexts(), f.fv()), forBinary)
                    : sam.maskDecoder().forward(b, f.fv(), sam.densePe(), forBinary, dense);
            var binary = sam.select(b, out, multimask);
            SemanticAwareDecoder.Output sem = null;
            if (config != null) {
                sem = dense == null ? decoder.forward(b, semanticContext(b, f), enhanced)
                        : decoder.forward(b, f.fv(), sam.densePe(), enhanced, dense);
            }
            return s.keep(new Decoded(binary, sem));
        }
    }
}
