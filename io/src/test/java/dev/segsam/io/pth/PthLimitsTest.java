package dev.segsam.io.pth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.io.IoLimits;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile checkpoints that are small on disk but would make the reader allocate a lot: each is refused on open by a
 * limit of {@link IoLimits}, with a one-line message naming the limit and the property that raises it, and reads
 * once that limit is raised (so the limit, not some other check, is what refused it). The files are built here.
 */
class PthLimitsTest {
    @TempDir
    Path dir;

    /** A zip holding {@code archive/data.pkl} = {@code pickle}, deflated (as a re-zipped file would have it). */
    private Path deflated(String name, byte[] pickle) throws Exception {
        Path p = dir.resolve(name);
        try (OutputStream out = Files.newOutputStream(p); ZipOutputStream zip = new ZipOutputStream(out)) {
            zip.setLevel(9);
            zip.putNextEntry(new ZipEntry("archive/data.pkl"));
            zip.write(pickle);
            zip.closeEntry();
        }
        return p;
    }

    private static byte[] repeated(byte[] head, int op, int count, byte[] tail) {
        byte[] b = new byte[head.length + count + tail.length];
        System.arraycopy(head, 0, b, 0, head.length);
        Arrays.fill(b, head.length, head.length + count, (byte) op);
        System.arraycopy(tail, 0, b, head.length + count, tail.length);
        return b;
    }

    private static void assertOneLine(Exception e, String... parts) {
        String m = e.getMessage();
        assertTrue(!m.contains("\n") && !m.contains("\r"), m);
        for (String part : parts) assertTrue(m.contains(part), "\"" + part + "\" missing from: " + m);
    }

    /**
     * The reported 255 KB file was ~256 MB of MEMOIZE, deflated; past 64 MiB such a pickle stops at the pickle size
     * limit, before anything is inflated or unpickled.
     */
    @Test
    void aDeflatedPickleOfManyMegabytesIsRefusedBySize() throws Exception {
        Path p = dir.resolve("memoize_bomb.pth");
        long n = (64L << 20) + 1;
        try (OutputStream out = Files.newOutputStream(p); ZipOutputStream zip = new ZipOutputStream(out)) {
            zip.putNextEntry(new ZipEntry("archive/data.pkl"));
            zip.write(new byte[] {(byte) 0x80, 2, ']'});
            byte[] chunk = new byte[1 << 20];
            Arrays.fill(chunk, (byte) 0x94);
            for (long left = n; left > 0; left -= chunk.length) zip.write(chunk, 0, (int) Math.min(left, chunk.length));
            zip.write('.');
        }
        assertTrue(Files.size(p) < 100_000, "the file is small: " + Files.size(p));
        PthFormatException e = assertThrows(PthFormatException.class, () -> PthFile.open(p));
        assertOneLine(e, "record archive/data.pkl has " + (n + 4) + " bytes, more than the limit of 64 MiB",
                "-Dsegsam.io.pth.maxPickleBytes=N");
    }

    @Test
    void theMemoIsCapped() throws Exception {
        byte[] pkl = repeated(new byte[] {(byte) 0x80, 2, ']'}, 0x94, 2_000, new byte[] {'.'});
        Path p = deflated("memo.pth", pkl);
        IoLimits small = IoLimits.defaults().withMaxPickleMemo(1_000);
        PthFormatException e = assertThrows(PthFormatException.class, () -> PthFile.open(p, null, small));
        assertOneLine(e, "data.pkl: byte 1003: its memo grows past the limit of 1000 entries", "-Dsegsam.io.pth.maxPickleMemo=N");
        // raised, the pickle unpickles (to an empty list, which is then no state dict)
        e = assertThrows(PthFormatException.class, () -> PthFile.open(p, null, small.withMaxPickleMemo(2_000)));
        assertOneLine(e, "state dict: the top-level object is a list");
        // the default memo limit stops the same bomb at a million entries
        byte[] big = repeated(new byte[] {(byte) 0x80, 2, ']'}, 0x94, 1_000_001, new byte[] {'.'});
        Path q = deflated("memo_default.pth", big);
        e = assertThrows(PthFormatException.class, () -> PthFile.open(q));
        assertOneLine(e, "memo grows past the limit of 1000000 entries");
    }

