package dev.segsam.model.segsam;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.segsam.io.safetensors.SafeTensorsFile;
import dev.segsam.model.Prompt;
import dev.segsam.model.sam.SamConfig;
import dev.segsam.model.sam.SeededWeights;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.CpuBackend;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorSource;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * SEG-SAM's blocks (hashed text embedder, T2VSE, Dec_sag on t'_p, the semantic-aware decoder, postprocessing of M̂_s)
 * against the from-spec PyTorch reference (tools/reference/segsam_reference.py), on the small SAM config with 3
 * classes. Bound: relative L2 ≤ 1e-4 per output (issue 7); measured errors are ~1e-7.
 */
class SegSamParityTest {
    static final double BOUND = 1e-4;
    static final SamConfig SMALL = new SamConfig(128, 16, 64, 4, 4, new int[] {1, 3}, 5, 256, 32, 64, 8, 2, 32, 16, 3);
    static final Backend B = new CpuBackend();
    static SafeTensorsFile g;
    static SegSam model;
    static JsonNode meta;

    @BeforeAll
    static void load() throws Exception {
        Path tmp = Files.createTempFile("segsam-golden", ".safetensors");
        tmp.toFile().deleteOnExit();
        try (InputStream in = SegSamParityTest.class.getResourceAsStream("/golden/segsam_small.safetensors")) {
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
        }
        g = SafeTensorsFile.open(tmp);
        long seed = Long.parseLong(g.metadata().get("seed"));
        int dt = Integer.parseInt(g.metadata().get("text_dim"));
        List<ClassSpec> classes = new ArrayList<>();
        for (JsonNode c : new ObjectMapper().readTree(g.metadata().get("classes"))) {
            classes.add(new ClassSpec(c.get("name").asText(), c.get("description").asText()));
        }
        SegSamConfig cfg = new SegSamConfig(classes, dt, "hashed-v1", true, "sam");
        Map<String, Tensor> w = new LinkedHashMap<>();
        TensorSource sam = SeededWeights.generate(SMALL, seed);
        for (String n : sam.names()) w.put(n, sam.get(n));
        for (Map.Entry<String, int[]> e : cfg.parameterShapes(SMALL).entrySet()) w.put(e.getKey(), SeededWeights.tensor(e.getKey(), e.getValue(), seed));
        w.put("t2vse.text_embeddings", Tensor.of(flatten(SegSamInit.hashedEmbeddings(classes, dt)), classes.size(), dt));
        Map<String, String> md = cfg.toMetadata();
        model = SegSam.load(TensorSource.of(w, md), B);
        meta = new ObjectMapper().readTree(g.metadata().get("prompts"));
    }

    @AfterAll
    static void close() {
        g.close();
    }

    static float[] flatten(float[][] a) {
        float[] out = new float[a.length * a[0].length];
        for (int i = 0; i < a.length; i++) System.arraycopy(a[i], 0, out, i * a[0].length, a[0].length);
        return out;
    }

    static void near(String what, Tensor expected, Tensor actual) {
        double e = dev.segsam.model.sam.Goldens.relL2(expected, actual);
        assertTrue(e <= BOUND, what + ": relative L2 " + e + " > " + BOUND);
    }

    @Test
    void hashedTextEmbeddingsAreBitExact() {
        float[] want = g.get("text_embeddings").toArray();
        float[] got = model.t2vse().textEmbeddings().toArray();
        assertArrayEquals(want, got);
        double norm = 0;
        for (int i = 0; i < got.length / 3; i++) norm += got[i] * got[i];
        assertEquals(1.0, norm, 1e-6);
    }

    @Test
    void everyBlockMatchesTheReference() throws Exception {
        assertTrue(model.hasSemantics());
        SegSam.Features f = model.encode(g.get("input"), null);
        near("f_v", g.get("image_embedding"), f.fv());
        near("t'_text", g.get("text_summary"), f.textSummary());
        JsonNode hw = new ObjectMapper().readTree(g.metadata().get("image_hw"));
        JsonNode rhw = new ObjectMapper().readTree(g.metadata().get("resized_hw"));
        int h = hw.get(0).asInt(), w = hw.get(1).asInt(), rh = rhw.get(0).asInt(), rw = rhw.get(1).asInt();
        for (int i = 0; i < meta.size(); i++) {
            JsonNode p = meta.get(i);
            String k = "prompt" + i + ".";
            dev.segsam.model.sam.Goldens.GoldenPrompt gp = dev.segsam.model.sam.Goldens.prompt(p, true, h, w, rh, rw);
            float[][] pts = gp.points();
            int[] labels = gp.labels();
            float[] box = gp.box();
            Tensor mask = g.contains(k + "mask_input") ? g.get(k + "mask_input") : null;
            try (SegSam.Decoded d = model.decode(f, Prompt.of(pts, labels, box, mask, p.get("multimask").asBoolean()))) {
                near(k + "M̂_b low-res (Dec_sag on t'_p)", g.get(k + "low_res"), d.binary().lowRes());
                near(k + "IoU", g.get(k + "iou"), d.binary().iou());
                near(k + "M̂_s low-res", g.get(k + "semantic_low_res"), d.semantic().semanticLogits());
                near(k + "class logits", g.get(k + "class_logits"), d.semantic().classLogits());
                near(k + "Ĉ_s", g.get(k + "class_presence"), d.semantic().classPresence());
                near(k + "M̂_s full size", g.get(k + "semantic_logits"), model.sam().postprocess(d.semantic().semanticLogits(), rh, rw, h, w));
            }
        }
    }
}
