package dev.segsam.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.cli.predict.Conventions;
import dev.segsam.cli.predict.InputImage;
import dev.segsam.cli.predict.PredictionOutput;
import dev.segsam.cli.predict.PromptParser;
import dev.segsam.io.Checkpoint;
import dev.segsam.io.medical.intensity.Windowing;
import dev.segsam.model.Predictor;
import dev.segsam.model.Prompt;
import dev.segsam.model.preprocess.Preprocessor.Convention;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.tensor.Backends;
import dev.segsam.tensor.Options;
import dev.segsam.tensor.image.RgbImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import scala.jdk.javaapi.CollectionConverters;

/**
 * The batch predict job on local[2] against segsam predict's own steps on one machine: the same rows bit for bit (IoU
 * predictions, masks, class probabilities, label maps) and byte-identical per-item folders; failed items recorded;
 * a re-run does only what is not done.
 */
class PredictJobTest {
    static final String DEMO_PROMPTS = "[{\"box\":[46,84,135,160]},{\"box\":[178,129,212,171]},{\"box\":[159,150,190,191]}]";
    static final String POINT_PROMPT = "[{\"points\":[[120,130,1],[30,30,0]]},{\"box\":[60,70,180,190],\"multimask\":true}]";

    static SparkSession spark;
    static Path data;
    @TempDir static Path tmp;

    @BeforeAll
    static void start() throws Exception {
        spark = TestSpark.spark();
        data = TestSpark.data();
    }

    /**
     * id → (image, prompts, axis, slice, window): four good items (three pictures, one slice of a NIfTI CT volume) and
     * two that fail (no such image; a box outside the image).
     */
    static Map<String, String[]> items() {
        Map<String, String[]> m = new java.util.LinkedHashMap<>();
        m.put("ct-demo", new String[] {data.resolve("sample.png").toString(), DEMO_PROMPTS, "", "", ""});
        m.put("phantom-0", new String[] {data.resolve("phantom0.png").toString(), POINT_PROMPT, "", "", ""});
        m.put("phantom-1", new String[] {data.resolve("phantom1.png").toString(), DEMO_PROMPTS, "", "", ""});
        m.put("volume-z1", new String[] {data.resolve("phantoms.nii.gz").toString(), "[{\"box\":[8,10,80,70]}]", "z", "1", "abdomen"});
        m.put("missing", new String[] {data.resolve("no-such.png").toString(), DEMO_PROMPTS, "", "", ""});
        m.put("outside", new String[] {data.resolve("sample.png").toString(), "[{\"box\":[10,10,300,40]}]", "", "", ""});
        return m;
    }

    static final int OK = 4, FAILED = 2;

    static Path csv(Path dir) throws Exception {
        StringBuilder sb = new StringBuilder("id,image,axis,slice,window,prompts\n");
        for (var e : items().entrySet()) {
            String[] v = e.getValue();
            sb.append(e.getKey()).append(',').append(v[0]).append(',').append(v[2]).append(',').append(v[3]).append(',').append(v[4])
                    .append(",\"").append(v[1].replace("\"", "\"\"")).append("\"\n");
        }
        Path p = dir.resolve("manifest.csv");
        Files.writeString(p, sb);
        return p;
    }

    static Path jsonl(Path dir) throws Exception {
        StringBuilder sb = new StringBuilder();
        for (var e : items().entrySet()) {
            // prompts as the JSON array itself (a string works too)
            String[] v = e.getValue();
            sb.append("{\"id\":\"").append(e.getKey()).append("\",\"image\":\"").append(v[0]).append("\",\"prompts\":").append(v[1]);
            if (!v[2].isEmpty()) sb.append(",\"axis\":\"").append(v[2]).append("\",\"slice\":").append(v[3]).append(",\"window\":\"").append(v[4]).append('"');
            sb.append("}\n");
        }
        Path p = dir.resolve("manifest.jsonl");
        Files.writeString(p, sb);
        return p;
    }

