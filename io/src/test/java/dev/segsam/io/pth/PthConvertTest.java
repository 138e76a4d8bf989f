package dev.segsam.io.pth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.segsam.io.safetensors.DType;
import dev.segsam.io.safetensors.SafeTensorsFile;
import java.io.InputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PthConvertTest {
    @TempDir
    Path dir;

    /** torch.save's plain.pth → safetensors → .pth: every value is still what torch.load decoded from the original. */
    @Test
    void roundTripThroughSafetensorsKeepsTorchValuesAndDtypes() throws Exception {
        Path src = Fixtures.resource(dir, "plain.pth");
        Path st = dir.resolve("plain.safetensors");
        var r = PthConvert.toSafetensors(src, st, false);
        assertEquals(27, r.tensors());
        assertEquals(List.of(), r.warnings());
        try (SafeTensorsFile f = SafeTensorsFile.open(st)) {
            assertEquals(27, f.names().size());
            assertEquals(DType.BF16, f.info("bf16").dtype());
            assertEquals(DType.BOOL, f.info("mask").dtype());
            assertEquals(DType.I64, f.info("norm.num_batches_tracked").dtype());
            assertArrayEquals(new long[] {5, 4}, f.info("t_view").shape());
            assertEquals("pt", f.metadata().get("format"));
        }
        Path back = dir.resolve("back.pth");
        var r2 = PthConvert.fromSafetensors(st, back, false);
        assertEquals(27, r2.tensors());
        assertEquals(r.bytes(), r2.bytes());
        assertTrue(r2.warnings().getFirst().startsWith("dropped the safetensors __metadata__"), r2.warnings().toString());
        try (PthFile f = PthFile.open(back)) {
            assertEquals(27, Fixtures.assertMatchesTorch(f, Fixtures.expected("plain.pth").get("tensors"), false));
            assertTrue(f.info("t_view").isContiguous(), "views become contiguous");
        }
    }

    /** The independent safetensors reference file → .pth: values as numpy/torch decoded them there. */
    @Test
    void referenceSafetensorsConvertsExactly() throws Exception {
        Path src = dir.resolve("reference.safetensors");
        try (InputStream in = getClass().getResourceAsStream("/safetensors/reference.safetensors")) {
            Files.copy(in, src, StandardCopyOption.REPLACE_EXISTING);
        }
        JsonNode want;
        try (InputStream in = getClass().getResourceAsStream("/safetensors/reference.expected.json")) {
            want = new ObjectMapper().readTree(in).get("tensors");
        }
        Path out = dir.resolve("reference.pth");
        assertEquals(13, PthConvert.fromSafetensors(src, out, false).tensors());
        try (PthFile f = PthFile.open(out)) {
            for (var e : want.properties()) {
                PthTensorInfo info = f.info(e.getKey());
                assertEquals(e.getValue().get("dtype").asText(), PthConvert.safetensorsType(info.dtype()).name());
                JsonNode values = e.getValue().get("values");
                if (info.dtype().isFloat()) {
                    float[] got = f.get(e.getKey()).toArray();
                    for (int i = 0; i < got.length; i++) {
                        assertEquals(Float.floatToRawIntBits(Fixtures.floatValue(values.get(i))), Float.floatToRawIntBits(got[i]), e.getKey() + "[" + i + "]");
                    }
                } else {
                    long[] got = f.longValues(e.getKey());
                    for (int i = 0; i < got.length; i++) {
                        long x = values.get(i).isBoolean() ? (values.get(i).asBoolean() ? 1 : 0) : values.get(i).asLong();
                        assertEquals(x, got[i], e.getKey() + "[" + i + "]");
                    }
                }
            }
        }
    }

    @Test
    void nestedCheckpointsConvertTheirStateDictAndReportTheRest() throws Exception {
        var r = PthConvert.toSafetensors(Fixtures.resource(dir, "nested_object.pth"), dir.resolve("m.safetensors"), false);
        assertEquals(2, r.tensors());
        assertEquals(1, r.warnings().size());
        assertTrue(r.warnings().getFirst().contains("torch.optim.adamw.AdamW"));
    }

    @Test
    void refusesToOverwriteUnlessAskedAndNeverTheInput() throws Exception {
        Path src = Fixtures.resource(dir, "plain.pth");
        Path out = Files.writeString(dir.resolve("taken.safetensors"), "precious");
        var e = assertThrows(FileAlreadyExistsException.class, () -> PthConvert.toSafetensors(src, out, false));
        assertEquals(out + ": already exists; not replacing it", e.getMessage());
        assertEquals("precious", Files.readString(out));
        PthConvert.toSafetensors(src, out, true);
        try (SafeTensorsFile f = SafeTensorsFile.open(out)) {
            assertEquals(27, f.names().size());
        }
        assertThrows(FileAlreadyExistsException.class, () -> PthConvert.fromSafetensors(out, out, true));
        assertThrows(UnsafePickleException.class, () -> PthConvert.toSafetensors(Fixtures.resource(dir, "hostile_system.pth"), dir.resolve("h.safetensors"), false));
        assertTrue(Files.notExists(dir.resolve("h.safetensors")));
    }
}
