package dev.segsam.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.segsam.io.pth.PthFormatException;
import dev.segsam.io.pth.UnsafePickleException;
import dev.segsam.io.safetensors.SafeTensorsFormatException;
import dev.segsam.io.safetensors.SafeTensorsWriter;
import dev.segsam.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Checkpoint#open}: the format comes from the content, whatever the name says. The files are the committed
 * fixtures written by PyTorch and by the independent safetensors writer (tools/reference), with their decodings.
 */
class CheckpointTest {
    @TempDir
    Path dir;

    private Path resource(String resource, String as) throws IOException {
        Path p = dir.resolve(as);
        try (InputStream in = getClass().getResourceAsStream(resource)) {
            if (in == null) throw new IOException("missing test resource " + resource);
            Files.copy(in, p, StandardCopyOption.REPLACE_EXISTING);
        }
        return p;
    }

    private static JsonNode json(String resource) throws IOException {
        try (InputStream in = CheckpointTest.class.getResourceAsStream(resource)) {
            return new ObjectMapper().readTree(in);
        }
    }

    @Test
    void safetensorsFileIsReadWithEntriesAndMetadata() throws Exception {
        JsonNode want = json("/safetensors/reference.expected.json").get("tensors");
        // the name says .bin: the content decides
        try (Checkpoint c = Checkpoint.open(resource("/safetensors/reference.safetensors", "weights.bin"))) {
            assertEquals(Checkpoint.Format.SAFETENSORS, c.format());
            assertEquals(Map.of("format", "pt", "written_by", "tools/reference/safetensors_fixture.py"), c.metadata());
            assertEquals(want.size(), c.entries().size());
            for (Checkpoint.Entry e : c.entries()) {
                JsonNode w = want.get(e.name());
                assertEquals(w.get("dtype").asText(), e.dtype(), e.name());
                assertEquals(w.get("shape").size(), e.shape().length, e.name());
                for (int i = 0; i < e.shape().length; i++) assertEquals(w.get("shape").get(i).asLong(), e.shape()[i], e.name());
            }
            float[] f16 = c.get("half.f16").toArray();
            JsonNode v = want.get("half.f16").get("values");
            for (int i = 0; i < f16.length; i++) assertEquals((float) v.get(i).asDouble(), f16[i], "half.f16[" + i + "]");
            assertEquals(12, c.entry("half.f16").bytes());
            assertArrayEquals(new int[] {6}, c.shape("half.f16"));
            assertTrue(c.warnings().isEmpty());
        }
    }

    @Test
    void pthFileIsReadWithEntriesAndNoMetadata() throws Exception {
        JsonNode want = json("/pth/pth.expected.json").get("files").get("plain.pth");
        // the name says .safetensors: the content (a zip) decides
        try (Checkpoint c = Checkpoint.open(resource("/pth/plain.pth", "plain.safetensors"))) {
            assertEquals(Checkpoint.Format.PTH, c.format());
            assertTrue(c.metadata().isEmpty());
            List<String> names = new ArrayList<>();
            want.get("names").forEach(n -> names.add(n.asText()));
            assertEquals(names, List.copyOf(c.names()));
            assertEquals(names, c.entries().stream().map(Checkpoint.Entry::name).toList());
            JsonNode t = want.get("tensors").get("t_view"); // a transposed view: gathered into a new tensor
            Checkpoint.Entry e = c.entry("t_view");
            assertEquals("F32", e.dtype());
            for (int i = 0; i < e.shape().length; i++) assertEquals(t.get("shape").get(i).asLong(), e.shape()[i]);
            assertEquals(4 * e.numel(), e.bytes());
            float[] got = c.get("t_view").toArray();
            for (int i = 0; i < got.length; i++) assertEquals((float) t.get("values").get(i).asDouble(), got[i], "t_view[" + i + "]");
            assertEquals("BF16", c.entry("bf16").dtype());
            assertEquals("I64", c.entry("ids").dtype());
            assertEquals("BOOL", c.entry("mask").dtype());
        }
    }

    @Test
    void javaWrittenFilesOfBothFormatsGiveTheSameTensors() throws Exception {
        Tensor w = Tensor.of(new float[] {1.5f, -2, 3, 4.25f, 5, -6}, 2, 3);
        Path st = dir.resolve("a.safetensors"), pth = dir.resolve("a.pth");
        new SafeTensorsWriter().add("w", w).metadata("k", "v").write(st);
        new dev.segsam.io.pth.PthWriter().add("w", w).write(pth);
        for (Path p : List.of(st, pth)) {
            try (Checkpoint c = Checkpoint.open(p)) {
                assertArrayEquals(w.toArray(), c.get("w").toArray(), p.toString());
                assertEquals(List.of(new Checkpoint.Entry("w", "F32", new long[] {2, 3}, 24).toString()),
                        c.entries().stream().map(Checkpoint.Entry::toString).toList());
                assertEquals(24, c.bytes("w").byteSize());
            }
        }
        assertEquals(Checkpoint.Format.SAFETENSORS, Checkpoint.detect(st));
        assertEquals(Checkpoint.Format.PTH, Checkpoint.detect(pth));
    }