    static PredictJob.Settings settings(Path manifest, Path out, boolean files) throws Exception {
        return new PredictJob.Settings(manifest.toString(), TestSpark.model().toString(), out.toString(), files, null, TestSpark.PROPS, 0);
    }

    /** segsam predict's steps on one machine, single-threaded: the results of every prompt, and its output folder. */
    static List<Predictor.Result> reference(String[] item, Path folder) throws Exception {
        String image = item[0], prompts = item[1];
        Options options = Options.fromProperties(TestSpark.PROPS);
        try (Checkpoint w = TestSpark.openModel()) {
            SegSam segsam = SegSam.load(w, Backends.select(options));
            Convention conv = Conventions.choose(null, segsam);
            Predictor predictor = new Predictor(segsam, conv, options);
            InputImage input = item[2].isEmpty() ? InputImage.load(Path.of(image), null, null, Windowing.parse("auto"))
                    : InputImage.load(Path.of(image), dev.segsam.io.medical.Axis.parse(item[2]), Integer.parseInt(item[3]), Windowing.parse(item[4]));
            RgbImage img = input.image();
            List<Prompt> ps = PromptParser.readJson(prompts, "prompts");
            try (Predictor.Encoded enc = predictor.encode(img, null)) {
                List<Predictor.Result> out = new ArrayList<>();
                for (Prompt p : ps) out.add(predictor.predict(enc, p));
                if (folder != null) {
                    Files.createDirectories(folder);
                    new PredictionOutput(TestSpark.model(), Path.of(image), segsam, conv, img, enc, ps, out).input(input).write(folder);
                }
                return out;
            }
        }
    }

    static List<Row> rows(Path out) {
        return spark.read().parquet(out.resolve("rows").toString()).collectAsList();
    }

    static int[] ints(Row r, String col) {
        return CollectionConverters.asJava(r.<scala.collection.Seq<Integer>>getAs(col)).stream().mapToInt(Integer::intValue).toArray();
    }

