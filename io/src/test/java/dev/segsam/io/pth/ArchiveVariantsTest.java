package dev.segsam.io.pth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.function.BiFunction;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipArchiveOutputStream;
import org.apache.commons.compress.archivers.zip.ZipFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * torch.save's plain.pth re-packed in ways PyTorch's writer does not use but a reader must handle: records deflated,
 * storages big-endian (with a byteorder record), another top folder name. The expected values are still torch's
 * decoding of the original file.
 */
class ArchiveVariantsTest {
    @TempDir
    Path dir;

    /** Copies {@code src} to {@code dst}, each record's bytes through {@code edit}, renaming the top folder. */
    static void repack(Path src, Path dst, String top, boolean deflate, BiFunction<String, byte[], byte[]> edit,
                       Map<String, byte[]> extra) throws Exception {
        try (ZipFile in = ZipFile.builder().setPath(src).get(); ZipArchiveOutputStream out = new ZipArchiveOutputStream(dst)) {
            for (ZipArchiveEntry e : Collections.list(in.getEntries())) {
                String rest = e.getName().substring(e.getName().indexOf('/') + 1);
                byte[] b = edit.apply(rest, in.getInputStream(e).readAllBytes());
                put(out, top + "/" + rest, b, deflate);
            }
            for (var x : extra.entrySet()) put(out, top + "/" + x.getKey(), x.getValue(), deflate);
        }
    }

    private static void put(ZipArchiveOutputStream out, String name, byte[] b, boolean deflate) throws Exception {
        ZipArchiveEntry n = new ZipArchiveEntry(name);
        n.setMethod(deflate ? ZipArchiveEntry.DEFLATED : ZipArchiveEntry.STORED);
        if (!deflate) {
            java.util.zip.CRC32 crc = new java.util.zip.CRC32();
            crc.update(b);
            n.setSize(b.length);
            n.setCrc(crc.getValue());
        }
        out.putArchiveEntry(n);
        out.write(b);
        out.closeArchiveEntry();
    }

    @Test
    void deflatedRecordsAreInflated() throws Exception {
        Path src = Fixtures.resource(dir, "plain.pth");
        Path p = dir.resolve("deflated.pth");
        repack(src, p, "some_other_name", true, (n, b) -> b, Map.of());
        JsonNode want = Fixtures.expected("plain.pth");
        try (PthFile f = PthFile.open(p)) {
            assertEquals("some_other_name", f.topFolder());
            assertEquals(27, Fixtures.assertMatchesTorch(f, want.get("tensors")));
            assertFalse(f.isInPlace("shared_whole"), "a deflated record cannot be used in place");
        }
    }

    @Test
    void bigEndianStoragesAreSwapped() throws Exception {
        Path src = Fixtures.resource(dir, "plain.pth");
        Map<String, Integer> elementBytes = new HashMap<>();
        try (PthFile f = PthFile.open(src)) {
            for (PthTensorInfo t : f.infos()) elementBytes.put("data/" + t.storageKey(), t.dtype().bytes);
        }
        Path p = dir.resolve("big.pth");
        repack(src, p, "big", false, (n, b) -> {
            Integer w = elementBytes.get(n);
            if (w == null) return b;
            byte[] s = b.clone();
            for (int i = 0; i < s.length; i += w) {
                for (int j = 0; j < w; j++) s[i + j] = b[i + w - 1 - j];
            }
            return s;
        }, Map.of("byteorder", "big".getBytes(StandardCharsets.US_ASCII)));
        JsonNode want = Fixtures.expected("plain.pth");
        try (PthFile f = PthFile.open(p)) {
            assertEquals(ByteOrder.BIG_ENDIAN, f.byteOrder());
            assertEquals(27, Fixtures.assertMatchesTorch(f, want.get("tensors")));
            assertFalse(f.isInPlace("shared_whole"));
        }
    }

    @Test
    void badByteorderAndMissingOrShortStoragesAreFormatErrors() throws Exception {
        Path src = Fixtures.resource(dir, "plain.pth");
        Path odd = dir.resolve("odd.pth");
        repack(src, odd, "odd", false, (n, b) -> b, Map.of("byteorder", "middle".getBytes(StandardCharsets.US_ASCII)));
        var e = assertThrows(PthFormatException.class, () -> PthFile.open(odd));
        assertEquals("byteorder", e.field());

        Path shortRecord = dir.resolve("short.pth");
        repack(src, shortRecord, "short", false, (n, b) -> n.equals("data/0") ? java.util.Arrays.copyOf(b, b.length - 4) : b, Map.of());
        e = assertThrows(PthFormatException.class, () -> PthFile.open(shortRecord));
        assertEquals("storage", e.field());
        assertTrue(e.getMessage().matches(".*tensor \"[^\"]+\": storage: record data/0 has \\d+ bytes, \\w+Storage of \\d+ elements needs \\d+"), e.getMessage());

        Path noPickle = dir.resolve("nopickle.pth");
        repack(src, noPickle, "x", false, (n, b) -> b, Map.of());
        try (var fs = java.nio.file.FileSystems.newFileSystem(noPickle)) {
            java.nio.file.Files.delete(fs.getPath("x/data.pkl"));
        }
        e = assertThrows(PthFormatException.class, () -> PthFile.open(noPickle));
        assertTrue(e.getMessage().contains("no <folder>/data.pkl record"), e.getMessage());

        Path script = dir.resolve("script.pth");
        repack(src, script, "s", false, (n, b) -> b, Map.of("constants.pkl", new byte[] {(byte) 0x80, 2, ')', '.'}));
        e = assertThrows(PthFormatException.class, () -> PthFile.open(script));
        assertTrue(e.getMessage().contains("TorchScript"), e.getMessage());
    }
}
