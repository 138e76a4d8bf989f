package dev.segsam.io.pth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.segsam.tensor.HostStorage;
import dev.segsam.tensor.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.apache.commons.compress.archivers.zip.ZipFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PthLargeAndFuzzTest {
    @TempDir
    Path dir;

    /**
     * A 2.2 GB (sparse) checkpoint whose one storage record ends beyond 2 GiB: the file is mapped whole, a contiguous
     * tensor at the end is used in place and a strided one there is gathered. The zip is assembled by hand so that
     * the record's bytes stay a hole on disk.
     */
    @Test
    void storagesBeyond2GiBAreReadInPlace() throws Exception {
        long numel = 550_000_004L; // 2,200,000,016 bytes
        long tailAt = numel - 4;
        byte[] pickle = TorchPickle.stateDict(List.of(
                new TorchPickle.TensorEntry("head", PthDType.FLOAT32, "0", numel, 0, new long[] {2}, new long[] {1}),
                new TorchPickle.TensorEntry("tail", PthDType.FLOAT32, "0", numel, tailAt, new long[] {4}, new long[] {1}),
                new TorchPickle.TensorEntry("tail_t", PthDType.FLOAT32, "0", numel, tailAt, new long[] {2, 2}, new long[] {1, 2})));
        ByteBuffer tail = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putFloat(1f).putFloat(-2f).putFloat(3.5f).putFloat(4f).flip();
        Path p = dir.resolve("big.pth");
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            List<long[]> headers = new ArrayList<>(); // {local header offset, size}
            List<String> names = List.of("archive/data.pkl", "archive/data/0");
            long pos = 0;
            headers.add(new long[] {pos, pickle.length});
            pos += writeLocal(ch, pos, names.get(0), pickle.length);
            ch.write(ByteBuffer.wrap(pickle), pos);
            pos += pickle.length;
            headers.add(new long[] {pos, numel * 4});
            pos += writeLocal(ch, pos, names.get(1), numel * 4);
            ch.write(tail, pos + numel * 4 - 16); // everything before it stays a hole
            pos += numel * 4;
            long cd = pos;
            for (int i = 0; i < names.size(); i++) {
                byte[] n = names.get(i).getBytes(StandardCharsets.US_ASCII);
                ByteBuffer c = ByteBuffer.allocate(46 + n.length).order(ByteOrder.LITTLE_ENDIAN)
                        .putInt(0x02014b50).putShort((short) 20).putShort((short) 20).putShort((short) 0).putShort((short) 0)
                        .putInt(0).putInt(0).putInt((int) headers.get(i)[1]).putInt((int) headers.get(i)[1])
                        .putShort((short) n.length).putShort((short) 0).putShort((short) 0).putShort((short) 0).putShort((short) 0)
                        .putInt(0).putInt((int) headers.get(i)[0]).put(n).flip();
                pos += ch.write(c, pos);
            }
            ByteBuffer end = ByteBuffer.allocate(22).order(ByteOrder.LITTLE_ENDIAN).putInt(0x06054b50).putShort((short) 0)
                    .putShort((short) 0).putShort((short) 2).putShort((short) 2).putInt((int) (pos - cd)).putInt((int) cd)
                    .putShort((short) 0).flip();
            ch.write(end, pos);
        }
        assertTrue(Files.size(p) > (1L << 31) + 50_000_000);
        try (PthFile f = PthFile.open(p)) {
            Tensor t = f.get("tail");
            assertFalse(((HostStorage) t.storage()).owned(), "in place");
            assertArrayEquals(new float[] {1f, -2f, 3.5f, 4f}, t.toArray());
            assertArrayEquals(new float[] {1f, 3.5f, -2f, 4f}, f.get("tail_t").toArray());
            assertArrayEquals(new float[] {0f, 0f}, f.get("head").toArray());
        }
    }

    private static long writeLocal(FileChannel ch, long pos, String name, long size) throws Exception {
        byte[] n = name.getBytes(StandardCharsets.US_ASCII);
        ByteBuffer h = ByteBuffer.allocate(30 + n.length).order(ByteOrder.LITTLE_ENDIAN)
                .putInt(0x04034b50).putShort((short) 20).putShort((short) 0).putShort((short) 0).putShort((short) 0)
                .putShort((short) 0).putInt(0).putInt((int) size).putInt((int) size).putShort((short) n.length)
                .putShort((short) 0).put(n).flip();
        return ch.write(h, pos);
    }

    private static final byte[] INTERESTING = "()]}qhjXKJMtRQubsea.c0123\u0085\u0086\u0087\u0088\u0089\u008a\u0080\u0095\u0093\u0094\u008c\u00ff"
            .getBytes(StandardCharsets.ISO_8859_1);

    private static void mutate(byte[] b, int pos, Random rnd) {
        switch (rnd.nextInt(3)) {
            case 0 -> b[pos] ^= (byte) (1 << rnd.nextInt(8));
            case 1 -> b[pos] = INTERESTING[rnd.nextInt(INTERESTING.length)];
            default -> b[pos] = (byte) rnd.nextInt(256);
        }
    }

    /**
     * Seeded mutation fuzzing of the pickle of torch's plain.pth, in memory: 10,000 mutants (bytes flipped,
     * overwritten, cut) through the unpickler and the state-dict rule. Every outcome must be a result or a
     * {@link PthFormatException}; anything else (an OutOfMemoryError from a trusted length included) fails.
     */
    @Test
    void mutatedPicklesFailOnlyWithFormatErrors() throws Exception {
        Path seedFile = Fixtures.resource(dir, "plain.pth");
        byte[] seed;
        try (ZipFile z = ZipFile.builder().setPath(seedFile).get()) {
            seed = z.getInputStream(z.getEntry("plain/data.pkl")).readAllBytes();
        }
        Random rnd = new Random(2026_11_27L);
        int ok = 0, rejected = 0, n = 10_000;
        for (int iter = 0; iter < n; iter++) {
            byte[] b = seed.clone();
            for (int k = 1 + rnd.nextInt(4); k > 0; k--) mutate(b, rnd.nextInt(b.length), rnd);
            if (rnd.nextInt(10) == 0) b = Arrays.copyOf(b, rnd.nextInt(b.length));
            try {
                StateDicts.select(seedFile, RestrictedUnpickler.load(seedFile, b), null);
                ok++;
            } catch (PthFormatException e) {
                rejected++;
            } catch (Throwable t) {
                fail("pickle mutant " + iter + " raised " + t, t);
            }
        }
        assertEquals(n, ok + rejected);
        if (rejected < n / 3 || ok < n / 20) fail("mutations too weak or too coarse: " + ok + " ok, " + rejected + " rejected");
    }

    /**
     * Seeded mutation fuzzing of torch's plain.pth as a file: flip or overwrite bytes (mostly inside data.pkl, which
     * is stored, so the pickle itself is mutated), sometimes cut or insert bytes anywhere (zip structures), then open
     * the result and read every tensor. Every outcome must be a successful read or a {@link PthFormatException}; any
     * other exception (or an OutOfMemoryError from a trusted size) fails the test. About a second.
     */
    @Test
    void mutatedFilesFailOnlyWithFormatErrors() throws Exception {
        Path seedFile = Fixtures.resource(dir, "plain.pth");
        byte[] seed = Files.readAllBytes(seedFile);
        long pklStart, pklSize;
        try (ZipFile z = ZipFile.builder().setPath(seedFile).get()) {
            var e = z.getEntry("plain/data.pkl");
            pklStart = e.getDataOffset();
            pklSize = e.getSize();
        }
        Random rnd = new Random(2026_11_26L);
        Path p = dir.resolve("mutant.pth");
        java.util.logging.Logger log = java.util.logging.Logger.getLogger("segsam"); // mutants' skip warnings are noise here
        java.util.logging.Level level = log.getLevel();
        log.setLevel(java.util.logging.Level.OFF);
        int opened = 0, rejected = 0, unsafe = 0, n = 300;
        for (int iter = 0; iter < n; iter++) {
            byte[] b = seed.clone();
            int edits = 1 + rnd.nextInt(4);
            for (int k = 0; k < edits; k++) {
                boolean inPickle = rnd.nextInt(100) < 85;
                int pos = inPickle ? (int) (pklStart + rnd.nextInt((int) pklSize)) : rnd.nextInt(b.length);
                switch (rnd.nextInt(inPickle ? 3 : 5)) {
                    case 0, 1, 2 -> mutate(b, pos, rnd);
                    case 3 -> b = Arrays.copyOf(b, pos); // truncate
                    default -> { // insert a byte
                        byte[] c = new byte[b.length + 1];
                        System.arraycopy(b, 0, c, 0, pos);
                        c[pos] = INTERESTING[rnd.nextInt(INTERESTING.length)];
                        System.arraycopy(b, pos, c, pos + 1, b.length - pos);
                        b = c;
                    }
                }
                if (b.length <= pklStart + pklSize) break;
            }
            Files.write(p, b);
            try (PthFile f = PthFile.open(p)) {
                for (PthTensorInfo t : f.infos()) {
                    if (t.numel() > 1 << 20) continue; // a valid broadcast view can be huge; materialising it is not the point
                    if (t.dtype().isFloat()) f.get(t.name());
                    else f.longValues(t.name());
                }
                opened++;
            } catch (UnsafePickleException e) {
                unsafe++;
            } catch (PthFormatException e) {
                assertEquals(1, e.getMessage().lines().count(), e.getMessage());
                rejected++;
            } catch (Throwable t) {
                Files.write(dir.resolve("crash.pth"), b);
                fail("mutant " + iter + " raised " + t, t);
            }
        }
        log.setLevel(level);
        assertEquals(n, opened + rejected + unsafe);
        if (rejected < n / 3) fail("the mutator rarely breaks the file (" + rejected + " rejected): it is not testing much");
        if (opened < n / 20) fail("almost no mutant opened (" + opened + "): the mutations are too coarse");
    }
}
