package dev.segsam.io.medical;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.segsam.io.medical.dicom.DicomReader;
import dev.segsam.io.medical.nifti.NiftiReader;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded mutation fuzzing of real and synthetic files: flip bits, write interesting bytes and 32-bit values,
 * truncate or insert bytes (mostly in the headers), then read. Every outcome must be a volume or a
 * {@link MedicalFormatException}; anything else — a RuntimeException, an OutOfMemoryError from a trusted length —
 * fails the test and leaves the mutant in the temp folder. Each loop stops after its mutant count or about 1.5 s.
 */
class MedicalFuzzTest {
    @TempDir
    Path dir;

    interface Reader {
        Volume read(Path p) throws Exception;
    }

    interface Encoder {
        byte[] apply(byte[] b) throws Exception;
    }

    private static final byte[] BYTES = {0, (byte) 0xFF, 0x7F, (byte) 0x80, 'D', 'S', 'O', 'W', 'U', 'N', 'Q', (byte) 0xFE, (byte) 0xE0, (byte) 0xDD, 0x01, 0x10};
    private static final int[] INTS = {0, -1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFF0, 352, 348, 0x10000, 65535, 2, 16};

    static byte[] mutate(byte[] seed, Random rnd, int hotEnd) {
        byte[] b = seed.clone();
        int edits = 1 + rnd.nextInt(4);
        for (int k = 0; k < edits && b.length > 0; k++) {
            int pos = rnd.nextInt(100) < 85 ? rnd.nextInt(Math.min(hotEnd, b.length)) : rnd.nextInt(b.length);
            switch (rnd.nextInt(6)) {
                case 0 -> b[pos] ^= (byte) (1 << rnd.nextInt(8));
                case 1 -> b[pos] = BYTES[rnd.nextInt(BYTES.length)];
                case 2 -> {
                    int v = INTS[rnd.nextInt(INTS.length)];
                    for (int i = 0; i < 4 && pos + i < b.length; i++) b[pos + i] = (byte) (rnd.nextBoolean() ? v >>> (8 * i) : v >>> (8 * (3 - i)));
                }
                case 3 -> b = Arrays.copyOf(b, pos);
                case 4 -> {
                    byte[] c = new byte[b.length + 1];
                    System.arraycopy(b, 0, c, 0, pos);
                    c[pos] = BYTES[rnd.nextInt(BYTES.length)];
                    System.arraycopy(b, pos, c, pos + 1, b.length - pos);
                    b = c;
                }
                default -> b[pos] = (byte) rnd.nextInt(256);
            }
        }
        return b;
    }

    /** Runs the loop; returns {opened, rejected}. */
    int[] fuzz(String name, byte[] seed, int hotEnd, long rngSeed, int count, Reader reader) throws Exception {
        return fuzz(name, seed, hotEnd, rngSeed, count, reader, b -> b);
    }

    /** As above, with each mutant passed through {@code encode} (e.g. gzip) before it is written. */
    int[] fuzz(String name, byte[] seed, int hotEnd, long rngSeed, int count, Reader reader, Encoder encode) throws Exception {
        Random rnd = new Random(rngSeed);
        Path p = dir.resolve(name);
        int opened = 0, rejected = 0;
        long deadline = System.nanoTime() + 1_500_000_000L;
        for (int iter = 0; iter < count && System.nanoTime() < deadline; iter++) {
            byte[] b = encode.apply(mutate(seed, rnd, hotEnd));
            Files.write(p, b);
            try (Volume v = reader.read(p)) {
                v.valueRange();
                opened++;
            } catch (MedicalFormatException e) {
                rejected++;
            } catch (Throwable t) {
                Path keep = dir.resolve("crash-" + name);
                Files.write(keep, b);
                fail(name + " mutant " + iter + " raised " + t + " (kept as " + keep + ")", t);
            }
        }
        assertTrue(rejected > (opened + rejected) / 10, name + ": only " + rejected + " of " + (opened + rejected) + " mutants rejected: the mutator is not reaching the parser");
        return new int[] {opened, rejected};
    }

    @Test
    void dicomExplicitLittleEndian() throws Exception {
        fuzz("ct.dcm", Fixtures.bytes("dicom/CT_small.dcm"), 7000, 11, 1500, DicomReader::read);
    }

    @Test
    void dicomImplicitBigEndianAndRle() throws Exception {
        fuzz("impl.dcm", Fixtures.bytes("dicom/MR_small_implicit.dcm"), 1600, 12, 700, DicomReader::read);
        fuzz("be.dcm", Fixtures.bytes("dicom/MR_small_bigendian.dcm"), 1600, 13, 700, DicomReader::read);
        fuzz("rle.dcm", Fixtures.bytes("dicom/MR_small_RLE.dcm"), 7790, 14, 700, DicomReader::read);
    }

    @Test
    void dicomDeflated() throws Exception {
        fuzz("dfl.dcm", Fixtures.bytes("dicom/image_dfl.dcm"), 4637, 15, 500, DicomReader::read);
    }

    @Test
    void niftiUncompressed() throws Exception {
        fuzz("anat.nii", Fixtures.bytes("nifti/anatomical.nii"), 352, 16, 1500, NiftiReader::read);
    }

    @Test
    void niftiGzip() throws Exception {
        // header mutations under valid compression, then mutations of the compressed bytes themselves
        byte[] raw = Fixtures.bytes("nifti/anatomical.nii");
        fuzz("hdr.nii.gz", raw, 352, 17, 400, NiftiReader::read, MedicalFuzzTest::gzip);
        byte[] gz = gzip(raw);
        fuzz("gz.nii.gz", gz, gz.length, 18, 600, NiftiReader::read);
    }

    static byte[] gzip(byte[] b) throws Exception {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        try (GZIPOutputStream g = new GZIPOutputStream(o)) {
            g.write(b);
        }
        return o.toByteArray();
    }
}
