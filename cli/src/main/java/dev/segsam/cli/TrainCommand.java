package dev.segsam.cli;

import dev.segsam.io.IoLimits;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.segsam.cli.train.DataSources;
import dev.segsam.cli.train.EmbeddingCache;
import dev.segsam.cli.train.DataOptions;
import dev.segsam.cli.train.LossPlot;
import dev.segsam.io.AtomicFiles;
import dev.segsam.io.Checkpoint;
import dev.segsam.io.safetensors.SafeTensorsWriter;
import dev.segsam.model.sam.SamConfig;
import dev.segsam.model.sam.SeededWeights;
import dev.segsam.model.train.Ablation;
import dev.segsam.model.train.Architectures;
import dev.segsam.model.train.Augment;
import dev.segsam.model.train.Evaluation;
import dev.segsam.model.train.SegSamTrainer;
import dev.segsam.model.train.TrainingRun;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Backends;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorSource;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code segsam train}: trains SEG-SAM's trainable parts in Java (docs/design/segsam.md §4), or, with {@code --stage encoder}, a
 * small SAM (encoder + prompt encoder + mask decoder, binary loss) from scratch. See docs/TRAINING.md for the recipes.
 * The run itself is the library's {@link TrainingRun}; this command maps flags (and {@code --config}) onto its
 * {@link TrainingRun.Config}, keeps the frozen encoder's embeddings in a disk cache ({@link EmbeddingCache}) and writes
 * what it reports: progress lines with ETA, {@code train.json}, checkpoints, {@code model.safetensors},
 * {@code eval.json} and {@code loss.png}.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train SEG-SAM on a labelled data set, printing the loss components with an ETA.",
            "Writes checkpoints, model.safetensors, train.json, loss.png and eval.json into --out.",
            "Without --init it runs the whole recipe: stage encoder (a small SAM from scratch, into OUT/encoder), then stage",
            "segsam (SEG-SAM on the frozen encoder, into OUT). See docs/TRAINING.md."})
