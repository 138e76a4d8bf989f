package dev.segsam.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.cli.train.DataOptions;
import dev.segsam.cli.train.DataSources;
import dev.segsam.cli.train.EmbeddingCache;
import dev.segsam.io.Checkpoint;
import dev.segsam.io.image.ImageFiles;
import dev.segsam.model.train.Ablation;
import dev.segsam.model.train.TrainSample;
import dev.segsam.model.train.TrainingRun;
import dev.segsam.tensor.Backends;
import dev.segsam.tensor.Options;
import dev.segsam.tensor.Tensor;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embed job on local[2] against segsam train's own embedding step: training given the job's shards reads every f_v
 * from them (computes none) and gets exactly, bit for bit, what it computes itself without them; a re-run writes
 * nothing; a sample that fails is reported.
 */
class EmbedJobTest {
    static final int PHANTOMS = 5;
    static final String KEY = "phantom" + PHANTOMS; // the key segsam train gives --data phantom --phantoms 5

    static SparkSession spark;
    static DataSources ds;
    static List<TrainSample> samples;
    @TempDir static Path tmp;

    @BeforeAll
    static void start() throws Exception {
        spark = TestSpark.spark();
        ds = DataSources.load(picocli.CommandLine.populateCommand(new DataOptions(), "--data", "phantom", "--phantoms", Integer.toString(PHANTOMS)),
                null, null, new PrintWriter(new StringWriter()));
        assertEquals(KEY, ds.cacheKey(), "the key segsam train gives this data set");
        samples = new ArrayList<>(ds.train());
        samples.addAll(ds.val());
        samples.addAll(ds.test());
    }

    static EmbedJob.Settings settings(Path cache, int shardItems) throws Exception {
        return new EmbedJob.Settings(TestSpark.model().toString(), cache.toString(), KEY, TestSpark.PROPS, 0, shardItems);
    }

    /** The embeddings segsam train's preparation gets from its cache folder {@code cache} (its own code path). */
    static Map<String, Tensor> trainEmbeddings(Path cache, StringWriter log) throws Exception {
        try (Checkpoint c = TestSpark.openModel()) {
            TrainingRun run = TrainingRun.start(TrainingRun.Weights.initial(c, null, ds.classNames(), Ablation.FULL, 256, 1), ds,
                    Backends.select(Options.fromProperties(TestSpark.PROPS)), TrainingRun.Config.defaults());
            List<Map<String, Tensor>> got = new ArrayList<>();
            run.prepare((sam, weights, list, frames) -> {
                Map<String, Tensor> m = EmbeddingCache.load(sam, weights, KEY, list, frames, cache, new PrintWriter(log, true));
                got.add(m);
                return m;
            });
            return got.get(0);
        }
    }

    static Map<String, Long> listing(Path dir) throws Exception {
        Map<String, Long> m = new TreeMap<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) m.put(p.getFileName().toString(), Files.getLastModifiedTime(p).toMillis());
        }
        return m;
    }

    @Test
    void trainReadsTheShardsAndGetsItsOwnEmbeddingsBitForBit_rerunWritesNothing() throws Exception {
        Path cache = tmp.resolve("cache");
        EmbedJob.Summary s1 = EmbedJob.run(spark, settings(cache, 2), samples);
        assertEquals(0, s1.skipped());
        assertEquals(PHANTOMS, s1.ok());
        assertEquals(0, s1.failed());
        // two tasks (local[2]), at most 2 samples per shard: 5 samples in parts of 3 and 2 → 2 + 1 shards
        assertEquals(3, s1.shardsWritten());
        Map<String, Long> shards = listing(s1.shards());
        assertEquals(3, shards.size(), "only the shards, no temporary files: " + shards.keySet());
        assertTrue(s1.shards().getParent().equals(cache), s1.shards().toString());

        StringWriter fromShardsLog = new StringWriter(), computedLog = new StringWriter();
        Map<String, Tensor> fromShards = trainEmbeddings(cache, fromShardsLog);
        assertTrue(fromShardsLog.toString().contains(PHANTOMS + " from shards in " + s1.shards()), fromShardsLog.toString());
        assertFalse(fromShardsLog.toString().contains("to compute"), fromShardsLog.toString());
        try (Stream<Path> s = Files.list(cache)) {
            assertEquals(List.of(s1.shards().getFileName().toString()), s.map(p -> p.getFileName().toString()).toList(),
                    "nothing computed, so no cache file written");
        }
        Map<String, Tensor> computed = trainEmbeddings(tmp.resolve("fresh-cache"), computedLog);
        assertFalse(computedLog.toString().contains("shards"), computedLog.toString());
        assertEquals(computed.keySet(), fromShards.keySet());
        for (String id : computed.keySet()) {
            Tensor a = computed.get(id), b = fromShards.get(id);
            assertEquals(java.util.Arrays.toString(a.shape()), java.util.Arrays.toString(b.shape()));
            assertTrue(a.numel() > 0);
            float[] x = a.toArray(), y = b.toArray();
            for (int i = 0; i < x.length; i++) {
                if (Float.floatToRawIntBits(x[i]) != Float.floatToRawIntBits(y[i])) {
                    throw new AssertionError(id + " element " + i + ": train computes " + x[i] + ", the shard holds " + y[i]);
                }
            }
        }

        EmbedJob.Summary s2 = EmbedJob.run(spark, settings(cache, 2), samples);
        assertEquals(PHANTOMS, s2.skipped());
        assertEquals(0, s2.ok() + s2.failed() + s2.shardsWritten());
        assertEquals(shards, listing(s1.shards()), "a re-run leaves the shards as they were");
    }

    @Test
    void manifestOfImageFilesWithAFailure() throws Exception {
        Path dir = tmp.resolve("pngs");
        Files.createDirectories(dir);
        StringBuilder jl = new StringBuilder();
        for (TrainSample s : samples.subList(0, 3)) {
            Path p = dir.resolve(s.id() + ".png");
            ImageFiles.writePng(s.image(), p);
            jl.append("{\"id\":\"").append(s.id()).append("\",\"image\":\"").append(p).append("\"}\n");
        }
        jl.append("{\"id\":\"lost\",\"image\":\"").append(dir.resolve("lost.png")).append("\"}\n");
        Path manifest = dir.resolve("items.jsonl");
        Files.writeString(manifest, jl);
        Path cache = tmp.resolve("cache-manifest");
        EmbedJob.Summary s = EmbedJob.run(spark, settings(cache, 8), manifest.toString());
        assertEquals(3, s.ok());
        assertEquals(1, s.failed());
        String message = s.failures().get(0).getAs("message");
        assertEquals("lost", s.failures().get(0).getAs("id"));
        assertTrue(message.startsWith("NoSuchFileException") && message.contains("lost.png"), message);
        assertEquals(3, EmbedJob.idsIn(s.shards()).size());
        // the failed sample is tried again by a re-run; the done ones are not
        EmbedJob.Summary again = EmbedJob.run(spark, settings(cache, 8), manifest.toString());
        assertEquals(3, again.skipped());
        assertEquals(1, again.failed());
    }
}
