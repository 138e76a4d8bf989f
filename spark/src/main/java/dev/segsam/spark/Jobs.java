package dev.segsam.spark;

import dev.segsam.tensor.Options;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;
import org.apache.spark.TaskContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/** What both jobs share: compute options on executors, spreading items over task slots, idempotent file output. */
final class Jobs {
    private Jobs() {}

    /** The ids that may name files and folders: letters, digits, {@code . _ -}, not starting with a dot. */
    private static final Pattern FILE_ID = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}");

    /**
     * The compute options of a task: the {@code segsam.*} settings, on {@code threads} threads unless they name
     * {@code segsam.threads} (a task slot's cores: more threads than that only oversubscribe the executor).
     */
    static Options options(Map<String, String> properties, int threads) {
        Map<String, String> p = new HashMap<>(properties);
        p.putIfAbsent("segsam.threads", Integer.toString(threads));
        return Options.fromProperties(p);
    }

    /** The cores of the running task ({@code spark.task.cpus}); 1 outside a task. */
    static int taskCpus() {
        TaskContext t = TaskContext.get();
        return t == null ? 1 : Math.max(1, t.cpus());
    }

    /** Items per task by default: a task's output is committed when it ends, so a lost task costs at most this many. */
    static final int ITEMS_PER_TASK = 32;

    /**
     * {@code items} ({@code count} rows) in {@code partitions} parts; 0: one per task slot (the default parallelism), or
     * more, so that no task holds more than {@link #ITEMS_PER_TASK} items. A small manifest is one input split: without
     * this, one task would do every item while the other slots idle. Items are costly (seconds each) and manifest rows
     * small, so the one round-robin exchange of manifest rows (never pixels or outputs) is cheap.
     */
    static Dataset<Row> spread(SparkSession spark, Dataset<Row> items, int partitions, long count) {
        int n = partitions > 0 ? partitions
                : (int) Math.max(spark.sparkContext().defaultParallelism(), Math.min(Integer.MAX_VALUE, (count + ITEMS_PER_TASK - 1) / ITEMS_PER_TASK));
        return items.repartition(n);
    }

    /**
     * Makes each task's output files final when the task succeeds (the v2 file output commit), not all of them when
     * the whole job succeeds: rows of finished tasks survive a failed or stopped job, and a re-run skips their items.
     * Each task writes one file, so a half-committed task cannot leave half its rows.
     */
    static void commitPerTask(SparkSession spark) {
        spark.sparkContext().hadoopConfiguration().set("mapreduce.fileoutputcommitter.algorithm.version", "2");
    }

    /** Whether {@code dir} holds Parquet parts of an earlier run. */
    static boolean hasParquet(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return false;
        try (var s = Files.list(dir)) {
            return s.anyMatch(p -> p.getFileName().toString().endsWith(".parquet"));
        }
    }

    /** The folder of item {@code id} under {@code base}; an id that cannot name a folder fails the item. */
    static Path itemFolder(Path base, String id) {
        if (!FILE_ID.matcher(id).matches()) {
            throw new IllegalArgumentException("id '" + id + "' cannot name an output folder (letters, digits, . _ - only, not starting with a dot)");
        }
        return base.resolve(id);
    }

    /** Writes the files of a folder (which exists and is empty). */
    @FunctionalInterface
    interface FolderContent {
        void writeTo(Path dir) throws IOException;
    }

    /**
     * Writes folder {@code dir} through a temporary sibling that is renamed into place, so a reader (or a re-run)
     * never sees half an item; a folder already there (an item done before its row was committed) is replaced.
     */
    static void publishFolder(Path dir, FolderContent content) throws IOException {
        Path parent = dir.getParent();
        Files.createDirectories(parent);
        String tag = Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36);
        Path tmp = parent.resolve("." + dir.getFileName() + "." + tag + ".tmp");
        Files.createDirectory(tmp);
        try {
            content.writeTo(tmp);
            if (Files.exists(dir)) {
                Path old = parent.resolve("." + dir.getFileName() + "." + tag + ".old");
                Files.move(dir, old, StandardCopyOption.ATOMIC_MOVE);
                Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
                deleteTree(old);
            } else {
                Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            }
        } finally {
            if (Files.exists(tmp)) deleteTree(tmp);
        }
    }

    static void deleteTree(Path root) throws IOException {
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path f, BasicFileAttributes a) throws IOException {
                Files.delete(f);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                Files.delete(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    /** The calling thread's CPU time in nanoseconds (0 where the JVM cannot tell). */
    static long threadCpu() {
        var b = java.lang.management.ManagementFactory.getThreadMXBean();
        return b.isCurrentThreadCpuTimeSupported() ? b.getCurrentThreadCpuTime() : 0;
    }

    /** A failure as one line: the exception's kind and message. */
    static String oneLine(Throwable e) {
        String m = e.getMessage();
        String kind = e.getClass().getSimpleName();
        if (m == null || m.isBlank()) return kind;
        return (kind + ": " + m).replace('\n', ' ');
    }

    /** host/pid of this JVM, for the rows (which executor did an item). */
    static String worker() {
        return WORKER;
    }

    private static final String WORKER = host() + "/" + ProcessHandle.current().pid();

    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "?";
        }
    }

    /** The first 16 hex digits of the SHA-256 of {@code text}. */
    static String sha16(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8))).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
