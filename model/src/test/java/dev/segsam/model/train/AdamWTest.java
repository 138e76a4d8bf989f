package dev.segsam.model.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.segsam.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AdamWTest {
    /** Five steps against torch.optim.AdamW (lr 1e-2, weight decay 0.1, no clipping, constant rate). */
    @Test
    void matchesTorchAdamW() throws Exception {
        JsonNode g = new ObjectMapper().readTree(getClass().getResourceAsStream("/golden/adamw.json"));
        Map<String, Tensor> p = new LinkedHashMap<>();
        p.put("a", Tensor.of(LossesTest.f(g.get("init").get(0)), 3, 4));
        p.put("b", Tensor.of(LossesTest.f(g.get("init").get(1)), 5));
        AdamW opt = new AdamW(p, 1e-2, 0.1, 0.9, 0.999, 1e-8, 0, 0, 0, 1.0);
        for (JsonNode step : g.get("grads")) {
            Map<String, float[]> grads = Map.of("a", LossesTest.f(step.get(0)), "b", LossesTest.f(step.get(1)));
            opt.update(grads);
        }
        // torch updates in float32, we in double then round: agreement to a few float32 ulps
        for (int k = 0; k < 2; k++) {
            float[] want = LossesTest.f(g.get("final").get(k)), got = p.get(k == 0 ? "a" : "b").toArray();
            for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 2e-6 * Math.max(1, Math.abs(want[i])), "param " + k + "[" + i + "]");
        }
    }

    @Test
    void clippingScalesTheGlobalNormAndStateRestoresExactly() {
        Map<String, Tensor> p = new LinkedHashMap<>();
        p.put("w", Tensor.of(new float[] {1, 2, 3}, 3));
        AdamW opt = new AdamW(p, 0.1, 0.0, 0.9, 0.999, 1e-8, 1.0, 2, 10, 0.0);
        assertEquals(5.0, opt.update(Map.of("w", new float[] {3, 4, 0})), 1e-9); // norm before clipping
        assertEquals(0.05, opt.learningRate(1), 1e-12);                       // warm-up
        assertEquals(0.1, opt.learningRate(2), 1e-12);
        assertEquals(0.0, opt.learningRate(10), 1e-12);                        // cosine to 0
        Map<String, Tensor> st = opt.state();
        float[] before = p.get("w").toArray();
        Map<String, Tensor> q = new LinkedHashMap<>();
        q.put("w", Tensor.of(before, 3));
        AdamW resumed = new AdamW(q, 0.1, 0.0, 0.9, 0.999, 1e-8, 1.0, 2, 10, 0.0);
        resumed.restore(st::get);
        opt.update(Map.of("w", new float[] {0.5f, -1, 2}));
        resumed.update(Map.of("w", new float[] {0.5f, -1, 2}));
        assertArrayEquals(p.get("w").toArray(), q.get("w").toArray());
        assertEquals(opt.step(), resumed.step());
    }
}