    @Test
    void pthRefusalsKeepTheirMessages() throws Exception {
        Path hostile = resource("/pth/hostile_system.pth", "hostile.pth");
        var e = assertThrows(UnsafePickleException.class, () -> Checkpoint.open(hostile));
        assertTrue(e.getMessage().startsWith("refusing to load " + hostile + ": "), e.getMessage());
        assertOneLine(e);
        // the legacy format (a bare pickle) goes to the .pth reader, which says how to convert it, whatever the name
        Path legacy = resource("/pth/legacy.pth", "legacy.model");
        var l = assertThrows(PthFormatException.class, () -> Checkpoint.open(legacy));
        assertTrue(l.getMessage().contains("legacy (pre-1.6, non-zip) PyTorch format") && l.getMessage().contains("torch.save(torch.load(f), f2)"),
                l.getMessage());
        assertOneLine(l);
    }

    @Test
    void aFileThatIsNeitherIsRefusedInOneLineNamingTheFormats() throws Exception {
        Path notes = Files.writeString(dir.resolve("notes.txt"), "hello, these are not weights\n");
        var e = assertThrows(FileFormatException.class, () -> Checkpoint.open(notes));
        assertEquals(notes + ": not a checkpoint: its first bytes are neither a safetensors header nor a zip archive; "
                + Checkpoint.ACCEPTED, e.getMessage());
        assertEquals("format", e.field());
        assertEquals(notes, e.file());

        // recognisable non-checkpoints are named, whatever the extension
        Path lfs = Files.writeString(dir.resolve("sam.pth"), "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 375042383\n");
        var l = assertThrows(FileFormatException.class, () -> Checkpoint.open(lfs));
        assertTrue(l.getMessage().startsWith(lfs + ": not a checkpoint: a Git LFS pointer file"), l.getMessage());
        assertTrue(l.getMessage().endsWith(Checkpoint.ACCEPTED), l.getMessage());
        Path html = Files.writeString(dir.resolve("model.safetensors"), "<!DOCTYPE html><html><body>404</body></html>");
        assertTrue(assertThrows(FileFormatException.class, () -> Checkpoint.open(html)).getMessage().contains("an HTML/XML page"));
        Path png = dir.resolve("w.safetensors");
        Files.write(png, new byte[] {(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10, 0, 0, 0, 13});
        assertTrue(assertThrows(FileFormatException.class, () -> Checkpoint.open(png)).getMessage().contains("a PNG image"));
        Path empty = Files.write(dir.resolve("empty.ckpt"), new byte[0]);
        assertEquals(empty + ": not a checkpoint: the file is empty; " + Checkpoint.ACCEPTED,
                assertThrows(FileFormatException.class, () -> Checkpoint.open(empty)).getMessage());
        var d = assertThrows(FileFormatException.class, () -> Checkpoint.open(dir));
        assertTrue(d.getMessage().startsWith(dir + ": a folder"), d.getMessage());
        assertThrows(NoSuchFileException.class, () -> Checkpoint.open(dir.resolve("none.safetensors")));
    }

    @Test
    void unrecognisableContentGetsTheDiagnosisOfTheFormatItsNameSays() throws Exception {
        // a safetensors download cut inside its 8-byte length: the safetensors reader names the truncation
        Path cut = Files.write(dir.resolve("cut.safetensors"), new byte[] {0x40, 0, 0});
        var s = assertThrows(SafeTensorsFormatException.class, () -> Checkpoint.open(cut));
        assertTrue(s.getMessage().contains("header length") && s.getMessage().contains("truncated"), s.getMessage());
        // a header cut short: the length is plausible, the '{' is there, the file ends early
        byte[] header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}".getBytes(StandardCharsets.US_ASCII);
        byte[] file = new byte[8 + 20];
        file[0] = (byte) header.length;
        System.arraycopy(header, 0, file, 8, 20);
        Path half = Files.write(dir.resolve("half.bin"), file);
        var h = assertThrows(SafeTensorsFormatException.class, () -> Checkpoint.open(half));
        assertTrue(h.getMessage().contains("runs past the end"), h.getMessage());
        Path junk = Files.write(dir.resolve("junk.pt"), new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
        var p = assertThrows(PthFormatException.class, () -> Checkpoint.open(junk));
        assertTrue(p.getMessage().startsWith(junk + ": format: "), p.getMessage());
    }

    @Test
    void closedCheckpointsInvalidateTheirZeroCopyTensors() throws Exception {
        Path st = dir.resolve("z.safetensors");
        new SafeTensorsWriter().add("w", Tensor.of(new float[] {1, 2}, 2)).write(st);
        Tensor t;
        try (Checkpoint c = Checkpoint.open(st)) {
            t = c.get("w");
            assertEquals(2f, t.get(1));
        }
        assertThrows(IllegalStateException.class, () -> t.get(1));
    }

    private static void assertOneLine(Exception e) {
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    }
}