final class TrainCommand implements Callable<Integer> {
    @Mixin
    DataOptions dataOptions;
    @Mixin
    ComputeOptions compute; // --device (default cpu here, docs/TRAINING.md "Training on a GPU"), --threads
    @Option(names = "--stage", defaultValue = "auto", paramLabel = "auto|encoder|segsam",
            description = {"encoder: train a small SAM from scratch, encoder included, binary loss; segsam: frozen encoder (from --init),",
                "SEG-SAM losses; auto (default): segsam with --init, else encoder then segsam"})
    String stage;
    @Option(names = "--ablation", defaultValue = "full", paramLabel = "baseline|so|co|t2vse|full",
            description = "which parts and losses (paper's ablation): baseline = SAM decoder only; so = + SO-token; co = + CO-tokens; t2vse = + T2VSE; full = + cross-mask alignment (default)")
    String ablation;
    @Option(names = "--init", paramLabel = "FILE", description = "start from these weights (SAM/MedSAM/SEG-SAM or a stage-encoder model); default: fresh --arch")
    Path init;
    @Option(names = "--init-parts", defaultValue = "all", paramLabel = "all|sam|encoder",
            description = {"what --init gives: all its tensors (default); sam = its SAM parts (image encoder, prompt encoder, mask decoder), the",
                "SEG-SAM parts fresh from --seed; encoder = only its image encoder, everything else fresh from --seed (e.g. every ablation",
                "run from one finished model)"})
    String initParts;
    @Option(names = "--init-encoder-only", hidden = true, description = "same as --init-parts encoder")
    void initEncoderOnly(boolean on) {
        if (on) initParts = "encoder";
    }
    @Option(names = "--arch", paramLabel = "NAME", defaultValue = "small256", description = "architecture for fresh weights: small256, medium256, fine256 (64×64 grid) or vit_b (default ${DEFAULT-VALUE})")
    String arch;
    @Option(names = "--steps", paramLabel = "N", defaultValue = "1000", description = "optimizer steps of the segsam stage (or of --stage encoder) (default ${DEFAULT-VALUE})")
    int steps;
    @Option(names = "--lr", paramLabel = "X", defaultValue = "5e-4", description = "peak learning rate of the segsam stage (or of --stage encoder) (default ${DEFAULT-VALUE})")
    double lr;
    @Option(names = "--warmup", paramLabel = "N", defaultValue = "50", description = "warm-up steps (default ${DEFAULT-VALUE}), then cosine decay")
    int warmup;
    @Option(names = "--encoder-steps", paramLabel = "N", defaultValue = "2000", description = "stage auto: steps of the encoder stage (default ${DEFAULT-VALUE})")
    int encoderSteps;
    @Option(names = "--encoder-lr", paramLabel = "X", defaultValue = "1e-3", description = "stage auto: peak learning rate of the encoder stage (default ${DEFAULT-VALUE})")
    double encoderLr;
    @Option(names = "--encoder-warmup", paramLabel = "N", defaultValue = "100", description = "stage auto: warm-up steps of the encoder stage (default ${DEFAULT-VALUE})")
    int encoderWarmup;
    @Option(names = "--targets", paramLabel = "N", defaultValue = "5", description = "objects per image per step (default ${DEFAULT-VALUE})")
    int targets;
    @Option(names = "--focal-weight", paramLabel = "X", defaultValue = "1", description = "weight of the focal term of L_bin (default ${DEFAULT-VALUE}; SAM's 20 collapses to empty masks from scratch, docs/TRAINING.md)")
    double focalWeight;
    @Option(names = "--dice-weight", paramLabel = "X", defaultValue = "1", description = "weight of the Dice term of L_bin (default ${DEFAULT-VALUE})")
    double diceWeight;
    @Option(names = "--sampling", defaultValue = "image", paramLabel = "image|class",
            description = "how a step picks its image: uniformly (image), or a class uniformly, then an image with it (class) (default ${DEFAULT-VALUE})")
    String sampling;
    @Option(names = "--augment", defaultValue = "none", paramLabel = "none|standard",
            description = {"random scale/rotation/shift and gamma/contrast/brightness per step (standard; the encoder stage also mirrors);",
                "with a frozen encoder it costs an encoder pass per step (default ${DEFAULT-VALUE})"})
    String augment;
    @Option(names = "--text-dim", paramLabel = "N", defaultValue = "256", description = "built-in text embedding width (default ${DEFAULT-VALUE})")
    int textDim;
    @Option(names = "--descriptions", paramLabel = "FILE.json", description = "class descriptions for T2VSE, a JSON object {class: text} (default: segsam's built-in ones, else the class name)")
    Path descriptions;
    @Option(names = "--seed", paramLabel = "N", defaultValue = "1", description = "seed of everything random (default ${DEFAULT-VALUE})")
    long seed;
    @Option(names = "--eval-every", paramLabel = "N", defaultValue = "250", description = "validate every N steps (default ${DEFAULT-VALUE}; 0 = only at the end)")
    int evalEvery;
    @Option(names = "--checkpoint-every", paramLabel = "N", defaultValue = "250", description = "write checkpoint.safetensors every N steps (default ${DEFAULT-VALUE})")
    int checkpointEvery;
    @Option(names = "--log-every", paramLabel = "N", defaultValue = "25", description = "print losses every N steps (default ${DEFAULT-VALUE})")
    int logEvery;
    @Option(names = "--cache", paramLabel = "DIR", description = "where encoder embeddings are cached (default: $SEGSAM_CACHE or ~/.cache/segsam/embeddings)")
    Path cacheDir;
    @Option(names = "--allow-untrained-encoder", description = "let --stage segsam start without --init (a frozen random encoder: for tests, not for use)")
    boolean allowUntrainedEncoder;
    @Option(names = "--max-steps-this-run", paramLabel = "N", hidden = true, description = "stop after this many steps (tests of --resume)")
    Integer maxStepsThisRun;
    @Option(names = "--config", paramLabel = "train.json", description = "a JSON object of option values (names without dashes; or a train.json's \"options\"); flags given on the command line win")
    Path config;
    @Option(names = "--resume", description = "continue the run in --out from its checkpoint (same options)")
    boolean resume;
    @Option(names = "--out", required = true, paramLabel = "RUN_DIR", description = "run folder (new or empty, or an existing run with --resume)")
    Path out;
    @Option(names = "--force", description = "start over in a non-empty run folder")
    boolean force;

