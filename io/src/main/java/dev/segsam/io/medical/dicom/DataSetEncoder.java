package dev.segsam.io.medical.dicom;

import java.io.ByteArrayOutputStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A DICOM data set being built for writing, encoded as explicit VR little endian (PS3.5 §7.1.2): elements are kept
 * sorted by tag (unsigned, as PS3.5 §7.1 requires), string values are padded to even length (UI with NUL, the others
 * with a space), sequences and their items are written with defined lengths. Only what the DICOM-SEG writer needs.
 */
final class DataSetEncoder {
    private static final Set<String> LONG_VRS = Set.of("OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV");

    private record Element(String vr, byte[] value, List<DataSetEncoder> items) {}

    /** Keys are tags as unsigned ints (group 7FE0 sorts after 0062, FFFE never occurs). */
    private final TreeMap<Long, Element> elements = new TreeMap<>();
    private final Charset charset;

    /** @param charset how text values (SH, LO, ST, PN, ...) are encoded; UIDs, CS, dates and numbers are ASCII anyway */
    DataSetEncoder(Charset charset) {
        this.charset = charset;
    }

    DataSetEncoder item() {
        return new DataSetEncoder(charset);
    }

    /** A string element; several values are joined with backslashes. */
    DataSetEncoder str(int tag, String vr, String... values) {
        String s = String.join("\\", values);
        byte[] b = s.getBytes(textVr(vr) ? charset : StandardCharsets.US_ASCII);
        if ((b.length & 1) == 1) {
            byte[] p = new byte[b.length + 1];
            System.arraycopy(b, 0, p, 0, b.length);
            p[b.length] = (byte) (vr.equals("UI") ? 0 : ' ');
            b = p;
        }
        return put(tag, vr, b);
    }

    /** A string element whose (already encoded) bytes are copied from another file, re-padded to even length. */
    DataSetEncoder raw(int tag, String vr, byte[] value) {
        byte[] b = value;
        if ((b.length & 1) == 1) {
            b = java.util.Arrays.copyOf(value, value.length + 1);
            b[value.length] = (byte) (vr.equals("UI") ? 0 : ' ');
        }
        return put(tag, vr, b);
    }

    DataSetEncoder us(int tag, int... values) {
        byte[] b = new byte[2 * values.length];
        for (int i = 0; i < values.length; i++) {
            if (values[i] < 0 || values[i] > 0xFFFF) throw new IllegalArgumentException("US value " + values[i]);
            b[2 * i] = (byte) values[i];
            b[2 * i + 1] = (byte) (values[i] >>> 8);
        }
        return put(tag, "US", b);
    }

    DataSetEncoder ul(int tag, long... values) {
        byte[] b = new byte[4 * values.length];
        for (int i = 0; i < values.length; i++) le32(b, 4 * i, values[i]);
        return put(tag, "UL", b);
    }

    /** Attribute tags (AT): each value is a tag, written as group then element. */
    DataSetEncoder at(int tag, int... tags) {
        byte[] b = new byte[4 * tags.length];
        for (int i = 0; i < tags.length; i++) {
            int g = tags[i] >>> 16, e = tags[i] & 0xFFFF;
            b[4 * i] = (byte) g;
            b[4 * i + 1] = (byte) (g >>> 8);
            b[4 * i + 2] = (byte) e;
            b[4 * i + 3] = (byte) (e >>> 8);
        }
        return put(tag, "AT", b);
    }

    DataSetEncoder ob(int tag, byte[] value) {
        if ((value.length & 1) == 1) throw new IllegalArgumentException("OB value of odd length " + value.length);
        return put(tag, "OB", value);
    }

    DataSetEncoder sq(int tag, List<DataSetEncoder> items) {
        elements.put(key(tag), new Element("SQ", null, List.copyOf(items)));
        return this;
    }

    /** A sequence of one item holding a code (Code Sequence Macro, PS3.3 Table 8.8-1). */
    DataSetEncoder code(int tag, CodedConcept c) {
        return sq(tag, List.of(codeItem(c)));
    }

    DataSetEncoder codeItem(CodedConcept c) {
        return item().str(0x00080100, "SH", c.value()).str(0x00080102, "SH", c.scheme()).str(0x00080104, "LO", c.meaning());
    }

    boolean has(int tag) {
        return elements.containsKey(key(tag));
    }

    private DataSetEncoder put(int tag, String vr, byte[] value) {
        if (!LONG_VRS.contains(vr) && value.length > 0xFFFF) throw new IllegalArgumentException("value of " + value.length + " bytes for VR " + vr);
        elements.put(key(tag), new Element(vr, value, null));
        return this;
    }

    private static long key(int tag) {
        return Integer.toUnsignedLong(tag);
    }

    private static boolean textVr(String vr) {
        return switch (vr) {
            case "SH", "LO", "ST", "LT", "UT", "PN", "UC" -> true;
            default -> false;
        };
    }

    /** The encoded data set (no preamble, no meta group). */
    byte[] encode() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        encodeTo(out);
        return out.toByteArray();
    }

    void encodeTo(ByteArrayOutputStream out) {
        for (Map.Entry<Long, Element> e : elements.entrySet()) {
            int tag = (int) (long) e.getKey();
            Element el = e.getValue();
            byte[] value;
            if (el.items() != null) {
                ByteArrayOutputStream sq = new ByteArrayOutputStream();
                for (DataSetEncoder it : el.items()) {
                    byte[] item = it.encode();
                    byte[] h = new byte[8];
                    le16(h, 0, 0xFFFE);
                    le16(h, 2, 0xE000);
                    le32(h, 4, item.length);
                    sq.writeBytes(h);
                    sq.writeBytes(item);
                }
                value = sq.toByteArray();
            } else {
                value = el.value();
            }
            out.writeBytes(header(tag, el.vr(), value.length));
            out.writeBytes(value);
        }
    }

    static byte[] header(int tag, String vr, long length) {
        boolean longForm = LONG_VRS.contains(vr);
        byte[] h = new byte[longForm ? 12 : 8];
        le16(h, 0, tag >>> 16);
        le16(h, 2, tag & 0xFFFF);
        h[4] = (byte) vr.charAt(0);
        h[5] = (byte) vr.charAt(1);
        if (longForm) le32(h, 8, length);
        else le16(h, 6, (int) length);
        return h;
    }

    private static void le16(byte[] b, int at, int v) {
        b[at] = (byte) v;
        b[at + 1] = (byte) (v >>> 8);
    }

    private static void le32(byte[] b, int at, long v) {
        b[at] = (byte) v;
        b[at + 1] = (byte) (v >>> 8);
        b[at + 2] = (byte) (v >>> 16);
        b[at + 3] = (byte) (v >>> 24);
    }
}
