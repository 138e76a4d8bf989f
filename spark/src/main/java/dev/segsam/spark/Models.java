package dev.segsam.spark;

import dev.segsam.io.Checkpoint;
import dev.segsam.io.IoLimits;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Backends;
import dev.segsam.tensor.Options;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The models of one executor JVM. A weights file is opened (memory-mapped: safetensors, or a .pth read once) the first
 * time a task of this JVM needs it and stays open for the JVM's life, so every later partition reuses it; nothing of a
 * model is ever part of a Spark closure or shuffled. On top of the one mapping, each concurrently running task gets its
 * own {@link SegSam} over the mapped weights ({@link #borrow}, given back when its partition is done): the model's
 * objects are not shared between threads, and weights mapped from a safetensors file are not copied per instance.
 */
final class Models {
    private Models() {}

    /** How many weights files this JVM opened (tests: once per file, however many partitions ran). */
    static final AtomicInteger OPENED = new AtomicInteger();
    /** How many model instances this JVM made (at most one per task slot and options). */
    static final AtomicInteger INSTANCES = new AtomicInteger();

    private static final Map<Path, Checkpoint> FILES = new ConcurrentHashMap<>();
    private static final Map<String, Queue<Lease>> IDLE = new ConcurrentHashMap<>();

    /** One task's model: give it back with {@link #close()} when the partition is done. */
    static final class Lease implements AutoCloseable {
        final SegSam model;
        final Backend backend;
        final Options options;
        final Checkpoint weights;
        private final String key;

        private Lease(String key, SegSam model, Backend backend, Options options, Checkpoint weights) {
            this.key = key;
            this.model = model;
            this.backend = backend;
            this.options = options;
            this.weights = weights;
        }

        @Override
        public void close() {
            IDLE.get(key).add(this);
        }
    }

    /**
     * A model of the weights at {@code path} computing with {@code options} (its backend made from them), for the calling
     * task until it {@linkplain Lease#close() gives it back}.
     *
     * @param limits the limits on the weights file's declared sizes
     */
    static Lease borrow(Path path, Options options, IoLimits limits) {
        Path p = path.toAbsolutePath().normalize();
        String key = p + "\n" + options;
        Lease idle = IDLE.computeIfAbsent(key, k -> new ConcurrentLinkedQueue<>()).poll();
        if (idle != null) return idle;
        Checkpoint weights = FILES.computeIfAbsent(p, q -> {
            try {
                Checkpoint c = Checkpoint.open(q, limits);
                OPENED.incrementAndGet();
                return c;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        Backend backend = Backends.select(options);
        SegSam model = SegSam.load(weights, backend);
        INSTANCES.incrementAndGet();
        return new Lease(key, model, backend, options, weights);
    }
}
