package dev.segsam.model.segsam;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.model.Prompt;
import dev.segsam.model.sam.SeededWeights;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.CpuBackend;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorScope;
import dev.segsam.tensor.TensorSource;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The model layers manage their temporaries with {@link TensorScope}s: a caller's scope receives exactly the results
 * (nothing leaks into it, nothing is closed twice), and a model loaded inside a scope keeps its weights.
 */
class ModelScopesTest {
    static final Backend B = new CpuBackend();
    static final TensorSource SAM = SeededWeights.generate(SegSamParityTest.SMALL, 9);
    static final Tensor INPUT = Tensor.of(SeededWeights.uniform01(3, 3 * 128 * 128), 1, 3, 128, 128);
    static final float[][] PTS = {{30, 40}, {90, 20}};

    @Test
    void aCallersScopeReceivesExactlyTheResults() {
        SegSam seg = SegSam.load(SegSamInitTest.fresh(SAM).source(), B);
        try (TensorScope s = TensorScope.open()) {
            SegSam.Features f = seg.encode(INPUT, null);
            assertEquals(2, s.size(), "f_v and t'_text");

            SegSam.Decoded d = seg.decode(f, Prompt.of(PTS, new int[] {1, 0}, new float[] {10, 12, 100, 90}, null, true));
            // binary: the selected lowRes and iou, and the decoder's full outputs; semantic: M̂_s, Ĉ_s and its logits
            assertEquals(2 + 4 + 3, s.size());
            d.close();
            assertEquals(2, s.size());

            var one = Prompt.point(40, 50, true);
            var two = Prompt.point(70, 60, false);
            SegSam.Decoded batch = seg.decodeBatch(f, List.of(one, two));
            assertArrayEquals(new int[] {2, 1, 32, 32}, batch.binary().lowRes().shape());
            assertEquals(2 + 4 + 3, s.size());
            batch.close();

            var box = Prompt.box(5, 5, 60, 60);
            var onePoint = Prompt.point(40, 50, true);
            var unequal = Prompt.point(40, 50, true).withPoint(10, 10, true);
            assertThrows(IllegalArgumentException.class, () -> seg.decodeBatch(f, List.of(box, onePoint, unequal)));
            assertEquals(2, s.size(), "a failed batch leaves nothing behind");
        }
    }

    @Test
    void theSameCallsWithoutAScopeLeaveTheResultsToTheCaller() {
        SegSam seg = SegSam.load(SegSamInitTest.fresh(SAM).source(), B);
        assertFalse(TensorScope.isOpen());
        try (SegSam.Features f = seg.encode(INPUT, null);
             SegSam.Decoded d = seg.decode(f, Prompt.of(PTS, new int[] {1, 0}, null, null, false))) {
            assertTrue(d.binary().lowRes().isOpen() && d.semantic().semanticLogits().isOpen());
        }
    }

    @Test
    void aModelLoadedInsideAScopeKeepsItsWeights() {
        TensorSource src = SegSamInitTest.fresh(SAM).source();
        SegSam seg;
        float[] inside;
        try (TensorScope s = TensorScope.open()) {
            seg = SegSam.load(src, B);
            assertEquals(0, s.size(), "weights and the dense PE belong to the model");
            inside = lowRes(seg);
        }
        assertArrayEquals(inside, lowRes(seg));
    }

    private static float[] lowRes(SegSam seg) {
        try (SegSam.Features f = seg.encode(INPUT, null);
             SegSam.Decoded d = seg.decode(f, Prompt.of(PTS, new int[] {1, 1}, null, null, false))) {
            return d.binary().lowRes().toArray();
        }
    }
}
