package dev.segsam.io.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.segsam.tensor.HostStorage;
import dev.segsam.tensor.Tensor;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reads a file written by an independent writer (tools/reference/safetensors_fixture.py: Python struct/json with
 * numpy/torch encoding the values) and compares every tensor bit for bit with the values that script decoded.
 */
class ReferenceFixtureTest {
    @TempDir
    Path dir;

    static Path resource(Path dir, String name) throws Exception {
        Path p = dir.resolve(name);
        try (InputStream in = ReferenceFixtureTest.class.getResourceAsStream("/safetensors/" + name)) {
            Files.copy(in, p, StandardCopyOption.REPLACE_EXISTING);
        }
        return p;
    }

    @Test
    void everyTensorMatchesTheReferenceDecoding() throws Exception {
        JsonNode expected;
        try (InputStream in = getClass().getResourceAsStream("/safetensors/reference.expected.json")) {
            expected = new ObjectMapper().readTree(in).get("tensors");
        }
        try (SafeTensorsFile f = SafeTensorsFile.open(resource(dir, "reference.safetensors"))) {
            assertEquals(Map.of("format", "pt", "written_by", "tools/reference/safetensors_fixture.py"), f.metadata());
            assertEquals(expected.size(), f.names().size());
            int checked = 0;
            for (Map.Entry<String, JsonNode> e : expected.properties()) {
                String name = e.getKey();
                JsonNode want = e.getValue();
                TensorInfo info = f.info(name);
                assertEquals(want.get("dtype").asText(), info.dtype().name(), name);
                long[] shape = new long[want.get("shape").size()];
                for (int i = 0; i < shape.length; i++) shape[i] = want.get("shape").get(i).asLong();
                assertArrayEquals(shape, info.shape(), name);
                JsonNode values = want.get("values");
                if (info.dtype().isFloat()) {
                    float[] got = f.get(name).toArray();
                    assertEquals(values.size(), got.length, name);
                    for (int i = 0; i < got.length; i++) {
                        float w = (float) (values.get(i).isTextual() ? Double.parseDouble(values.get(i).asText().replace("inf", "Infinity")) : values.get(i).asDouble());
                        assertEquals(Float.floatToRawIntBits(w), Float.floatToRawIntBits(got[i]), name + "[" + i + "]: " + w + " vs " + got[i]);
                    }
                } else if (info.dtype() == DType.BOOL) {
                    boolean[] got = f.booleanValues(name);
                    for (int i = 0; i < got.length; i++) assertEquals(values.get(i).asBoolean(), got[i], name);
                } else {
                    long[] got = f.longValues(name);
                    for (int i = 0; i < got.length; i++) assertEquals(values.get(i).asLong(), got[i], name + "[" + i + "]");
                }
                checked++;
            }
            assertEquals(13, checked);
        }
    }

    @Test
    @SuppressWarnings("try") // closes the file inside its try on purpose: tensors of a closed file must fail cleanly
    void f32IsZeroCopyAndOtherFloatsAreConverted() throws Exception {
        try (SafeTensorsFile f = SafeTensorsFile.open(resource(dir, "reference.safetensors"))) {
            Tensor w = f.get("weight.f32");
            assertFalse(((HostStorage) w.storage()).owned(), "F32 must be a view of the mapping");
            assertEquals(f.bytes("weight.f32").address(), w.data().address());
            assertTrue(((HostStorage) f.get("half.f16").storage()).owned());
            assertEquals(2.5f, f.get("scalar.f32").get(0));
            assertEquals(0, f.get("empty.f32").numel());
            var e = assertThrows(IllegalArgumentException.class, () -> f.get("ids.i64"));
            assertTrue(e.getMessage().contains("longValues"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> f.get("nope"));
            f.close();
            assertThrows(IllegalStateException.class, () -> w.get(0)); // unmapped: an exception, never a crash
        }
    }
}
