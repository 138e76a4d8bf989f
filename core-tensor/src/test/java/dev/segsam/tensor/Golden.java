package dev.segsam.tensor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Reads the PyTorch goldens written by tools/reference/ops_golden.py (also used by the CUDA backend's tests): a
 * safetensors file whose tensors are {@code <op>/<case>/<input>} and {@code <op>/<case>/output} and whose metadata
 * {@code cases} lists the cases in order with their parameters (JSON).
 *
 * <p>core-tensor cannot use the io module's safetensors reader (dependencies point down), so this is a small
 * test-only reader: the header is parsed with Jackson and checked (dtype, shape against the byte span, spans inside
 * the data), tensors are copied out of the file's bytes.
 */
public final class Golden {
    private Golden() {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * One golden case. {@code inputs} and {@code output} are the header entries ({@code dtype}, {@code shape},
     * {@code data_offsets}) of its tensors, {@code inputs} keyed by input name; {@code data} is the file's data section.
     */
    public record Case(String op, String name, JsonNode params, JsonNode inputs, JsonNode output, ByteBuffer data) {
        public Tensor input(String key) {
            JsonNode n = inputs.get(key);
            return n == null ? null : tensor(n, data, op + "/" + name + "/" + key);
        }

        public Tensor expected() {
            return tensor(output, data, op + "/" + name + "/output");
        }

        public int[] expectedInts() {
            return ints(output, data, op + "/" + name + "/output");
        }

        public int param(String key) {
            return params.get(key).asInt();
        }

        public int[] intsParam(String key) {
            JsonNode arr = params.get(key);
            int[] out = new int[arr.size()];
            for (int i = 0; i < out.length; i++) out[i] = arr.get(i).asInt();
            return out;
        }

        public float floatParam(String key) {
            return (float) params.get(key).asDouble();
        }

        @Override
        public String toString() {
            return op + "/" + name;
        }
    }

    /** A float32 tensor from its header entry. */
    static Tensor tensor(JsonNode entry, ByteBuffer data, String what) {
        int[] shape = shape(entry);
        ByteBuffer b = span(entry, data, what, "F32", 4, shape);
        float[] v = new float[b.remaining() / 4];
        b.asFloatBuffer().get(v);
        return Tensor.of(v, shape);
    }

    /** An int64 tensor's values as ints (argmax indices). */
    static int[] ints(JsonNode entry, ByteBuffer data, String what) {
        ByteBuffer b = span(entry, data, what, "I64", 8, shape(entry));
        int[] out = new int[b.remaining() / 8];
        for (int i = 0; i < out.length; i++) out[i] = Math.toIntExact(b.getLong());
        return out;
    }

    private static int[] shape(JsonNode entry) {
        JsonNode s = entry.get("shape");
        int[] out = new int[s.size()];
        for (int i = 0; i < out.length; i++) out[i] = s.get(i).asInt();
        return out;
    }

    /** The tensor's bytes, after checking its dtype and that the span holds exactly {@code numel} elements. */
    private static ByteBuffer span(JsonNode entry, ByteBuffer data, String what, String dtype, int bytes, int[] shape) {
        if (!dtype.equals(entry.get("dtype").asText())) {
            throw new IllegalStateException(what + ": dtype " + entry.get("dtype").asText() + ", expected " + dtype);
        }
        long begin = entry.get("data_offsets").get(0).asLong(), end = entry.get("data_offsets").get(1).asLong();
        long numel = 1;
        for (int d : shape) numel *= d;
        if (begin < 0 || end > data.capacity() || end - begin != numel * bytes) {
            throw new IllegalStateException(what + ": span [" + begin + ", " + end + ") does not hold " + numel + " elements");
        }
        return data.slice((int) begin, (int) (end - begin)).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** The cases of the golden file {@code resource}, in the generator's order. */
    public static List<Case> load(String resource) {
        byte[] file;
        try (InputStream in = Golden.class.getResourceAsStream(resource)) {
            if (in == null) throw new IllegalStateException("missing test resource " + resource);
            file = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ByteBuffer buf = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        long n = buf.getLong(0);
        if (n < 2 || 8 + n > file.length) throw new IllegalStateException(resource + ": bad safetensors header length " + n);
        ByteBuffer data = buf.slice(8 + (int) n, file.length - 8 - (int) n);
        try {
            JsonNode header = JSON.readTree(new String(file, 8, (int) n, StandardCharsets.UTF_8));
            JsonNode cases = JSON.readTree(header.get("__metadata__").get("cases").asText());
            List<Case> out = new ArrayList<>();
            int tensors = 0;
            for (JsonNode c : cases) {
                String op = c.get("op").asText(), name = c.get("name").asText(), pre = op + "/" + name + "/";
                ObjectNode inputs = JSON.createObjectNode();
                for (JsonNode k : c.get("inputs")) {
                    inputs.set(k.asText(), required(header, pre + k.asText(), resource));
                    tensors++;
                }
                out.add(new Case(op, name, c.get("params"), inputs, required(header, pre + "output", resource), data));
                tensors++;
            }
            int inFile = 0;
            for (Map.Entry<String, JsonNode> entry : header.properties()) {
                if (!entry.getKey().equals("__metadata__")) inFile++;
            }
            if (inFile != tensors) throw new IllegalStateException(resource + ": " + inFile + " tensors, but the cases name " + tensors);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static JsonNode required(JsonNode header, String key, String resource) {
        JsonNode n = header.get(key);
        if (n == null) throw new IllegalStateException(resource + ": no tensor " + key);
        return n;
    }
}