    static void assertSameBits(float want, float got, String what) {
        assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(got), what + ": " + want + " vs " + got);
    }

    @Test
    void rowsAndFilesEqualSingleMachinePredictBitForBit_failuresRecorded_rerunSkipsDone() throws Exception {
        Path out = tmp.resolve("csv-run");
        int openedBefore = Models.OPENED.get();
        PredictJob.Summary s1 = PredictJob.run(spark, settings(csv(tmp), out, true));
        assertEquals(new PredictJob.Summary(0, OK + FAILED, OK, FAILED), s1);
        assertTrue(Models.OPENED.get() - openedBefore <= 1, "the weights file is opened once per JVM");
        assertTrue(Models.INSTANCES.get() <= 3, "one model per task slot (and the driver's check): " + Models.INSTANCES.get());

        Map<String, List<Row>> byId = new HashMap<>();
        for (Row r : rows(out)) byId.computeIfAbsent(r.getAs("id"), k -> new ArrayList<>()).add(r);
        assertEquals(items().keySet(), byId.keySet());
        for (var e : items().entrySet()) {
            String id = e.getKey();
            List<Row> got = new ArrayList<>(byId.get(id));
            if (id.equals("missing") || id.equals("outside")) {
                assertEquals(1, got.size());
                Row r = got.get(0);
                assertEquals("failed", r.getAs("status"));
                assertNull(r.getAs("prompt"));
                String msg = r.getAs("message");
                assertTrue(id.equals("missing") ? msg.startsWith("NoSuchFileException") && msg.contains("no-such.png")
                        : msg.contains("prompt 0"), msg);
                continue;
            }
            got.sort(java.util.Comparator.comparingInt(r -> r.<Integer>getAs("prompt")));
            Path refFolder = tmp.resolve("reference/files").resolve(id); // as deep as the job's: result.json's relative paths agree
            List<Predictor.Result> want = reference(e.getValue(), refFolder);
            assertEquals(want.size(), got.size(), id);
            for (int i = 0; i < want.size(); i++) {
                Predictor.Result w = want.get(i);
                Row r = got.get(i);
                String at = id + " prompt " + i;
                assertEquals("ok", r.getAs("status"), at);
                int width = r.getAs("width"), height = r.getAs("height");
                List<Float> iou = CollectionConverters.asJava(r.<scala.collection.Seq<Float>>getAs("iou_predictions"));
                assertEquals(w.iou().length, iou.size(), at);
                for (int k = 0; k < iou.size(); k++) assertSameBits(w.iou()[k], iou.get(k), at + " iou " + k);
                assertEquals(w.best(), (int) r.<Integer>getAs("chosen_mask"), at);
                assertArrayEquals(w.mask(), Rle.decodeMask(ints(r, "mask_rle"), width * height), at + " mask");
                assertTrue(w.hasSemantics(), "the demo model is SEG-SAM");
                assertArrayEquals(w.semantic().labelMap(), Rle.decodeLabels(ints(r, "label_map_rle"), width * height), at + " label map");
                assertSameBits(w.semantic().classProbability(), r.<Float>getAs("class_probability"), at + " class probability");
                Map<String, Float> probs = CollectionConverters.asJava(r.<scala.collection.Map<String, Float>>getAs("class_probabilities"));
                List<String> names = new ArrayList<>(probs.keySet());
                assertEquals(w.semantic().classProbabilities().length, names.size());
                try (Checkpoint c = TestSpark.openModel()) {
                    List<String> classes = dev.segsam.model.segsam.SegSamConfig.fromMetadata(c.metadata()).classNames();
                    for (int k = 0; k < classes.size(); k++) assertSameBits(w.semantic().classProbabilities()[k], probs.get(classes.get(k)), at + " p(" + classes.get(k) + ")");
                }
                assertEquals("files/" + id, r.getAs("files"));
            }
            // the item's folder is segsam predict's, byte for byte (result.json, outputs.safetensors, every PNG)
            List<String> names;
            try (Stream<Path> ls = Files.list(refFolder)) {
                names = ls.map(p -> p.getFileName().toString()).sorted().toList();
            }
            try (Stream<Path> ls = Files.list(out.resolve("files").resolve(id))) {
                assertEquals(names, ls.map(p -> p.getFileName().toString()).sorted().toList(), id);
            }
            for (String n : names) {
                assertArrayEquals(Files.readAllBytes(refFolder.resolve(n)), Files.readAllBytes(out.resolve("files").resolve(id).resolve(n)), id + "/" + n);
            }
        }
        try (Stream<Path> ls = Files.list(out.resolve("files"))) {
            assertEquals(List.of("ct-demo", "phantom-0", "phantom-1", "volume-z1"), ls.map(p -> p.getFileName().toString()).sorted().toList(), "no temporary folders left");
        }

        // re-run: the three done items are skipped, the two failed ones tried again (and fail again, one more row each)
        long rowsBefore = rows(out).size();
        long modified = Files.getLastModifiedTime(out.resolve("files/ct-demo/result.json")).toMillis();
        PredictJob.Summary s2 = PredictJob.run(spark, settings(csv(tmp), out, true));
        assertEquals(new PredictJob.Summary(OK, FAILED, OK, FAILED), s2);
        assertEquals(rowsBefore + FAILED, rows(out).size());
        assertEquals(modified, Files.getLastModifiedTime(out.resolve("files/ct-demo/result.json")).toMillis(), "done items are not rewritten");
    }

    @Test
    void jsonLinesManifestWithPromptArraysGivesTheSameRows() throws Exception {
        Path a = tmp.resolve("rows-csv"), b = tmp.resolve("rows-jsonl");
        PredictJob.run(spark, settings(csv(tmp), a, false));
        PredictJob.Summary s = PredictJob.run(spark, new PredictJob.Settings(jsonl(tmp).toString(), TestSpark.model().toString(), b.toString(), false, null,
                TestSpark.PROPS, 3));
        assertEquals(new PredictJob.Summary(0, OK + FAILED, OK, FAILED), s);
        List<String> cols = List.of("id", "status", "prompt", "iou_predictions", "mask_rle", "label_map_rle", "class_probabilities", "predicted_class");
        var ca = spark.read().parquet(a.resolve("rows").toString()).selectExpr(cols.toArray(String[]::new)).orderBy("id", "prompt").collectAsList();
        var cb = spark.read().parquet(b.resolve("rows").toString()).selectExpr(cols.toArray(String[]::new)).orderBy("id", "prompt").collectAsList();
        assertEquals(ca, cb);
        assertTrue(Files.notExists(b.resolve("files")), "no per-item folders without --files");
    }

    @Test
    void parquetManifestHoldsTheSameItemsAsCsvAndJsonLines() throws Exception {
        Path parquet = tmp.resolve("manifest.parquet");
        // a Parquet manifest as another tool would write it: its own column order, an extra column, slice as a long
        Manifests.read(spark, csv(tmp).toString(), true).selectExpr("prompts", "window", "image", "cast(slice as long) as slice", "id", "axis", "'x' as note")
                .write().parquet(parquet.toString());
        List<String> order = List.of("id", "image", "axis", "slice", "window", "prompts");
        var a = Manifests.read(spark, csv(tmp).toString(), true).orderBy("id").collectAsList();
        var b = Manifests.read(spark, parquet.toString(), true).orderBy("id").collectAsList();
        var c = Manifests.read(spark, jsonl(tmp).toString(), true).orderBy("id").collectAsList();
        assertEquals(List.of(Manifests.SCHEMA.fieldNames()), order);
        assertEquals(a, b);
        assertEquals(OK + FAILED, a.size());
        // JSON lines give the prompts arrays back as JSON text: the same prompts once parsed
        for (int i = 0; i < a.size(); i++) {
            assertEquals(a.get(i).getString(0), c.get(i).getString(0));
            assertEquals(PromptParser.readJson(a.get(i).getString(5), "csv"), PromptParser.readJson(c.get(i).getString(5), "jsonl"));
        }
    }

    @Test
    void tasksRunWithTheVectorApi() {
        // Spark 4.2 adds --add-modules=jdk.incubator.vector to every executor JVM it launches itself (spark-submit)
        String opts = spark.sparkContext().getConf().get("spark.executor.extraJavaOptions", "");
        assertTrue(opts.contains("--add-modules=jdk.incubator.vector"), opts);
        // and the tasks here (local[2]: the test JVM's threads) get the fast CPU path, not the reference fallback
        List<Boolean> fast = spark.range(0, 2, 1, 2).mapPartitions(
                (org.apache.spark.api.java.function.MapPartitionsFunction<Long, Boolean>) it -> List.of(dev.segsam.tensor.fast.Sgemm.available()).iterator(),
                org.apache.spark.sql.Encoders.BOOLEAN()).collectAsList();
        assertEquals(List.of(true, true), fast);
    }

    @Test
    void badManifestIsOneLineBeforeAnyWork() throws Exception {
        Path m = tmp.resolve("bad.csv");
        Files.writeString(m, "id,picture\na,x.png\n");
        var e = org.junit.jupiter.api.Assertions.assertThrows(Manifests.BadManifestException.class,
                () -> PredictJob.run(spark, settings(m, tmp.resolve("bad-out"), false)));
        assertTrue(e.getMessage().contains("no column 'image'"), e.getMessage());
        Files.writeString(m, "id,image,prompts\na,x.png,[]\na,y.png,[]\n");
        e = org.junit.jupiter.api.Assertions.assertThrows(Manifests.BadManifestException.class,
                () -> PredictJob.run(spark, settings(m, tmp.resolve("bad-out"), false)));
        assertTrue(e.getMessage().contains("repeated: a"), e.getMessage());
        assertTrue(Files.notExists(tmp.resolve("bad-out")));
    }
}