    @Spec
    CommandSpec spec;

    private final ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private final java.util.Set<String> configured = new java.util.HashSet<>(); // options --config set
    private Backend backend; // where the stages run: the CPU unless --device cuda (set by call)

    /** One training run into one folder (the recipe's stages are two of them). */
    private record Stage(String name, boolean encoder, Ablation parts, Path init, int steps, double lr, int warmup, Path dir) {}

    @Override
    public Integer call() throws Exception {
        PrintWriter o = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        applyConfigFile();
        if (resume) RunFolder.resumeOptions(spec, out.resolve("train.json"), this::resumableOptions, json, configured);
        checkRanges();
        backend = Backends.select(compute.cpuUnlessAsked()); // a missing GPU fails here, before anything in --out is touched
        if (!List.of("auto", "encoder", "segsam").contains(stage)) throw new IllegalArgumentException("--stage must be auto, encoder or segsam, got " + stage);
        Ablation.parse(ablation); // fails early on a bad name
        Architectures.byName(arch); // fails early on a bad name
        samplingOf();
        augmentOf(false);
        boolean both = stage.equals("auto") && init == null;
        if (!List.of("all", "sam", "encoder").contains(initParts)) throw new IllegalArgumentException("--init-parts must be all, sam or encoder, got " + initParts);
        if (!initParts.equals("all") && init == null) throw new IllegalArgumentException("--init-parts " + initParts + " takes parts of --init: give --init FILE");
        if (stage.equals("segsam") && init == null && !allowUntrainedEncoder) {
            throw new IllegalArgumentException("--stage segsam freezes the image encoder, and without --init it would be an untrained one: train it first with "
                    + "`segsam train --data " + dataOptions.data + " --stage encoder --out RUN/encoder` and add --init RUN/encoder/model.safetensors "
                    + "(or leave out --stage, which runs both stages)");
        }
        Map<String, String> texts = readDescriptions();
        List<Stage> stages = plan();
        for (Stage st : stages) { // checks options the run would reject only later
            new TrainingRun.Config(st.steps(), st.lr(), st.warmup(), seed, logEvery, evalEvery, checkpointEvery, st.parts().loss(targets, focalWeight, diceWeight, st.encoder()));
        }
        if (resume) {
            boolean any = false;
            for (Stage st : stages) any |= Files.exists(st.dir().resolve("checkpoint.safetensors"));
            if (!any) throw new IOException(out.resolve("checkpoint.safetensors") + " not found: nothing to resume");
        } else {
            OutputFolder.requireUsable(out, force, "use --resume to continue that run, or --force to start over");
        }
        for (Stage st : stages) RunFolder.cleanLeftovers(st.dir());
        if (!resume) { // --force: start over, no file of the previous run left to mix with this one's
            for (Stage st : stages) {
                for (String f : List.of("checkpoint.safetensors", "train.json", "model.safetensors", "eval.json", "loss.png")) Files.deleteIfExists(st.dir().resolve(f));
            }
        }
        DataSources ds = DataSources.load(dataOptions, null, null, err);
        if (ds.train().isEmpty()) {
            throw new IllegalArgumentException("the training split of " + dataOptions.data + " is empty (" + ds.val().size() + " val / " + ds.test().size()
                    + " test slices): use smaller --val-fraction / --test-fraction");
        }
        for (String c : texts.keySet()) {
            if (!ds.classNames().contains(c)) throw new IllegalArgumentException(descriptions + ": class \"" + c + "\" is not one of the data set's " + ds.classNames());
        }
        Integer budget = maxStepsThisRun;
        for (Stage st : stages) {
            if (budget != null && budget <= 0) {
                o.println("stopped before stage " + st.name() + " (resume with --resume)");
                return 0;
            }
            Path model = st.dir().resolve("model.safetensors");
            if (both && st.encoder() && Files.exists(model) && resume) {
                o.println("stage encoder: done before (" + model + ")");
                continue;
            }
            boolean resumeThis = resume && Files.exists(st.dir().resolve("checkpoint.safetensors"));
            int done = runStage(st, ds, texts, resumeThis, budget, o, err);
            if (done < 0) return 0; // stopped early
            if (budget != null) budget -= done;
        }
        return 0;
    }

