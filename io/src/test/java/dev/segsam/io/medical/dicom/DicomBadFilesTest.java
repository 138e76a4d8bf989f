package dev.segsam.io.medical.dicom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.io.medical.MedicalFormatException;
import dev.segsam.io.medical.Volume;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Synthetic files (DicomBuilder) for each encoding feature and each kind of damage. */
class DicomBadFilesTest {
    @TempDir
    Path dir;

    static final short[] PIX = {-5, 0, 7, 100, -300, 32767};

    Path write(String name, byte[] b) throws Exception {
        Path p = dir.resolve(name);
        Files.write(p, b);
        return p;
    }

    Volume read(String name, byte[] b) throws Exception {
        return DicomReader.read(write(name, b));
    }

    MedicalFormatException bad(String name, byte[] b, String field, String text) throws Exception {
        Path p = write(name, b);
        MedicalFormatException e = assertThrows(MedicalFormatException.class, () -> DicomReader.read(p));
        assertTrue(e.getMessage().startsWith(p + ": "), e.getMessage());
        if (field != null) assertEquals(field, e.field(), e.getMessage());
        assertTrue(e.getMessage().contains(text), e.getMessage());
        return e;
    }

    static float[] floats(short[] s) {
        float[] f = new float[s.length];
        for (int i = 0; i < s.length; i++) f[i] = s[i];
        return f;
    }

    @Test
    void threeNativeSyntaxesAndDeflateGiveTheSameValues() throws Exception {
        for (String ts : new String[] {TransferSyntax.EXPLICIT_LE, TransferSyntax.IMPLICIT_LE, TransferSyntax.EXPLICIT_BE, TransferSyntax.DEFLATED_LE}) {
            try (Volume v = read("ok.dcm", DicomBuilder.image(ts, 2, 3, PIX).build())) {
                assertArrayEquals(new int[] {3, 2, 1}, v.dims(), ts);
                assertArrayEquals(floats(PIX), v.data().toArray(), ts);
                assertEquals(ts, v.extras().get(Volume.TRANSFER_SYNTAX));
            }
        }
    }

    @Test
    void trailingZeroPaddingAfterTheDataSetIsIgnored() throws Exception {
        byte[] ok = DicomBuilder.image(TransferSyntax.EXPLICIT_LE, 2, 3, PIX).build();
        try (Volume v = read("padded.dcm", Arrays.copyOf(ok, ok.length + 5000))) {
            assertArrayEquals(floats(PIX), v.data().toArray());
        }
        byte[] junk = Arrays.copyOf(ok, ok.length + 5000);
        junk[junk.length - 1] = 1;
        bad("junk.dcm", junk, null, "");
    }

    @Test
    void rescaleAndBitsStoredAndSignExtension() throws Exception {
        // 12 bits stored in 16, high bits hold junk; signed: 0x0801 is -2047
        DicomBuilder b = DicomBuilder.explicitLe();
        b.us(0x00280002, 1).str(0x00280004, "CS", "MONOCHROME2").us(0x00280010, 1).us(0x00280011, 3)
                .us(0x00280100, 16).us(0x00280101, 12).us(0x00280102, 11).us(0x00280103, 1)
                .str(0x00281052, "DS", "-10").str(0x00281053, "DS", "2")
                .pixels16(new short[] {(short) 0xF801, (short) 0x07FF, (short) 0xA000});
        try (Volume v = read("bits.dcm", b.build())) {
            assertArrayEquals(new float[] {-2047 * 2 - 10, 2047 * 2 - 10, -10}, v.data().toArray());
            assertEquals("int16", v.dataType());
        }
    }

    @Test
    void multiFrameAndEightBit() throws Exception {
        DicomBuilder b = DicomBuilder.explicitLe();
        b.us(0x00280002, 1).str(0x00280004, "CS", "MONOCHROME2").str(0x00280008, "IS", "2").us(0x00280010, 1).us(0x00280011, 2)
                .us(0x00280100, 8).us(0x00280103, 0).raw(0x7FE00010, "OB", new byte[] {1, (byte) 200, 3, (byte) 255});
        try (Volume v = read("mf.dcm", b.build())) {
            assertArrayEquals(new int[] {2, 1, 2}, v.dims());
            assertArrayEquals(new float[] {1, 200, 3, 255}, v.data().toArray());
            assertEquals("uint8", v.dataType());
        }
    }

