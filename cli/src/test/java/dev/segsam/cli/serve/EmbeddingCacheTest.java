package dev.segsam.cli.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.model.Predictor;
import dev.segsam.model.preprocess.Preprocessor;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.image.RgbImage;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The serve cache counts an encoding's memory as it is when it counts, so memory that grows after the encode evicts too. */
class EmbeddingCacheTest {
    private static Predictor.Encoded tiny() {
        Tensor input = Tensor.of(new float[12], 1, 3, 2, 2);
        Tensor fv = Tensor.of(new float[8], 1, 2, 2, 2);
        return new Predictor.Encoded(new Preprocessor.Preprocessed(input, 2, 2, 2, 2, Preprocessor.Convention.SAM), new SegSam.Features(fv, null, null));
    }

    private static EmbeddingCache.Entry add(EmbeddingCache cache, String key, AtomicLong bytes) {
        EmbeddingCache.Entry e = cache.acquire(key, () -> RgbImage.black(2, 2), 1, x -> {});
        assertTrue(cache.begin(e));
        cache.completed(e, tiny(), bytes::get);
        return e;
    }

    @Test
    void memoryThatGrowsAfterTheEncodeIsCountedAndEvicts() {
        try (EmbeddingCache cache = new EmbeddingCache(100)) {
            AtomicLong a = new AtomicLong(40), b = new AtomicLong(40);
            EmbeddingCache.Entry ea = add(cache, "a", a);
            cache.release(ea);
            EmbeddingCache.Entry eb = add(cache, "b", b);
            assertEquals(80L, cache.stats().get("bytes"));
            assertEquals(2, cache.stats().get("entries"));

            // b's first decode makes its per-image contexts: 80 → 120 bytes, past the budget of 100
            b.set(80);
            assertEquals(120L, cache.stats().get("bytes"), "the grown memory is counted");
            cache.trim(eb);
            assertEquals(1, cache.stats().get("entries"), "the least recently used entry went");
            assertEquals(80L, cache.stats().get("bytes"));
            Predictor.Encoded gone = ea.encoded.join();
            assertThrows(RuntimeException.class, () -> gone.features().fv().toArray(), "the evicted encoding was closed");
            assertFalse(eb.encoded.isCompletedExceptionally());
            cache.release(eb);
        }
    }

    @Test
    void theEntryInUseStaysEvenAlonePastTheBudget() {
        try (EmbeddingCache cache = new EmbeddingCache(100)) {
            AtomicLong a = new AtomicLong(50);
            EmbeddingCache.Entry ea = add(cache, "a", a);
            a.set(500);
            cache.trim(ea);
            assertEquals(1, cache.stats().get("entries"));
            assertEquals(500L, cache.stats().get("bytes"));
            cache.release(ea);
        }
    }
}
