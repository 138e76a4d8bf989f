package dev.segsam.model.sam;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.segsam.tensor.fast.FastCpuBackend;
import dev.segsam.tensor.fast.Sgemm;
import org.junit.jupiter.api.BeforeAll;

/**
 * {@link SamSmallParityTest}, every stage on the fast CPU backend (fused encoder attention with padded windows and
 * global rel-pos, fused decoder attention, the vectorised ops) against the same PyTorch goldens and bound.
 */
class SamSmallParityFastTest extends SamSmallParityTest {
    @BeforeAll
    static void loadFast() {
        assumeTrue(Sgemm.available(), "Vector API not present: run the JVM with --add-modules jdk.incubator.vector (the build's test JVMs have it)");
        load(new FastCpuBackend());
    }
}
