package dev.segsam.tensor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/** Reads the PyTorch goldens written by tools/reference/ops_golden.py (also used by the CUDA backend's tests). */
public final class Golden {
    private Golden() {}

    public record Case(String op, String name, JsonNode params, JsonNode inputs, JsonNode output) {
        public Tensor input(String key) {
            JsonNode n = inputs.get(key);
            return n == null ? null : tensor(n);
        }

        public Tensor expected() {
            return tensor(output);
        }

        public int[] expectedInts() {
            return ints(output.get("ints"));
        }

        public int param(String key) {
            return params.get(key).asInt();
        }

        public int[] intsParam(String key) {
            return ints(params.get(key));
        }

        public float floatParam(String key) {
            return (float) params.get(key).asDouble();
        }

        @Override
        public String toString() {
            return op + "/" + name;
        }
    }

    static Tensor tensor(JsonNode n) {
        int[] shape = ints(n.get("shape"));
        JsonNode data = n.get("data");
        float[] v = new float[data.size()];
        for (int i = 0; i < v.length; i++) v[i] = (float) data.get(i).asDouble();
        return Tensor.of(v, shape);
    }

    static int[] ints(JsonNode arr) {
        int[] out = new int[arr.size()];
        for (int i = 0; i < out.length; i++) out[i] = arr.get(i).asInt();
        return out;
    }

    public static List<Case> load(String resource) {
        try (InputStream in = Golden.class.getResourceAsStream(resource)) {
            if (in == null) throw new IllegalStateException("missing test resource " + resource);
            JsonNode root = new ObjectMapper().readTree(in);
            List<Case> out = new ArrayList<>();
            for (JsonNode c : root.get("cases")) {
                out.add(new Case(c.get("op").asText(), c.get("name").asText(), c.get("params"), c.get("inputs"), c.get("output")));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
