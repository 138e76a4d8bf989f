package dev.segsam.spark;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

import dev.segsam.cli.predict.InputImage;
import dev.segsam.cli.train.EmbeddingCache;
import dev.segsam.io.IoLimits;
import dev.segsam.io.medical.Axis;
import dev.segsam.io.medical.intensity.Windowing;
import dev.segsam.io.safetensors.SafeTensorsFile;
import dev.segsam.io.safetensors.SafeTensorsWriter;
import dev.segsam.model.preprocess.Preprocessor;
import dev.segsam.model.train.TrainSample;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.image.RgbImage;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The frozen image encoder's f_v for a training data set, computed on the executors and written as shards that
 * {@code segsam train} reads from its embedding cache ({@link EmbeddingCache}): safetensors files
 * {@code shard-<hash of its ids>.safetensors}, one tensor per sample id, in the cache's shards folder for the data set,
 * the input size and the encoder's hash ({@link EmbeddingCache#shardsDir}). f_v is computed as training computes it:
 * the sample's image through the SAM-convention preprocessor of the encoder's input size, then the encoder.
 *
 * <p>Input: the samples of a data set as {@code segsam train} loads it (their pixels travel in the job's rows), or a
 * manifest of image files ({@link Manifests}, no prompts) whose ids are the sample ids training will ask for. A task
 * writes a shard every {@code shardItems} samples (each shard under a temporary name, then renamed), so its memory
 * holds at most that many embeddings. A sample that fails is reported, not fatal; a re-run computes only the samples
 * that no shard holds, and a shard rewritten after a lost task has the same name and content.
 */
public final class EmbedJob {
    private EmbedJob() {}

    /** One item: a sample's pixels ({@code rgb}, with width and height) or an image file (as a manifest names it). */
    static final StructType ITEMS = new StructType()
            .add("id", DataTypes.StringType, false)
            .add("image", DataTypes.StringType, true)
            .add("axis", DataTypes.StringType, true)
            .add("slice", DataTypes.IntegerType, true)
            .add("window", DataTypes.StringType, true)
            .add("width", DataTypes.IntegerType, true)
            .add("height", DataTypes.IntegerType, true)
            .add("rgb", DataTypes.BinaryType, true);

    /** The report: one row per item. */
    public static final StructType REPORT = new StructType()
            .add("id", DataTypes.StringType, false)
            .add("status", DataTypes.StringType, false)  // ok | failed
            .add("message", DataTypes.StringType, true)
            .add("shard", DataTypes.StringType, true)    // the shard's file name
            .add("seconds", DataTypes.DoubleType, true)     // wall time of the sample (read, preprocess, encode)
            .add("cpu_seconds", DataTypes.DoubleType, true) // the task thread's CPU time for it (all of it with 1 thread)
            .add("worker", DataTypes.StringType, true);

    /**
     * What to run.
     *
     * @param model      the weights whose image encoder computes f_v, a path every executor can read
     * @param cache      the embedding cache folder {@code segsam train --cache-dir} reads (shared storage)
     * @param dataKey    the data set's key in the cache, as {@code segsam train} names it (e.g. {@code phantom24})
     * @param properties the {@code segsam.*} settings ({@link PredictJob.Settings})
     * @param partitions tasks (0: the default parallelism)
     * @param shardItems most samples per shard
     */
    public record Settings(String model, String cache, String dataKey, Map<String, String> properties, int partitions, int shardItems)
            implements Serializable {
        public Settings {
            properties = Map.copyOf(properties);
            if (shardItems < 1) throw new IllegalArgumentException("shard size must be at least 1, got " + shardItems);
        }
    }

    /** The outcome: where the shards are, samples already there (skipped), computed now, failed now, shards written now. */
    public record Summary(Path shards, long skipped, long ok, long failed, long shardsWritten, List<Row> report) {
        /** The report rows of the samples that failed. */
        public List<Row> failures() {
            return report.stream().filter(r -> r.getAs("status").equals("failed")).toList();
        }
    }

    /** Embeds the samples of a data set as {@code segsam train} loads it. */
    public static Summary run(SparkSession spark, Settings s, List<TrainSample> samples) throws IOException {
        List<Row> rows = new ArrayList<>();
        for (TrainSample t : samples) {
            RgbImage img = t.image();
            rows.add(RowFactory.create(t.id(), null, null, null, null, img.width(), img.height(), img.rgb()));
        }
        return run(spark, s, spark.createDataFrame(rows, ITEMS));
    }

    /** Embeds the images of a manifest (columns id, image and optionally axis, slice, window). */
    public static Summary run(SparkSession spark, Settings s, String manifest) throws IOException {
        Dataset<Row> m = Manifests.read(spark, manifest, false);
        return run(spark, s, m.select(col("id"), col("image"), col("axis"), col("slice"), col("window"),
                lit(null).cast(DataTypes.IntegerType).as("width"), lit(null).cast(DataTypes.IntegerType).as("height"),
                lit(null).cast(DataTypes.BinaryType).as("rgb")));
    }

    private static Summary run(SparkSession spark, Settings s, Dataset<Row> items) throws IOException {
        String hash;
        int imgSize;
        try (Models.Lease m = Models.borrow(Path.of(s.model()), Jobs.options(s.properties(), 1), IoLimits.fromProperties(s.properties()))) {
            Map<String, Tensor> encoder = new TreeMap<>();
            for (String n : m.weights.names()) if (n.startsWith("image_encoder.")) encoder.put(n, m.weights.get(n));
            if (encoder.isEmpty()) throw new IllegalArgumentException(s.model() + " has no image_encoder.* tensors");
            hash = EmbeddingCache.encoderHash(encoder);
            imgSize = m.model.sam().config().imgSize();
        }
        Path shards = EmbeddingCache.shardsDir(Path.of(s.cache()), s.dataKey(), imgSize, hash);
        Files.createDirectories(shards);
        Set<String> done = idsIn(shards);
        long all = items.count();
        if (!done.isEmpty()) {
            Dataset<Row> d = spark.createDataset(new ArrayList<>(done), Encoders.STRING()).toDF("done");
            items = items.join(d, items.col("id").equalTo(d.col("done")), "left_anti");
        }
        long todo = items.count();
        List<Row> report = todo == 0 ? List.of()
                : Jobs.spread(spark, items, s.partitions(), todo).mapPartitions(new Partition(s, shards.toString(), imgSize, hash), Encoders.row(REPORT)).collectAsList();
        List<Row> failures = report.stream().filter(r -> r.getAs("status").equals("failed")).toList();
        long shardsWritten = report.stream().filter(r -> r.getAs("shard") != null).map(r -> r.<String>getAs("shard")).distinct().count();
        return new Summary(shards, all - todo, report.size() - failures.size(), failures.size(), shardsWritten, report);
    }

    /** The sample ids the shards in {@code dir} hold (headers only are read). */
    static Set<String> idsIn(Path dir) throws IOException {
        Set<String> ids = new HashSet<>();
        try (var ls = Files.list(dir)) {
            for (Path p : ls.filter(EmbedJob::isShard).toList()) {
                try (SafeTensorsFile f = SafeTensorsFile.open(p)) {
                    ids.addAll(f.names());
                }
            }
        }
        return ids;
    }

    static boolean isShard(Path p) {
        String n = p.getFileName().toString();
        return n.startsWith("shard-") && n.endsWith(".safetensors");
    }

    /** One task: borrows this JVM's model, encodes its samples, writes a shard every {@code shardItems}. */
    private static final class Partition implements MapPartitionsFunction<Row, Row> {
        private final Settings s;
        private final String shards;
        private final int imgSize;
        private final String hash;

        Partition(Settings s, String shards, int imgSize, String hash) {
            this.s = s;
            this.shards = shards;
            this.imgSize = imgSize;
            this.hash = hash;
        }

        @Override
        public Iterator<Row> call(Iterator<Row> items) throws Exception {
            List<Row> report = new ArrayList<>();
            if (!items.hasNext()) return report.iterator();
            try (Models.Lease m = Models.borrow(Path.of(s.model()), Jobs.options(s.properties(), Jobs.taskCpus()), IoLimits.fromProperties(s.properties()))) {
                // as SegSamTrainer preprocesses for training: SAM's convention at the encoder's input size
                Preprocessor pre = new Preprocessor(Preprocessor.Convention.SAM, imgSize, m.backend.parallel());
                List<String> ids = new ArrayList<>();
                List<Tensor> embeddings = new ArrayList<>();
                List<double[]> seconds = new ArrayList<>();
                while (items.hasNext()) {
                    Row r = items.next();
                    long t0 = System.nanoTime(), c0 = Jobs.threadCpu();
                    String id = r.getAs("id");
                    try {
                        RgbImage img = image(r);
                        try (Preprocessor.Preprocessed frame = pre.preprocess(img)) {
                            embeddings.add(m.backend.download(m.model.sam().encode(frame.input(), null)));
                        }
                        ids.add(id);
                        seconds.add(new double[] {(System.nanoTime() - t0) / 1e9, (Jobs.threadCpu() - c0) / 1e9});
                    } catch (Exception | StackOverflowError e) {
                        report.add(RowFactory.create(id, "failed", Jobs.oneLine(e), null, (System.nanoTime() - t0) / 1e9, (Jobs.threadCpu() - c0) / 1e9,
                                Jobs.worker()));
                    }
                    if (ids.size() == s.shardItems() || (!items.hasNext() && !ids.isEmpty())) {
                        String name = writeShard(Path.of(shards), ids, embeddings, s.dataKey(), hash);
                        for (int i = 0; i < ids.size(); i++) report.add(RowFactory.create(ids.get(i), "ok", null, name, seconds.get(i)[0], seconds.get(i)[1], Jobs.worker()));
                        for (Tensor t : embeddings) t.close();
                        ids.clear();
                        embeddings.clear();
                        seconds.clear();
                    }
                }
            }
            return report.iterator();
        }

        private static RgbImage image(Row r) throws IOException {
            byte[] rgb = r.getAs("rgb");
            if (rgb != null) return new RgbImage(r.<Integer>getAs("width"), r.<Integer>getAs("height"), rgb);
            String axis = r.getAs("axis"), window = r.getAs("window");
            return InputImage.load(Path.of(r.<String>getAs("image")), axis == null ? null : Axis.parse(axis), r.getAs("slice"),
                    Windowing.parse(window == null ? "auto" : window)).image();
        }
    }

    /** Writes one shard (atomically) and returns its file name, which depends only on the ids it holds, in order. */
    static String writeShard(Path dir, List<String> ids, List<Tensor> embeddings, String dataKey, String encoderHash) throws IOException {
        String name = "shard-" + Jobs.sha16(String.join("\n", ids)) + ".safetensors";
        SafeTensorsWriter w = new SafeTensorsWriter();
        for (int i = 0; i < ids.size(); i++) w.add(ids.get(i), embeddings.get(i));
        w.metadata("data", dataKey).metadata("encoder_sha256_16", encoderHash).metadata("samples", Integer.toString(ids.size()));
        w.write(dir.resolve(name), true);
        return name;
    }
}
