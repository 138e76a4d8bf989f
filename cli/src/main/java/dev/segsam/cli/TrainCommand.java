package dev.segsam.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.segsam.cli.train.Architectures;
import dev.segsam.cli.train.DataSources;
import dev.segsam.cli.train.Evaluation;
import dev.segsam.cli.train.Plots;
import dev.segsam.io.AtomicFiles;
import dev.segsam.io.image.ImageFiles;
import dev.segsam.io.safetensors.SafeTensorsFile;
import dev.segsam.io.safetensors.SafeTensorsWriter;
import dev.segsam.model.preprocess.Preprocessor;
import dev.segsam.model.sam.SeededWeights;
import dev.segsam.model.segsam.ClassSpec;
import dev.segsam.model.segsam.ClassTexts;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.model.segsam.SegSamConfig;
import dev.segsam.model.segsam.SegSamInit;
import dev.segsam.model.train.AdamW;
import dev.segsam.model.train.SegSamTrainer;
import dev.segsam.model.train.TrainSample;
import dev.segsam.tensor.Backends;
import dev.segsam.tensor.Device;
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
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code segsam train}: trains SEG-SAM's trainable parts in Java (segsam.md §4), or, with {@code --stage encoder}, a
 * small SAM (encoder + prompt encoder + mask decoder, binary loss) from scratch. See docs/TRAINING.md for the recipes.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train SEG-SAM on a labelled data set (prints loss components with ETA; writes checkpoints,",
            "model.safetensors, train.json, loss.png and eval.json into --out)."})
final class TrainCommand implements Callable<Integer> {
    @Option(names = "--data", paramLabel = "colin27|phantom", description = "data set (default ${DEFAULT-VALUE})", defaultValue = "phantom")
    String data;
    @Option(names = "--data-dir", paramLabel = "DIR", description = "where colin27's files are (default: $SEGSAM_DATA or ~/.cache/segsam, /mricron-data)")
    Path dataDir;
    @Option(names = "--phantoms", defaultValue = "240", description = "phantom slices to generate (default ${DEFAULT-VALUE}; 80/10/10 split)")
    int phantoms;
    @Option(names = "--stage", defaultValue = "segsam", paramLabel = "encoder|segsam",
            description = "encoder: train a small SAM from scratch, encoder included, binary loss; segsam: frozen encoder, SEG-SAM losses (default)")
    String stage;
    @Option(names = "--ablation", defaultValue = "full", paramLabel = "baseline|so|co|t2vse|full",
            description = "which parts and losses (paper's ablation): baseline = SAM decoder only; so = + SO-token; co = + CO-tokens; t2vse = + T2VSE; full = + cross-mask alignment (default)")
    String ablation;
    @Option(names = "--init", paramLabel = "FILE", description = "start from these weights (SAM/MedSAM/SEG-SAM or a stage-1 model); default: fresh --arch")
    Path init;
    @Option(names = "--arch", defaultValue = "small256", description = "architecture for fresh weights (default ${DEFAULT-VALUE})")
    String arch;
    @Option(names = "--steps", defaultValue = "1000", description = "optimizer steps (default ${DEFAULT-VALUE})")
    int steps;
    @Option(names = "--lr", defaultValue = "1e-4", description = "peak learning rate (default ${DEFAULT-VALUE})")
    double lr;
    @Option(names = "--warmup", defaultValue = "50", description = "warm-up steps (default ${DEFAULT-VALUE}), then cosine decay")
    int warmup;
    @Option(names = "--targets", defaultValue = "5", description = "objects per image per step (default ${DEFAULT-VALUE})")
    int targets;
    @Option(names = "--focal-weight", defaultValue = "20", description = "weight of the focal term of L_bin (default ${DEFAULT-VALUE}, SAM's)")
    double focalWeight;
    @Option(names = "--dice-weight", defaultValue = "1", description = "weight of the Dice term of L_bin (default ${DEFAULT-VALUE})")
    double diceWeight;
    @Option(names = "--text-dim", defaultValue = "256", description = "built-in text embedding width (default ${DEFAULT-VALUE})")
    int textDim;
    @Option(names = "--seed", defaultValue = "1", description = "seed of everything random (default ${DEFAULT-VALUE})")
    long seed;
    @Option(names = "--eval-every", defaultValue = "250", description = "validate every N steps (default ${DEFAULT-VALUE}; 0 = only at the end)")
    int evalEvery;
    @Option(names = "--checkpoint-every", defaultValue = "250", description = "write checkpoint.safetensors every N steps (default ${DEFAULT-VALUE})")
    int checkpointEvery;
    @Option(names = "--log-every", defaultValue = "25", description = "print losses every N steps (default ${DEFAULT-VALUE})")
    int logEvery;
    @Option(names = "--cache", paramLabel = "DIR", description = "where encoder embeddings are cached (default: $SEGSAM_CACHE or ~/.cache/segsam/embeddings)")
    Path cacheDir;
    @Option(names = "--max-steps-this-run", hidden = true, description = "stop after this many steps (tests of --resume)")
    Integer maxStepsThisRun;
    @Option(names = "--config", paramLabel = "train.json", description = "a JSON object of option values (names without dashes); flags given on the command line win")
    Path config;
    @Option(names = "--resume", description = "continue the run in --out from its checkpoint.safetensors (same options)")
    boolean resume;
    @Option(names = "--out", required = true, paramLabel = "RUN_DIR", description = "run folder (new or empty, or an existing run with --resume)")
    Path out;
    @Option(names = "--force", description = "start over in a non-empty run folder")
    boolean force;

