package dev.segsam.spark;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * A batch manifest: one row per item, as CSV with a header line ({@code .csv}), JSON lines ({@code .jsonl},
 * {@code .json}) or Parquet ({@code .parquet}, a file or a folder of parts). Columns, by name:
 * <ul>
 *   <li>{@code id} (required): the item's name, unique in the manifest; it names the item's output rows and files;</li>
 *   <li>{@code image} (required): the input as {@code segsam predict --image} takes it (a picture, a NIfTI file, a
 *       DICOM file or series folder), a path every executor can read;</li>
 *   <li>{@code axis}, {@code slice}, {@code window} (optional, for volumes): as predict's {@code --axis},
 *       {@code --index} and {@code --window};</li>
 *   <li>{@code prompts} (required for predict): predict's prompts file format, a JSON array of
 *       {@code {"box": [...], "points": [[x, y, label], ...], "multimask": bool}} — in CSV a quoted string, in JSON
 *       lines a string or the array itself.</li>
 * </ul>
 */
public final class Manifests {
    private Manifests() {}

    /** The columns of {@link #read}'s result, in order. */
    public static final StructType SCHEMA = new StructType()
            .add("id", DataTypes.StringType, false)
            .add("image", DataTypes.StringType, false)
            .add("axis", DataTypes.StringType, true)
            .add("slice", DataTypes.IntegerType, true)
            .add("window", DataTypes.StringType, true)
            .add("prompts", DataTypes.StringType, true);

    /** Thrown for a manifest that cannot be used; the message is one line for the user. */
    public static final class BadManifestException extends IllegalArgumentException {
        public BadManifestException(String message) {
            super(message);
        }
    }

    /**
     * The manifest at {@code path} with the columns of {@link #SCHEMA} (absent optional ones null).
     *
     * @param needPrompts whether the {@code prompts} column is required
     */
    public static Dataset<Row> read(SparkSession spark, String path, boolean needPrompts) {
        String lower = path.toLowerCase(Locale.ROOT);
        Dataset<Row> raw;
        if (lower.endsWith(".csv")) {
            // every column as text (no type inference: an id "007" stays "007"); prompts hold commas, so they are quoted
            raw = spark.read().option("header", "true").option("multiLine", "true").option("escape", "\"").csv(path);
        } else if (lower.endsWith(".jsonl") || lower.endsWith(".json")) {
            // the schema makes a prompts array come back as its JSON text, and keeps ids text
            raw = spark.read().schema(SCHEMA.add("_corrupt_record", DataTypes.StringType, true))
                    .option("columnNameOfCorruptRecord", "_corrupt_record").json(path);
            long bad = raw.cache().filter(col("_corrupt_record").isNotNull()).count();
            if (bad > 0) {
                String first = raw.filter(col("_corrupt_record").isNotNull()).first().getAs("_corrupt_record");
                raw.unpersist();
                throw new BadManifestException(path + ": " + bad + " line(s) are not JSON objects of the manifest's columns, e.g. " + abbreviate(first));
            }
            raw.unpersist();
        } else if (lower.endsWith(".parquet")) {
            raw = spark.read().parquet(path);
        } else {
            throw new BadManifestException(path + ": a manifest is .csv (with a header line), .jsonl (JSON lines) or .parquet");
        }
        List<String> have = Arrays.asList(raw.columns());
        List<String> required = new ArrayList<>(List.of("id", "image"));
        if (needPrompts) required.add("prompts");
        for (String c : required) {
            if (!have.contains(c)) throw new BadManifestException(path + ": no column '" + c + "' (columns: " + String.join(", ", have) + ")");
        }
        List<Column> cols = new ArrayList<>();
        for (var f : SCHEMA.fields()) {
            Column c = have.contains(f.name()) ? col(f.name()) : lit(null);
            cols.add(c.cast(f.dataType()).as(f.name()));
        }
        Dataset<Row> m = raw.select(cols.toArray(Column[]::new));
        Row bad = m.filter(col("id").isNull().or(col("image").isNull()).or(col("id").equalTo(""))).limit(1).collectAsList().stream().findFirst().orElse(null);
        if (bad != null) throw new BadManifestException(path + ": a row without an id or image: " + bad);
        List<Row> dup = m.groupBy("id").count().filter(col("count").gt(1)).limit(3).collectAsList();
        if (!dup.isEmpty()) {
            throw new BadManifestException(path + ": ids must be unique; repeated: " + String.join(", ", dup.stream().map(r -> r.getString(0)).toList()));
        }
        return m;
    }

    private static String abbreviate(String s) {
        String t = s.strip().replace('\n', ' ');
        return t.length() <= 80 ? t : t.substring(0, 77) + "...";
    }
}
