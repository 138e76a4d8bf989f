package dev.segsam.io.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.segsam.tensor.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LargeAndFuzzTest {
    @TempDir
    Path dir;

    /** A 2.2 GB (sparse) file whose last tensor lies beyond 2 GiB is mapped whole and read in place. */
    @Test
    void filesOver2GiBAreReadZeroCopy() throws Exception {
        long pad = 2_200_000_000L;
        String header = "{\"pad\":{\"dtype\":\"U8\",\"shape\":[" + pad + "],\"data_offsets\":[0," + pad + "]},"
                + "\"tail\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[" + pad + "," + (pad + 16) + "]}}";
        byte[] h = header.getBytes(StandardCharsets.US_ASCII);
        Path p = dir.resolve("big.safetensors");
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).flip());
            ch.write(ByteBuffer.wrap(h));
            ByteBuffer tail = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putFloat(1f).putFloat(-2f).putFloat(3.5f).putFloat(4f).flip();
            ch.write(tail, 8 + h.length + pad); // everything before stays a hole: no real disk use
        }
        try (SafeTensorsFile f = SafeTensorsFile.open(p)) {
            Tensor t = f.get("tail");
            assertEquals(3.5f, t.at(1, 0));
            assertEquals(pad, f.bytes("pad").byteSize());
            assertEquals(0, f.bytes("pad").get(java.lang.foreign.ValueLayout.JAVA_BYTE, pad - 1));
        }
    }

    /**
     * Seeded mutation fuzzing of a valid file: flip, overwrite, insert or cut bytes (mostly in the header) and open
     * the result. Every outcome must be a successful open or a {@link SafeTensorsFormatException}; any other
     * exception (or an OutOfMemoryError from a trusted header value) fails the test. 3,000 mutants, about a second.
     */
    @Test
    void mutatedFilesFailOnlyWithFormatErrors() throws Exception {
        Path seedFile = ReferenceFixtureTest.resource(dir, "reference.safetensors");
        byte[] seed = Files.readAllBytes(seedFile);
        int headerEnd = 8 + (int) ByteBuffer.wrap(seed, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        Random rnd = new Random(2026_11_26L);
        Path p = dir.resolve("mutant.safetensors");
        int opened = 0, rejected = 0;
        byte[] interesting = "{}[]\",:-0123456789e.F".getBytes(StandardCharsets.US_ASCII);
        for (int iter = 0; iter < 3000; iter++) {
            byte[] b = seed.clone();
            int edits = 1 + rnd.nextInt(4);
            for (int k = 0; k < edits; k++) {
                int pos = rnd.nextInt(100) < 85 ? rnd.nextInt(Math.min(headerEnd, b.length)) : rnd.nextInt(b.length);
                switch (rnd.nextInt(5)) {
                    case 0 -> b[pos] ^= (byte) (1 << rnd.nextInt(8));
                    case 1 -> b[pos] = interesting[rnd.nextInt(interesting.length)];
                    case 2 -> b[pos] = (byte) rnd.nextInt(256);
                    case 3 -> b = java.util.Arrays.copyOf(b, Math.max(0, pos)); // truncate
                    default -> {
                        byte[] c = new byte[b.length + 1]; // insert a byte
                        System.arraycopy(b, 0, c, 0, pos);
                        c[pos] = interesting[rnd.nextInt(interesting.length)];
                        System.arraycopy(b, pos, c, pos + 1, b.length - pos);
                        b = c;
                    }
                }
                if (b.length == 0) break;
            }
            Files.write(p, b);
            try (SafeTensorsFile f = SafeTensorsFile.open(p)) {
                for (String n : f.names()) {
                    TensorInfo i = f.info(n);
                    if (i.dtype().isFloat()) f.get(n);
                    else if (i.dtype().isInteger()) f.longValues(n);
                }
                opened++;
            } catch (SafeTensorsFormatException e) {
                rejected++;
            } catch (Throwable t) {
                Files.write(dir.resolve("crash.safetensors"), b);
                fail("mutant " + iter + " raised " + t, t);
            }
        }
        assertEquals(3000, opened + rejected);
        if (rejected < 1000) fail("the mutator rarely breaks the file (" + rejected + " rejected): it is not testing much");
    }
}
