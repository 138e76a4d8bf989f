package dev.segsam.io.medical.dicom;

import dev.segsam.io.IoLimits;
import dev.segsam.io.medical.MedicalFormatException;
import java.io.ByteArrayOutputStream;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Walks a DICOM Part 10 file (or a bare data set without preamble and meta header) element by element, written from
 * PS3.5 §7 (element encoding, sequences and delimiters, §A.4 encapsulation) and PS3.10 §7 (file meta information).
 * It keeps the values of the top-level attributes in {@link Tags#READ} and the location of the pixel data; everything
 * else, sequences of any nesting (defined or undefined length, explicit or implicit, UN with undefined length read
 * as implicit little endian) included, is skipped by walking it, with every length checked against the bytes left.
 */
final class DicomParser {
    static final int MAX_DEPTH = 16;
    static final long UNDEFINED = 0xFFFFFFFFL;
    /** Default cap on the size of an inflated (deflate transfer syntax) data set ({@code IoLimits.maxInflatedBytes}). */
    static final long MAX_INFLATED = 1L << 30;
    private static final Set<String> LONG_VRS = Set.of("OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV");
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    record Value(String vr, int offset, int length) {}

    final Path file;
    byte[] buf;
    int end;
    boolean explicit = true;
    ByteOrder order = LE;
    boolean preamble;
    String syntaxUid;
    TransferSyntax syntax;
    final Map<Integer, Value> values = new HashMap<>();
    /** Native pixel data, or null. */
    Value pixel;
    /** Encapsulated pixel data fragments {offset, length} (basic offset table excluded), or null. */
    List<int[]> fragments;
    int otherPixelTag;

    private int tag;
    private String vr;
    private long len;
    private int valuePos;

    private final long maxInflated;

    private DicomParser(Path file, byte[] buf, long maxInflated) {
        this.file = file;
        this.buf = buf;
        this.end = buf.length;
        this.maxInflated = Math.min(maxInflated, Integer.MAX_VALUE - 16);
    }

    static DicomParser parse(Path file, byte[] data) throws MedicalFormatException {
        return parse(file, data, MAX_INFLATED);
    }

    static DicomParser parse(Path file, byte[] data, long maxInflated) throws MedicalFormatException {
        DicomParser p = new DicomParser(file, data, maxInflated);
        p.run();
        return p;
    }

    private void run() throws MedicalFormatException {
        int pos;
        if (end >= 132 && isDicm(128)) {
            preamble = true;
            pos = parseMeta(132);
        } else if (end >= 4 && isDicm(0)) {
            pos = parseMeta(4);
        } else if (end >= 8 && u16(0, LE) == 0x0002) {
            pos = parseMeta(0);
        } else {
            pos = 0;
        }
        Value ts = values.get(Tags.TRANSFER_SYNTAX);
        if (ts != null) {
            syntaxUid = string(ts);
            syntax = TransferSyntax.of(syntaxUid);
            if (syntax == null) throw new UnsupportedTransferSyntaxException(file, syntaxUid, null);
        } else {
            syntax = TransferSyntax.of(guessSyntax(pos));
            syntaxUid = syntax.uid();
        }
        explicit = syntax.explicitVr();
        order = syntax.bigEndian() ? ByteOrder.BIG_ENDIAN : LE;
        if (syntax.deflated()) {
            buf = inflate(pos);
            end = buf.length;
            pos = 0;
        }
        parseDataset(pos);
    }

    private boolean isDicm(int at) {
        return buf[at] == 'D' && buf[at + 1] == 'I' && buf[at + 2] == 'C' && buf[at + 3] == 'M';
    }

    /** File meta information: group 0002, always explicit VR little endian. */
    private int parseMeta(int pos) throws MedicalFormatException {
        while (end - pos >= 8 && u16(pos, LE) == 0x0002) {
            header(pos, true, LE);
            if (len == UNDEFINED) throw err(tag, "undefined length in the file meta information");
            checkLength(pos);
            if (Tags.READ.containsKey(tag)) values.put(tag, new Value(vr, valuePos, (int) len));
            pos = valuePos + (int) len;
        }
        return pos;
    }

    /** No meta header (or no TransferSyntaxUID): explicit VR LE if the first element carries a VR, else implicit VR LE. */
    private String guessSyntax(int pos) throws MedicalFormatException {
        if (end - pos < 8) {
            throw new NotAnImageException(file, "preamble", "not a DICOM file: " + end + " bytes, no \"DICM\" marker and no data set");
        }
        int group = u16(pos, LE);
        boolean vrLetters = isUpper(buf[pos + 4]) && isUpper(buf[pos + 5]);
        boolean plausibleImplicit = u32(pos + 4, LE) <= end - pos - 8;
        if (group < 0x0002 || group > 0x0030 || !vrLetters && !plausibleImplicit) {
            throw new NotAnImageException(file, "preamble", "not a DICOM file: no \"DICM\" marker at offset 128 and the first bytes are no data set element");
        }
        return vrLetters ? TransferSyntax.EXPLICIT_LE : TransferSyntax.IMPLICIT_LE;
    }

    private byte[] inflate(int pos) throws MedicalFormatException {
        Inflater inf = new Inflater(true);
        try {
            inf.setInput(buf, pos, end - pos);
            ByteArrayOutputStream out = new ByteArrayOutputStream(Math.min(1 << 20, 4 * (end - pos) + 64));
            byte[] chunk = new byte[1 << 16];
            while (!inf.finished()) {
                int n = inf.inflate(chunk);
                if (n == 0 && (inf.needsInput() || inf.needsDictionary())) {
                    throw new MedicalFormatException(file, "deflated data set", "the deflate stream is truncated after " + out.size() + " bytes");
                }
                if ((long) out.size() + n > maxInflated) {
                    throw new MedicalFormatException(file, "deflated data set", "inflates to more than the limit of "
                            + IoLimits.bytes(maxInflated) + " " + IoLimits.hint(IoLimits.INFLATED_BYTES));
                }
                out.write(chunk, 0, n);
            }
            return out.toByteArray();
        } catch (DataFormatException e) {
            throw new MedicalFormatException(file, "deflated data set", "corrupt deflate data: " + e.getMessage(), e);
        } finally {
            inf.end();
        }
    }

    private void parseDataset(int pos) throws MedicalFormatException {
        while (pos < end) {
            if (buf[pos] == 0 && allZero(pos)) break; // trailing zero padding after the data set (seen in real files)
            if (end - pos < 8) {
                throw new MedicalFormatException(file, "data set", "file is truncated: " + (end - pos) + " bytes left at offset " + pos + ", an element header needs 8");
            }
            header(pos, explicit, order);
            if (tag == Tags.ITEM || tag == Tags.ITEM_DELIMITER || tag == Tags.SEQUENCE_DELIMITER) {
                throw err(tag, "item or delimiter outside a sequence at offset " + pos);
            }
            if (len == UNDEFINED) {
                if (tag == Tags.PIXEL_DATA) {
                    pos = encapsulated(valuePos);
                } else if ("SQ".equals(vr) || "UN".equals(vr)) {
                    boolean un = "UN".equals(vr);
                    pos = skipSequence(valuePos, 1, explicit && !un, un ? LE : order);
                } else {
                    throw err(tag, "undefined length on an element of VR " + vr + " at offset " + pos);
                }
                continue;
            }
            checkLength(pos);
            if (tag == Tags.PIXEL_DATA) {
                pixel = new Value(vr, valuePos, (int) len);
            } else if (tag == Tags.FLOAT_PIXEL_DATA || tag == Tags.DOUBLE_PIXEL_DATA) {
                otherPixelTag = tag;
            } else if (Tags.READ.containsKey(tag) && tag != Tags.TRANSFER_SYNTAX) {
                values.put(tag, new Value(vr, valuePos, (int) len));
            }
            pos = valuePos + (int) len;
        }
    }

    private int skipSequence(int pos, int depth, boolean expl, ByteOrder ord) throws MedicalFormatException {
        if (depth > MAX_DEPTH) throw new MedicalFormatException(file, "sequence", "sequences nested deeper than " + MAX_DEPTH + " at offset " + pos);
        while (true) {
            if (end - pos < 8) throw new MedicalFormatException(file, "sequence", "file is truncated inside a sequence of undefined length (no sequence delimiter) at offset " + pos);
            int t = tag32(pos, ord);
            long l = u32(pos + 4, ord);
            if (t == Tags.SEQUENCE_DELIMITER) return pos + 8;
            if (t != Tags.ITEM) throw err(t, "expected an item (FFFE,E000) or sequence delimiter in a sequence at offset " + pos);
            if (l == UNDEFINED) {
                pos = skipItem(pos + 8, depth, expl, ord);
            } else {
                if (l > end - (pos + 8)) throw new MedicalFormatException(file, "sequence", "item length " + l + " at offset " + pos + " runs past the end of the file");
                pos += 8 + (int) l;
            }
        }
    }

    private int skipItem(int pos, int depth, boolean expl, ByteOrder ord) throws MedicalFormatException {
        while (true) {
            header(pos, expl, ord);
            if (tag == Tags.ITEM_DELIMITER) return valuePos;
            if (tag == Tags.SEQUENCE_DELIMITER) throw err(tag, "sequence delimiter inside an item at offset " + pos);
            if (len == UNDEFINED) {
                boolean un = expl && "UN".equals(vr);
                pos = skipSequence(valuePos, depth + 1, expl && !un, un ? LE : ord);
            } else {
                checkLength(pos);
                pos = valuePos + (int) len;
            }
        }
    }

    private int encapsulated(int pos) throws MedicalFormatException {
        fragments = new ArrayList<>();
        boolean offsetTable = true;
        while (true) {
            if (end - pos < 8) throw err(Tags.PIXEL_DATA, "file is truncated in the encapsulated pixel data at offset " + pos);
            int t = tag32(pos, order);
            long l = u32(pos + 4, order);
            if (t == Tags.SEQUENCE_DELIMITER) return pos + 8;
            if (t != Tags.ITEM || l == UNDEFINED) {
                throw err(Tags.PIXEL_DATA, "expected a fragment item of defined length in the encapsulated pixel data at offset " + pos);
            }
            if (l > end - (pos + 8)) throw err(Tags.PIXEL_DATA, "fragment length " + l + " at offset " + pos + " runs past the end of the file");
            if (!offsetTable) fragments.add(new int[] {pos + 8, (int) l});
            offsetTable = false;
            pos += 8 + (int) l;
        }
    }

    /** Reads the element header at {@code pos} into tag / vr / len / valuePos. */
    private void header(int pos, boolean expl, ByteOrder ord) throws MedicalFormatException {
        if (end - pos < 8) {
            throw new MedicalFormatException(file, "data set", "file is truncated: " + Math.max(0, end - pos) + " bytes left at offset " + pos + ", an element header needs 8");
        }
        tag = tag32(pos, ord);
        if ((tag >>> 16) == 0xFFFE) {
            vr = null;
            len = u32(pos + 4, ord);
            valuePos = pos + 8;
        } else if (expl) {
            if (!isUpper(buf[pos + 4]) || !isUpper(buf[pos + 5])) {
                throw err(tag, String.format("invalid VR bytes 0x%02X 0x%02X at offset %d (wrong transfer syntax or corrupt file)", buf[pos + 4] & 0xFF, buf[pos + 5] & 0xFF, pos + 4));
            }
            vr = new String(buf, pos + 4, 2, StandardCharsets.US_ASCII);
            if (LONG_VRS.contains(vr)) {
                if (end - pos < 12) throw err(tag, "file is truncated in the element header at offset " + pos);
                len = u32(pos + 8, ord);
                valuePos = pos + 12;
            } else {
                len = u16(pos + 6, ord);
                valuePos = pos + 8;
            }
        } else {
            Tags.Info i = Tags.READ.get(tag);
            vr = i == null ? "UN" : i.vr();
            len = u32(pos + 4, ord);
            valuePos = pos + 8;
        }
    }

    private void checkLength(int pos) throws MedicalFormatException {
        if (len > end - valuePos) {
            throw err(tag, "element length " + len + " at offset " + pos + " runs past the end of the file (" + (end - valuePos) + " bytes left)");
        }
    }

    private boolean allZero(int pos) {
        for (int i = pos; i < end; i++) if (buf[i] != 0) return false;
        return true;
    }

    MedicalFormatException err(int t, String problem) {
        return new MedicalFormatException(file, Tags.name(t), problem);
    }

    // ------------------------------------------------------------------ values

    boolean has(int t) {
        return values.containsKey(t);
    }

    /** The string value (all components), trimmed of padding spaces and NULs; null if absent. */
    String string(int t) {
        Value v = values.get(t);
        return v == null ? null : string(v);
    }

    private String string(Value v) {
        String s = new String(buf, v.offset(), v.length(), StandardCharsets.ISO_8859_1);
        int e = s.length();
        while (e > 0 && (s.charAt(e - 1) == ' ' || s.charAt(e - 1) == '\0')) e--;
        return s.substring(0, e).strip();
    }

    /** The raw value bytes of a top-level attribute (trailing padding kept), or null if absent. */
    byte[] bytes(int t) {
        Value v = values.get(t);
        return v == null ? null : java.util.Arrays.copyOfRange(buf, v.offset(), v.offset() + v.length());
    }

    /** Numeric components of a DS/IS value (backslash-separated), or null if absent or empty. */
    double[] numbers(int t) throws MedicalFormatException {
        String s = string(t);
        if (s == null || s.isEmpty()) return null;
        String[] parts = s.split("\\\\", -1);
        double[] out = new double[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                out[i] = Double.parseDouble(parts[i].strip());
            } catch (NumberFormatException e) {
                throw err(t, "\"" + (s.length() > 40 ? s.substring(0, 40) + "..." : s) + "\" is not a number");
            }
            if (!Double.isFinite(out[i])) throw err(t, "\"" + parts[i] + "\" is not a finite number");
        }
        return out;
    }

    /** First numeric component, or null. */
    Double number(int t) throws MedicalFormatException {
        double[] v = numbers(t);
        return v == null ? null : v[0];
    }

    /** An integer attribute (US/SS/UL/SL binary, or IS/DS text), or null if absent. */
    Integer integer(int t) throws MedicalFormatException {
        Value v = values.get(t);
        if (v == null) return null;
        String type = v.vr();
        if (!Set.of("US", "SS", "UL", "SL", "IS", "DS").contains(type)) type = Tags.READ.get(t).vr();
        switch (type) {
            case "US", "SS" -> {
                if (v.length() < 2) throw err(t, "value of " + v.length() + " bytes, a " + type + " needs 2");
                int u = u16(v.offset(), order);
                return type.equals("SS") ? (int) (short) u : u;
            }
            case "UL", "SL" -> {
                if (v.length() < 4) throw err(t, "value of " + v.length() + " bytes, a " + type + " needs 4");
                long u = u32(v.offset(), order);
                if (type.equals("SL")) return (int) u;
                if (u > Integer.MAX_VALUE) throw err(t, u + " is out of range");
                return (int) u;
            }
            default -> {
                Double d = number(t);
                if (d == null) return null;
                if (d != Math.rint(d) || Math.abs(d) > Integer.MAX_VALUE) throw err(t, d + " is not an integer");
                return (int) (double) d;
            }
        }
    }

    // ------------------------------------------------------------------ bytes

    int u16(int at, ByteOrder ord) {
        int a = buf[at] & 0xFF, b = buf[at + 1] & 0xFF;
        return ord == LE ? a | b << 8 : a << 8 | b;
    }

    long u32(int at, ByteOrder ord) {
        long a = u16(at, ord), b = u16(at + 2, ord);
        return ord == LE ? a | b << 16 : a << 16 | b;
    }

    private int tag32(int at, ByteOrder ord) {
        return u16(at, ord) << 16 | u16(at + 2, ord);
    }

    private static boolean isUpper(byte b) {
        return b >= 'A' && b <= 'Z';
    }
}
