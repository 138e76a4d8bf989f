package dev.segsam.model.train;

import dev.segsam.model.Masks;
import dev.segsam.model.Predictor;
import dev.segsam.model.Prompt;
import dev.segsam.model.preprocess.Preprocessor;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.autodiff.Tape;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * One SEG-SAM training step (docs/design/segsam.md §4): for an image, up to {@code targetsPerImage} of its objects, each prompted
 * by {@link PromptSampler}; the decoders run on a {@link Tape}; the loss
 * {@code L = L_bin + L_sem + λ_bce·L_bce + λ_cons·L_cons} (terms switched by the options, averaged over the targets) is
 * back-propagated and AdamW updates the trainable tensors in place.
 *
 * <p>Where it runs: the model's backend (the tape records over it, gradients are its tensors and AdamW updates on it,
 * {@link AdamW#updateTensors}). The losses are computed on the host: per target the decoders' low-resolution outputs
 * (M̂_b, M̂_s, Ĉ_s) are downloaded and their loss gradients uploaded — on a device the only per-step copies besides
 * AdamW's one Σ g² per tensor.
 *
 * <ul>
 *   <li>L_bin = w_focal·Focal(M̂_b) + w_dice·Dice(M̂_b) on SAM's single-mask output (token 0);</li>
 *   <li>L_sem = CE(M̂_s, Y_s) + Dice(M̂_s, Y_s), Y_s = the target's class inside its mask, background outside;</li>
 *   <li>L_bce = BCE(Ĉ_s logits, presence of each class among the image's annotations);</li>
 *   <li>L_cons = 1 − soft IoU(σ(M̂_b), 1 − softmax(M̂_s)[0]).</li>
 * </ul>
 * All at the low resolution 4g × 4g ({@link LowResTargets}). The image encoder is frozen (its f_v comes from a cache)
 * unless {@code trainEncoder}, which trains it too (our stage-1 pretraining of a small encoder, binary loss only).
 */
public final class SegSamTrainer {
    /** Loss weights and switches. */
    public record Options(int targetsPerImage, double focalWeight, double diceWeight, boolean semantic, boolean bce, boolean consistency,
                          double lambdaBce, double lambdaCons, boolean trainEncoder) {
        public static Options defaults() {
            return new Options(5, 20, 1, true, true, true, 1, 1, false);
        }
    }

    /** Loss components of one step (means over its targets). */
    public record Report(double total, double focal, double dice, double ce, double semDice, double bce, double cons, double gradNorm, int targets) {}

    private final SegSam model;
    private final Backend backend;
    private final Map<String, Tensor> trainable;
    private final AdamW opt;
    private final Options o;
    private final Preprocessor pre;

    /**
     * @param model     a model loaded over mutable tensors ({@link dev.segsam.model.sam.SeededWeights#of} of owned copies):
     *                  the optimiser writes into them
     * @param trainable the tensors to train (by name; the same objects the model holds)
     */
    public SegSamTrainer(SegSam model, Map<String, Tensor> trainable, AdamW opt, Options o, Preprocessor.Convention convention) {
        this.model = model;
        this.backend = model.sam().backend();
        this.trainable = trainable;
        this.opt = opt;
        this.o = o;
        this.pre = new Preprocessor(convention, model.sam().config().imgSize(), backend.parallel()); // the backend's threads
    }

    /**
     * The trainable subset of a model's tensors: the prompt encoder, SAM's mask decoder, T2VSE (not its text
     * embeddings, which are data) and the semantic-aware decoder — plus the image encoder when {@code encoder}.
     */
    public static Map<String, Tensor> trainableOf(Map<String, Tensor> all, boolean encoder) {
        Map<String, Tensor> t = new LinkedHashMap<>();
        for (var e : all.entrySet()) {
            String n = e.getKey();
            boolean yes = n.startsWith("prompt_encoder.") && !n.contains("positional_encoding_gaussian_matrix")
                    || n.startsWith("mask_decoder.") || n.startsWith("semantic_decoder.")
                    || n.startsWith("t2vse.") && !n.equals("t2vse.text_embeddings")
                    || encoder && n.startsWith("image_encoder.");
            if (yes) t.put(n, e.getValue());
        }
        return t;
    }

    public Preprocessor preprocessor() {
        return pre;
    }

    public AdamW optimizer() {
        return opt;
    }

    /** One step on {@code s}; {@code fv} is its cached embedding (ignored when the encoder is trained). */
    public Report step(TrainSample s, Preprocessor.Preprocessed frame, Tensor fv, Random rnd) {
        return step(s, frame, fv, rnd, 0);
    }

    /** As {@link #step(TrainSample, Preprocessor.Preprocessed, Tensor, Random)}, with a target of class {@code preferClass} (if the sample has one; 0 = none) among the step's targets. */
    public Report step(TrainSample s, Preprocessor.Preprocessed frame, Tensor fv, Random rnd, int preferClass) {
        double[] norm = {Double.NaN};
        Report r = run(s, frame, fv, rnd, preferClass, tape -> { // the gradients stay tensors of the backend
            Map<String, Tensor> g = new LinkedHashMap<>();
            for (var e : trainable.entrySet()) g.put(e.getKey(), tape.gradTensor(e.getValue()));
            norm[0] = opt.updateTensors(g);
        });
        return new Report(r.total(), r.focal(), r.dice(), r.ce(), r.semDice(), r.bce(), r.cons(), norm[0], r.targets());
    }

    /** The loss of one step and (into {@code gradsOut}) its gradient for every trainable tensor; no update. */
    public Report lossAndGradients(TrainSample s, Preprocessor.Preprocessed frame, Tensor fv, Random rnd, Map<String, float[]> gradsOut) {
        return lossAndGradients(s, frame, fv, rnd, gradsOut, 0);
    }

    /** As above, with a target of class {@code preferClass} (if any; 0 = none) always among the step's targets. */
    public Report lossAndGradients(TrainSample s, Preprocessor.Preprocessed frame, Tensor fv, Random rnd, Map<String, float[]> gradsOut, int preferClass) {
        return run(s, frame, fv, rnd, preferClass, tape -> {
            for (var e : trainable.entrySet()) gradsOut.put(e.getKey(), tape.grad(e.getValue()).clone());
        });
    }

    /** The forward, the losses and the backward of one step; {@code afterBackward} reads the gradients before the tape closes. */
    private Report run(TrainSample s, Preprocessor.Preprocessed frame, Tensor fv, Random rnd, int preferClass,
                       java.util.function.Consumer<Tape> afterBackward) {
        int w = s.image().width(), h = s.image().height(), L = model.sam().config().lowResSize();
        int K = model.hasSemantics() ? model.config().numClasses() : 0;
        List<TrainSample.Target> targets = new ArrayList<>(s.targets());
        Collections.shuffle(targets, rnd);
        if (preferClass > 0) {
            for (int i = 0; i < targets.size(); i++) {
                if (targets.get(i).classIndex() == preferClass) {
                    targets.addFirst(targets.remove(i));
                    break;
                }
            }
        }
        targets = targets.subList(0, Math.min(o.targetsPerImage(), targets.size()));
        int n = targets.size();
        double focal = 0, dice = 0, ce = 0, sdice = 0, bce = 0, cons = 0;
        try (Tape tape = new Tape(backend)) {
            for (Tensor t : trainable.values()) tape.param(t);
            Backend b = tape.backend();
            Tensor features = o.trainEncoder() ? model.sam().imageEncoder().forward(b, frame.input(), null) : fv;
            SegSam.Features f = model.features(b, features);
            List<Tensor> outs = new ArrayList<>();
            List<float[]> grads = new ArrayList<>();
            float[] presence = s.presence(Math.max(K, 1));
            for (TrainSample.Target t : targets) {
                Prompt p = PromptSampler.sample(t.mask(), w, h, rnd);
                SegSam.Decoded d = model.decode(b, f, p.mapped(frame::mapCoords));
                float[] target = LowResTargets.of(t.mask(), w, h, frame, L);
                float[] xb = host(b, d.binary().lowRes());
                Losses.Value lf = Losses.focal(xb, target, 0.25, 2), ld = Losses.dice(xb, target);
                float[] gb = new float[xb.length];
                for (int i = 0; i < gb.length; i++) gb[i] = (float) ((o.focalWeight() * lf.grad()[i] + o.diceWeight() * ld.grad()[i]) / n);
                focal += lf.value() / n;
                dice += ld.value() / n;
                if (K > 0 && o.semantic()) {
                    float[] xs = host(b, d.semantic().semanticLogits());
                    int[] y = new int[L * L];
                    for (int i = 0; i < y.length; i++) y[i] = target[i] > 0 ? t.classIndex() : 0;
                    double[] ps = Losses.softmax(xs, K + 1, y.length); // one softmax for L_ce, L_sdice and L_cons
                    Losses.Value lce = Losses.crossEntropy(ps, y, K + 1), lsd = Losses.multiDice(ps, y, K + 1);
                    float[] gs = new float[xs.length];
                    for (int i = 0; i < gs.length; i++) gs[i] = (lce.grad()[i] + lsd.grad()[i]) / n;
                    ce += lce.value() / n;
                    sdice += lsd.value() / n;
                    if (o.consistency()) {
                        Losses.Value lc = Losses.consistency(xb, ps, K + 1);
                        for (int i = 0; i < gb.length; i++) gb[i] += (float) (o.lambdaCons() * lc.grads()[0][i] / n);
                        for (int i = 0; i < gs.length; i++) gs[i] += (float) (o.lambdaCons() * lc.grads()[1][i] / n);
                        cons += lc.value() / n;
                    }
                    outs.add(d.semantic().semanticLogits());
                    grads.add(gs);
                    if (o.bce() && d.semantic().classLogits() != null) {
                        Losses.Value lb = Losses.bce(host(b, d.semantic().classLogits()), presence);
                        float[] gc = new float[K];
                        for (int i = 0; i < K; i++) gc[i] = (float) (o.lambdaBce() * lb.grad()[i] / n);
                        bce += lb.value() / n;
                        outs.add(d.semantic().classLogits());
                        grads.add(gc);
                    }
                }
                outs.add(d.binary().lowRes());
                grads.add(gb);
            }
            tape.backward(outs, grads);
            afterBackward.accept(tape);
            double total = o.focalWeight() * focal + o.diceWeight() * dice + ce + sdice + o.lambdaBce() * bce + o.lambdaCons() * cons;
            return new Report(total, focal, dice, ce, sdice, bce, cons, Double.NaN, n);
        }
    }

    /**
     * The values of a model output for the host-side losses: the tensor itself on a CPU backend, a download (freed at
     * once) on a device — the one device-to-host copy of a step besides the gradients read by {@link Tape#grad}.
     */
    private static float[] host(Backend b, Tensor t) {
        Tensor h = b.download(t);
        try {
            return h.toArray();
        } finally {
            if (h != t) h.close();
        }
    }

    /** Evaluation counts for one target. */
    public record TargetEval(int classIndex, double binaryDice, double semanticDice, int predictedClass) {}

    /**
     * Evaluates every target of {@code s} with its tight box as the prompt (no jitter): binary Dice of M̂_b and the
     * semantic Dice of {@code label map == true class} against the mask, at the original resolution; plus the image's
     * Ĉ_s (mean over its prompts; null without CO-tokens).
     */
    public static List<TargetEval> evaluate(Predictor predictor, Predictor.Encoded enc, TrainSample s, float[][] presenceOut) {
        int w = s.image().width(), h = s.image().height();
        List<TargetEval> out = new ArrayList<>();
        float[] presence = null;
        for (TrainSample.Target t : s.targets()) {
            int[] bb = Masks.bbox(t.mask(), w, h);
            Predictor.Result r = predictor.predict(enc, Prompt.box(bb[0], bb[1], bb[2], bb[3]));
            boolean[] truth = new boolean[w * h];
            for (int i = 0; i < truth.length; i++) truth[i] = t.mask()[i] != 0;
            double bd = Metrics.dice(r.mask(), truth);
            double sd = Double.NaN;
            int pc = 0;
            if (r.semantic() != null) {
                boolean[] sem = new boolean[w * h];
                for (int i = 0; i < sem.length; i++) sem[i] = r.semantic().labelMap()[i] == t.classIndex();
                sd = Metrics.dice(sem, truth);
                pc = r.semantic().predictedClass();
                if (r.semantic().classPresence() != null) {
                    if (presence == null) presence = new float[r.semantic().classPresence().length];
                    for (int k = 0; k < presence.length; k++) presence[k] += r.semantic().classPresence()[k] / s.targets().size();
                }
            }
            out.add(new TargetEval(t.classIndex(), bd, sd, pc));
        }
        if (presenceOut != null) presenceOut[0] = presence;
        return out;
    }
}
