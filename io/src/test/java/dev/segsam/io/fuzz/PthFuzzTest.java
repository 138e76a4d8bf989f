package dev.segsam.io.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.segsam.io.pth.PthFile;
import dev.segsam.io.pth.PthTensorInfo;
import dev.segsam.tensor.Tensor;
import java.io.ByteArrayOutputStream;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * {@code .pth}: the zip container with its records ({@code archive}), and the pickle alone ({@code pickle}: the
 * input becomes {@code archive/data.pkl} of a well-formed zip, so the fuzzer spends its time in the unpickler and
 * the state-dict rules rather than in zip headers). Every tensor found is read.
 */
class PthFuzzTest {
    @FuzzTest(maxDuration = "10m")
    void archive(byte[] data) throws Exception {
        Invariant.check(".pth", data, PthFuzzTest::readAll);
    }

    @FuzzTest(maxDuration = "10m")
    void pickle(byte[] data) throws Exception {
        Invariant.check(".pth", zipWithPickle(data), PthFuzzTest::readAll);
    }

    private static void readAll(java.nio.file.Path p) throws Exception {
        try (PthFile f = PthFile.open(p, null, Invariant.LIMITS)) {
            for (PthTensorInfo t : f.infos()) {
                if (t.numel() > 1 << 22) continue; // within the limits, but not worth the fuzzer's time
                if (f.bytes(t.name()).byteSize() != t.byteSize()) throw new AssertionError(t + ": byte size");
                if (t.dtype().isFloat() && Invariant.intDims(t.shape())) { // get() takes int dimensions (documented)
                    try (Tensor x = f.get(t.name())) {
                        if (x.numel() != t.numel()) throw new AssertionError(t + ": numel");
                    }
                } else if (t.dtype().isInteger()) {
                    if (f.longValues(t.name()).length != t.numel()) throw new AssertionError(t + ": numel");
                }
            }
        }
    }

    /**
     * A stored zip with {@code archive/data.pkl} = {@code pickle} and storage records {@code archive/data/0..3} of
     * 64 bytes each (so persistent ids naming keys 0..3 find a record).
     */
    static byte[] zipWithPickle(byte[] pickle) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            stored(zip, "archive/data.pkl", pickle);
            byte[] storage = new byte[64];
            for (int i = 0; i < storage.length; i++) storage[i] = (byte) (i * 37);
            for (int k = 0; k < 4; k++) stored(zip, "archive/data/" + k, storage);
        }
        return bytes.toByteArray();
    }

    private static void stored(ZipOutputStream zip, String name, byte[] b) throws Exception {
        ZipEntry e = new ZipEntry(name);
        e.setMethod(ZipEntry.STORED);
        e.setSize(b.length);
        CRC32 crc = new CRC32();
        crc.update(b);
        e.setCrc(crc.getValue());
        zip.putNextEntry(e);
        zip.write(b);
        zip.closeEntry();
    }
}
