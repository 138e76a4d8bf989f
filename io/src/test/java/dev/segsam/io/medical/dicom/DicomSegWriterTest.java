package dev.segsam.io.medical.dicom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.segsam.io.medical.MedicalFormatException;
import dev.segsam.io.medical.Volume;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The DICOM-SEG writer against an independent reader: {@code tools/reference/dicomseg_check.py} read the fixture written
 * by {@link #writeFixture} with pydicom (decoding the bit-packed frames itself) and its facts are committed in
 * {@code medical/dicom/seg/ct_small_seg.facts.json}. The test regenerates the same file, checks its SHA-256 equals the one
 * pydicom read (so any change to the writer forces the file to be validated again, see docs/DATA.md), and compares
 * pydicom's facts with what the test knows independently: the shapes it drew, the source's UIDs.
 */
class DicomSegWriterTest {
    static final Path SOURCE = Path.of("src", "test", "resources", "medical", "dicom", "CT_small.dcm");
    static final Path FACTS = Path.of("src", "test", "resources", "medical", "dicom", "seg", "ct_small_seg.facts.json");
    /** Where the fixture is written for tools/reference/dicomseg_check.py and dciodvfy (scripts/check-dicomseg.sh). */
    static final Path FIXTURE = Path.of("target", "dicomseg", "ct_small_seg.dcm");

    @TempDir
    Path dir;

    /** Segment 1 "liver": a disc of radius 20 around row 60, column 50. */
    static boolean disc(int r, int c) {
        return (r - 60) * (r - 60) + (c - 50) * (c - 50) <= 400;
    }

    /** Segment 2 "kidney_left": rows 80..99, columns 70..109. */
    static boolean rect(int r, int c) {
        return r >= 80 && r < 100 && c >= 70 && c < 110;
    }

    /**
     * The fixture: CT_small.dcm (128 × 128) with three segments — a disc ("liver"), a rectangle that overlaps nothing
     * ("kidney_left") and an empty one ("prompt 2", generic codes) — seeded UIDs and a fixed clock.
     */
    static DicomSegWriter.Written writeFixture(Path target) throws Exception {
        DicomSegWriter w = DicomSegWriter.of(SOURCE).uids(UidGenerator.seeded("segsam-dicomseg-test"))
                .clock(Clock.fixed(Instant.parse("2026-12-05T03:00:00Z"), ZoneOffset.UTC)).softwareVersion("test")
                .contentDescription("DicomSegWriterTest fixture");
        DicomSegWriter.Segment liver = w.addSegment("liver", SegmentCodes.forName("liver")).description("a disc");
        DicomSegWriter.Segment kidney = w.addSegment("kidney_left", SegmentCodes.forName("kidney_left"));
        w.addSegment("prompt 2", SegmentCodes.generic());
        for (int r = 0; r < 128; r++) {
            for (int c = 0; c < 128; c++) {
                if (disc(r, c)) liver.set(0, r, c);
                if (rect(r, c)) kidney.set(0, r, c);
            }
        }
        Files.createDirectories(target.getParent());
        return w.write(target);
    }

    static String sha256(Path f) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f)));
    }

    interface Shape {
        boolean in(int r, int c);
    }

    /** {count, r0, c0, r1, c1, row sum, column sum} of a shape on the 128 × 128 grid. */
    static long[] stats(Shape s) {
        long n = 0, rs = 0, cs = 0;
        int r0 = 128, c0 = 128, r1 = -1, c1 = -1;
        for (int r = 0; r < 128; r++) {
            for (int c = 0; c < 128; c++) {
                if (!s.in(r, c)) continue;
                n++;
                rs += r;
                cs += c;
                r0 = Math.min(r0, r);
                c0 = Math.min(c0, c);
                r1 = Math.max(r1, r);
                c1 = Math.max(c1, c);
            }
        }
        return new long[] {n, r0, c0, r1, c1, rs, cs};
    }

    @Test
    void pydicomReadsTheFixtureAsWritten() throws Exception {
        DicomSegWriter.Written written = writeFixture(FIXTURE);
        JsonNode f = new ObjectMapper().readTree(FACTS.toFile());
        assertEquals(f.get("sha256").asText(), sha256(FIXTURE),
                "the writer's output changed: re-run scripts/check-dicomseg.sh (pydicom facts + dciodvfy) and commit the new facts");
        DicomParser src = DicomParser.parse(SOURCE, Files.readAllBytes(SOURCE));

        assertEquals(TransferSyntax.EXPLICIT_LE, f.get("transfer_syntax").asText());
        assertEquals(DicomSegWriter.SEGMENTATION_STORAGE, f.get("sop_class_uid").asText());
        assertEquals(DicomSegWriter.SEGMENTATION_STORAGE, f.get("media_storage_sop_class_uid").asText());
        assertEquals("SEG", f.get("modality").asText());
        assertEquals("BINARY", f.get("segmentation_type").asText());
        assertEquals(128, f.get("rows").asInt());
        assertEquals(128, f.get("columns").asInt());
        assertEquals("[1,1,0,0,1,\"MONOCHROME2\"]", f.get("bits").toString());
        assertEquals(written.sopInstanceUid(), f.get("sop_instance_uid").asText());
        assertEquals(written.seriesInstanceUid(), f.get("series_instance_uid").asText());
        assertTrue(written.sopInstanceUid().matches("2\\.25\\.[1-9][0-9]*"), written.sopInstanceUid());

        // segments: labels, algorithm, codes
        JsonNode segs = f.get("segments");
        assertEquals(3, segs.size());
        String[] labels = {"liver", "kidney_left", "prompt 2"};
        String[] types = {"10200004", "64033007", "85756007"};
        for (int i = 0; i < 3; i++) {
            JsonNode s = segs.get(i);
            assertEquals(i + 1, s.get("number").asInt());
            assertEquals(labels[i], s.get("label").asText());
            assertEquals("AUTOMATIC", s.get("algorithm_type").asText());
            assertEquals("SEG-SAM", s.get("algorithm_name").asText());
            assertEquals("[\"91723000\",\"SCT\",\"Anatomical Structure\"]", s.get("category").toString());
            assertEquals(types[i], s.get("type").get(0).asText());
        }
        assertEquals("[\"7771000\",\"SCT\",\"Left\"]", segs.get(1).get("modifier").toString());
        assertTrue(segs.get(0).get("modifier").isNull());

        // frames: one per non-empty segment, pixels as drawn (pydicom decoded the bits)
        JsonNode frames = f.get("frames");
        assertEquals(2, f.get("number_of_frames").asInt());
        assertEquals(2, frames.size());
        assertEquals(2, written.frames());
        Shape[] shapes = {DicomSegWriterTest::disc, DicomSegWriterTest::rect};
        for (int i = 0; i < 2; i++) {
            JsonNode fr = frames.get(i);
            long[] st = stats(shapes[i]);
            assertEquals(i + 1, fr.get("segment").asInt());
            assertEquals(st[0], fr.get("set_pixels").asLong(), "frame " + i);
            assertEquals(List.of(st[1], st[2], st[3], st[4]).toString().replace(" ", ""), fr.get("bbox").toString(), "frame " + i);
            assertEquals(st[5], fr.get("row_sum").asLong(), "frame " + i);
            assertEquals(st[6], fr.get("column_sum").asLong(), "frame " + i);
            assertEquals(src.string(Tags.SOP_INSTANCE), fr.get("referenced_sop_instance_uid").asText());
            assertEquals(src.string(Tags.SOP_CLASS), fr.get("referenced_sop_class_uid").asText());
            assertEquals("[" + (i + 1) + ",1]", fr.get("dimension_index_values").toString());
            double[] ipp = src.numbers(Tags.IMAGE_POSITION);
            for (int k = 0; k < 3; k++) assertEquals(ipp[k], fr.get("image_position").get(k).asDouble(), 1e-9);
        }

        // references and copied attributes
        assertEquals(src.string(Tags.SERIES_UID), f.get("referenced_series").get(0).get("series_instance_uid").asText());
        assertEquals("[\"" + src.string(Tags.SOP_INSTANCE) + "\"]", f.get("referenced_series").get(0).get("instances").toString());
        assertEquals(src.string(Tags.FRAME_OF_REFERENCE), f.get("frame_of_reference_uid").asText());
        assertEquals(src.string(Tags.STUDY_UID), f.get("study_instance_uid").asText());
        assertEquals(src.string(Tags.PATIENT_ID), f.get("patient_id").asText());
        assertEquals(src.string(Tags.PATIENT_NAME), f.get("patient_name").asText());
        double[] sp = src.numbers(Tags.PIXEL_SPACING), iop = src.numbers(Tags.IMAGE_ORIENTATION);
        for (int k = 0; k < 2; k++) assertEquals(sp[k], f.get("pixel_spacing").get(k).asDouble(), 1e-9);
        for (int k = 0; k < 6; k++) assertEquals(iop[k], f.get("image_orientation").get(k).asDouble(), 1e-9);
        assertTrue(f.get("sources_match").asBoolean());
        assertEquals(0, f.get("vr_mismatches").size(), f.get("vr_mismatches").toString());
        assertEquals(0, f.get("elements_out_of_order").size(), f.get("elements_out_of_order").toString());
    }

    @Test
    void theProjectsOwnParserReadsTheHeaderAndTheReaderRefusesTheBitPackedPixels() throws Exception {
        Path seg = dir.resolve("seg.dcm");
        writeFixture(seg);
        DicomParser p = DicomParser.parse(seg, Files.readAllBytes(seg));
        assertTrue(p.preamble);
        assertEquals(TransferSyntax.EXPLICIT_LE, p.syntaxUid);
        assertEquals(DicomSegWriter.SEGMENTATION_STORAGE, p.string(Tags.SOP_CLASS));
        assertEquals("SEG", p.string(Tags.MODALITY));
        assertEquals(2, p.integer(Tags.NUMBER_OF_FRAMES));
        assertEquals(1, p.integer(Tags.BITS_ALLOCATED));
        assertEquals(128 * 128 * 2 / 8, p.pixel.length());
        MedicalFormatException e = assertThrows(MedicalFormatException.class, () -> DicomReader.readHeader(seg));
        assertTrue(e.getMessage().contains("bit-packed"), e.getMessage());
    }

    @Test
    void sameInputsSameBytesOtherSeedOtherUids() throws Exception {
        Path a = dir.resolve("a.dcm"), b = dir.resolve("b.dcm");
        writeFixture(a);
        writeFixture(b);
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
        UidGenerator g1 = UidGenerator.seeded("x"), g2 = UidGenerator.seeded("x"), g3 = UidGenerator.seeded("y");
        String u = g1.next();
        assertEquals(u, g2.next());
        assertNotEquals(u, g3.next());
        assertNotEquals(u, g1.next());
        String r1 = UidGenerator.random().next(), r2 = UidGenerator.random().next();
        assertNotEquals(r1, r2);
        for (String x : List.of(u, r1, r2, UidGenerator.IMPLEMENTATION_CLASS_UID)) {
            assertTrue(x.matches("2\\.25\\.(0|[1-9][0-9]*)") && x.length() <= 64, x);
        }
    }

    /** A slice of a 3-slice CT series with all the attributes a DICOM-SEG copies; slice k at z = 10 + 2.5 k. */
    static byte[] seriesSlice(int k) {
        DicomBuilder b = DicomBuilder.explicitLe();
        b.str(0x00080016, "UI", "1.2.840.10008.5.1.4.1.1.2").str(0x00080018, "UI", "1.2.3.4.100." + k).str(0x00080060, "CS", "CT")
                .str(0x00100010, "PN", "Test^Series").str(0x00100020, "LO", "P1").str(0x00180050, "DS", "2.5")
                .str(0x0020000D, "UI", "1.2.3.4.1").str(0x0020000E, "UI", "1.2.3.4.2").str(0x00200013, "IS", Integer.toString(3 - k))
                .str(0x00200032, "DS", String.format(Locale.ROOT, "-5\\-4\\%.1f", 10 + 2.5 * k)).str(0x00200037, "DS", "1\\0\\0\\0\\1\\0")
                .str(0x00200052, "UI", "1.2.3.4.3");
        b.imageAttrs(4, 5, 16, 1).str(0x00280030, "DS", "0.5\\0.5");
        return b.pixels16(new short[20]).build();
    }

    @Test
    void aSeriesGetsOneFramePerSegmentAndSliceInTheReadersSliceOrder() throws Exception {
        // kept in target/ for scripts/check-dicomseg.sh (dciodvfy and pydicom on a multi-frame SEG over a series)
        Path series = Files.createDirectories(FIXTURE.resolveSibling("series"));
        int[] fileOrder = {2, 0, 1};
        for (int f = 0; f < 3; f++) Files.write(series.resolve("f" + f + ".dcm"), seriesSlice(fileOrder[f]));
        try (Volume v = DicomSeries.read(series)) {
            assertEquals(3, v.nz());
        }
        DicomSegWriter w = DicomSegWriter.of(series).uids(UidGenerator.seeded("s"));
        assertEquals(3, w.slices());
        assertEquals(4, w.rows());
        assertEquals(5, w.columns());
        DicomSegWriter.Segment a = w.addSegment("a", null), b = w.addSegment("b", null);
        a.set(2, 0, 0);
        a.set(0, 3, 4);
        b.set(1, 1, 2);
        b.set(1, 1, 3);
        Path out = FIXTURE.resolveSibling("series_seg.dcm");
        assertEquals(3, w.write(out).frames());
        byte[] bytes = Files.readAllBytes(out);
        DicomParser p = DicomParser.parse(out, bytes);
        assertEquals(3, p.integer(Tags.NUMBER_OF_FRAMES));
        // frames: (a, slice 0), (a, slice 2), (b, slice 1); 20 bits each, packed without gaps
        int base = p.pixel.offset();
        int[][] set = {{0, 3 * 5 + 4}, {1, 0}, {2, 1 * 5 + 2}, {2, 1 * 5 + 3}};
        int ones = 0;
        for (int i = 0; i < 60; i++) if ((bytes[base + i / 8] >> (i % 8) & 1) == 1) ones++;
        assertEquals(set.length, ones);
        for (int[] s : set) {
            int bit = s[0] * 20 + s[1];
            assertEquals(1, bytes[base + bit / 8] >> (bit % 8) & 1, "frame " + s[0] + " pixel " + s[1]);
        }
        // each frame names its slice's instance, in slice order (slice k is instance 1.2.3.4.100.k)
        String text = new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1);
        int i0 = text.indexOf("1.2.3.4.100.0", text.indexOf("DICM") + 600), i2 = text.indexOf("1.2.3.4.100.2", i0), i1 = text.indexOf("1.2.3.4.100.1", i2);
        assertTrue(i0 > 0 && i2 > i0 && i1 > i2, "per-frame references in the order slice 0, 2, 1: " + i0 + " " + i2 + " " + i1);
        assertThrows(IndexOutOfBoundsException.class, () -> a.set(3, 0, 0));
        assertThrows(IndexOutOfBoundsException.class, () -> a.set(0, 4, 0));
    }

    @Test
    void nothingSegmentedStillGivesOneEmptyFrame() throws Exception {
        DicomSegWriter w = DicomSegWriter.of(SOURCE).uids(UidGenerator.seeded("e"));
        w.addSegment("prompt 0", null);
        Path out = dir.resolve("empty.dcm");
        assertEquals(1, w.write(out).frames());
        DicomParser p = DicomParser.parse(out, Files.readAllBytes(out));
        assertEquals(1, p.integer(Tags.NUMBER_OF_FRAMES));
        for (int i = 0; i < p.pixel.length(); i++) assertEquals(0, p.buf[p.pixel.offset() + i]);
        assertThrows(IllegalStateException.class, () -> DicomSegWriter.of(SOURCE).write(dir.resolve("none.dcm")));
    }

    @Test
    void sourcesWithoutGeometryOrUidsAreRefusedWithTheAttributeNamed() throws Exception {
        Path bare = dir.resolve("bare.dcm");
        Files.write(bare, DicomBuilder.image(TransferSyntax.EXPLICIT_LE, 2, 2, new short[4]).build());
        MedicalFormatException e = assertThrows(MedicalFormatException.class, () -> DicomSegWriter.of(bare));
        assertTrue(e.getMessage().contains("SOPClassUID") && e.getMessage().contains("missing"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("x.dcm")));
    }

    @Test
    void segmentCodesForOrganNamesAndAGenericFallback() {
        assertEquals("10200004", SegmentCodes.forName("Liver").type().value());
        SegmentCodes k = SegmentCodes.forName("kidney_right");
        assertEquals("64033007", k.type().value());
        assertEquals(SegmentCodes.RIGHT, k.modifier());
        assertEquals(SegmentCodes.LEFT, SegmentCodes.forName("left kidney").modifier());
        assertEquals("64131007", SegmentCodes.forName("inferior-vena-cava").type().value());
        SegmentCodes g = SegmentCodes.forName("Putamen_L");
        assertEquals(SegmentCodes.TISSUE, g.type());
        assertNull(g.modifier());
        assertEquals(SegmentCodes.TISSUE, SegmentCodes.forName("left thing").type());
        for (String n : List.of("liver", "x")) assertEquals(SegmentCodes.ANATOMICAL_STRUCTURE, SegmentCodes.forName(n).category());
    }
}