    @Test
    void nestedUndefinedLengthSequencesAreWalkedNotSearched() throws Exception {
        DicomBuilder b = DicomBuilder.explicitLe();
        // a value that contains the bytes of a sequence delimiter: a searching parser would stop there
        byte[] trap = DicomBuilder.explicitLe().sequenceDelimiter();
        byte[] inner = b.itemUndefined(b.encode(0x00081150, "UI", Arrays.copyOf(trap, 8)));
        byte[] innerSeq = concat(b.header(0x00081140, "SQ", 0xFFFFFFFFL), inner, b.sequenceDelimiter());
        byte[] outerItem = b.itemUndefined(concat(b.encode(0x00080100, "SH", "T-1234".getBytes(StandardCharsets.US_ASCII)), innerSeq));
        byte[] definedItem = b.itemDefined(b.encode(0x00080104, "LO", "defined".getBytes(StandardCharsets.US_ASCII)));
        b.str(0x00080060, "CS", "MR").sequence(0x00082218, outerItem, definedItem);
        // UN with undefined length: its items are implicit VR little endian (PS3.5 6.2.2)
        DicomBuilder impl = new DicomBuilder(TransferSyntax.IMPLICIT_LE);
        byte[] unItem = impl.itemUndefined(impl.encode(0x00091001, null, "xy".getBytes(StandardCharsets.US_ASCII)));
        b.rawLength(0x00091010, "UN", DicomBuilder.UNDEF, concat(unItem, impl.sequenceDelimiter()));
        b.imageAttrs(2, 3, 16, 1).pixels16(PIX);
        try (Volume v = read("nested.dcm", b.build())) {
            assertArrayEquals(floats(PIX), v.data().toArray());
            assertEquals("MR", v.modality().orElseThrow());
        }
        // the same structure in an implicit VR file (sequences recognised by their undefined length)
        DicomBuilder i = new DicomBuilder(TransferSyntax.IMPLICIT_LE);
        byte[] iItem = i.itemUndefined(i.encode(0x00080100, null, "T-1234".getBytes(StandardCharsets.US_ASCII)));
        i.sequence(0x00082218, iItem, i.itemDefined(new byte[0])).imageAttrs(2, 3, 16, 1).pixels16(PIX);
        try (Volume v = read("nested-implicit.dcm", i.build())) {
            assertArrayEquals(floats(PIX), v.data().toArray());
        }
    }

