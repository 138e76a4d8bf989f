package dev.segsam.model;

import dev.segsam.model.preprocess.Preprocessor;
import dev.segsam.model.preprocess.SamTransform;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Device;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorScope;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.IntConsumer;

/**
 * Decoder warm-up for a fresh process (docs/PERF.md, "cold start"): while the image is being encoded, a background
 * thread runs a few throw-away {@link Predictor#predict(Predictor.Encoded, Prompt) predictions} on a synthetic image
 * embedding of the real shape ({@code [1, C, g, g]}, small deterministic values) for an image of the real size, so the
 * JIT compiles the decode path — the prompt encoder, the two-way transformer's narrow GEMMs and softmax, the
 * transposed convolutions, the hypernetwork MLPs, the upsampling to the original size and the mask threshold — before
 * the first real prompt needs it. Without it the first decode of a process runs largely in the interpreter and C1
 * (interpreted Vector API code boxes every vector) and takes several times the steady time.
 *
 * <p>It changes no result: the warm-up decodes work on their own tensors (their own {@link TensorScope}, freed after
 * each decode), read only the immutable model, and their outputs are dropped; the model is thread-safe
 * ({@link Predictor}). Its ops share the backend's thread pool with the encode, so it adds no threads of compute
 * (on the CPU it adds its own CPU time to the encode's; docs/PERF.md has the measurement). CPU backends only: on a
 * GPU the warm-up runs no decode (the CUDA path is not made to be driven from two threads at once, and its kernels are
 * compiled ahead of time).
 *
 * <pre>
 * try (DecoderWarmup w = DecoderWarmup.start(predictor, img.height(), img.width(), prompts.get(0), DEFAULT_DECODES);
 *      Predictor.Encoded e = predictor.encode(img)) {
 *     w.stop();                       // before the first real decode: no new warm-up decode starts
 *     ...predictor.predict(e, prompt)...
 * }
 * </pre>
 */
public final class DecoderWarmup implements AutoCloseable {
    /**
     * The warm-up decodes {@code predict} and {@code serve} ask for: at most this many, none started once the encode
     * has ended. 6, not 3, since the decoder's self-attention became scalar code (docs/PERF.md, "session 7"): the later
     * warm-up decodes then cost ~0.5–1 s each and all 6 end inside a ViT-B encode on 2 cores, and a fresh process's
     * first real decode went from 44–72 ms (median 58) to 34–50 ms (median 46) in 9 processes each.
     */
    public static final int DEFAULT_DECODES = 6;

    private final AtomicBoolean stop = new AtomicBoolean();
    private final AtomicInteger done = new AtomicInteger();
    private final Thread thread;
    private final StringBuffer times = new StringBuffer();
    private volatile Throwable failure;
    private volatile Consumer<Predictor.Result> then;

    private final int decodes;

    private DecoderWarmup(Predictor predictor, int height, int width, Prompt prompt, int decodes) {
        this.decodes = predictor.model().sam().backend().device() == Device.CPU ? decodes : 0;
        // the lowest priority is a hint only (Linux ignores Java thread priorities unless the JVM is told otherwise)
        thread = Thread.ofPlatform().daemon().name("segsam-decoder-warmup").priority(Thread.MIN_PRIORITY).unstarted(() -> {
            try {
                run(predictor, height, width, prompt, decodes);
            } catch (Throwable t) { // a failed warm-up costs only the warm-up; the real decode reports real errors
                failure = t;
            }
        });
    }

    /**
     * Starts warming up {@code predictor}'s decode path for an image of {@code height × width} pixels and prompts like
     * {@code prompt} (same kind and token count; its coordinates must lie inside the image): at most {@code decodes}
     * throw-away predictions on a background daemon thread, stopping early at {@link #stop()}; none when the
     * predictor's backend is not a CPU backend.
     */
    public static DecoderWarmup start(Predictor predictor, int height, int width, Prompt prompt, int decodes) {
        DecoderWarmup w = create(predictor, height, width, prompt, decodes);
        w.start();
        return w;
    }

    /** A warm-up as {@link #start}, not yet started: {@link #start()} or {@link #startAfter}. */
    public static DecoderWarmup create(Predictor predictor, int height, int width, Prompt prompt, int decodes) {
        if (decodes < 0) throw new IllegalArgumentException("decodes must be ≥ 0, got " + decodes);
        return new DecoderWarmup(predictor, height, width, prompt, decodes);
    }