    @Test
    void whatThePickleBuildsIsCapped() throws Exception {
        // DUP pushes a reference per byte; EMPTY_DICT a map per byte
        byte[] dups = repeated(new byte[] {(byte) 0x80, 2, ']'}, '2', 200_000, new byte[] {'.'});
        byte[] dicts = repeated(new byte[] {(byte) 0x80, 2}, '}', 200_000, new byte[] {'.'});
        IoLimits oneMiB = IoLimits.defaults().withMaxPickleMemory(1 << 20);
        for (byte[] pkl : List.of(dups, dicts)) {
            Path p = deflated("amplify.pth", pkl);
            PthFormatException e = assertThrows(PthFormatException.class, () -> PthFile.open(p, null, oneMiB));
            assertOneLine(e, "the objects it builds would take more than the limit of 1 MiB", "-Dsegsam.io.pth.maxPickleMemory=N");
            e = assertThrows(PthFormatException.class, () -> PthFile.open(p, null, oneMiB.withMaxPickleMemory(64 << 20)));
            assertOneLine(e, "state dict: the top-level ");
        }
    }

    @Test
    void nestingIsCapped() throws Exception {
        byte[] pkl = repeated(new byte[] {(byte) 0x80, 2}, '(', 5_000, new byte[] {'.'});
        Path p = deflated("marks.pth", pkl);
        PthFormatException e = assertThrows(PthFormatException.class, () -> PthFile.open(p));
        assertOneLine(e, "byte 1002: more than the limit of 1000 MARKs are open at once", "-Dsegsam.io.pth.maxPickleNesting=N");
        e = assertThrows(PthFormatException.class, () -> PthFile.open(p, null, IoLimits.defaults().withMaxPickleNesting(10_000)));
        assertOneLine(e, "stack underflow"); // STOP finds only marks: the pickle is then merely malformed
    }

    private Path oneElementStorage(String name, long[] size, long[] stride) throws Exception {
        Path p = dir.resolve(name);
        MemorySegment one = MemorySegment.ofArray(new byte[4]);
        one.setAtIndex(Elements.F32, 0, 2.5f);
        PthWriter.writeArchive(p, TorchPickle.stateDict(List.of(
                new TorchPickle.TensorEntry("x", PthDType.FLOAT32, "0", 1, 0, size, stride))), List.of(one));
        return p;
    }

    /** A stride-0 view of one element claiming 4 GiB (the reported 633-byte file), and the limits around it. */
    @Test
    void viewsMayNotStretchTheirStorageWithoutBound() throws Exception {
        Path p = oneElementStorage("expand.pth", new long[] {1L << 30}, new long[] {0});
        assertTrue(Files.size(p) < 1000);
        PthFormatException e = assertThrows(PthFormatException.class, () -> PthFile.open(p));
        assertEquals("x", e.tensor());
        assertOneLine(e, "tensor \"x\": storage: the view (size [1073741824], stride [0]) repeats its storage's 1 elements into 1073741824,"
                + " more than the limit of 16 per element", "-Dsegsam.io.pth.maxViewExpansion=N");
        // relative limit lifted: the absolute one (bytes claimed beyond the storages, over the file) still holds
        IoLimits anyRatio = IoLimits.defaults().withMaxViewExpansion(Long.MAX_VALUE);
        e = assertThrows(PthFormatException.class, () -> PthFile.open(p, null, anyRatio));
        assertOneLine(e, "would need 4294967292 bytes more than the file holds, more than the limit of 256 MiB",
                "-Dsegsam.io.pth.maxExpandedBytes=N");
        // within both, the view reads as PyTorch expands it
        Path small = oneElementStorage("expand16.pth", new long[] {4, 4}, new long[] {0, 0});
        try (PthFile f = PthFile.open(small)) {
            float[] v = new float[16];
            Arrays.fill(v, 2.5f);
            assertArrayEquals(v, f.get("x").toArray());
        }
        Path seventeen = oneElementStorage("expand17.pth", new long[] {17}, new long[] {0});
        assertThrows(PthFormatException.class, () -> PthFile.open(seventeen));
        try (PthFile f = PthFile.open(seventeen, null, IoLimits.defaults().withMaxViewExpansion(17))) {
            assertEquals(17, f.get("x").numel());
        }
    }