    /** The stages this command runs: the encoder stage then the segsam stage ({@code --stage auto} without --init), or one. */
    private List<Stage> plan() {
        Ablation parts = Ablation.parse(ablation);
        List<Stage> stages = new ArrayList<>();
        Path encDir = out.resolve("encoder");
        if (stage.equals("auto") && init == null) {
            stages.add(new Stage("encoder", true, Ablation.BASELINE, null, encoderSteps, encoderLr, encoderWarmup, encDir));
            stages.add(new Stage("segsam", false, parts, encDir.resolve("model.safetensors"), steps, lr, warmup, out));
        } else {
            boolean enc = stage.equals("encoder");
            stages.add(new Stage(enc ? "encoder" : "segsam", enc, enc ? Ablation.BASELINE : parts, init, steps, lr, warmup, out));
        }
        return stages;
    }

    /** Runs (or resumes) one stage; returns the steps done in this call, or −1 when stopped before the end. */
    private int runStage(Stage st, DataSources ds, Map<String, String> texts, boolean resumeThis, Integer budget, PrintWriter o, PrintWriter err) throws IOException {
        TrainingRun.Config config = new TrainingRun.Config(st.steps(), st.lr(), st.warmup(), seed, logEvery, evalEvery, checkpointEvery,
                st.parts().loss(targets, focalWeight, diceWeight, st.encoder())).withSampling(samplingOf(), augmentOf(st.encoder()));
        Path dir = st.dir(), ckpt = dir.resolve("checkpoint.safetensors");
        Backend cpu = backend; // the CPU (-Dsegsam.cpu/threads) unless --device cuda
        TrainingRun run;
        if (resumeThis) {
            try (Checkpoint f = Checkpoint.open(ckpt, IoLimits.fromSystemProperties())) {
                run = TrainingRun.resume(f, ds, cpu, config);
            }
        } else {
            if (st.init() != null && !Files.exists(st.init())) throw new java.nio.file.NoSuchFileException(st.init().toString());
            try (Checkpoint f = st.init() == null ? null : Checkpoint.open(st.init(), IoLimits.fromSystemProperties())) {
                if (f != null && !st.encoder()) warnIfUndertrained(st.init(), f.metadata(), err);
                TensorSource base = f == null ? null : initParts(f, initParts, seed);
                run = TrainingRun.start(TrainingRun.Weights.initial(base, f == null ? Architectures.byName(arch) : null, ds.classNames(), texts,
                        st.parts(), textDim, seed), ds, cpu, config);
            }
        }
        int startStep = run.step();
        o.printf(Locale.ROOT, "segsam train: %s, %d train / %d val / %d test images, %d classes; %s %s; %s trainable values; steps %d..%d%n",
                ds.name(), ds.train().size(), ds.val().size(), ds.test().size(), ds.classNames().size(), run.model().sam().config().name(),
                st.encoder() ? "stage encoder (binary)" : "stage segsam, ablation " + st.parts(), String.format(Locale.ROOT, "%,d", run.trainableValues()),
                run.step() + 1, st.steps());
        Files.createDirectories(dir);
        Path cache = cacheDir == null ? EmbeddingCache.defaultDir() : cacheDir;
        run.prepare((sam, weights, samples, frames) -> EmbeddingCache.load(sam, weights, ds.cacheKey(), samples, frames, cache, err));

        ObjectNode opts = options(st);
        RunLog log = new RunLog(run, o, resumeThis, dir, opts, ds);
        long t0 = System.nanoTime(), c0 = cpuNanos();
        int last = run.train(budget == null ? 0 : budget, log);
        if (last < st.steps()) {
            o.println("stopped after step " + last + " of stage " + st.name() + " (resume with --resume)");
            return -1;
        }
        // ---------------------------------------------------------------- results
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("segsam.train", json.writeValueAsString(opts));
        meta.put(DataSources.META_KEY, json.writeValueAsString(ds.provenance()));
        write(run.model(meta), dir.resolve("model.safetensors"));
        ObjectNode report = json.createObjectNode();
        for (String split : List.of("val", "test")) {
            if (ds.split(split).isEmpty()) continue;
            Evaluation.Result e = run.evaluate(ds.split(split));
            report.set(split, e.toJson(json, split, st.steps()));
            o.println(split + ": " + e.summary());
        }
        AtomicFiles.write(dir.resolve("eval.json"), true, tmp -> json.writeValue(tmp.toFile(), report));
        log.root.put("seconds", (log.root.path("seconds").asDouble(0) + (System.nanoTime() - t0) / 1e9));
        if (c0 >= 0) log.root.put("cpu_seconds", (log.root.path("cpu_seconds").asDouble(0) + (cpuNanos() - c0) / 1e9));
        log.save();
        ArrayNode plotted = log.evals.deepCopy(); // with the final validation, which eval.json holds
        if (report.has("val")) plotted.add(report.get("val"));
        LossPlot.write(log.steps, plotted, st.parts().semantic(), dir.resolve("loss.png"));
        o.println("wrote " + dir.resolve("model.safetensors") + ", eval.json, train.json, loss.png");
        return last - startStep;
    }

