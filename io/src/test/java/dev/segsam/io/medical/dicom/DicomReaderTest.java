package dev.segsam.io.medical.dicom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.segsam.io.medical.Fixtures;
import dev.segsam.io.medical.MedicalFormatException;
import dev.segsam.io.medical.MedicalImages;
import dev.segsam.io.medical.Volume;
import dev.segsam.io.medical.intensity.Windowing;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** pydicom's test files, compared with pydicom's decoding (expected.json). */
class DicomReaderTest {
    @TempDir
    Path dir;

    static final JsonNode FILES = Fixtures.expected().get("files");

    @ParameterizedTest
    @ValueSource(strings = {"CT_small.dcm", "MR_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm", "MR_small_RLE.dcm", "image_dfl.dcm"})
    void matchesPydicom(String name) throws Exception {
        JsonNode e = FILES.get("dicom/" + name);
        try (Volume v = DicomReader.read(Fixtures.copy(dir, "dicom/" + name))) {
            Fixtures.assertMatches(e, v, name);
            assertEquals("DICOM", v.format());
            assertEquals(e.get("transfer_syntax").asText(), v.extras().get(Volume.TRANSFER_SYNTAX));
            assertEquals(e.get("photometric").asText(), v.extras().get(Volume.PHOTOMETRIC));
            if (e.get("window_center").isNull()) {
                assertFalse(v.extras().containsKey(Volume.WINDOW_CENTER));
            } else {
                assertEquals(e.get("window_center").asDouble(), Double.parseDouble(v.extras().get(Volume.WINDOW_CENTER)));
                assertEquals(e.get("window_width").asDouble(), Double.parseDouble(v.extras().get(Volume.WINDOW_WIDTH)));
            }
        }
    }

    @Test
    void ctIsRescaledToHounsfieldUnits() throws Exception {
        Path p = Fixtures.copy(dir, "dicom/CT_small.dcm");
        DicomHeader h = DicomReader.readHeader(p);
        assertEquals(1.0, h.rescaleSlope());
        assertEquals(-1024.0, h.rescaleIntercept());
        assertEquals("CT", h.modality());
        assertTrue(h.hasPreamble());
        assertEquals("Explicit VR Little Endian", h.transferSyntax().name());
    }

    @Test
    void jpeg2000IsRefusedNamingTheSyntaxAndTheFix() throws Exception {
        Path p = Fixtures.copy(dir, "dicom/MR_small_jp2klossless.dcm");
        UnsupportedTransferSyntaxException e = assertThrows(UnsupportedTransferSyntaxException.class, () -> DicomReader.read(p));
        assertEquals("1.2.840.10008.1.2.4.90", e.uid());
        assertTrue(e.getMessage().contains("JPEG 2000 (Lossless Only) (1.2.840.10008.1.2.4.90) is not supported; decompress with gdcmconv --raw MR_small_jp2klossless.dcm"), e.getMessage());
        // the header alone is readable
        DicomHeader h = DicomReader.readHeader(p);
        assertEquals(64, h.rows());
        assertEquals("MR", h.modality());
    }

    @Test
    void truncatedFileIsATypedError() {
        Path p = Fixtures.copy(dir, "dicom/MR_truncated.dcm");
        MedicalFormatException e = assertThrows(MedicalFormatException.class, () -> DicomReader.read(p));
        assertTrue(e.getMessage().startsWith(p + ": "), e.getMessage());
    }

    /** Part 10 file minus preamble, "DICM" and meta group: a bare explicit-VR data set, as old files are. */
    @Test
    void preambleLessDataSetReads() throws Exception {
        byte[] b = Fixtures.bytes("dicom/CT_small.dcm");
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        int pos = 132;
        while (bb.getShort(pos) == 2) { // meta elements: explicit VR LE
            String vr = new String(b, pos + 4, 2, StandardCharsets.US_ASCII);
            boolean lng = Arrays.asList("OB", "OW", "UN", "SQ", "UT").contains(vr);
            pos += lng ? 12 + bb.getInt(pos + 8) : 8 + (bb.getShort(pos + 6) & 0xFFFF);
        }
        Path p = dir.resolve("bare.dcm");
        Files.write(p, Arrays.copyOfRange(b, pos, b.length));
        try (Volume v = DicomReader.read(p)) {
            Fixtures.assertMatches(FILES.get("dicom/CT_small.dcm"), v, "bare CT_small");
            assertEquals("false", v.extras().get("dicom.preamble"));
        }
        assertEquals(MedicalImages.Format.DICOM, MedicalImages.detect(p));
    }

    /** MONOCHROME1 keeps the stored values and flags them; display mappings invert. */
    @Test
    void monochrome1IsFlaggedNotInverted() throws Exception {
        byte[] b = Fixtures.bytes("dicom/MR_small.dcm");
        String s = new String(b, StandardCharsets.ISO_8859_1);
        int at = s.indexOf("MONOCHROME2");
        assertTrue(at > 0);
        b[at + 10] = '1';
        Path p = dir.resolve("mono1.dcm");
        Files.write(p, b);
        try (Volume v = DicomReader.read(p)) {
            assertTrue(v.monochrome1());
            Fixtures.assertMatches(FILES.get("dicom/MR_small.dcm"), v, "MONOCHROME1 copy");
            var normal = Windowing.parse("dicom").resolve(v);
            assertTrue(normal.invert());
            assertEquals(255, normal.gray(-1e9f));
            assertEquals(0, normal.gray(1e9f));
        }
    }

    @Test
    void detectsAndReadsThroughTheFacade() throws Exception {
        Path p = Fixtures.copy(dir, "dicom/MR_small_bigendian.dcm");
        assertEquals(MedicalImages.Format.DICOM, MedicalImages.detect(p));
        try (Volume v = MedicalImages.read(p)) {
            assertArrayEquals(new int[] {64, 64, 1}, v.dims());
        }
    }
}
