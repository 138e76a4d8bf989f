package dev.segsam.io.medical.dicom;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.zip.Deflater;

/**
 * Writes small DICOM files byte by byte from PS3.5/PS3.10 (independently of the reader) for bad-file, series and
 * fuzz tests. Elements are appended in the order given (callers keep tags ascending).
 */
final class DicomBuilder {
    static final int UNDEF = -1;
    private static final Set<String> LONG = Set.of("OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV");

    final String syntax;
    final boolean explicit;
    final ByteOrder order;
    boolean preamble = true;
    boolean meta = true;
    private final ByteArrayOutputStream data = new ByteArrayOutputStream();

    DicomBuilder(String syntax) {
        this.syntax = syntax;
        this.explicit = !syntax.equals(TransferSyntax.IMPLICIT_LE);
        this.order = syntax.equals(TransferSyntax.EXPLICIT_BE) ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
    }

    static DicomBuilder explicitLe() {
        return new DicomBuilder(TransferSyntax.EXPLICIT_LE);
    }

    /** A 16-bit signed image of rows × cols (values given row-major), with the usual attributes. */
    static DicomBuilder image(String syntax, int rows, int cols, short[] pixels) {
        DicomBuilder b = new DicomBuilder(syntax);
        b.str(0x00080060, "CS", "CT").imageAttrs(rows, cols, 16, 1).pixels16(pixels);
        return b;
    }

    DicomBuilder imageAttrs(int rows, int cols, int bits, int signed) {
        return us(0x00280002, 1).str(0x00280004, "CS", "MONOCHROME2").us(0x00280010, rows).us(0x00280011, cols)
                .us(0x00280100, bits).us(0x00280101, bits).us(0x00280102, bits - 1).us(0x00280103, signed);
    }

    // ------------------------------------------------------------------ elements

    byte[] header(int tag, String vr, long len) {
        ByteBuffer b = ByteBuffer.allocate(12).order(order);
        b.putShort((short) (tag >>> 16)).putShort((short) tag);
        if ((tag >>> 16) == 0xFFFE || !explicit) {
            b.putInt((int) len);
        } else {
            b.put(vr.getBytes(StandardCharsets.US_ASCII));
            if (LONG.contains(vr)) b.putShort((short) 0).putInt((int) len);
            else b.putShort((short) len);
        }
        byte[] out = new byte[b.position()];
        b.flip().get(out);
        return out;
    }

    /** Appends raw bytes. */
    DicomBuilder bytes(byte[] b) {
        data.writeBytes(b);
        return this;
    }

    /** An element with its own length. */
    DicomBuilder raw(int tag, String vr, byte[] value) {
        return rawLength(tag, vr, value.length, value);
    }

    /** An element whose declared length may lie ({@code UNDEF} = undefined length). */
    DicomBuilder rawLength(int tag, String vr, long declared, byte[] value) {
        data.writeBytes(header(tag, vr, declared == UNDEF ? 0xFFFFFFFFL : declared));
        data.writeBytes(value);
        return this;
    }

    DicomBuilder str(int tag, String vr, String s) {
        byte[] v = s.getBytes(StandardCharsets.ISO_8859_1);
        if (v.length % 2 == 1) {
            byte[] p = new byte[v.length + 1];
            System.arraycopy(v, 0, p, 0, v.length);
            p[v.length] = (byte) (vr.equals("UI") ? 0 : ' ');
            v = p;
        }
        return raw(tag, vr, v);
    }

    DicomBuilder us(int tag, int v) {
        return raw(tag, "US", ByteBuffer.allocate(2).order(order).putShort((short) v).array());
    }

    DicomBuilder pixels16(short[] px) {
        ByteBuffer b = ByteBuffer.allocate(px.length * 2).order(order);
        for (short s : px) b.putShort(s);
        return raw(0x7FE00010, "OW", b.array());
    }

    /** Encoded (undefined-length) item holding {@code content}. */
    byte[] itemUndefined(byte[] content) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.writeBytes(header(0xFFFEE000, null, 0xFFFFFFFFL));
        o.writeBytes(content);
        o.writeBytes(header(0xFFFEE00D, null, 0));
        return o.toByteArray();
    }

    byte[] itemDefined(byte[] content) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.writeBytes(header(0xFFFEE000, null, content.length));
        o.writeBytes(content);
        return o.toByteArray();
    }

    byte[] sequenceDelimiter() {
        return header(0xFFFEE0DD, null, 0);
    }

    /** One element encoded on its own (to nest inside items). */
    byte[] encode(int tag, String vr, byte[] value) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.writeBytes(header(tag, vr, value.length));
        o.writeBytes(value);
        return o.toByteArray();
    }

    /** A sequence of undefined length with the given (already encoded) items. */
    DicomBuilder sequence(int tag, byte[]... items) {
        data.writeBytes(header(tag, "SQ", 0xFFFFFFFFL));
        for (byte[] i : items) data.writeBytes(i);
        data.writeBytes(sequenceDelimiter());
        return this;
    }

    /** Encapsulated pixel data: an empty offset table, then the fragments. */
    DicomBuilder encapsulated(byte[]... fragments) {
        data.writeBytes(header(0x7FE00010, "OB", 0xFFFFFFFFL));
        data.writeBytes(itemDefined(new byte[0]));
        for (byte[] f : fragments) data.writeBytes(itemDefined(f));
        data.writeBytes(sequenceDelimiter());
        return this;
    }

    // ------------------------------------------------------------------ file

    byte[] dataset() {
        return data.toByteArray();
    }

    byte[] build() {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        if (preamble) {
            o.writeBytes(new byte[128]);
            o.writeBytes("DICM".getBytes(StandardCharsets.US_ASCII));
        }
        if (meta) {
            DicomBuilder m = explicitLe();
            m.str(0x00020010, "UI", syntax);
            byte[] group = m.dataset();
            o.writeBytes(m.header(0x00020000, "UL", 4));
            o.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(group.length).array());
            o.writeBytes(group);
        }
        byte[] ds = dataset();
        if (syntax.equals(TransferSyntax.DEFLATED_LE)) ds = deflate(ds);
        o.writeBytes(ds);
        return o.toByteArray();
    }

    static byte[] deflate(byte[] b) {
        Deflater d = new Deflater(Deflater.DEFAULT_COMPRESSION, true);
        d.setInput(b);
        d.finish();
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        byte[] buf = new byte[4096];
        while (!d.finished()) o.write(buf, 0, d.deflate(buf));
        d.end();
        return o.toByteArray();
    }

    /** An RLE frame: 64-byte header, then one literal-runs-only PackBits segment per plane (MSB plane first). */
    static byte[] rleFrame(byte[]... planes) {
        ByteArrayOutputStream segs = new ByteArrayOutputStream();
        int[] offsets = new int[planes.length];
        for (int s = 0; s < planes.length; s++) {
            offsets[s] = 64 + segs.size();
            byte[] p = planes[s];
            for (int i = 0; i < p.length; i += 128) {
                int n = Math.min(128, p.length - i);
                segs.write(n - 1);
                segs.write(p, i, n);
            }
            if (segs.size() % 2 == 1) segs.write(0x80); // no-op padding
        }
        ByteBuffer h = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN).putInt(planes.length);
        for (int o : offsets) h.putInt(o);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(h.array());
        out.writeBytes(segs.toByteArray());
        return out.toByteArray();
    }
}
