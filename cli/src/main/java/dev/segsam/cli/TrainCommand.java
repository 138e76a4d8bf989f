package dev.segsam.cli;

import dev.segsam.io.IoLimits;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.segsam.cli.train.DataSources;
import dev.segsam.cli.train.EmbeddingCache;
import dev.segsam.cli.train.Plots;
import dev.segsam.io.AtomicFiles;
import dev.segsam.io.Checkpoint;
import dev.segsam.io.image.ImageFiles;
import dev.segsam.io.safetensors.SafeTensorsWriter;
import dev.segsam.model.train.Ablation;
import dev.segsam.model.train.Architectures;
import dev.segsam.model.train.Evaluation;
import dev.segsam.model.train.SegSamTrainer;
import dev.segsam.model.train.TrainingRun;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Backends;
import dev.segsam.tensor.Device;
import dev.segsam.tensor.image.RgbImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
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
            "Writes checkpoints, model.safetensors, train.json, loss.png and eval.json into --out."})
final class TrainCommand implements Callable<Integer> {
    @Option(names = "--data", paramLabel = "colin27|phantom", description = "data set (default ${DEFAULT-VALUE})", defaultValue = "phantom")
    String data;
    @Option(names = "--data-dir", paramLabel = "DIR", description = "where colin27's files are (default: $SEGSAM_DATA or ~/.cache/segsam, /mricron-data)")
    Path dataDir;
    @Option(names = "--phantoms", paramLabel = "N", defaultValue = "240", description = "phantom slices to generate (default ${DEFAULT-VALUE}; 80/10/10 split)")
    int phantoms;
    @Option(names = "--stage", defaultValue = "segsam", paramLabel = "encoder|segsam",
            description = "encoder: train a small SAM from scratch, encoder included, binary loss; segsam: frozen encoder, SEG-SAM losses (default)")
    String stage;
    @Option(names = "--ablation", defaultValue = "full", paramLabel = "baseline|so|co|t2vse|full",
            description = "which parts and losses (paper's ablation): baseline = SAM decoder only; so = + SO-token; co = + CO-tokens; t2vse = + T2VSE; full = + cross-mask alignment (default)")
    String ablation;
    @Option(names = "--init", paramLabel = "FILE", description = "start from these weights (SAM/MedSAM/SEG-SAM or a stage-1 model); default: fresh --arch")
    Path init;
    @Option(names = "--arch", paramLabel = "NAME", defaultValue = "small256", description = "architecture for fresh weights (default ${DEFAULT-VALUE})")
    String arch;
    @Option(names = "--steps", paramLabel = "N", defaultValue = "1000", description = "optimizer steps (default ${DEFAULT-VALUE})")
    int steps;
    @Option(names = "--lr", paramLabel = "X", defaultValue = "1e-4", description = "peak learning rate (default ${DEFAULT-VALUE})")
    double lr;
    @Option(names = "--warmup", paramLabel = "N", defaultValue = "50", description = "warm-up steps (default ${DEFAULT-VALUE}), then cosine decay")
    int warmup;
    @Option(names = "--targets", paramLabel = "N", defaultValue = "5", description = "objects per image per step (default ${DEFAULT-VALUE})")
    int targets;
    @Option(names = "--focal-weight", paramLabel = "X", defaultValue = "20", description = "weight of the focal term of L_bin (default ${DEFAULT-VALUE}, SAM's)")
    double focalWeight;
    @Option(names = "--dice-weight", paramLabel = "X", defaultValue = "1", description = "weight of the Dice term of L_bin (default ${DEFAULT-VALUE})")
    double diceWeight;
    @Option(names = "--text-dim", paramLabel = "N", defaultValue = "256", description = "built-in text embedding width (default ${DEFAULT-VALUE})")
    int textDim;
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
    @Option(names = "--max-steps-this-run", paramLabel = "N", hidden = true, description = "stop after this many steps (tests of --resume)")
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
        if (!List.of("encoder", "segsam").contains(stage)) throw new IllegalArgumentException("--stage must be encoder or segsam, got " + stage);
        if (!List.of("baseline", "so", "co", "t2vse", "full").contains(ablation)) {
            throw new IllegalArgumentException("--ablation must be baseline, so, co, t2vse or full, got " + ablation);
        }
        boolean encoderStage = stage.equals("encoder");
        Ablation parts = encoderStage ? Ablation.BASELINE : Ablation.parse(ablation);
        TrainingRun.Config config = new TrainingRun.Config(steps, lr, warmup, seed, logEvery, evalEvery, checkpointEvery,
                parts.loss(targets, focalWeight, diceWeight, encoderStage));
        Path ckpt = out.resolve("checkpoint.safetensors");
        if (resume) {
            if (!Files.exists(ckpt)) throw new IOException(ckpt + " not found: nothing to resume");
        } else {
            OutputFolder.requireUsable(out, force, "use --resume to continue that run, or --force to start over");
        }
        DataSources ds = DataSources.load(data, dataDir, phantoms, 256);
        if (ds.train().isEmpty()) throw new IllegalStateException("the " + data + " training split is empty");
        Backend cpu = Backends.select(Main.options(null, null).withDevice(Device.CPU)); // -Dsegsam.cpu/threads
        TrainingRun run;
        if (resume) {
            try (Checkpoint f = Checkpoint.open(ckpt, IoLimits.fromSystemProperties())) {
                run = TrainingRun.resume(f, ds, cpu, config);
            }
        } else {
            try (Checkpoint f = init == null ? null : Checkpoint.open(init, IoLimits.fromSystemProperties())) {
                run = TrainingRun.start(TrainingRun.Weights.initial(f, f == null ? Architectures.byName(arch) : null, ds.classNames(), parts,
                        textDim, seed), ds, cpu, config);
            }
        }
        o.printf(Locale.ROOT, "segsam train: %s, %d train / %d val / %d test images, %d classes; %s %s; %s trainable values; steps %d..%d%n",
                data, ds.train().size(), ds.val().size(), ds.test().size(), ds.classNames().size(), run.model().sam().config().name(),
                encoderStage ? "stage encoder (binary)" : "ablation " + ablation, String.format(Locale.ROOT, "%,d", run.trainableValues()),
                run.step() + 1, steps);
        Files.createDirectories(out);
        Path cache = cacheDir == null ? EmbeddingCache.defaultDir() : cacheDir;
        String dataKey = data + (data.equals("phantom") ? phantoms : "");
        run.prepare((sam, weights, samples, frames) -> EmbeddingCache.load(sam, weights, dataKey, samples, frames, cache, err));