    @Spec
    CommandSpec spec;

    private final ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Override
    public Integer call() throws Exception {
        PrintWriter o = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        applyConfigFile();
        checkOptions();
        Path ckpt = out.resolve("checkpoint.safetensors");
        if (resume) {
            if (!Files.exists(ckpt)) throw new IOException(ckpt + " not found: nothing to resume");
        } else {
            OutputFolder.requireUsable(out, force, "use --resume to continue that run, or --force to start over");
        }
        DataSources ds = DataSources.load(data, dataDir, phantoms, 256);
        if (ds.train().isEmpty()) throw new IllegalStateException("the " + data + " training split is empty");
        List<ClassSpec> classes = new ArrayList<>();
        for (String c : ds.classNames()) classes.add(ClassTexts.spec(c, null));
        boolean encoderStage = stage.equals("encoder");
        boolean semantic = !encoderStage && !ablation.equals("baseline");

        // ---------------------------------------------------------------- weights (owned, mutable copies)
        Map<String, Tensor> weights = new LinkedHashMap<>();
        Map<String, String> meta = new LinkedHashMap<>();
        int startStep = 0;
        SafeTensorsFile resumeFile = null;
        if (resume) {
            resumeFile = SafeTensorsFile.open(ckpt);
            for (String n : resumeFile.names()) if (!n.startsWith("adamw.")) weights.put(n, resumeFile.get(n).copy());
            meta.putAll(resumeFile.metadata());
            startStep = Integer.parseInt(resumeFile.metadata().getOrDefault("segsam.train.step", "0"));
        } else {
            TensorSource base;
            Map<String, String> baseMeta = Map.of();
            try (ModelFiles.Opened f = init == null ? null : ModelFiles.open(init)) {
                base = f == null ? SeededWeights.generate(Architectures.byName(arch), seed) : f.source();
                if (f != null) baseMeta = f.source().metadata();
                for (String n : base.names()) {
                    if (n.startsWith("t2vse.") || n.startsWith("semantic_decoder.")) continue; // SEG-SAM parts are made below
                    weights.put(n, base.get(n).copy());
                }
                if (semantic) {
                    SegSamConfig prior = SegSamConfig.fromMetadata(baseMeta);
                    boolean reuse = prior != null && prior.classNames().equals(ds.classNames());
                    SegSamInit.Model m = SegSamInit.create(SeededWeights.of(weights), classes, SegSamInit.hashedEmbeddings(classes, textDim),
                            "hashed-v1", true, "sam", seed);
                    for (var e : m.tensors().entrySet()) weights.putIfAbsent(e.getKey(), e.getValue());
                    if (reuse) for (String n : base.names()) if (n.startsWith("t2vse.") || n.startsWith("semantic_decoder.")) weights.put(n, base.get(n).copy());
                    boolean t2 = ablation.equals("t2vse") || ablation.equals("full"), co = !ablation.equals("so");
                    SegSamConfig cfg = SegSamConfig.fromMetadata(m.metadata()).withParts(t2, co);
                    meta.putAll(cfg.toMetadata());
                }
            }
        }
        TensorSource src = withMeta(weights, meta);
        SegSam model = SegSam.load(src, Backends.select(Main.options(null, null).withDevice(Device.CPU))); // -Dsegsam.cpu/threads
        Map<String, Tensor> trainable = SegSamTrainer.trainableOf(weights, encoderStage);
        if (!semantic) trainable.keySet().removeIf(n -> n.startsWith("t2vse.") || n.startsWith("semantic_decoder."));
        AdamW opt = AdamW.defaults(trainable, lr, warmup, steps);
        if (resumeFile != null) {
            SafeTensorsFile rf = resumeFile;
            opt.restore(n -> rf.contains(n) ? rf.get(n) : null);
            rf.close();
        }
        SegSamTrainer.Options to = new SegSamTrainer.Options(targets, focalWeight, diceWeight, semantic, semantic && !ablation.equals("so"),
                semantic && ablation.equals("full"), 1, 1, encoderStage);
        SegSamTrainer trainer = new SegSamTrainer(model, trainable, opt, to, Preprocessor.Convention.SAM);
        long params = trainable.values().stream().mapToLong(Tensor::numel).sum();
        o.printf(Locale.ROOT, "segsam train: %s, %d train / %d val / %d test images, %d classes; %s %s; %s trainable values; steps %d..%d%n",
                data, ds.train().size(), ds.val().size(), ds.test().size(), classes.size(), model.sam().config().name(),
                encoderStage ? "stage encoder (binary)" : "ablation " + ablation, String.format(Locale.ROOT, "%,d", params), startStep + 1, steps);
        Files.createDirectories(out);

        // ---------------------------------------------------------------- embeddings of the frozen encoder
        Map<String, Preprocessor.Preprocessed> frames = new LinkedHashMap<>();
        Map<String, Tensor> cache = new LinkedHashMap<>();
        List<TrainSample> all = new ArrayList<>(ds.train());
        all.addAll(ds.val());
        all.addAll(ds.test());
        for (TrainSample s : all) frames.put(s.id(), trainer.preprocessor().preprocess(s.image()));
        if (!encoderStage) {
            cache.putAll(dev.segsam.cli.train.EmbeddingCache.load(model.sam(), weights, data + (data.equals("phantom") ? phantoms : ""),
                    all, frames, cacheDir == null ? dev.segsam.cli.train.EmbeddingCache.defaultDir() : cacheDir, err));
        }

        // ---------------------------------------------------------------- the loop
        ObjectNode log = resume && Files.exists(out.resolve("train.json")) ? (ObjectNode) json.readTree(out.resolve("train.json").toFile()) : json.createObjectNode();
        log.set("options", options());
        ArrayNode stepsLog = log.has("steps") ? (ArrayNode) log.get("steps") : log.putArray("steps");
        ArrayNode evals = log.has("evals") ? (ArrayNode) log.get("evals") : log.putArray("evals");
        long t0 = System.nanoTime();
        double[] acc = new double[7];
        int accN = 0;
        int lastStep = maxStepsThisRun == null ? steps : Math.min(steps, startStep + maxStepsThisRun);
        for (int step = startStep + 1; step <= lastStep; step++) {
            Random rnd = new Random(seed * 1_000_003L + step);
            TrainSample s = ds.train().get(rnd.nextInt(ds.train().size()));
            if (s.targets().isEmpty()) continue;
            SegSamTrainer.Report r = trainer.step(s, frames.get(s.id()), cache.get(s.id()), rnd);
            double[] v = {r.total(), r.focal(), r.dice(), r.ce(), r.semDice(), r.bce(), r.cons()};
            for (int i = 0; i < v.length; i++) acc[i] += v[i];
            accN++;
            stepsLog.addObject().put("step", step).put("total", r.total()).put("focal", r.focal()).put("dice", r.dice()).put("ce", r.ce())
                    .put("sem_dice", r.semDice()).put("bce", r.bce()).put("cons", r.cons()).put("grad_norm", r.gradNorm())
                    .put("lr", opt.learningRate(step));
            if (step % logEvery == 0 || step == steps) {
                double sec = (System.nanoTime() - t0) / 1e9, per = sec / (step - startStep);
                o.printf(Locale.ROOT, "step %d/%d  loss %.4f (focal %.4f dice %.3f ce %.3f sem-dice %.3f bce %.3f cons %.3f)  lr %.2e  %.2f s/step  ETA %s%n",
                        step, steps, acc[0] / accN, acc[1] / accN, acc[2] / accN, acc[3] / accN, acc[4] / accN, acc[5] / accN, acc[6] / accN,
                        opt.learningRate(step), per, eta(per * (steps - step)));
                o.flush();
                acc = new double[7];
                accN = 0;
            }
            if (evalEvery > 0 && step % evalEvery == 0 && step < steps && !ds.val().isEmpty()) {
                Evaluation.Result e = evaluate(model, ds.val(), frames, cache, ds.classNames());
                evals.add(e.toJson(json, "val", step));
                o.println("  val @" + step + ": " + e.summary());
            }
            if (step % checkpointEvery == 0 || step == lastStep) {
                checkpoint(weights, meta, opt, step, ckpt);
                AtomicFiles.write(out.resolve("train.json"), true, tmp -> json.writeValue(tmp.toFile(), log));
            }
        }
        if (lastStep < steps) {
            o.println("stopped after step " + lastStep + " (resume with --resume)");
            return 0;
        }
        // ---------------------------------------------------------------- results
        Map<String, String> finalMeta = new LinkedHashMap<>(meta);
        finalMeta.put("segsam.train", json.writeValueAsString(options()));
        writeModel(weights, finalMeta, out.resolve("model.safetensors"));
        ObjectNode report = json.createObjectNode();
        for (String split : List.of("val", "test")) {
            if (ds.split(split).isEmpty()) continue;
            Evaluation.Result e = evaluate(model, ds.split(split), frames, cache, ds.classNames());
            report.set(split, e.toJson(json, split, steps));
            o.println(split + ": " + e.summary());
        }
        AtomicFiles.write(out.resolve("eval.json"), true, tmp -> json.writeValue(tmp.toFile(), report));
        log.put("seconds", (log.path("seconds").asDouble(0) + (System.nanoTime() - t0) / 1e9));
        AtomicFiles.write(out.resolve("train.json"), true, tmp -> json.writeValue(tmp.toFile(), log));
        ImageFiles.writePng(lossPlot(stepsLog, semantic), out.resolve("loss.png"));
        o.println("wrote " + out.resolve("model.safetensors") + ", eval.json, train.json, loss.png");
        return 0;
    }

