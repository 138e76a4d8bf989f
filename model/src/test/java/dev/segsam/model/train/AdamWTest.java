package dev.segsam.model.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

    /**
     * The backend-op AdamW against the host loop it replaced (restated here as it was: one double sum of g² over every
     * gradient, then per element in double), 30 steps with clipping active, weight decay, warm-up and cosine, a
     * parameter that gets no gradient some steps, on the fast CPU backend: equal within a float ulp or two (the norm is
     * now summed per tensor, then over tensors, which can move the clip factor's last bits).
     */
    @Test
    void matchesTheHostLoopItReplaced() {
        java.util.Random r = new java.util.Random(11);
        int[][] shapes = {{4, 7}, {300}, {2, 3, 5}};
        Map<String, Tensor> p = new LinkedHashMap<>();
        Map<String, float[]> old = new LinkedHashMap<>(), om = new LinkedHashMap<>(), ov = new LinkedHashMap<>();
        for (int k = 0; k < shapes.length; k++) {
            int n = java.util.Arrays.stream(shapes[k]).reduce(1, (a, b) -> a * b);
            float[] init = new float[n];
            for (int i = 0; i < n; i++) init[i] = (float) r.nextGaussian();
            p.put("p" + k, Tensor.of(init.clone(), shapes[k]));
            old.put("p" + k, init.clone());
            om.put("p" + k, new float[n]);
            ov.put("p" + k, new float[n]);
        }
        dev.segsam.tensor.Backend fast = dev.segsam.tensor.Backends.cpu(dev.segsam.tensor.Options.defaults());
        AdamW opt = AdamW.defaults(fast, p, 3e-2, 5, 30);
        for (int t = 1; t <= 30; t++) {
            Map<String, float[]> g = new LinkedHashMap<>();
            for (var e : old.entrySet()) {
                if (e.getKey().equals("p2") && t % 3 == 0) continue; // no gradient this step
                float[] gi = new float[e.getValue().length];
                for (int i = 0; i < gi.length; i++) gi[i] = (float) (r.nextGaussian() * 0.3);
                g.put(e.getKey(), gi);
            }
            double norm = opt.update(g);
            // the old loop
            double sq = 0;
            for (float[] gi : g.values()) for (float x : gi) sq += (double) x * x;
            double oldNorm = Math.sqrt(sq), factor = oldNorm > 1.0 ? 1.0 / (oldNorm + 1e-6) : 1.0, a = opt.learningRate(t);
            double bc1 = 1 - Math.pow(0.9, t), bc2 = 1 - Math.pow(0.999, t);
            for (var e : old.entrySet()) {
                float[] th = e.getValue(), mm = om.get(e.getKey()), vv = ov.get(e.getKey()), gi = g.get(e.getKey());
                for (int i = 0; i < th.length; i++) {
                    double gg = gi == null ? 0 : gi[i] * factor;
                    double x = th[i] * (1 - a * 1e-2);
                    mm[i] = (float) (0.9 * mm[i] + (1 - 0.9) * gg);
                    vv[i] = (float) (0.999 * vv[i] + (1 - 0.999) * gg * gg);
                    x -= a * (mm[i] / bc1) / (Math.sqrt(vv[i] / bc2) + 1e-8);
                    th[i] = (float) x;
                }
            }
            assertEquals(oldNorm, norm, 1e-12 * oldNorm, "norm at step " + t);
            assertTrue(oldNorm > 1.0, "clipping is active");
        }
        Map<String, Tensor> st = opt.state();
        for (String k : old.keySet()) {
            float[] want = old.get(k), got = p.get(k).toArray();
            for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 2 * Math.ulp(want[i]), k + "[" + i + "]");
            assertArrayEquals(om.get(k), st.get("adamw.m." + k).toArray(), 1e-9f, "m of " + k);
            assertArrayEquals(ov.get(k), st.get("adamw.v." + k).toArray(), 1e-12f, "v of " + k);
        }
    }
}