    static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) n += p.length;
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    @Test
    void elementLengthsPastTheEnd() throws Exception {
        DicomBuilder b = DicomBuilder.explicitLe();
        b.imageAttrs(2, 3, 16, 1).rawLength(0x00281050, "DS", 5000, "40".getBytes(StandardCharsets.US_ASCII));
        bad("len.dcm", b.build(), "(0028,1050) WindowCenter", "element length 5000");
        DicomBuilder c = DicomBuilder.explicitLe();
        c.imageAttrs(2, 3, 16, 1).rawLength(0x7FE00010, "OW", 0x7FFFFFF0L, new byte[12]);
        bad("pixlen.dcm", c.build(), "(7FE0,0010) PixelData", "runs past the end");
        byte[] ok = DicomBuilder.image(TransferSyntax.EXPLICIT_LE, 2, 3, PIX).build();
        bad("cut.dcm", Arrays.copyOf(ok, ok.length - 3), "(7FE0,0010) PixelData", "runs past the end");
        bad("cuthdr.dcm", Arrays.copyOf(ok, ok.length - 12 - 11), "data set", "truncated");
    }

    @Test
    void structuralDamage() throws Exception {
        DicomBuilder b = DicomBuilder.explicitLe();
        b.bytes(new byte[] {0x28, 0, 0x10, 0, 'u', 's', 2, 0, 1, 0});
        bad("vr.dcm", b.build(), "(0028,0010) Rows", "invalid VR bytes");
        DicomBuilder u = DicomBuilder.explicitLe();
        u.rawLength(0x00080070, "UT", DicomBuilder.UNDEF, new byte[0]);
        bad("undef.dcm", u.build(), "(0008,0070)", "undefined length on an element of VR UT");
        DicomBuilder it = DicomBuilder.explicitLe();
        it.bytes(it.itemDefined(new byte[4]));
        bad("item.dcm", it.build(), "(FFFE,E000)", "outside a sequence");
        DicomBuilder open = DicomBuilder.explicitLe();
        open.bytes(open.header(0x00082218, "SQ", 0xFFFFFFFFL)).bytes(open.itemDefined(new byte[2]));
        bad("unterminated.dcm", open.build(), "sequence", "no sequence delimiter");
        // sequences nested 40 deep
        DicomBuilder deep = DicomBuilder.explicitLe();
        byte[] content = new byte[0];
        for (int d = 0; d < 40; d++) content = concat(deep.header(0x00082218, "SQ", 0xFFFFFFFFL), deep.itemUndefined(content), deep.sequenceDelimiter());
        deep.bytes(content);
        bad("deep.dcm", deep.build(), "sequence", "nested deeper than 16");
    }

    @Test
    void imageAttributeProblems() throws Exception {
        DicomBuilder noRows = DicomBuilder.explicitLe();
        noRows.us(0x00280011, 3).us(0x00280100, 16).pixels16(PIX);
        bad("norows.dcm", noRows.build(), "(0028,0010) Rows", "missing");
        bad("bits12.dcm", attrs(2, 3, 12, 1, 1, "MONOCHROME2", PIX), "(0028,0100) BitsAllocated", "12 is not supported");
        bad("bits1.dcm", attrs(2, 3, 1, 0, 1, "MONOCHROME2", PIX), "(0028,0100) BitsAllocated", "bit-packed");
        bad("rgb.dcm", attrs(2, 3, 16, 0, 3, "RGB", PIX), "(0028,0002) SamplesPerPixel", "3 (colour)");
        bad("palette.dcm", attrs(2, 3, 16, 0, 1, "PALETTE COLOR", PIX), "(0028,0004) PhotometricInterpretation", "PALETTE COLOR is not supported");
        bad("short.dcm", attrs(3, 3, 16, 1, 1, "MONOCHROME2", PIX), "(7FE0,0010) PixelData", "12 bytes, but Rows 3 × Columns 3 × frames 1 × 2 bytes needs 18");
        DicomBuilder frames = DicomBuilder.explicitLe();
        frames.str(0x00280008, "IS", "99999999").imageAttrs(512, 512, 16, 1).pixels16(PIX);
        bad("frames.dcm", frames.build(), "(0028,0008) NumberOfFrames", "exceeds the limit");
        DicomBuilder ds = DicomBuilder.explicitLe();
        ds.imageAttrs(2, 3, 16, 1).str(0x00280030, "DS", "0.5\\abc").pixels16(PIX);
        bad("ds.dcm", ds.build(), "(0028,0030) PixelSpacing", "is not a number");
    }

    static byte[] attrs(int rows, int cols, int bits, int signed, int spp, String photometric, short[] px) {
        DicomBuilder b = DicomBuilder.explicitLe();
        b.us(0x00280002, spp).str(0x00280004, "CS", photometric).us(0x00280010, rows).us(0x00280011, cols)
                .us(0x00280100, bits).us(0x00280103, signed).pixels16(px);
        return b.build();
    }

    @Test
    void notImages() throws Exception {
        Path text = write("readme.dcm", "This is a text file, not DICOM at all. ".repeat(10).getBytes(StandardCharsets.US_ASCII));
        NotAnImageException e = assertThrows(NotAnImageException.class, () -> DicomReader.read(text));
        assertEquals("preamble", e.field());
        DicomBuilder sr = DicomBuilder.explicitLe();
        sr.str(0x00080016, "UI", "1.2.840.10008.5.1.4.1.1.88.11").str(0x00080060, "CS", "SR");
        Path p = write("sr.dcm", sr.build());
        NotAnImageException n = assertThrows(NotAnImageException.class, () -> DicomReader.read(p));
        assertTrue(n.getMessage().contains("not an image (SOPClassUID 1.2.840.10008.5.1.4.1.1.88.11)"), n.getMessage());
        assertThrows(UnsupportedTransferSyntaxException.class, () -> read("unknown-ts.dcm", new DicomBuilder("1.2.3.4").build()));
    }

    @Test
    void deflateDamage() throws Exception {
        byte[] ok = DicomBuilder.image(TransferSyntax.DEFLATED_LE, 2, 3, PIX).build();
        bad("deflate-cut.dcm", Arrays.copyOf(ok, ok.length - 6), "deflated data set", "truncated");
        byte[] corrupt = ok.clone();
        for (int i = ok.length - 20; i < ok.length - 10; i++) corrupt[i] = (byte) 0xFF;
        Path p = write("deflate-corrupt.dcm", corrupt);
        assertThrows(MedicalFormatException.class, () -> DicomReader.read(p));
    }

    // ------------------------------------------------------------------ RLE

    static byte[] rle(int rows, int cols, int frames, byte[]... fragments) {
        DicomBuilder b = new DicomBuilder(TransferSyntax.RLE);
        b.str(0x00280008, "IS", Integer.toString(frames)).imageAttrs(rows, cols, 16, 1).encapsulated(fragments);
        return b.build();
    }

    static byte[][] planes(short[] px) {
        byte[] hi = new byte[px.length], lo = new byte[px.length];
        for (int i = 0; i < px.length; i++) {
            hi[i] = (byte) (px[i] >> 8);
            lo[i] = (byte) px[i];
        }
        return new byte[][] {hi, lo};
    }

    @Test
    void rleDecodesLiteralAndReplicateRuns() throws Exception {
        try (Volume v = read("rle.dcm", rle(2, 3, 1, DicomBuilder.rleFrame(planes(PIX))))) {
            assertArrayEquals(floats(PIX), v.data().toArray());
        }
        // hand-made frame: high plane = replicate run of 6 zero bytes (-5 → 251), low plane = literal run
        ByteBuffer h = ByteBuffer.allocate(64 + 2 + 8).order(ByteOrder.LITTLE_ENDIAN).putInt(2).putInt(64).putInt(66);
        h.position(64);
        h.put((byte) -5).put((byte) 0); // replicate 6 × 0x00
        h.put((byte) 5).put(new byte[] {1, 2, 3, 4, 5, (byte) 251}); // literal 6 bytes
        try (Volume v = read("rle-runs.dcm", rle(2, 3, 1, Arrays.copyOf(h.array(), h.position())))) {
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 251}, v.data().toArray());
        }
        // two frames
        try (Volume v = read("rle2.dcm", rle(1, 3, 2, DicomBuilder.rleFrame(planes(new short[] {1, 2, 3})), DicomBuilder.rleFrame(planes(new short[] {-1, -2, -3}))))) {
            assertArrayEquals(new float[] {1, 2, 3, -1, -2, -3}, v.data().toArray());
        }
    }

    @Test
    void rleDamage() throws Exception {
        byte[] good = DicomBuilder.rleFrame(planes(PIX));
        byte[] segs = good.clone();
        segs[0] = 3;
        bad("rle-segs.dcm", rle(2, 3, 1, segs), "(7FE0,0010) PixelData", "lists 3 segments, BitsAllocated needs 2");
        byte[] off = good.clone();
        ByteBuffer.wrap(off).order(ByteOrder.LITTLE_ENDIAN).putInt(8, 9999);
        bad("rle-off.dcm", rle(2, 3, 1, off), "(7FE0,0010) PixelData", "outside the");
        bad("rle-short.dcm", rle(2, 4, 1, good), "(7FE0,0010) PixelData", "decodes to 6 bytes, the frame needs 8");
        bad("rle-frames.dcm", rle(2, 3, 2, good), "(7FE0,0010) PixelData", "1 RLE fragments for 2 frames");
        // a tiny fragment claiming a 60000 x 60000 frame: refused before anything that size is allocated
        bad("rle-bomb.dcm", rle(20000, 20000, 1, good), "(7FE0,0010) PixelData", "cannot hold a 20000x20000 frame");
        bad("rle-huge.dcm", rle(60000, 60000, 1, good), "(0028,0008) NumberOfFrames", "exceeds the limit");
        byte[] literal = good.clone();
        literal[64] = 127; // literal run of 128 bytes in a 6-byte segment
        bad("rle-literal.dcm", rle(2, 3, 1, literal), "(7FE0,0010) PixelData", "runs past the segment end");
    }
}
