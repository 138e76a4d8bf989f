package dev.segsam.model.train;

import dev.segsam.model.preprocess.Preprocessor;
import dev.segsam.model.sam.SamConfig;
import dev.segsam.model.sam.SamModel;
import dev.segsam.model.sam.SeededWeights;
import dev.segsam.model.segsam.ClassSpec;
import dev.segsam.model.segsam.ClassTexts;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.model.segsam.SegSamConfig;
import dev.segsam.model.segsam.SegSamInit;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Device;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorScope;
import dev.segsam.tensor.TensorSource;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A training run (docs/design/segsam.md §4): the loop around {@link SegSamTrainer} with AdamW's warm-up + cosine schedule,
 * progress, validation and checkpoint events, and exact resumption from a checkpoint. What {@code segsam train} does,
 * as a library:
 * <pre>{@code
 * TrainingData data = TrainingData.of(classNames, train, val, test);
 * var weights = TrainingRun.Weights.initial(null, Architectures.small256(), data.classNames(), Ablation.FULL, 256, 1);
 * TrainingRun run = TrainingRun.start(weights, data, Backends.select(Device.CPU), TrainingRun.Config.defaults().withSteps(500));
 * run.train(0, new TrainingRun.Listener() {});           // or a listener that logs, validates, saves checkpoint()
 * TrainingRun.Snapshot trained = run.model(Map.of());    // SegSam.load(trained.source(), ...), or store it:
 * SafeTensorsWriter w = new SafeTensorsWriter();         // (io)
 * trained.tensors().forEach(w::add);
 * trained.metadata().forEach(w::metadata);
 * w.write(Path.of("model.safetensors"));
 * }</pre>
 *
 * <p><b>The loop.</b> Step t (1-based) seeds a {@link Random} with {@code seed · 1000003 + t}; it picks a training
 * sample by index, and {@link SegSamTrainer#step} draws that sample's targets and prompts from it. A sample without
 * targets makes the step a no-op (no update, no event). So a run is a function of its seed and data alone, and a run
 * resumed from the checkpoint of step t continues exactly as the uninterrupted run would have: the checkpoint holds the
 * weights, AdamW's moments and step, and the metadata.
 *
 * <p><b>The frozen encoder.</b> Unless the encoder is trained, every sample's f_v is computed once before the first
 * step ({@link Embeddings}: in memory by default; {@code segsam train} keeps them in a disk cache), and the decoders
 * train on those.
 *
 * <p><b>The backend</b> runs the model; the trainable blocks record on a {@link dev.segsam.tensor.autodiff.Tape} over
 * it, whose backward formulas are that backend's ops, and {@link AdamW} updates on it. Any backend works: on the CPU
 * the weights are updated in place; on a device (CUDA) the run uploads the weights once, trains the device copies
 * (parameters, gradients and AdamW's moments stay there) and copies the trained values back into the host tensors
 * whenever they are read ({@link #weights}, {@link #checkpoint}, {@link #model(Map)}). Per step only the decoders'
 * low-resolution outputs (for the host-side losses), their loss gradients and one Σ g² per trainable tensor cross.
 */
public final class TrainingRun {
    /** The checkpoint metadata key holding the last completed step. */
    public static final String STEP_KEY = "segsam.train.step";

    /** The trained model's metadata key holding the step it was saved at ({@link #model}). */
    public static final String FINAL_STEP_KEY = "segsam.train.final_step";

    /**
     * What a run does.
     *
     * @param steps           optimizer steps of the whole run (the schedule's length)
     * @param learningRate    AdamW's peak learning rate
     * @param warmupSteps     linear warm-up steps, then cosine decay to 1 % of the peak
     * @param seed            seed of sample and prompt choice
     * @param logEvery        a {@link Listener#progress} event every this many steps (and at the last step)
     * @param evalEvery       a {@link Listener#validation} every this many steps, before the last (0 = none)
     * @param checkpointEvery a {@link Listener#checkpoint} event every this many steps (and at the last step of a call
     *                        to {@link #train})
     * @param loss            the loss terms and weights ({@link Ablation#loss})
     */
    public record Config(int steps, double learningRate, int warmupSteps, long seed, int logEvery, int evalEvery,
                         int checkpointEvery, SegSamTrainer.Options loss, Sampling sampling, Augment augment) {
        public Config {
            if (steps < 1 || loss.targetsPerImage() < 1 || !(learningRate > 0) || warmupSteps < 0 || logEvery < 1 || checkpointEvery < 1
                    || evalEvery < 0) {
                throw new IllegalArgumentException("steps, targets, log/checkpoint intervals must be positive and lr > 0");
            }
            if (sampling == null || augment == null) throw new IllegalArgumentException("sampling and augment must be given (Sampling.IMAGE, Augment.NONE)");
        }

        /** Uniform image sampling, no augmentation. */
        public Config(int steps, double learningRate, int warmupSteps, long seed, int logEvery, int evalEvery, int checkpointEvery,
                      SegSamTrainer.Options loss) {
            this(steps, learningRate, warmupSteps, seed, logEvery, evalEvery, checkpointEvery, loss, Sampling.IMAGE, Augment.NONE);
        }

        public Config withSampling(Sampling s, Augment a) {
            return new Config(steps, learningRate, warmupSteps, seed, logEvery, evalEvery, checkpointEvery, loss, s, a);
        }

        /** {@code segsam train}'s defaults: 1000 steps, lr 1e-4, 50 warm-up steps, seed 1, log/validate/checkpoint every 25/250/250, the full loss. */
        public static Config defaults() {
            return new Config(1000, 1e-4, 50, 1, 25, 250, 250, SegSamTrainer.Options.defaults());
        }

        public Config withSteps(int n) {
            return new Config(n, learningRate, warmupSteps, seed, logEvery, evalEvery, checkpointEvery, loss, sampling, augment);
        }

        public Config withLearningRate(double lr, int warmup) {
            return new Config(steps, lr, warmup, seed, logEvery, evalEvery, checkpointEvery, loss, sampling, augment);
        }

        public Config withLoss(SegSamTrainer.Options o) {
            return new Config(steps, learningRate, warmupSteps, seed, logEvery, evalEvery, checkpointEvery, o, sampling, augment);
        }
    }

    /**
     * How a step picks its training image: {@link #IMAGE} uniformly among the training images; {@link #CLASS} a class
     * uniformly among those with training targets, then an image that has it (that class's target is then among the
     * step's targets), so that rare classes are seen as often as common ones.
     */
    public enum Sampling { IMAGE, CLASS }

    /** The tensors a run starts from (owned copies, which the optimiser updates in place) and the model's metadata. */
    public record Weights(Map<String, Tensor> tensors, Map<String, String> metadata) {
        /**
         * The starting point of a run: {@code base}'s tensors (SAM, MedSAM, a stage-1 model or SEG-SAM; null: fresh
         * weights of {@code arch}, seeded with {@code seed}) copied, then, for the ablations with semantics, the SEG-SAM
         * parts for {@code classNames} ({@link SegSamInit}, hashed text embeddings of width {@code textDim}, seed
         * {@code seed}) — kept from {@code base} instead when it has SEG-SAM parts for exactly these classes — with
         * the ablation's parts switched on in the metadata.
         */
        public static Weights initial(TensorSource base, SamConfig arch, List<String> classNames, Ablation ablation, int textDim, long seed) {
            return initial(base, arch, classNames, Map.of(), ablation, textDim, seed);
        }

        /**
         * As {@link #initial(TensorSource, SamConfig, List, Ablation, int, long)}, with T2VSE's class descriptions from
         * {@code descriptions} (class name → text) where given, segsam's shipped ones ({@link ClassTexts}) elsewhere.
         */
        public static Weights initial(TensorSource base, SamConfig arch, List<String> classNames, Map<String, String> descriptions,
                                      Ablation ablation, int textDim, long seed) {
            Map<String, Tensor> weights = new LinkedHashMap<>();
            Map<String, String> meta = new LinkedHashMap<>();
            TensorSource from = base != null ? base : SeededWeights.generate(arch, seed);
            for (String n : from.names()) {
                if (isSemanticPart(n)) continue; // made below
                weights.put(n, from.get(n).copy());
            }
            if (ablation.semantic()) {
                List<ClassSpec> classes = new ArrayList<>();
                for (String c : classNames) classes.add(ClassTexts.spec(c, descriptions.get(c)));
                SegSamConfig prior = base == null ? null : SegSamConfig.fromMetadata(base.metadata());
                boolean reuse = prior != null && prior.classNames().equals(classNames);
                SegSamInit.Model m = SegSamInit.create(SeededWeights.of(weights), classes, SegSamInit.hashedEmbeddings(classes, textDim),
                        "hashed-v1", true, "sam", seed);
                for (var e : m.tensors().entrySet()) weights.putIfAbsent(e.getKey(), e.getValue());
                if (reuse) for (String n : from.names()) if (isSemanticPart(n)) weights.put(n, from.get(n).copy());
                meta.putAll(SegSamConfig.fromMetadata(m.metadata()).withParts(ablation.t2vse(), ablation.coTokens()).toMetadata());
            }
            return new Weights(weights, meta);
        }
    }

    /** The frozen image encoder's f_v for every sample, by sample id. */
    @FunctionalInterface
    public interface Embeddings {
        /**
         * @param sam     the model's SAM part (its encoder computes f_v from a frame's input)
         * @param weights every tensor of the model (e.g. to key a cache by the encoder's weights)
         * @param frames  each sample's preprocessed image, by id
         */
        Map<String, Tensor> of(SamModel sam, Map<String, Tensor> weights, List<TrainSample> samples,
                               Map<String, Preprocessor.Preprocessed> frames) throws IOException;

        /** Computed in memory, one encoder pass per sample. */
        static Embeddings computed() {
            return (sam, weights, samples, frames) -> {
                Map<String, Tensor> out = new LinkedHashMap<>();
                for (TrainSample s : samples) out.put(s.id(), sam.encode(frames.get(s.id()).input(), null));
                return out;
            };
        }
    }

    /**
     * Loss averages since the previous progress event.
     *
     * @param mean           means of the loss components over the steps taken since the last event (grad norm: NaN)
     * @param secondsPerStep wall time per step since this call to {@link #train} began
     * @param etaSeconds     {@code secondsPerStep} times the steps left in the run
     */
    public record Progress(int step, int steps, SegSamTrainer.Report mean, double learningRate, double secondsPerStep, double etaSeconds) {}

    /** Events of {@link #train}, in this order within a step; all optional. */
    public interface Listener {
        /** After every update. */
        default void step(int step, SegSamTrainer.Report report, double learningRate) {}

        /** Every {@link Config#logEvery} steps and at the run's last step. */
        default void progress(Progress p) {}

        /** Every {@link Config#evalEvery} steps before the last, when there is validation data. */
        default void validation(int step, Evaluation.Result result) {}

        /**
         * Every {@link Config#checkpointEvery} steps and at the last step of the call: the time to store
         * {@link #checkpoint()}.
         */
        default void checkpoint(int step) throws IOException {}
    }

    private final Map<String, Tensor> weights;
    /** The backend's tensors of the weights: {@link #weights} itself on the CPU, uploaded copies on a device. */
    private final Map<String, Tensor> live;
    private final Backend backend;
    private final Map<String, String> meta;
    private final TrainingData data;
    private final Config config;
    private final SegSam model;
    private final Map<String, Tensor> trainable;
    private final AdamW opt;
    private final SegSamTrainer trainer;
    private final Map<String, Preprocessor.Preprocessed> frames = new HashMap<>();
    private final Map<String, Tensor> embeddings = new HashMap<>();
    private boolean prepared;
    private int step;

    private TrainingRun(Map<String, Tensor> weights, Map<String, String> meta, TrainingData data, Backend backend, Config config,
                        int step, TensorSource optimizerState) {
        this.weights = weights;
        this.meta = meta;
        this.data = data;
        this.config = config;
        this.step = step;
        this.backend = backend;
        if (backend.device() == Device.CPU) {
            this.live = weights;
        } else {
            this.live = new LinkedHashMap<>();
            for (var e : weights.entrySet()) live.put(e.getKey(), TensorScope.detach(backend.upload(e.getValue())));
        }
        this.model = SegSam.load(TensorSource.of(live, meta), backend);
        this.trainable = SegSamTrainer.trainableOf(live, config.loss().trainEncoder());
        if (!config.loss().semantic()) trainable.keySet().removeIf(TrainingRun::isSemanticPart);
        this.opt = AdamW.defaults(backend, trainable, config.learningRate(), config.warmupSteps(), config.steps());
        if (optimizerState != null) opt.restore(n -> optimizerState.contains(n) ? optimizerState.get(n) : null);
        this.trainer = new SegSamTrainer(model, trainable, opt, config.loss(), Preprocessor.Convention.SAM);
    }

    /** A new run from {@code weights} (which it takes over and trains in place). */
    public static TrainingRun start(Weights weights, TrainingData data, Backend backend, Config config) {
        return new TrainingRun(weights.tensors(), weights.metadata(), data, backend, config, 0, null);
    }

    /**
     * The run a {@link #checkpoint()} belongs to, at the step it was taken (its tensors are copied: a checkpoint file
     * can be closed afterwards). {@code config} must be the run's.
     */
    public static TrainingRun resume(TensorSource checkpoint, TrainingData data, Backend backend, Config config) {
        Map<String, Tensor> w = new LinkedHashMap<>();
        for (String n : checkpoint.names()) if (!n.startsWith("adamw.")) w.put(n, checkpoint.get(n).copy());
        Map<String, String> meta = new LinkedHashMap<>(checkpoint.metadata());
        String s = meta.remove(STEP_KEY);
        int step;
        try {
            step = s == null ? 0 : Integer.parseInt(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("checkpoint metadata " + STEP_KEY + " is \"" + s + "\", not a step number");
        }
        if (step > config.steps()) throw new IllegalArgumentException("the checkpoint is at step " + step + ", past the run's " + config.steps() + " steps");
        return new TrainingRun(w, meta, data, backend, config, step, checkpoint);
    }

    private static boolean isSemanticPart(String name) {
        return name.startsWith("t2vse.") || name.startsWith("semantic_decoder.");
    }

    // ------------------------------------------------------------------ queries

    /** The model being trained (its tensors are the backend's: the run's weights on the CPU, their device copies elsewhere). */
    public SegSam model() {
        return model;
    }

    public Config config() {
        return config;
    }

    /** The last completed step (0 before the first). */
    public int step() {
        return step;
    }

    /** Whether every step of the run is done. */
    public boolean finished() {
        return step >= config.steps();
    }

    /** Number of values the optimiser trains. */
    public long trainableValues() {
        return trainable.values().stream().mapToLong(Tensor::numel).sum();
    }

    /** The learning rate of step {@code t}. */
    public double learningRate(int t) {
        return opt.learningRate(t);
    }

    /** Every tensor of the model, by name (read-only view of the live weights). */
    public Map<String, Tensor> weights() {
        syncHost();
        return Collections.unmodifiableMap(weights);
    }

    /** The metadata the model is stored with (SEG-SAM config and classes). */
    public Map<String, String> metadata() {
        return Collections.unmodifiableMap(meta);
    }

    // ------------------------------------------------------------------ running

    /**
     * Preprocesses every sample and gets the frozen encoder's f_v for them from {@code source} (skipped when the encoder
     * is trained). Optional: {@link #train} does it with {@link Embeddings#computed()} when it has not been done.
     */
    public void prepare(Embeddings source) throws IOException {
        List<TrainSample> all = new ArrayList<>(data.train());
        all.addAll(data.val());
        all.addAll(data.test());
        for (TrainSample s : all) frames.put(s.id(), trainer.preprocessor().preprocess(s.image()));
        if (!config.loss().trainEncoder()) {
            for (var e : source.of(model.sam(), weights, all, frames).entrySet()) {
                embeddings.put(e.getKey(), TensorScope.detach(backend.upload(e.getValue()))); // on the CPU: the tensor itself
            }
        }
        prepared = true;
    }

    /**
     * Runs steps {@link #step()} + 1 up to the end of the run, or at most {@code maxSteps} of them ({@code 0}: no limit),
     * sending {@code listener} its events. Returns the last step done.
     */
    public int train(int maxSteps, Listener listener) throws IOException {
        if (data.train().isEmpty()) throw new IllegalStateException("the training split is empty");
        if (!prepared) prepare(Embeddings.computed());
        int start = step, steps = config.steps();
        Map<Integer, List<Integer>> byClass = new java.util.TreeMap<>();
        for (int i = 0; i < data.train().size(); i++) {
            for (TrainSample.Target tg : data.train().get(i).targets()) {
                List<Integer> l = byClass.computeIfAbsent(tg.classIndex(), k -> new ArrayList<>());
                if (l.isEmpty() || l.getLast() != i) l.add(i);
            }
        }
        int[] classOrder = byClass.keySet().stream().mapToInt(Integer::intValue).toArray();
        int last = maxSteps <= 0 ? steps : Math.min(steps, start + maxSteps);
        long t0 = System.nanoTime();
        double[] acc = new double[7];
        int accN = 0;
        for (int t = start + 1; t <= last; t++) {
            step = t;
            Random rnd = new Random(config.seed() * 1_000_003L + t);
            TrainSample s;
            int prefer = 0;
            if (config.sampling() == Sampling.CLASS && !byClass.isEmpty()) {
                prefer = classOrder[rnd.nextInt(classOrder.length)];
                List<Integer> having = byClass.get(prefer);
                s = data.train().get(having.get(rnd.nextInt(having.size())));
            } else {
                s = data.train().get(rnd.nextInt(data.train().size()));
            }
            if (s.targets().isEmpty()) continue;
            SegSamTrainer.Report r;
            if (config.augment().none()) {
                r = trainer.step(s, frames.get(s.id()), embeddings.get(s.id()), rnd, prefer);
            } else {
                TrainSample a = config.augment().apply(s, rnd);
                if (a.targets().isEmpty()) continue;
                try (Preprocessor.Preprocessed frame = trainer.preprocessor().preprocess(a.image());
                     Tensor fv = config.loss().trainEncoder() ? null : model.sam().encode(frame.input(), null)) {
                    r = trainer.step(a, frame, fv, rnd, prefer);
                }
            }
            double[] v = {r.total(), r.focal(), r.dice(), r.ce(), r.semDice(), r.bce(), r.cons()};
            for (int i = 0; i < v.length; i++) acc[i] += v[i];
            accN++;
            listener.step(t, r, opt.learningRate(t));
            if (t % config.logEvery() == 0 || t == steps) {
                double per = (System.nanoTime() - t0) / 1e9 / (t - start);
                SegSamTrainer.Report mean = new SegSamTrainer.Report(acc[0] / accN, acc[1] / accN, acc[2] / accN, acc[3] / accN,
                        acc[4] / accN, acc[5] / accN, acc[6] / accN, Double.NaN, 0);
                listener.progress(new Progress(t, steps, mean, opt.learningRate(t), per, per * (steps - t)));
                acc = new double[7];
                accN = 0;
            }
            if (config.evalEvery() > 0 && t % config.evalEvery() == 0 && t < steps && !data.val().isEmpty()) {
                listener.validation(t, evaluate(data.val()));
            }
            if (t % config.checkpointEvery() == 0 || t == last) listener.checkpoint(t);
        }
        step = last;
        return last;
    }

    /** The model's scores on {@code samples} ({@link Evaluation}, the data's classes). */
    public Evaluation.Result evaluate(List<TrainSample> samples) {
        return Evaluation.run(model, samples, s -> {
            Tensor fv = embeddings.get(s.id());
            return fv != null ? fv : model.sam().encode(frame(s).input(), null);
        }, this::frame, data.classNames());
    }

    private Preprocessor.Preprocessed frame(TrainSample s) {
        return frames.computeIfAbsent(s.id(), k -> trainer.preprocessor().preprocess(s.image()));
    }

    // ------------------------------------------------------------------ saving

    /** On a device: copies the trained tensors' current values into the host tensors of {@link #weights} (on the CPU they are the same). */
    private void syncHost() {
        if (live == weights) return;
        for (var e : trainable.entrySet()) {
            try (TensorScope _ = TensorScope.open()) {
                float[] v = backend.download(e.getValue()).toArray();
                weights.get(e.getKey()).write(0, v, 0, v.length);
            }
        }
    }

    /** Tensors and metadata to be stored together, e.g. as one safetensors file ({@code io}'s SafeTensorsWriter). */
    public record Snapshot(Map<String, Tensor> tensors, Map<String, String> metadata) {
        /** The snapshot as a source, e.g. for {@link #resume} or {@link SegSam#load}. */
        public TensorSource source() {
            return TensorSource.of(tensors, metadata);
        }
    }

    /**
     * The run's state at {@link #step()} for {@link #resume}: every weight, then AdamW's state ({@code adamw.*}); the
     * metadata plus {@link #STEP_KEY}. The tensors are the live ones: store them before the next step.
     */
    public Snapshot checkpoint() {
        syncHost();
        Map<String, Tensor> t = new LinkedHashMap<>(weights);
        t.putAll(opt.state());
        Map<String, String> m = new LinkedHashMap<>(meta);
        m.put(STEP_KEY, Integer.toString(step));
        return new Snapshot(Collections.unmodifiableMap(t), Collections.unmodifiableMap(m));
    }

    /** The trained model: every weight, and the metadata plus {@code extraMetadata} and {@link #FINAL_STEP_KEY}. */
    public Snapshot model(Map<String, String> extraMetadata) {
        syncHost();
        Map<String, String> m = new LinkedHashMap<>(meta);
        m.putAll(extraMetadata);
        m.put(FINAL_STEP_KEY, Integer.toString(step));
        return new Snapshot(Collections.unmodifiableMap(new LinkedHashMap<>(weights)), Collections.unmodifiableMap(m));
    }
}
