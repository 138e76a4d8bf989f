package dev.segsam.model.segsam;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.io.safetensors.SafeTensorsFile;
import dev.segsam.io.safetensors.SafeTensorsWriter;
import dev.segsam.model.Prompt;
import dev.segsam.model.sam.SamModel;
import dev.segsam.model.sam.SeededWeights;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.CpuBackend;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorSource;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SegSamInitTest {
    static final Backend B = new CpuBackend();
    static final List<ClassSpec> CLASSES = List.of(ClassTexts.spec("liver", null), ClassTexts.spec("spleen", null),
            ClassTexts.spec("kidney_L", null), ClassTexts.spec("Thalamus_R", null));

    @TempDir
    Path dir;

    static SegSamInit.Model fresh(TensorSource sam) {
        return SegSamInit.create(sam, CLASSES, SegSamInit.hashedEmbeddings(CLASSES, 64), "hashed-v1", true, "sam", 42);
    }

    /** A fresh SEG-SAM (MLP_fuse's last layer at zero) gives exactly the source SAM's binary outputs. */
    @Test
    void freshSemanticPartsLeaveSamOutputsBitForBit() {
        TensorSource sam = SeededWeights.generate(SegSamParityTest.SMALL, 9);
        SamModel plain = SamModel.load(sam, B);
        SegSam seg = SegSam.load(fresh(sam).source(), B);
        Tensor input = Tensor.of(SeededWeights.uniform01(3, 3 * 128 * 128), 1, 3, 128, 128);
        Tensor fv = plain.encode(input, null);
        // without the per-image decoder contexts: plain.decode takes the plain path, and the context path's absorbed
        // attention is equal to it only to float rounding (ImageContextsTest)
        SegSam.Features withContexts = seg.features(fv), f = new SegSam.Features(withContexts.fv(), withContexts.textSummary(), null);
        for (boolean multi : new boolean[] {true, false}) {
            Prompt p = Prompt.box(10, 12, 100, 90).withPoint(30, 40, true).withPoint(90, 20, false).multimask(multi);
            try (SamModel.Decoded a = plain.decode(fv, p); SegSam.Decoded b = seg.decode(f, p)) {
                assertArrayEquals(a.lowRes().toArray(), b.binary().lowRes().toArray());
                assertArrayEquals(a.iou().toArray(), b.binary().iou().toArray());
                assertArrayEquals(new int[] {1, CLASSES.size() + 1, 32, 32}, b.semantic().semanticLogits().shape());
                assertArrayEquals(new int[] {1, CLASSES.size()}, b.semantic().classPresence().shape());
            }
        }
    }

    @Test
    void saveLoadRoundTripKeepsEverything() throws Exception {
        TensorSource sam = SeededWeights.generate(SegSamParityTest.SMALL, 9);
        SegSamInit.Model m = fresh(sam);
        Path file = dir.resolve("segsam.safetensors");
        SafeTensorsWriter w = new SafeTensorsWriter();
        m.tensors().forEach(w::add);
        m.metadata().forEach(w::metadata);
        w.write(file);
        try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
            SegSam loaded = SegSam.load(f, B);
            assertTrue(loaded.hasSemantics());
            assertEquals(List.of("liver", "spleen", "kidney_L", "Thalamus_R"), loaded.config().classNames());
            assertTrue(loaded.config().classes().get(3).description().startsWith("On the right side"), loaded.config().classes().get(3).description());
            for (Map.Entry<String, Tensor> e : m.tensors().entrySet()) {
                assertArrayEquals(e.getValue().toArray(), f.get(e.getKey()).toArray(), e.getKey());
            }
        }
    }

    @Test
    void plainSamLoadsWithoutSemantics() {
        SegSam s = SegSam.load(SeededWeights.generate(SegSamParityTest.SMALL, 1), B);
        assertFalse(s.hasSemantics());
    }

    @Test
    void wrongClassCountOrMissingTensorsAreNamed() {
        TensorSource sam = SeededWeights.generate(SegSamParityTest.SMALL, 9);
        SegSamInit.Model m = fresh(sam);
        // metadata listing 3 classes for tensors made for 4
        Map<String, String> meta = new java.util.LinkedHashMap<>(m.metadata());
        meta.putAll(new SegSamConfig(CLASSES.subList(0, 3), 64, "hashed-v1", true, "sam").toMetadata());
        var e = assertThrows(IllegalArgumentException.class, () -> SegSam.load(withMeta(m.tensors(), meta), B));
        assertTrue(e.getMessage().contains("lists 3 classes but t2vse.text_embeddings has 4 rows"), e.getMessage());
        Map<String, Tensor> missing = new java.util.LinkedHashMap<>(m.tensors());
        missing.remove("semantic_decoder.co_head.layers.1.bias");
        var e2 = assertThrows(IllegalArgumentException.class, () -> SegSam.load(withMeta(missing, m.metadata()), B));
        assertTrue(e2.getMessage().contains("missing semantic_decoder.co_head.layers.1.bias"), e2.getMessage());
    }

    @Test
    void shippedDescriptionsResolveSidesAndAliases() {
        assertTrue(ClassTexts.describe("kidney_left").orElseThrow().startsWith("On the left side"));
        assertTrue(ClassTexts.describe("left kidney").orElseThrow().contains("Bean-shaped"));
        assertTrue(ClassTexts.describe("Cerebelum_Crus1_L").orElseThrow().contains("cerebellar"));
        assertTrue(ClassTexts.describe("Frontal_Mid_Orb_R").orElseThrow().contains("Middle frontal"));
        assertFalse(ClassTexts.describe("flux capacitor").isPresent());
        assertEquals("flux capacitor", ClassTexts.spec("flux capacitor", null).description());
    }

    @Test
    void hashedEmbedderPutsRelatedTextsCloser() {
        HashedTextEmbedder e = new HashedTextEmbedder(256);
        float[] a = e.embed("left kidney cortex"), b = e.embed("right kidney medulla"), c = e.embed("thalamus grey matter");
        assertTrue(dot(a, b) > dot(a, c) + 0.1, dot(a, b) + " vs " + dot(a, c));
        assertArrayEquals(a, e.embed("Left  KIDNEY, cortex!"));
    }

    static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    static TensorSource withMeta(Map<String, Tensor> t, Map<String, String> meta) {
        return TensorSource.of(t, meta);
    }
}
