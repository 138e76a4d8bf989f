package dev.segsam.spark;

import dev.segsam.cli.train.DataOptions;
import dev.segsam.cli.train.DataSources;
import dev.segsam.cli.train.EmbeddingCache;
import dev.segsam.model.train.TrainSample;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code segsam spark predict|embed}: the batch jobs ({@link PredictJob}, {@link EmbedJob}) from the command line,
 * embedded ({@code --master local[N]}, what the {@code segsam} launcher runs) or under {@code spark-submit} (no
 * {@code --master}: the one spark-submit was given). docs/DISTRIBUTED.md has both.
 */
@Command(name = "segsam spark", mixinStandardHelpOptions = true,
        description = "Batch prediction and embedding pre-computation on Apache Spark.",
        subcommands = {SparkMain.Predict.class, SparkMain.Embed.class, CommandLine.HelpCommand.class})
public final class SparkMain {
    static {
        // log records of segsam itself (System.Logger → java.util.logging) as one line each, as the segsam command does
        if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
            System.setProperty("java.util.logging.SimpleFormatter.format", "segsam: %5$s%6$s%n");
        }
    }

    public static void main(String[] args) {
        CommandLine cl = new CommandLine(new SparkMain());
        cl.setExecutionExceptionHandler((ex, c, p) -> {
            c.getErr().println("segsam spark: " + Jobs.oneLine(rootCause(ex)));
            if (Boolean.getBoolean("segsam.debug")) ex.printStackTrace(c.getErr());
            return 1;
        });
        System.exit(cl.execute(args));
    }

    /** Spark wraps a task's exception; the user wants the innermost message. */
    private static Throwable rootCause(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t && !(t instanceof IllegalArgumentException)) t = t.getCause();
        return t;
    }

    /**
     * The session of a run: {@code master} null leaves it to spark-submit; a {@code local[N]} master runs embedded
     * (the driver's JVM runs the tasks on N threads), without the web UI, with few shuffle partitions (the jobs
     * exchange only manifest rows) and the loopback address.
     */
    static SparkSession localSession(String master, Path warehouse) {
        SparkSession.Builder b = SparkSession.builder().appName("segsam");
        if (master != null) {
            b = b.master(master).config("spark.ui.enabled", "false")
                    .config("spark.sql.shuffle.partitions", "4")
                    .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1");
            if (warehouse != null) b = b.config("spark.sql.warehouse.dir", warehouse.toString());
        }
        return b.getOrCreate();
    }

    /** The options both jobs take. */
    abstract static class Common {
        @Option(names = "--master", paramLabel = "URL", defaultValue = "${sys:segsam.spark.master}",
                description = "Spark master, e.g. local[4] (default: local[*] from the segsam launcher; under spark-submit: spark-submit's)")
        String master;

        @Option(names = "--model", required = true, paramLabel = "FILE", description = "weights (.safetensors or .pth), readable by every executor")
        Path model;

        @Option(names = "--device", paramLabel = "cpu|cuda|auto", description = "where executors compute (default: -Dsegsam.device, else auto)")
        String device;

        @Option(names = "--threads", paramLabel = "N",
                description = "CPU threads per task (default: -Dsegsam.threads, else spark.task.cpus, 1)")
        Integer threads;

        @Option(names = "--partitions", paramLabel = "N", defaultValue = "0",
                description = "tasks the items are spread over (default: the cluster's parallelism, at least one task per 32 items)")
        int partitions;

        @Spec
        CommandLine.Model.CommandSpec spec;

        /** The segsam.* settings for the executors: this JVM's -Dsegsam.* properties, then the flags. */
        Map<String, String> properties() {
            Map<String, String> p = new LinkedHashMap<>();
            for (String k : System.getProperties().stringPropertyNames()) if (k.startsWith("segsam.")) p.put(k, System.getProperty(k));
            if (device != null) p.put("segsam.device", device);
            if (threads != null) {
                if (threads < 1) throw new IllegalArgumentException("--threads must be at least 1, got " + threads);
                p.put("segsam.threads", threads.toString());
            }
            if (partitions < 0) throw new IllegalArgumentException("--partitions must be 0 (default) or more, got " + partitions);
            dev.segsam.tensor.Options.fromProperties(p); // a bad value fails here, in one line, not in every task
            return p;
        }

        PrintWriter out() {
            return spec.commandLine().getOut();
        }
    }

    @Command(name = "predict", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"segsam predict over a manifest of images and prompts; Parquet rows (masks run-length encoded) and optional per-item folders.",
                "Manifest (.csv with header, .jsonl or .parquet) columns: id, image, prompts (predict's prompts JSON), optional axis, slice, window.",
                "A re-run skips items already done (status ok) and retries failed ones."})
    static final class Predict extends Common implements Callable<Integer> {
        @Option(names = "--manifest", required = true, paramLabel = "FILE", description = "the items (see above)")
        String manifest;

        @Option(names = "--out", required = true, paramLabel = "DIR", description = "output folder: rows/ (Parquet), files/<id>/ with --files")
        Path out;

        @Option(names = "--files", description = "also write segsam predict's output folder for every item (files/<id>/)")
        boolean files;

        @Option(names = "--convention", paramLabel = "sam|medsam", description = "preprocessing (default: the model's, else sam)")
        String convention;

        @Override
        public Integer call() throws Exception {
            var s = new PredictJob.Settings(manifest, model.toAbsolutePath().toString(), out.toAbsolutePath().toString(), files, convention,
                    properties(), partitions);
            long t0 = System.nanoTime();
            try (SparkSession spark = localSession(master, null)) {
                long t1 = System.nanoTime();
                PredictJob.Summary r = PredictJob.run(spark, s);
                double sec = (System.nanoTime() - t1) / 1e9;
                out().printf(Locale.ROOT, "segsam spark predict: %d item(s) run in %.1f s (%.3f items/s; session start %.1f s), %d skipped (done before); all runs: %d ok, %d failed%n",
                        r.tried(), sec, r.tried() / sec, (t1 - t0) / 1e9, r.skipped(), r.ok(), r.failed());
                double[] per = PredictJob.perItem(spark, s.out());
                out().printf(Locale.ROOT, "per item done: %.2f s wall, %.2f s CPU of its task thread%n", per[0], per[1]);
                out().println("rows: " + out.resolve("rows") + (r.failed() > 0 ? " (status = 'failed' rows say why)" : ""));
            }
            return 0;
        }
    }

    @Command(name = "embed", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"The frozen encoder's embeddings f_v of a training data set, as shards in segsam train's embedding cache",
                "(give train the same --data, --phantoms and --cache, and --init with this --model: it reads them instead of encoding).",
                "Input: --data (and its options) as segsam train takes it, or --manifest of image files (columns id, image; optional",
                "axis, slice, window) with --data-key. A re-run skips samples already in a shard."})
    static final class Embed extends Common implements Callable<Integer> {
        @picocli.CommandLine.Mixin
        DataOptions data; // --data and its slicing/split options, exactly as segsam train takes them

        @Option(names = "--manifest", paramLabel = "FILE", description = "image files instead of --data (ids = the sample ids training uses)")
        String manifest;

        @Option(names = "--data-key", paramLabel = "KEY", description = "the data set's name in the cache (default: as segsam train names --data)")
        String dataKey;

        @Option(names = "--cache", paramLabel = "DIR", description = "the embedding cache (default: $SEGSAM_CACHE or ~/.cache/segsam/embeddings)")
        Path cache;

        @Option(names = "--shard-size", defaultValue = "64", paramLabel = "N",
                description = "most samples per shard (default ${DEFAULT-VALUE}; a task holds that many embeddings, 4 MiB each for ViT-B)")
        int shardSize;

        @Override
        public Integer call() throws Exception {
            String key = dataKey;
            List<TrainSample> samples = null;
            if (manifest == null) { // the data set as segsam train loads it, keyed in the cache as train keys it
                DataSources ds = DataSources.load(data, null, null, spec.commandLine().getErr());
                samples = new ArrayList<>(ds.train());
                samples.addAll(ds.val());
                samples.addAll(ds.test());
                if (key == null) key = ds.cacheKey();
            } else if (key == null) {
                throw new IllegalArgumentException("--manifest needs --data-key (the data set's name in segsam train's cache)");
            }
            Path dir = (cache == null ? EmbeddingCache.defaultDir() : cache).toAbsolutePath();
            var s = new EmbedJob.Settings(model.toAbsolutePath().toString(), dir.toString(), key, properties(), partitions, shardSize);
            long t0 = System.nanoTime();
            try (SparkSession spark = localSession(master, null)) {
                long t1 = System.nanoTime();
                EmbedJob.Summary r = samples != null ? EmbedJob.run(spark, s, samples) : EmbedJob.run(spark, s, manifest);
                double sec = (System.nanoTime() - t1) / 1e9;
                out().printf(Locale.ROOT, "segsam spark embed: %d sample(s) embedded in %.1f s (%.3f samples/s; session start %.1f s), %d shard(s) written, %d skipped (in shards before), %d failed%n",
                        r.ok(), sec, r.ok() / sec, (t1 - t0) / 1e9, r.shardsWritten(), r.skipped(), r.failed());
                for (var f : r.failures().subList(0, Math.min(10, r.failures().size()))) out().println("  failed " + f.getAs("id") + ": " + f.getAs("message"));
                if (r.ok() > 0) {
                    out().printf(Locale.ROOT, "per sample: %.2f s wall, %.2f s CPU of its task thread%n",
                            r.report().stream().filter(x -> x.getAs("status").equals("ok")).mapToDouble(x -> x.<Double>getAs("seconds")).average().orElse(0),
                            r.report().stream().filter(x -> x.getAs("status").equals("ok")).mapToDouble(x -> x.<Double>getAs("cpu_seconds")).average().orElse(0));
                }
                out().println("shards: " + r.shards());
            }
            return 0;
        }
    }
}
