package dev.segsam.io.medical.dicom;

import dev.segsam.io.medical.MedicalFormatException;
import java.nio.ByteOrder;

/**
 * DICOM RLE Lossless (PS3.5 Annex G): a frame is one fragment holding a 64-byte header (segment count, then 15
 * little-endian offsets) and one PackBits-compressed segment per byte plane, most significant byte first.
 */
final class RleDecoder {
    private RleDecoder() {}

    /** Decodes the fragment at {@code [off, off+len)} of {@code p.buf} into {@code planes[b]} (plane 0 = most significant byte). */
    static void decode(DicomParser p, int off, int len, byte[][] planes) throws MedicalFormatException {
        if (len < 64) throw p.err(Tags.PIXEL_DATA, "RLE fragment of " + len + " bytes is shorter than its 64-byte header");
        long segments = p.u32(off, ByteOrder.LITTLE_ENDIAN);
        if (segments != planes.length) {
            throw p.err(Tags.PIXEL_DATA, "RLE header lists " + segments + " segments, BitsAllocated needs " + planes.length);
        }
        long[] starts = new long[planes.length + 1];
        for (int s = 0; s < planes.length; s++) {
            starts[s] = p.u32(off + 4 + 4 * s, ByteOrder.LITTLE_ENDIAN);
            if (starts[s] < 64 || starts[s] > len || (s > 0 && starts[s] < starts[s - 1])) {
                throw p.err(Tags.PIXEL_DATA, "RLE segment " + s + " offset " + starts[s] + " is outside the " + len + "-byte fragment");
            }
        }
        starts[planes.length] = len;
        for (int s = 0; s < planes.length; s++) {
            unpack(p, off + (int) starts[s], off + (int) starts[s + 1], planes[s], s);
        }
    }

    private static void unpack(DicomParser p, int from, int to, byte[] dst, int segment) throws MedicalFormatException {
        byte[] src = p.buf;
        int o = 0, i = from;
        while (o < dst.length && i < to) {
            int n = src[i++];
            if (n >= 0) {
                int count = n + 1;
                if (count > to - i) throw p.err(Tags.PIXEL_DATA, "RLE segment " + segment + ": literal run of " + count + " bytes runs past the segment end");
                int c = Math.min(count, dst.length - o);
                System.arraycopy(src, i, dst, o, c);
                i += count;
                o += c;
            } else if (n != -128) {
                if (i >= to) throw p.err(Tags.PIXEL_DATA, "RLE segment " + segment + ": replicate run without its byte at the segment end");
                int c = Math.min(1 - n, dst.length - o);
                java.util.Arrays.fill(dst, o, o + c, src[i++]);
                o += c;
            }
        }
        if (o < dst.length) {
            throw p.err(Tags.PIXEL_DATA, "RLE segment " + segment + " decodes to " + o + " bytes, the frame needs " + dst.length);
        }
    }
}
