package dev.segsam.cli.serve;

import dev.segsam.model.Predictor;
import dev.segsam.tensor.image.RgbImage;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Image embeddings (f_v and, for SEG-SAM, t'_text, with the preprocessing) of the views prompted so far, least recently
 * used first out once their memory passes a budget. An entry is made pending when first asked for and encoded once
 * (by whoever {@code start}s it), so concurrent requests for one view share one encoding. Entries in use are
 * reference-counted: an evicted entry is closed when its last user releases it, never under a running prediction.
 */
final class EmbeddingCache implements AutoCloseable {
    /** One view's encoding: pending until {@link #encoded} completes; {@link #done} of {@link #total} encoder blocks. */
    static final class Entry {
        final String key;
        final RgbImage image;
        final int total;
        final AtomicInteger done = new AtomicInteger();
        final CompletableFuture<Predictor.Encoded> encoded = new CompletableFuture<>();
        volatile boolean started;
        /** The encoding's memory now: it grows after the encode (the decoders' per-image contexts, made on the first click). */
        private LongSupplier bytes = () -> 0;
        private int refs;
        private boolean evicted;

        Entry(String key, RgbImage image, int total) {
            this.key = key;
            this.image = image;
            this.total = total;
        }

        String state() {
            if (encoded.isDone()) return encoded.isCompletedExceptionally() ? "failed" : "ready";
            return started ? "encoding" : "queued";
        }
    }

    private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);
    private final long budget;

    /** A cache holding encodings up to {@code budgetBytes} (the most recent one always stays). */
    EmbeddingCache(long budgetBytes) {
        this.budget = budgetBytes;
    }

    /**
     * The entry for {@code key}, acquired (release it with {@link #release}); a new entry is made with {@code image}
     * and handed to {@code start}, which must arrange its encoding (and may throw, e.g. a full queue: the entry is then
     * dropped and the exception passes on).
     */
    Entry acquire(String key, java.util.function.Supplier<RgbImage> image, int blocks, Consumer<Entry> start) {
        Entry e;
        boolean fresh = false;
        synchronized (this) {
            e = entries.get(key);
            if (e == null || e.encoded.isCompletedExceptionally()) {
                if (e != null) drop(e);
                e = new Entry(key, image.get(), blocks);
                entries.put(key, e);
                fresh = true;
            }
            e.refs++;
        }
        if (fresh) {
            try {
                start.accept(e);
            } catch (RuntimeException ex) {
                synchronized (this) {
                    e.refs--;
                    drop(e);
                }
                throw ex;
            }
        }
        return e;
    }

    /**
     * Called by the encoding task when it starts: false (and the entry failed as superseded) when the entry was dropped
     * while it waited in the queue, so its encoding need not run.
     */
    synchronized boolean begin(Entry e) {
        if (e.evicted) {
            e.encoded.completeExceptionally(new java.util.concurrent.CancellationException("superseded by another view"));
            return false;
        }
        e.started = true;
        return true;
    }

    /**
     * Drops the entries under {@code prefix} (one image's views) other than {@code keep} whose encoding has not
     * started and that nobody waits for: a viewer moved on to another slice before they got their turn.
     */
    synchronized void dropWaiting(String prefix, String keep) {
        List<Entry> gone = new ArrayList<>();
        for (Entry e : entries.values()) {
            if (e.key.startsWith(prefix) && !e.key.equals(keep) && !e.started && e.refs == 0 && !e.encoded.isDone()) gone.add(e);
        }
        for (Entry e : gone) drop(e);
    }

    synchronized void release(Entry e) {
        if (--e.refs == 0 && e.evicted) closeNow(e);
    }

    /**
     * Records a finished encoding whose memory {@code bytes} tells (asked again whenever the cache counts: it may grow)
     * and evicts least recently used entries past the budget.
     */
    void completed(Entry e, Predictor.Encoded enc, LongSupplier bytes) {
        synchronized (this) {
            e.bytes = bytes;
            e.encoded.complete(enc);
            if (e.evicted && e.refs == 0) closeNow(e);
            evict(e);
        }
    }

    /** Counts again after {@code e} was used (its memory may have grown) and evicts others past the budget. */
    synchronized void trim(Entry e) {
        evict(e);
    }

    synchronized void failed(Entry e, Throwable t) {
        e.encoded.completeExceptionally(t);
        drop(e);
    }

    /** Drops every entry whose key starts with {@code prefix} (an image that was deleted). */
    synchronized void dropAll(String prefix) {
        List<Entry> gone = new ArrayList<>();
        for (Entry e : entries.values()) if (e.key.startsWith(prefix)) gone.add(e);
        for (Entry e : gone) drop(e);
    }

    synchronized Map<String, Object> stats() {
        return Map.of("entries", entries.size(), "bytes", used(), "budget_bytes", budget);
    }

    /** Memory of the finished encodings held (a few entries: summed when asked). */
    private long used() {
        long n = 0;
        for (Entry e : entries.values()) if (e.encoded.isDone() && !e.encoded.isCompletedExceptionally()) n += e.bytes.getAsLong();
        return n;
    }

    private void evict(Entry keep) {
        long used = used();
        Iterator<Entry> it = entries.values().iterator();
        while (used > budget && it.hasNext()) {
            Entry e = it.next();
            if (e == keep || !e.encoded.isDone()) continue;
            if (!e.encoded.isCompletedExceptionally()) used -= e.bytes.getAsLong();
            it.remove();
            retire(e);
        }
    }

    private void drop(Entry e) {
        if (entries.get(e.key) == e) entries.remove(e.key);
        retire(e);
    }

    private void retire(Entry e) {
        if (e.evicted) return;
        e.evicted = true;
        if (e.refs == 0) closeNow(e);
    }

    private static void closeNow(Entry e) {
        if (e.encoded.isDone() && !e.encoded.isCompletedExceptionally()) e.encoded.join().close();
    }

    @Override
    public synchronized void close() {
        for (Entry e : new ArrayList<>(entries.values())) {
            drop(e);
        }
    }
}