    @Test
    void theExpansionLimitAddsUpOverTheFile() throws Exception {
        Path p = dir.resolve("many.pth");
        MemorySegment one = MemorySegment.ofArray(new byte[4]);
        List<TorchPickle.TensorEntry> views = new java.util.ArrayList<>();
        for (int i = 0; i < 3; i++) {
            views.add(new TorchPickle.TensorEntry("v" + i, PthDType.FLOAT32, "0", 1, 0, new long[] {1000}, new long[] {0}));
        }
        PthWriter.writeArchive(p, TorchPickle.stateDict(views), List.of(one));
        IoLimits limits = IoLimits.defaults().withMaxViewExpansion(1000).withMaxExpandedBytes(2 * 3996);
        PthFormatException e = assertThrows(PthFormatException.class, () -> PthFile.open(p, null, limits));
        assertEquals("v2", e.tensor(), "the third view passes the sum");
        assertOneLine(e, "would need 11988 bytes more than the file holds, more than the limit of 7992 bytes");
        try (PthFile f = PthFile.open(p, null, limits.withMaxExpandedBytes(3 * 3996))) {
            assertEquals(3, f.names().size());
        }
    }

    @Test
    void zipRecordsAreCountedBeforeTheDirectoryIsRead() throws Exception {
        Path p = dir.resolve("records.pth");
        try (OutputStream out = Files.newOutputStream(p); ZipOutputStream zip = new ZipOutputStream(out)) {
            zip.putNextEntry(new ZipEntry("archive/data.pkl"));
            zip.write(Pk.proto2().emptyDict().stop().bytes());
            for (int i = 0; i < 20; i++) zip.putNextEntry(new ZipEntry("archive/extra/" + i));
        }
        PthFormatException e = assertThrows(PthFormatException.class, () -> PthFile.open(p, null, IoLimits.defaults().withMaxZipEntries(20)));
        assertOneLine(e, "zip: the zip directory announces 21 records, more than the limit of 20", "-Dsegsam.io.pth.maxZipEntries=N");
        e = assertThrows(PthFormatException.class, () -> PthFile.open(p, null, IoLimits.defaults().withMaxZipEntries(21)));
        assertOneLine(e, "the top-level dict is empty");
    }

    @Test
    void deflatedRecordsAreCappedAtTheInflatedLimit() throws Exception {
        // 1 MiB of NONE pushes, then an empty dict: compresses to ~1 KB
        byte[] pkl = repeated(new byte[] {(byte) 0x80, 2}, 'N', 1 << 20, new byte[] {'}', '.'});
        Path p = deflated("inflate.pth", pkl);
        IoLimits small = IoLimits.defaults().withMaxInflatedBytes(1 << 19);
        PthFormatException e = assertThrows(PthFormatException.class, () -> PthFile.open(p, null, small));
        assertOneLine(e, "deflated record archive/data.pkl inflates to " + pkl.length + " bytes, more than the limit of 512 KiB",
                "-Dsegsam.io.maxInflatedBytes=N");
        e = assertThrows(PthFormatException.class, () -> PthFile.open(p, null, small.withMaxInflatedBytes(1 << 21)));
        assertOneLine(e, "the top-level dict is empty");
    }
}
