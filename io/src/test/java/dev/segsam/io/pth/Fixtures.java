package dev.segsam.io.pth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/** The committed torch.save fixtures (tools/reference/pth_fixtures.py) and torch's decoding of them. */
final class Fixtures {
    private Fixtures() {}

    static Path resource(Path dir, String name) throws IOException {
        Path p = dir.resolve(name);
        try (InputStream in = Fixtures.class.getResourceAsStream("/pth/" + name)) {
            if (in == null) throw new IOException("missing test resource /pth/" + name);
            Files.copy(in, p, StandardCopyOption.REPLACE_EXISTING);
        }
        return p;
    }

    static JsonNode expected(String file) {
        try (InputStream in = Fixtures.class.getResourceAsStream("/pth/pth.expected.json")) {
            return new ObjectMapper().readTree(in).get("files").get(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    static long[] longs(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asLong();
        return out;
    }

    /** A value as torch decoded it ("nan", "inf", "-inf" are strings in the JSON). */
    static float floatValue(JsonNode v) {
        if (v.isTextual()) return (float) Double.parseDouble(v.asText().replace("inf", "Infinity").replace("nan", "NaN"));
        return (float) v.asDouble();
    }

    /**
     * Asserts that every tensor {@code f} reads matches torch's decoding in {@code want} (the JSON "tensors" object):
     * dtype, shape, stride, storage offset, and every value bit for bit. Returns the number of tensors checked.
     */
    static int assertMatchesTorch(PthFile f, JsonNode want) {
        return assertMatchesTorch(f, want, true);
    }

    /** As above; {@code layout == false} skips stride and storage offset (e.g. after a conversion). */
    static int assertMatchesTorch(PthFile f, JsonNode want, boolean layout) {
        int checked = 0;
        for (var e : want.properties()) {
            String name = e.getKey();
            JsonNode w = e.getValue();
            PthTensorInfo info = f.info(name);
            assertEquals(w.get("dtype").asText(), info.dtype().torchName(), name);
            assertArrayEquals(longs(w.get("shape")), info.shape(), name);
            if (layout) {
                assertArrayEquals(longs(w.get("stride")), info.stride(), name);
                assertEquals(w.get("storage_offset").asLong(), info.storageOffset(), name);
            }
            JsonNode values = w.get("values");
            if (info.dtype().isFloat()) {
                float[] got = f.get(name).toArray();
                assertEquals(values.size(), got.length, name);
                for (int i = 0; i < got.length; i++) {
                    float x = floatValue(values.get(i));
                    if (Float.isNaN(x)) assertTrue(Float.isNaN(got[i]), name + "[" + i + "] is NaN");
                    else assertEquals(Float.floatToRawIntBits(x), Float.floatToRawIntBits(got[i]), name + "[" + i + "]: " + x + " vs " + got[i]);
                }
            } else {
                long[] got = f.longValues(name);
                assertEquals(values.size(), got.length, name);
                for (int i = 0; i < got.length; i++) {
                    long x = values.get(i).isBoolean() ? (values.get(i).asBoolean() ? 1 : 0) : values.get(i).asLong();
                    assertEquals(x, got[i], name + "[" + i + "]");
                }
            }
            checked++;
        }
        return checked;
    }
}
