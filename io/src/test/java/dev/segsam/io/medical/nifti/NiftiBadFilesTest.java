package dev.segsam.io.medical.nifti;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.io.medical.MedicalFormatException;
import dev.segsam.io.medical.Volume;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every malformed-header case ends in a MedicalFormatException naming the file and the field. */
class NiftiBadFilesTest {
    @TempDir
    Path dir;

    private MedicalFormatException bad(String name, byte[] content, String field, String text) throws Exception {
        Path p = dir.resolve(name);
        Files.write(p, content);
        MedicalFormatException e = assertThrows(MedicalFormatException.class, () -> NiftiReader.read(p));
        assertEquals(field, e.field(), e.getMessage());
        assertTrue(e.getMessage().startsWith(p.toString() + ": " + field + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(text), e.getMessage());
        return e;
    }

    private static byte[] mutate(Consumer<java.nio.ByteBuffer> edit) {
        byte[] b = NiftiBytes.valid(4, 3, 2);
        edit.accept(NiftiBytes.le(b));
        return b;
    }

    @Test
    void theUnmodifiedTemplateReads() throws Exception {
        Path p = dir.resolve("ok.nii");
        Files.write(p, NiftiBytes.valid(4, 3, 2));
        try (Volume v = NiftiReader.read(p)) {
            assertEquals(123f, v.get(3, 2, 1));
        }
        Path g = dir.resolve("ok.nii.gz");
        Files.write(g, NiftiBytes.gzip(NiftiBytes.valid(4, 3, 2)));
        try (Volume v = NiftiReader.read(g)) {
            assertEquals(112f, v.get(2, 1, 1));
        }
    }

    @Test
    void truncatedHeader() throws Exception {
        bad("short.nii", Arrays.copyOf(NiftiBytes.valid(4, 3, 2), 200), "header", "truncated: 200 bytes");
        bad("empty.nii", new byte[0], "header", "truncated: 0 bytes");
    }

    @Test
    void sizeofHdrAndMagic() throws Exception {
        bad("size.nii", mutate(b -> b.putInt(0, 349)), "sizeof_hdr", "expected 348");
        bad("pair.nii", mutate(b -> b.put(345, (byte) 'i').put(344, (byte) 'n').put(346, (byte) '1').put(345, (byte) 'i')), "magic", ".hdr/.img pair");
        bad("analyze.nii", mutate(b -> b.putInt(344, 0)), "magic", "ANALYZE");
    }

    @Test
    void dims() throws Exception {
        bad("dim0.nii", mutate(b -> b.putShort(40, (short) 0)), "dim[0]", "0 is not a number of dimensions");
        bad("dim8.nii", mutate(b -> b.putShort(40, (short) 8)), "dim[0]", "8 is not");
        bad("negdim.nii", mutate(b -> b.putShort(46, (short) -4)), "dim[3]", "-4");
        bad("zerodim.nii", mutate(b -> b.putShort(42, (short) 0)), "dim[1]", "0");
        // huge dims: 32767^3 voxels are refused before anything is allocated
        bad("huge.nii", mutate(b -> b.putShort(42, Short.MAX_VALUE).putShort(44, Short.MAX_VALUE).putShort(46, Short.MAX_VALUE)), "dim", "exceeds the limit");
        // dims larger than the data present
        bad("bigger.nii", mutate(b -> b.putShort(46, (short) 3)), "file size", "truncated: 400 bytes, the header describes 424");
        bad("frames.nii", mutate(b -> b.putShort(40, (short) 4).putShort(48, (short) 1000)), "file size", "truncated");
    }

    @Test
    void datatypeAndBitpix() throws Exception {
        bad("complex.nii", mutate(b -> b.putShort(70, (short) 32).putShort(72, (short) 64)), "datatype", "complex64");
        bad("unknown.nii", mutate(b -> b.putShort(70, (short) 3)), "datatype", "3 (not a NIfTI-1 datatype)");
        bad("bitpix.nii", mutate(b -> b.putShort(72, (short) 8)), "bitpix", "8 does not match datatype 4 (int16, 16 bits)");
    }

    @Test
    void voxOffset() throws Exception {
        bad("low.nii", mutate(b -> b.putFloat(108, 0f)), "vox_offset", "below the minimum of 352");
        bad("nan.nii", mutate(b -> b.putFloat(108, Float.NaN)), "vox_offset", "NaN");
        bad("beyond.nii", mutate(b -> b.putFloat(108, 100000f)), "vox_offset", "beyond the end of the 400-byte file");
        bad("past.nii", mutate(b -> b.putFloat(108, 368f)), "file size", "truncated");
        bad("inf.nii", mutate(b -> b.putFloat(108, Float.POSITIVE_INFINITY)), "vox_offset", "Infinity");
    }

    @Test
    void truncatedData() throws Exception {
        byte[] b = NiftiBytes.valid(4, 3, 2);
        bad("cut.nii", Arrays.copyOf(b, b.length - 1), "file size", "truncated");
    }

    @Test
    void gzipCases() throws Exception {
        byte[] gz = NiftiBytes.gzip(NiftiBytes.valid(4, 3, 2));
        // a gzip stream cut short: the data end early
        bad("cut.nii.gz", Arrays.copyOf(gz, gz.length - 12), "file size", "truncated");
        // cut inside the header
        bad("cuthdr.nii.gz", Arrays.copyOf(gz, 30), "file size", "truncated");
        // dims that a gzip of this size cannot possibly hold (bounded by DEFLATE's 1032:1 ratio)
        byte[] big = NiftiBytes.valid(4, 3, 2);
        NiftiBytes.le(big).putShort(42, (short) 30000).putShort(44, (short) 30000).putShort(46, (short) 1);
        bad("bomb.nii.gz", NiftiBytes.gzip(big), "dim", "holds at most");
        // corrupt deflate data
        byte[] corrupt = gz.clone();
        for (int i = 20; i < 40; i++) corrupt[i] ^= (byte) 0x5A;
        MedicalFormatException e = assertThrows(MedicalFormatException.class, () -> {
            Path p = dir.resolve("corrupt.nii.gz");
            Files.write(p, corrupt);
            NiftiReader.read(p);
        });
        assertTrue(e.getMessage().contains("corrupt.nii.gz"), e.getMessage());
        // gzip of something that is not NIfTI
        bad("text.nii.gz", NiftiBytes.gzip("hello, not an image".getBytes()), "header", "truncated");
    }

    @Test
    void maxVoxelsLimitIsConfigurable() throws Exception {
        Path p = dir.resolve("limit.nii");
        Files.write(p, NiftiBytes.valid(4, 3, 2));
        MedicalFormatException e = assertThrows(MedicalFormatException.class, () -> new NiftiReader().maxVoxels(23).readVolume(p));
        assertEquals("dim", e.field());
        try (Volume v = new NiftiReader().maxVoxels(24).readVolume(p)) {
            assertEquals(24, v.data().numel());
        }
    }
}
