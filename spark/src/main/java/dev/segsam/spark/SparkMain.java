package dev.segsam.spark;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
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
        @Option(names = "--master", paramLabel = "URL",
                description = "Spark master, e.g. local[4] (default: local[*] from the segsam launcher; under spark-submit leave it out)")
        String master;

        @Option(names = "--model", required = true, paramLabel = "FILE", description = "weights (.safetensors or .pth), readable by every executor")
        Path model;

        @Option(names = "--device", paramLabel = "cpu|cuda|auto", description = "where executors compute (default: -Dsegsam.device, else auto)")
        String device;

        @Option(names = "--threads", paramLabel = "N",
                description = "CPU threads per task (default: -Dsegsam.threads, else spark.task.cpus, 1)")
        Integer threads;

        @Option(names = "--partitions", paramLabel = "N", defaultValue = "0",
                description = "tasks the items are spread over (default: the cluster's parallelism)")
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
                PredictJob.Summary r = PredictJob.run(spark, s);
                double sec = (System.nanoTime() - t0) / 1e9;
                out().printf(Locale.ROOT, "segsam spark predict: %d item(s) run in %.1f s (%.2f items/s), %d skipped (done before); all runs: %d ok, %d failed%n",
                        r.tried(), sec, r.tried() / sec, r.skipped(), r.ok(), r.failed());
                out().println("rows: " + out.resolve("rows") + (r.failed() > 0 ? " (status = 'failed' rows say why)" : ""));
            }
            return 0;
        }
    }

    @Command(name = "embed", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"The frozen encoder's embeddings f_v of a training data set, as shards segsam train reads from its embedding cache.",
                "A re-run skips samples already in a shard."})
    static final class Embed extends Common implements Callable<Integer> {
        @Override
        public Integer call() {
            throw new UnsupportedOperationException("embed: not yet");
        }
    }

    static boolean exists(Path p) {
        return Files.exists(p);
    }
}