    /**
     * Also hands the first warm-up decode's result to {@code consumer}, on the warm-up thread, while the result is alive
     * and unless {@link #stop()} came first: e.g. to get the code that writes a result compiled during the encode too
     * ({@code predict}'s mask PNG, overlay and checks; docs/PERF.md, "cold start II"). Its failures are the warm-up's
     * ({@link #failure()}). Call before {@link #start()}.
     */
    public DecoderWarmup then(Consumer<Predictor.Result> consumer) {
        this.then = consumer;
        return this;
    }

    /** Starts the warm-up thread (once; later calls, and a warm-up of 0 decodes, do nothing). */
    public synchronized void start() {
        if (decodes > 0 && thread.getState() == Thread.State.NEW) thread.start();
    }

    /**
     * An encoder progress listener for {@link Predictor#encode(dev.segsam.tensor.image.RgbImage, IntConsumer)} that
     * passes every finished block to {@code progress} (or nobody) and starts this warm-up once {@code blocks} blocks are
     * done ({@code 0}: now). Measured on ViT-B (docs/PERF.md, "cold start"): starting with the encode is the cheaper
     * choice: started after 2 of 12 blocks, the encode's process CPU grew by ~4.5 s instead of ~1.2 s (likely
     * deoptimisation: the decode's shapes reach kernels the JIT had by then compiled for the encode's shapes alone).
     */
    public IntConsumer startAfter(int blocks, IntConsumer progress) {
        if (blocks <= 0) start();
        return i -> {
            if (progress != null) progress.accept(i);
            if (i + 1 >= blocks) start();
        };
    }

    private void run(Predictor predictor, int height, int width, Prompt prompt, int decodes) {
        SegSam model = predictor.model();
        Backend b = model.sam().backend();
        int S = model.sam().config().imgSize();
        // the sizes and coordinate mapping of a real preprocessed image of this size (predict reads no pixel of it)
        boolean sam = predictor.convention() == Preprocessor.Convention.SAM;
        SamTransform.Shape shape = sam ? SamTransform.preprocessShape(height, width, S) : null;
        int rh = sam ? shape.height() : S, rw = sam ? shape.width() : S;
        try (TensorScope s = TensorScope.open()) {
            Tensor input = Tensor.zeros(1, 3, S, S); // its size is the model input frame's (Preprocessed.size())
            Preprocessor.Preprocessed image = new Preprocessor.Preprocessed(input, height, width, rh, rw, predictor.convention());
            int C = model.sam().config().outChans(), g = model.sam().config().grid();
            float[] v = new float[C * g * g];
            long x = 0x9E3779B97F4A7C15L; // small deterministic values: no data-dependent path sees all zeros
            for (int i = 0; i < v.length; i++) {
                x ^= x << 13;
                x ^= x >>> 7;
                x ^= x << 17;
                v[i] = ((x >>> 40) / (float) (1 << 24) - 0.5f) * 0.2f;
            }
            Tensor fv = b.upload(Tensor.of(v, 1, C, g, g));
            Predictor.Encoded e = new Predictor.Encoded(image, model.features(fv));
            long t0 = System.nanoTime();
            for (int i = 0; i < decodes && !stop.get(); i++) {
                long d0 = System.nanoTime();
                try (TensorScope d = TensorScope.open()) {
                    Predictor.Result r = predictor.predict(e, prompt);
                    if (r.mask().length != height * width) throw new IllegalStateException("warm-up mask of the wrong size");
                    Consumer<Predictor.Result> c = then;
                    if (c != null && i == 0 && !stop.get()) c.accept(r);
                }
                times.append(times.isEmpty() ? "" : ", ").append((System.nanoTime() - d0) / 1_000_000)
                        .append(" ms (at ").append((System.nanoTime() - t0) / 1_000_000).append(")");
                done.incrementAndGet();
            }
        }
    }

    /** Asks the warm-up to start no further decode (one in flight finishes on its own; nothing waits for it). */
    public void stop() {
        stop.set(true);
    }

    /** The warm-up decodes finished so far. */
    public int decodesDone() {
        return done.get();
    }

    /** Each finished warm-up decode's time and its end since the start, in ms (for timing reports). */
    public String times() {
        return times.toString();
    }

    /** The error that ended the warm-up early, or null. */
    public Throwable failure() {
        return failure;
    }

    /** Stops the warm-up and waits for a decode in flight to finish (so its tensors are freed before the caller's). */
    public void join() throws InterruptedException {
        stop();
        if (thread.isAlive() || thread.getState() != Thread.State.NEW) thread.join();
    }

    /** The warm-up thread (tests join it without stopping it). */
    Thread thread() {
        return thread;
    }

    /** {@link #stop()}: the thread is a daemon and frees its own tensors; nothing waits for it. */
    @Override
    public void close() {
        stop();
    }
}
