package dev.segsam.model.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import org.junit.jupiter.api.Test;

/** Loss values and gradients against PyTorch autograd (tools/reference/losses_golden.py), float64 on both sides. */
class LossesTest {
    static JsonNode cases() throws Exception {
        try (InputStream in = LossesTest.class.getResourceAsStream("/golden/losses.json")) {
            return new ObjectMapper().readTree(in).get("cases");
        }
    }

    static float[] f(JsonNode a) {
        float[] v = new float[a.size()];
        for (int i = 0; i < v.length; i++) v[i] = (float) a.get(i).asDouble();
        return v;
    }

    static int[] ints(JsonNode a) {
        int[] v = new int[a.size()];
        for (int i = 0; i < v.length; i++) v[i] = a.get(i).asInt();
        return v;
    }

    @Test
    void valuesAndGradientsMatchAutograd() throws Exception {
        int seen = 0;
        for (JsonNode c : cases()) {
            String name = c.get("name").asText();
            float[] x = f(c.get("inputs").get(0));
            Losses.Value v = switch (name) {
                case "focal" -> Losses.focal(x, f(c.get("target")), 0.25, 2.0);
                case "dice" -> Losses.dice(x, f(c.get("target")));
                case "cross_entropy" -> Losses.crossEntropy(x, ints(c.get("labels")), c.get("k").asInt());
                case "multi_dice" -> Losses.multiDice(x, ints(c.get("labels")), c.get("k").asInt());
                case "bce" -> Losses.bce(x, f(c.get("target")));
                case "consistency" -> Losses.consistency(x, f(c.get("inputs").get(1)), c.get("k").asInt());
                default -> throw new AssertionError(name);
            };
            assertEquals(c.get("value").asDouble(), v.value(), 1e-9 * Math.max(1, Math.abs(v.value())), name + " value");
            for (int g = 0; g < c.get("grads").size(); g++) {
                float[] want = f(c.get("grads").get(g));
                for (int i = 0; i < want.length; i++) {
                    assertEquals(want[i], v.grads()[g][i], 1e-6 * Math.max(1e-3, Math.abs(want[i])) + 1e-9, name + " grad " + g + "[" + i + "]");
                }
            }
            seen++;
        }
        assertEquals(6, seen);
    }
}