    /**
     * What a run starts from, given {@code --init-parts}: all of {@code init}; its SAM tensors without the SEG-SAM parts
     * ({@code t2vse.*}, {@code semantic_decoder.*}) and without metadata, so that those start fresh; or the fresh
     * weights of {@code seed} for {@code init}'s architecture (what a run without --init starts from) with
     * {@code init}'s image encoder ({@code image_encoder.*}) only.
     */
    static TensorSource initParts(TensorSource init, String parts, long seed) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        switch (parts) {
            case "all" -> { return init; }
            case "sam" -> {
                for (String n : init.names()) if (!n.startsWith("t2vse.") && !n.startsWith("semantic_decoder.")) m.put(n, init.get(n));
            }
            case "encoder" -> {
                TensorSource fresh = SeededWeights.generate(SamConfig.infer(init), seed);
                for (String n : fresh.names()) m.put(n, n.startsWith("image_encoder.") ? init.get(n) : fresh.get(n));
            }
            default -> throw new IllegalArgumentException("--init-parts must be all, sam or encoder, got " + parts);
        }
        return TensorSource.of(m, Map.of());
    }

    /** Stage 1 of the recipe trains the encoder for this many steps; far fewer leaves it close to random. */
    static final int RECIPE_ENCODER_STEPS = 2000, FEW_ENCODER_STEPS = 500;

    /**
     * Warns when the encoder that the segsam stage freezes is a half-trained one: a training checkpoint rather than a
     * finished model, or a stage-encoder model of far fewer steps than the recipe's.
     */
    static void warnIfUndertrained(Path init, Map<String, String> meta, PrintWriter err) {
        String step = meta.get(TrainingRun.STEP_KEY);
        if (step != null) {
            err.println("train: warning: " + init + " is a training checkpoint (after step " + step + "), not a finished model: "
                    + "finish that run first with `segsam train --resume --out " + (init.getParent() == null ? "RUN" : init.getParent()) + "` (same options)");
            return;
        }
        try {
            JsonNode t = new ObjectMapper().readTree(meta.getOrDefault("segsam.train", "{}"));
            if ("encoder".equals(t.path("stage").asText()) && t.path("steps").asInt(RECIPE_ENCODER_STEPS) < FEW_ENCODER_STEPS) {
                err.println("train: warning: the encoder of " + init + " was trained for only " + t.path("steps").asInt() + " steps (the recipe: "
                        + RECIPE_ENCODER_STEPS + ", docs/TRAINING.md); it stays frozen in this stage, so masks and classes will be poor");
            }
        } catch (IOException e) {
            // unreadable training record: nothing to say about it
        }
    }

    private TrainingRun.Sampling samplingOf() {
        return switch (sampling) {
            case "image" -> TrainingRun.Sampling.IMAGE;
            case "class" -> TrainingRun.Sampling.CLASS;
            default -> throw new IllegalArgumentException("--sampling must be image or class, got " + sampling);
        };
    }

    private Augment augmentOf(boolean binary) {
        return switch (augment) {
            case "none" -> Augment.NONE;
            case "standard" -> Augment.standard(binary);
            default -> throw new IllegalArgumentException("--augment must be none or standard, got " + augment);
        };
    }

    /** CPU time of this process so far (all threads), or −1 where the JVM does not say. */
    static long cpuNanos() {
        return java.lang.management.ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
                ? os.getProcessCpuTime() : -1;
    }

    private Map<String, String> readDescriptions() throws IOException {
        if (descriptions == null) return Map.of();
        if (!Files.exists(descriptions)) throw new java.nio.file.NoSuchFileException(descriptions.toString());
        JsonNode n;
        try {
            n = json.readTree(descriptions.toFile());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IOException(descriptions + ": invalid JSON: " + e.getOriginalMessage());
        }
        if (n == null || !n.isObject()) throw new IOException(descriptions + ": expected a JSON object {\"class name\": \"description\", ...}");
        Map<String, String> m = new LinkedHashMap<>();
        for (var e : n.properties()) {
            if (!e.getValue().isTextual() || e.getValue().asText().isBlank()) throw new IOException(descriptions + ": the description of \"" + e.getKey() + "\" is not a non-empty string");
            m.put(e.getKey(), e.getValue().asText());
        }
        return m;
    }

    /**
     * What the run reports, kept: {@code train.json} (options, every step's losses, validations; saved with each
     * checkpoint), the progress lines, and the checkpoint file.
     */
    private final class RunLog implements TrainingRun.Listener {
        final TrainingRun run;
        final PrintWriter o;
        final ObjectNode root;
        final ArrayNode steps, evals;

        final Path dir;

        RunLog(TrainingRun run, PrintWriter o, boolean resume, Path dir, ObjectNode options, DataSources ds) throws IOException {
            this.run = run;
            this.o = o;
            this.dir = dir;
            Path f = dir.resolve("train.json");
            root = resume && Files.exists(f) ? (ObjectNode) json.readTree(f.toFile()) : json.createObjectNode();
            if (resume) RunFolder.truncate(root, run.step()); // saved before a checkpoint that a kill prevented
            root.set("options", options);
            root.set("data", ds.provenance());
            steps = root.has("steps") ? (ArrayNode) root.get("steps") : root.putArray("steps");
            evals = root.has("evals") ? (ArrayNode) root.get("evals") : root.putArray("evals");
        }

        @Override
        public void step(int step, SegSamTrainer.Report r, double lr) {
            steps.addObject().put("step", step).put("total", r.total()).put("focal", r.focal()).put("dice", r.dice()).put("ce", r.ce())
                    .put("sem_dice", r.semDice()).put("bce", r.bce()).put("cons", r.cons()).put("grad_norm", r.gradNorm()).put("lr", lr);
        }

        @Override
        public void progress(TrainingRun.Progress p) {
            SegSamTrainer.Report m = p.mean();
            o.printf(Locale.ROOT, "step %d/%d  loss %.4f (focal %.4f dice %.3f ce %.3f sem-dice %.3f bce %.3f cons %.3f)  lr %.2e  %.2f s/step  ETA %s%n",
                    p.step(), p.steps(), m.total(), m.focal(), m.dice(), m.ce(), m.semDice(), m.bce(), m.cons(), p.learningRate(),
                    p.secondsPerStep(), eta(p.etaSeconds()));
            o.flush();
        }

        @Override
        public void validation(int step, Evaluation.Result e) {
            evals.add(e.toJson(json, "val", step));
            o.println("  val @" + step + ": " + e.summary());
        }

        @Override
        public void checkpoint(int step) throws IOException {
            save(); // first: after a kill, train.json never misses a step the checkpoint holds
            write(run.checkpoint(), dir.resolve("checkpoint.safetensors"));
        }

        void save() throws IOException {
            AtomicFiles.write(dir.resolve("train.json"), true, tmp -> json.writeValue(tmp.toFile(), root));
        }
    }

    static String eta(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, s % 3600 / 60) : String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
    }

    /** The numeric options' ranges (docs/LIMITS.md), checked before any work. */
    private void checkRanges() {
        Ranges.check(spec, "--phantoms", dataOptions.phantoms, 1, 20000);
        Ranges.check(spec, "--encoder-steps", encoderSteps, 1, 10_000_000);
        Ranges.check(spec, "--encoder-warmup", encoderWarmup, 0, 10_000_000);
        Ranges.check(spec, "--encoder-lr", encoderLr, 0, true, 1);
        Ranges.check(spec, "--steps", steps, 1, 10_000_000);
        Ranges.check(spec, "--warmup", warmup, 0, 10_000_000);
        Ranges.check(spec, "--targets", targets, 1, 64);
        Ranges.check(spec, "--text-dim", textDim, 1, 8192);
        Ranges.check(spec, "--lr", lr, 0, true, 1);
        Ranges.check(spec, "--focal-weight", focalWeight, 0, false, 1e6);
        Ranges.check(spec, "--dice-weight", diceWeight, 0, false, 1e6);
        Ranges.check(spec, "--eval-every", evalEvery, 0, Integer.MAX_VALUE);
        Ranges.check(spec, "--checkpoint-every", checkpointEvery, 1, Integer.MAX_VALUE);
        Ranges.check(spec, "--log-every", logEvery, 1, Integer.MAX_VALUE);
        if (maxStepsThisRun != null) Ranges.check(spec, "--max-steps-this-run", maxStepsThisRun, 1, Integer.MAX_VALUE);
    }

    /** Fills options not given on the command line from the --config JSON object. */
    private void applyConfigFile() throws IOException {
        if (config == null) return;
        var parsed = spec.commandLine().getParseResult();
        for (var e : ConfigFile.read(config, spec).entrySet()) { // strict: names, types, ranges of the JSON values
            if (parsed.hasMatchedOption(e.getKey())) continue; // the command line wins
            e.getKey().setValue(e.getValue());
            configured.add(ConfigFile.key(e.getKey()));
        }
    }

    /**
     * What {@code --resume} compares with the options train.json in --out records: those of the stage that writes --out
     * (the last one), with the command's own --stage and --init, so that a run of stage auto resumes as the segsam stage
     * on its encoder stage's model, as recorded.
     */
    private ObjectNode resumableOptions() {
        ObjectNode n = options(plan().getLast());
        n.put("stage", stage).put("init", init == null ? null : init.toString());
        return n;
    }

    /** The options that reproduce stage {@code st} on its own, as train.json and the model's metadata record them. */
    private ObjectNode options(Stage st) {
        ObjectNode n = json.createObjectNode();
        dataOptions.record(n);
        n.put("stage", st.name()).put("ablation", st.parts().toString()).put("init", st.init() == null ? null : st.init().toString())
                .put("arch", arch).put("steps", st.steps()).put("lr", st.lr()).put("warmup", st.warmup()).put("targets", targets)
                .put("text_dim", textDim).put("descriptions", descriptions == null ? null : descriptions.toString()).put("seed", seed)
                .put("focal_weight", focalWeight).put("dice_weight", diceWeight).put("sampling", sampling).put("augment", augment);
        if (allowUntrainedEncoder) n.put("allow_untrained_encoder", true);
        if (!initParts.equals("all") && st.init() != null) n.put("init_parts", initParts);
        return n;
    }

    private static void write(TrainingRun.Snapshot s, Path file) throws IOException {
        SafeTensorsWriter w = new SafeTensorsWriter();
        s.tensors().forEach(w::add);
        s.metadata().forEach(w::metadata);
        w.write(file, true);
    }
}