    private Evaluation.Result evaluate(SegSam model, List<TrainSample> samples, Map<String, Preprocessor.Preprocessed> frames,
                                       Map<String, Tensor> cache, List<String> classNames) {
        return Evaluation.run(model, samples, s -> {
            Tensor fv = cache.get(s.id());
            return fv != null ? fv : model.sam().encode(frames.get(s.id()).input(), null);
        }, frames::get, classNames);
    }

    static String eta(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, s % 3600 / 60) : String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
    }

    private void checkOptions() {
        if (!List.of("encoder", "segsam").contains(stage)) throw new IllegalArgumentException("--stage must be encoder or segsam, got " + stage);
        if (!List.of("baseline", "so", "co", "t2vse", "full").contains(ablation)) {
            throw new IllegalArgumentException("--ablation must be baseline, so, co, t2vse or full, got " + ablation);
        }
        if (steps < 1 || targets < 1 || lr <= 0 || warmup < 0 || logEvery < 1 || checkpointEvery < 1 || evalEvery < 0) {
            throw new IllegalArgumentException("steps, targets, log/checkpoint intervals must be positive and lr > 0");
        }
    }

    /** Fills options not given on the command line from the --config JSON object. */
    private void applyConfigFile() throws IOException {
        if (config == null) return;
        if (!Files.exists(config)) throw new java.nio.file.NoSuchFileException(config.toString());
        JsonNode c = json.readTree(config.toFile());
        if (c == null || !c.isObject()) throw new IOException(config + ": expected a JSON object of option values");
        var parsed = spec.commandLine().getParseResult();
        for (var e : c.properties()) {
            var opt = spec.findOption("--" + e.getKey().replace('_', '-'));
            if (opt == null) throw new IOException(config + ": unknown option \"" + e.getKey() + "\"");
            if (parsed.hasMatchedOption(opt)) continue; // the command line wins
            opt.setValue(opt.typeInfo().getType() == Path.class ? Path.of(e.getValue().asText()) : convert(opt.typeInfo().getType(), e.getValue()));
        }
    }

    private static Object convert(Class<?> type, JsonNode v) {
        if (type == int.class || type == Integer.class) return v.asInt();
        if (type == long.class || type == Long.class) return v.asLong();
        if (type == double.class || type == Double.class) return v.asDouble();
        if (type == boolean.class || type == Boolean.class) return v.asBoolean();
        return v.asText();
    }

    private ObjectNode options() {
        ObjectNode n = json.createObjectNode();
        n.put("data", data).put("stage", stage).put("ablation", ablation).put("init", init == null ? null : init.toString())
                .put("arch", arch).put("steps", steps).put("lr", lr).put("warmup", warmup).put("targets", targets)
                .put("text_dim", textDim).put("seed", seed).put("phantoms", phantoms).put("focal_weight", focalWeight)
                .put("dice_weight", diceWeight);
        return n;
    }

    private static void checkpoint(Map<String, Tensor> weights, Map<String, String> meta, AdamW opt, int step, Path file) throws IOException {
        SafeTensorsWriter w = new SafeTensorsWriter();
        weights.forEach(w::add);
        opt.state().forEach(w::add);
        meta.forEach(w::metadata);
        w.metadata("segsam.train.step", Integer.toString(step));
        w.write(file, true);
    }

    private static void writeModel(Map<String, Tensor> weights, Map<String, String> meta, Path file) throws IOException {
        SafeTensorsWriter w = new SafeTensorsWriter();
        weights.forEach(w::add);
        meta.forEach(w::metadata);
        w.write(file, true);
    }

    static TensorSource withMeta(Map<String, Tensor> t, Map<String, String> meta) {
        return TensorSource.of(t, meta);
    }

    private static dev.segsam.tensor.image.RgbImage lossPlot(ArrayNode steps, boolean semantic) {
        int n = steps.size(), win = Math.max(1, n / 50);
        String[] keys = semantic ? new String[] {"total", "dice", "ce", "sem_dice", "bce", "cons"} : new String[] {"total", "dice"};
        List<Plots.Series> series = new ArrayList<>();
        for (String k : keys) {
            double[] y = new double[n];
            double run = 0;
            for (int i = 0; i < n; i++) {
                run += steps.get(i).path(k).asDouble(Double.NaN);
                if (i >= win) run -= steps.get(i - win).path(k).asDouble(Double.NaN);
                y[i] = run / Math.min(i + 1, win);
            }
            series.add(new Plots.Series(k.replace('_', ' '), y));
        }
        return Plots.lines("training loss (moving average over " + win + " steps)", "step", series, 720, 420);
    }
}
