package dev.segsam.model.sam;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.model.Prompt;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.CpuBackend;
import dev.segsam.tensor.Shapes;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class SamModelTest {
    static final Backend B = new CpuBackend();

    @Test
    void vitBHas314TensorsAnd93_7MValues() {
        Map<String, int[]> p = SamConfig.vitB().parameterShapes();
        assertEquals(314, p.size());
        // docs/design/sam.md §12: 93,735,472 parameters plus the 256-value Gaussian buffer of the prompt encoder
        long params = p.entrySet().stream().filter(e -> !e.getKey().endsWith("positional_encoding_gaussian_matrix"))
                .mapToLong(e -> Shapes.numel(e.getValue())).sum();
        assertEquals(93_735_472L, params);
        assertEquals(256, Shapes.numel(p.get("prompt_encoder.pe_layer.positional_encoding_gaussian_matrix")));
        // spot checks against docs/design/sam.md Appendix A (order included)
        List<String> names = new ArrayList<>(p.keySet());
        assertEquals("image_encoder.pos_embed", names.get(0));
        assertEquals("image_encoder.blocks.0.attn.rel_pos_h", names.get(5));
        assertArrayEquals(new int[] {127, 64}, p.get("image_encoder.blocks.11.attn.rel_pos_w"));
        assertArrayEquals(new int[] {27, 64}, p.get("image_encoder.blocks.10.attn.rel_pos_w"));
        assertEquals("mask_decoder.iou_prediction_head.layers.2.bias", names.get(313));
        assertTrue(names.indexOf("mask_decoder.transformer.layers.0.norm4.weight")
                < names.indexOf("mask_decoder.transformer.layers.0.cross_attn_image_to_token.q_proj.weight"));
        assertEquals(SamConfig.vitH().embedDim() / SamConfig.vitH().heads(), 80);
    }

    @Test
    void configsRoundTripThroughShapeInference() {
        for (SamConfig c : List.of(SamConfig.vitB(), SamConfig.vitL(), SamConfig.vitH(), SamSmallParityTest.SMALL)) {
            Map<String, int[]> shapes = c.parameterShapes();
            TensorSource shapeOnly = new TensorSource() {
                public java.util.Set<String> names() {
                    return shapes.keySet();
                }

                public Tensor get(String n) {
                    throw new AssertionError("inference must only look at shapes");
                }

                @Override
                public int[] shape(String n) {
                    return shapes.get(n).clone();
                }
            };
            assertEquals(c, SamConfig.infer(shapeOnly), c.name());
        }
    }

    @Test
    void wrongCheckpointsFailWithOneClearMessage() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("model.embed.weight", Tensor.zeros(2, 2));
        var e = assertThrows(IllegalArgumentException.class, () -> SamModel.load(SeededWeights.of(m), B));
        assertTrue(e.getMessage().startsWith("not a SAM checkpoint"), e.getMessage());

        TensorSource full = SeededWeights.generate(SamSmallParityTest.SMALL, 3);
        Map<String, Tensor> broken = new LinkedHashMap<>();
        for (String n : full.names()) broken.put(n, full.get(n));
        broken.remove("mask_decoder.iou_prediction_head.layers.1.bias");
        broken.put("prompt_encoder.no_mask_embed.weight", Tensor.zeros(1, 31));
        var e2 = assertThrows(IllegalArgumentException.class, () -> SamModel.load(SeededWeights.of(broken), B));
        assertTrue(e2.getMessage().contains("2 problem(s)")
                && e2.getMessage().contains("missing mask_decoder.iou_prediction_head.layers.1.bias")
                && e2.getMessage().contains("no_mask_embed.weight is [1, 31], expected [1, 32]"), e2.getMessage());
    }

    /** 8 threads decoding prompts on one shared model and embedding give exactly the sequential results. */
    @Test
    void concurrentPredictionsEqualSequentialOnes() throws Exception {
        SamModel sam = SamModel.load(SeededWeights.generate(SamSmallParityTest.SMALL, 11), B);
        float[] img = SeededWeights.uniform01(5, 3 * 128 * 128);
        Tensor emb = sam.encode(Tensor.of(img, 1, 3, 128, 128), null);
        int n = 16;
        List<float[]> sequential = new ArrayList<>();
        for (int i = 0; i < n; i++) sequential.add(decode(sam, emb, i));
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<float[]>> futures = new ArrayList<>();
            for (int rep = 0; rep < 3; rep++) {
                for (int i = 0; i < n; i++) {
                    int k = i;
                    futures.add(pool.submit(() -> decode(sam, emb, k)));
                }
            }
            for (int j = 0; j < futures.size(); j++) assertArrayEquals(sequential.get(j % n), futures.get(j).get(), "prompt " + (j % n));
        } finally {
            pool.shutdown();
        }
    }

    private static float[] decode(SamModel sam, Tensor emb, int i) {
        float[][] pts = {{10 + 5 * i, 100 - 3 * i}, {60, 20 + 4 * i}};
        try (SamModel.Decoded d = sam.decode(emb, Prompt.of(pts, new int[] {1, i % 2}, i % 3 == 0 ? new float[] {5, 5, 90 + i, 80} : null, null, i % 2 == 0))) {
            float[] lr = d.lowRes().toArray(), iou = d.iou().toArray();
            float[] out = java.util.Arrays.copyOf(lr, lr.length + iou.length);
            System.arraycopy(iou, 0, out, lr.length, iou.length);
            return out;
        }
    }
}
