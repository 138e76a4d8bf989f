package dev.segsam.model.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.segsam.model.Prompt;
import dev.segsam.model.sam.SamConfig;
import dev.segsam.model.sam.SamModel;
import dev.segsam.model.sam.SeededWeights;
import dev.segsam.tensor.Backends;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorSource;
import org.junit.jupiter.api.Test;

/** The training architectures: each one's weights load back as the same architecture (what a trained model relies on). */
class ArchitecturesTest {

    @Test
    void everyArchitectureIsReadBackFromItsWeights() {
        for (String name : new String[] {"small256", "medium256", "fine256"}) {
            SamConfig c = Architectures.byName(name), back = SamConfig.infer(SeededWeights.generate(c, 1));
            assertEquals(c.imgSize(), back.imgSize(), name);
            assertEquals(c.patch(), back.patch(), name);
            assertEquals(c.embedDim(), back.embedDim(), name);
            assertEquals(c.depth(), back.depth(), name);
            assertEquals(c.heads(), back.heads(), name);
            assertArrayEquals(c.globalBlocks(), back.globalBlocks(), name);
            assertEquals(c.window(), back.window(), name);
            assertEquals(c.outChans(), back.outChans(), name);
        }
        assertThrows(IllegalArgumentException.class, () -> Architectures.byName("huge"));
    }

    /** fine256: a 64×64 embedding grid at 256 input, so the low-res masks have the input's own resolution. */
    @Test
    void fine256HasA64GridAndFullResolutionLowResMasks() {
        SamConfig c = Architectures.fine256();
        assertEquals(64, c.grid());
        assertEquals(256, c.lowResSize());
        TensorSource w = SeededWeights.generate(c, 2);
        SamModel m = SamModel.load(w, Backends.cpu());
        Tensor input = Tensor.of(SeededWeights.uniform01(5, 3 * 256 * 256), 1, 3, 256, 256);
        try (Tensor fv = m.encode(input, null); SamModel.Decoded d = m.decode(fv, Prompt.box(40, 50, 120, 140))) {
            assertArrayEquals(new int[] {1, c.outChans(), 64, 64}, fv.shape());
            assertEquals(256, d.lowRes().size(-1));
            assertEquals(256, d.lowRes().size(-2));
        }
    }
}