        RunLog log = new RunLog(run, o, resume);
        long t0 = System.nanoTime();
        int last = run.train(maxStepsThisRun == null ? 0 : maxStepsThisRun, log);
        if (last < steps) {
            o.println("stopped after step " + last + " (resume with --resume)");
            return 0;
        }
        // ---------------------------------------------------------------- results
        write(run.model(Map.of("segsam.train", json.writeValueAsString(options()))), out.resolve("model.safetensors"));
        ObjectNode report = json.createObjectNode();
        for (String split : List.of("val", "test")) {
            if (ds.split(split).isEmpty()) continue;
            Evaluation.Result e = run.evaluate(ds.split(split));
            report.set(split, e.toJson(json, split, steps));
            o.println(split + ": " + e.summary());
        }
        AtomicFiles.write(out.resolve("eval.json"), true, tmp -> json.writeValue(tmp.toFile(), report));
        log.root.put("seconds", (log.root.path("seconds").asDouble(0) + (System.nanoTime() - t0) / 1e9));
        log.save();
        ImageFiles.writePng(lossPlot(log.steps, parts.semantic()), out.resolve("loss.png"));
        o.println("wrote " + out.resolve("model.safetensors") + ", eval.json, train.json, loss.png");
        return 0;
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

        RunLog(TrainingRun run, PrintWriter o, boolean resume) throws IOException {
            this.run = run;
            this.o = o;
            Path f = out.resolve("train.json");
            root = resume && Files.exists(f) ? (ObjectNode) json.readTree(f.toFile()) : json.createObjectNode();
            root.set("options", options());
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
            write(run.checkpoint(), out.resolve("checkpoint.safetensors"));
            save();
        }

        void save() throws IOException {
            AtomicFiles.write(out.resolve("train.json"), true, tmp -> json.writeValue(tmp.toFile(), root));
        }
    }

    static String eta(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, s % 3600 / 60) : String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
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

    private static void write(TrainingRun.Snapshot s, Path file) throws IOException {
        SafeTensorsWriter w = new SafeTensorsWriter();
        s.tensors().forEach(w::add);
        s.metadata().forEach(w::metadata);
        w.write(file, true);
    }

    private static RgbImage lossPlot(ArrayNode steps, boolean semantic) {
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
