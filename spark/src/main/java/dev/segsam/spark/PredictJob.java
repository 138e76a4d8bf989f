package dev.segsam.spark;

import static org.apache.spark.sql.functions.col;

import dev.segsam.cli.predict.Conventions;
import dev.segsam.cli.predict.InputImage;
import dev.segsam.cli.predict.PredictionOutput;
import dev.segsam.cli.predict.PromptParser;
import dev.segsam.io.IoLimits;
import dev.segsam.io.medical.Axis;
import dev.segsam.io.medical.intensity.Windowing;
import dev.segsam.model.Masks;
import dev.segsam.model.Predictor;
import dev.segsam.model.Prompt;
import dev.segsam.model.preprocess.Preprocessor.Convention;
import dev.segsam.tensor.image.RgbImage;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Batch {@code segsam predict} over a manifest ({@link Manifests}): per item the image is loaded and encoded once and
 * every prompt decoded, exactly as {@code segsam predict} does it (same input reading, prompt parsing, convention
 * choice and predictor calls), on the executors; the outputs become Parquet rows under {@code <out>/rows} ({@link #ROWS}:
 * one row per prompt, masks run-length encoded, {@link Rle}) and, optionally, predict's output folder per item under
 * {@code <out>/files/<id>/}.
 *
 * <p>Failure of an item (unreadable image, bad prompts, a prompt outside the image) is a row with status
 * {@code failed} and a one-line message, never the job's end. Each run appends its rows; a re-run skips the ids that
 * already have {@code ok} rows and tries the failed ones again, so a lost executor or a stopped job costs only the
 * items it had not committed. Per-item folders are written under a temporary name and renamed into place.
 */
public final class PredictJob {
    private PredictJob() {}

    /** The Parquet rows: one per prompt of an item that succeeded, one with {@code prompt} null per item that failed. */
    public static final StructType ROWS = new StructType()
            .add("id", DataTypes.StringType, false)
            .add("status", DataTypes.StringType, false)       // ok | failed
            .add("message", DataTypes.StringType, true)       // why it failed
            .add("prompt", DataTypes.IntegerType, true)       // index in the item's prompts
            .add("width", DataTypes.IntegerType, true)
            .add("height", DataTypes.IntegerType, true)
            .add("iou_predictions", DataTypes.createArrayType(DataTypes.FloatType, false), true)
            .add("chosen_mask", DataTypes.IntegerType, true)
            .add("area", DataTypes.IntegerType, true)
            .add("bbox", DataTypes.createArrayType(DataTypes.IntegerType, false), true) // x0, y0, x1, y1 inclusive
            .add("mask_rle", DataTypes.createArrayType(DataTypes.IntegerType, false), true)
            .add("predicted_class", DataTypes.StringType, true)
            .add("class_probability", DataTypes.FloatType, true)
            .add("class_probabilities", DataTypes.createMapType(DataTypes.StringType, DataTypes.FloatType, false), true)
            .add("label_map_rle", DataTypes.createArrayType(DataTypes.IntegerType, false), true)
            .add("files", DataTypes.StringType, true)         // the item's folder under <out>, relative
            .add("seconds", DataTypes.DoubleType, true)       // the item's wall time (load, encode, decode, write)
            .add("cpu_seconds", DataTypes.DoubleType, true)   // the task thread's CPU time for it (all of it with 1 thread)
            .add("worker", DataTypes.StringType, true);       // host/pid of the executor JVM

    /**
     * What to run.
     *
     * @param manifest   the manifest's path or URI
     * @param model      the weights (.safetensors or .pth), a path every executor can read
     * @param out        the output folder (rows and files), shared by driver and executors
     * @param files      also write predict's output folder per item
     * @param convention {@code sam}, {@code medsam} or null (the model's)
     * @param properties the {@code segsam.*} settings (device, cpu, threads, io limits) as predict reads them from
     *                   {@code -D}; without {@code segsam.threads}, each task computes on {@code spark.task.cpus} threads
     * @param partitions how many tasks share the items (0: the cluster's default parallelism)
     */
    public record Settings(String manifest, String model, String out, boolean files, String convention,
                           Map<String, String> properties, int partitions) implements Serializable {
        public Settings {
            properties = Map.copyOf(properties);
        }
    }

    /** The outcome of a run: items done in earlier runs and skipped, tried now, and, over all runs, ok and failed. */
    public record Summary(long skipped, long tried, long ok, long failed) {}

    /** Means over the items done (all runs): wall seconds and task-thread CPU seconds per item. */
    public static double[] perItem(SparkSession spark, String out) {
        Row r = spark.read().parquet(Path.of(out, "rows").toString()).filter(col("status").equalTo("ok").and(col("prompt").equalTo(0)))
                .agg(org.apache.spark.sql.functions.avg("seconds"), org.apache.spark.sql.functions.avg("cpu_seconds")).first();
        return new double[] {r.isNullAt(0) ? Double.NaN : r.getDouble(0), r.isNullAt(1) ? Double.NaN : r.getDouble(1)};
    }

    public static Summary run(SparkSession spark, Settings s) throws IOException {
        // the model is opened once on the driver first: a bad weights file is one error now, not one per task
        try (Models.Lease m = Models.borrow(Path.of(s.model()), Jobs.options(s.properties(), 1), IoLimits.fromProperties(s.properties()))) {
            Conventions.choose(s.convention(), m.model);
        }
        Dataset<Row> items = Manifests.read(spark, s.manifest(), true);
        Path rows = Path.of(s.out(), "rows");
        long skipped = 0;
        if (Jobs.hasParquet(rows)) {
            Dataset<Row> done = spark.read().parquet(rows.toString()).filter(col("status").equalTo("ok")).select(col("id").as("done")).distinct();
            Dataset<Row> todo = items.join(done, items.col("id").equalTo(done.col("done")), "left_anti");
            skipped = items.count() - todo.count();
            items = todo;
        }
        long tried = items.count();
        if (tried > 0) {
            Files.createDirectories(rows.getParent());
            Jobs.commitPerTask(spark);
            Jobs.spread(spark, items, s.partitions(), tried).mapPartitions(new Partition(s), Encoders.row(ROWS))
                    .write().mode(SaveMode.Append).parquet(rows.toString());
        }
        Dataset<Row> all = spark.read().parquet(rows.toString());
        Dataset<Row> okIds = all.filter(col("status").equalTo("ok")).select(col("id").as("done")).distinct();
        long ok = okIds.count();
        Dataset<Row> failedIds = all.filter(col("status").equalTo("failed")).select("id").distinct();
        long failed = failedIds.join(okIds, failedIds.col("id").equalTo(okIds.col("done")), "left_anti").count();
        return new Summary(skipped, tried, ok, failed);
    }

    /** One task: borrows this JVM's model and runs its items one after the other. */
    private static final class Partition implements MapPartitionsFunction<Row, Row> {
        private final Settings s;

        Partition(Settings s) {
            this.s = s;
        }

        @Override
        public Iterator<Row> call(Iterator<Row> items) throws Exception {
            List<Row> out = new ArrayList<>();
            if (!items.hasNext()) return out.iterator();
            try (Models.Lease m = Models.borrow(Path.of(s.model()), Jobs.options(s.properties(), Jobs.taskCpus()), IoLimits.fromProperties(s.properties()))) {
                while (items.hasNext()) out.addAll(item(m, items.next(), s));
            }
            return out.iterator();
        }
    }

    /** The rows of one manifest row. */
    static List<Row> item(Models.Lease m, Row r, Settings s) {
        long t0 = System.nanoTime(), c0 = Jobs.threadCpu();
        String id = r.getAs("id");
        try {
            Path image = Path.of(r.<String>getAs("image"));
            List<Prompt> prompts = PromptParser.readJson(r.<String>getAs("prompts"), "prompts");
            Path dir = s.files() ? Jobs.itemFolder(Path.of(s.out(), "files"), id) : null;
            String axis = r.getAs("axis"), window = r.getAs("window");
            Integer slice = r.getAs("slice");
            InputImage input = InputImage.load(image, axis == null ? null : Axis.parse(axis), slice, Windowing.parse(window == null ? "auto" : window));
            RgbImage img = input.image();
            for (int i = 0; i < prompts.size(); i++) PromptParser.requireInside(prompts.get(i), img.width(), img.height(), "prompt " + i);
            Convention conv = Conventions.choose(s.convention(), m.model);
            Predictor predictor = new Predictor(m.model, conv, m.options);
            List<Row> rows = new ArrayList<>();
            try (Predictor.Encoded enc = predictor.encode(img, null)) {
                List<Predictor.Result> results = new ArrayList<>();
                for (Prompt p : prompts) results.add(predictor.predict(enc, p)); // one at a time, as segsam predict
                String files = null;
                if (dir != null) {
                    PredictionOutput output = new PredictionOutput(Path.of(s.model()), image, m.model, conv, img, enc, prompts, results).input(input);
                    Jobs.publishFolder(dir, output::write);
                    files = Path.of(s.out()).relativize(dir).toString();
                }
                double sec = (System.nanoTime() - t0) / 1e9, cpu = (Jobs.threadCpu() - c0) / 1e9;
                for (int i = 0; i < results.size(); i++) rows.add(row(id, i, img, results.get(i), m, files, sec, cpu));
            }
            return rows;
        } catch (Exception | StackOverflowError e) { // the item's failure, recorded; the job goes on
            return List.of(RowFactory.create(id, "failed", Jobs.oneLine(e), null, null, null, null, null, null, null, null, null, null, null, null, null,
                    (System.nanoTime() - t0) / 1e9, (Jobs.threadCpu() - c0) / 1e9, Jobs.worker()));
        }
    }

    private static Row row(String id, int prompt, RgbImage img, Predictor.Result r, Models.Lease m, String files, double seconds, double cpu) {
        int w = img.width(), h = img.height();
        int[] bbox = Masks.bbox(r.mask(), w, h);
        String predicted = null;
        Float probability = null;
        Map<String, Float> probabilities = null;
        int[] labels = null;
        if (r.semantic() != null) {
            Predictor.Semantic sem = r.semantic();
            List<String> names = m.model.config().classNames();
            if (sem.predictedClass() > 0) predicted = names.get(sem.predictedClass() - 1);
            probability = sem.classProbability();
            probabilities = new LinkedHashMap<>();
            for (int k = 0; k < names.size(); k++) probabilities.put(names.get(k), sem.classProbabilities()[k]);
            labels = Rle.labels(sem.labelMap());
        }
        return RowFactory.create(id, "ok", null, prompt, w, h, r.iou(), r.best(), Masks.area(r.mask()), bbox, Rle.mask(r.mask()),
                predicted, probability, probabilities == null ? null : CollectionConverters.asScala(probabilities), labels, files, seconds, cpu, Jobs.worker());
    }
}
