package dev.segsam.io.medical.dicom;

import dev.segsam.io.IoLimits;
import dev.segsam.io.medical.MedicalFormatException;
import dev.segsam.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/** One parsed DICOM image file: its validated header and access to its pixel values. */
final class DicomFile {
    /** Files larger than this are refused (they cannot be held in one Java array anyway). */
    static final long MAX_FILE_BYTES = Integer.MAX_VALUE - 16;

    final DicomParser p;
    final DicomHeader header;

    private DicomFile(DicomParser p, DicomHeader header) {
        this.p = p;
        this.header = header;
    }

    static DicomFile open(Path file, long maxVoxels) throws IOException {
        return open(file, maxVoxels, DicomParser.MAX_INFLATED);
    }

    static DicomFile open(Path file, long maxVoxels, long maxInflated) throws IOException {
        long size = Files.size(file);
        if (size > MAX_FILE_BYTES) throw new MedicalFormatException(file, "file size", size + " bytes is more than segsam reads from one DICOM file");
        DicomParser p = DicomParser.parse(file, Files.readAllBytes(file), maxInflated);
        return new DicomFile(p, validate(p, maxVoxels));
    }

    private static DicomHeader validate(DicomParser p, long maxVoxels) throws MedicalFormatException {
        Path file = p.file;
        if (p.otherPixelTag != 0) throw p.err(p.otherPixelTag, "float pixel data is not supported");
        if (p.pixel == null && p.fragments == null) {
            String sop = p.string(Tags.SOP_CLASS);
            throw new NotAnImageException(file, Tags.name(Tags.PIXEL_DATA), "missing: not an image" + (sop == null ? "" : " (SOPClassUID " + sop + ")"));
        }
        int rows = required(p, Tags.ROWS), cols = required(p, Tags.COLUMNS), bits = required(p, Tags.BITS_ALLOCATED);
        if (rows < 1 || rows > 65535) throw p.err(Tags.ROWS, rows + " is not in 1..65535");
        if (cols < 1 || cols > 65535) throw p.err(Tags.COLUMNS, cols + " is not in 1..65535");
        if (bits == 1) throw p.err(Tags.BITS_ALLOCATED, "1 (bit-packed pixels, e.g. a DICOM-SEG) is not supported");
        if (bits != 8 && bits != 16 && bits != 32) throw p.err(Tags.BITS_ALLOCATED, bits + " is not supported (8, 16 or 32)");
        int stored = orDefault(p.integer(Tags.BITS_STORED), bits);
        if (stored < 1 || stored > bits) throw p.err(Tags.BITS_STORED, stored + " is not in 1.." + bits);
        int high = orDefault(p.integer(Tags.HIGH_BIT), stored - 1);
        if (high < stored - 1 || high >= bits) throw p.err(Tags.HIGH_BIT, high + " does not fit BitsStored " + stored + " in BitsAllocated " + bits);
        int rep = orDefault(p.integer(Tags.PIXEL_REPRESENTATION), 0);
        if (rep != 0 && rep != 1) throw p.err(Tags.PIXEL_REPRESENTATION, rep + " (0 unsigned, 1 signed)");
        int spp = orDefault(p.integer(Tags.SAMPLES_PER_PIXEL), 1);
        if (spp != 1) throw p.err(Tags.SAMPLES_PER_PIXEL, spp + (spp == 3 ? " (colour)" : "") + ": only greyscale (1 sample per pixel) is supported");
        String photometric = p.string(Tags.PHOTOMETRIC);
        if (photometric == null || photometric.isEmpty()) photometric = "MONOCHROME2";
        if (!photometric.equals("MONOCHROME1") && !photometric.equals("MONOCHROME2")) {
            throw p.err(Tags.PHOTOMETRIC, photometric + " is not supported (MONOCHROME1 or MONOCHROME2)");
        }
        int frames = orDefault(p.integer(Tags.NUMBER_OF_FRAMES), 1);
        if (frames < 1) throw p.err(Tags.NUMBER_OF_FRAMES, frames + " is not a frame count");
        long voxels = (long) rows * cols * frames;
        if (voxels > maxVoxels) throw p.err(Tags.NUMBER_OF_FRAMES, rows + "x" + cols + "x" + frames + " = " + voxels + " voxels exceeds the limit of " + maxVoxels
                + " " + IoLimits.hint(IoLimits.VOLUME_VOXELS));
        long need = voxels * (bits / 8);
        if (p.pixel != null && need > p.pixel.length()) {
            throw p.err(Tags.PIXEL_DATA, p.pixel.length() + " bytes, but Rows " + rows + " × Columns " + cols + " × frames " + frames
                    + " × " + bits / 8 + " bytes needs " + need);
        }
        double[] spacing = p.numbers(Tags.PIXEL_SPACING);
        if (spacing != null && (spacing.length < 2 || spacing[0] <= 0 || spacing[1] <= 0)) {
            throw p.err(Tags.PIXEL_SPACING, "needs two positive values");
        }
        double[] ipp = p.numbers(Tags.IMAGE_POSITION);
        if (ipp != null && ipp.length < 3) throw p.err(Tags.IMAGE_POSITION, "needs 3 values, has " + ipp.length);
        double[] iop = p.numbers(Tags.IMAGE_ORIENTATION);
        if (iop != null && iop.length < 6) throw p.err(Tags.IMAGE_ORIENTATION, "needs 6 values, has " + iop.length);
        Double wc = p.number(Tags.WINDOW_CENTER), ww = p.number(Tags.WINDOW_WIDTH);
        if (wc == null || ww == null || ww <= 0) {
            wc = null;
            ww = null;
        }
        Double slope = p.number(Tags.RESCALE_SLOPE), inter = p.number(Tags.RESCALE_INTERCEPT);
        return new DicomHeader(file, p.syntax, p.string(Tags.MODALITY), p.string(Tags.SOP_CLASS), p.string(Tags.SERIES_UID),
                p.integer(Tags.INSTANCE_NUMBER), rows, cols, frames, bits, stored, high, rep == 1, spp, photometric,
                spacing, p.number(Tags.SLICE_THICKNESS), p.number(Tags.SPACING_BETWEEN_SLICES), ipp, iop, wc, ww,
                slope == null ? 1 : slope, inter == null ? 0 : inter, p.preamble);
    }

    private static int required(DicomParser p, int tag) throws MedicalFormatException {
        Integer v = p.integer(tag);
        if (v == null) throw p.err(tag, "missing (required for an image)");
        return v;
    }

    private static int orDefault(Integer v, int d) {
        return v == null ? d : v;
    }

    /**
     * Fails with {@link UnsupportedTransferSyntaxException} if segsam cannot decode these pixels, or with a
     * {@link MedicalFormatException} if the encapsulated data cannot hold the image (checked before anything is
     * allocated: a PackBits byte pair expands to at most 128 bytes, so a fragment of n bytes decodes to < 64·n).
     */
    void checkDecodable() throws MedicalFormatException {
        if (!p.syntax.supported()) throw new UnsupportedTransferSyntaxException(p.file, p.syntax.uid(), p.syntax.name());
        if (p.syntax.encapsulated() != (p.fragments != null)) {
            throw p.err(Tags.PIXEL_DATA, p.fragments != null ? "encapsulated pixel data in the native transfer syntax " + p.syntax
                    : "native pixel data in the encapsulated transfer syntax " + p.syntax);
        }
        if (p.fragments != null) {
            DicomHeader h = header;
            if (p.fragments.size() != h.frames()) {
                throw p.err(Tags.PIXEL_DATA, p.fragments.size() + " RLE fragments for " + h.frames() + " frames (RLE needs exactly one fragment per frame)");
            }
            long frameBytes = (long) h.rows() * h.columns() * (h.bitsAllocated() / 8);
            for (int[] frag : p.fragments) {
                if (frameBytes > 64L * frag[1]) {
                    throw p.err(Tags.PIXEL_DATA, "an RLE fragment of " + frag[1] + " bytes cannot hold a " + h.rows() + "x" + h.columns()
                            + " frame of " + h.bitsAllocated() + "-bit pixels (" + frameBytes + " bytes)");
                }
            }
        }
    }

    /** Decodes every frame (rescaled) into {@code t}, starting at flat element {@code at}. */
    void decodeInto(Tensor t, long at) throws MedicalFormatException {
        checkDecodable();
        DicomHeader h = header;
        int frameVoxels = h.rows() * h.columns();
        int bytes = h.bitsAllocated() / 8;
        float[] out = new float[frameVoxels];
        if (p.fragments == null) {
            boolean swap8 = bytes == 1 && p.order == ByteOrder.BIG_ENDIAN && "OW".equals(p.pixel.vr());
            for (int f = 0; f < h.frames(); f++) {
                int base = p.pixel.offset() + f * frameVoxels * bytes;
                for (int i = 0; i < frameVoxels; i++) {
                    long raw = switch (bytes) {
                        case 1 -> p.buf[base + (swap8 ? i ^ 1 : i)] & 0xFF;
                        case 2 -> p.u16(base + 2 * i, p.order);
                        default -> p.u32(base + 4 * i, p.order);
                    };
                    out[i] = value(raw);
                }
                t.write(at + (long) f * frameVoxels, out, 0, frameVoxels);
            }
        } else {
            byte[][] planes = new byte[bytes][frameVoxels];
            for (int f = 0; f < h.frames(); f++) {
                int[] frag = p.fragments.get(f);
                RleDecoder.decode(p, frag[0], frag[1], planes);
                for (int i = 0; i < frameVoxels; i++) {
                    long raw = 0;
                    for (int b = 0; b < bytes; b++) raw = raw << 8 | (planes[b][i] & 0xFF);
                    out[i] = value(raw);
                }
                t.write(at + (long) f * frameVoxels, out, 0, frameVoxels);
            }
        }
    }

    /** Stored value → modality value: pick the BitsStored bits ending at HighBit, sign-extend, rescale. */
    private float value(long raw) {
        DicomHeader h = header;
        long v = (raw >>> (h.highBit() + 1 - h.bitsStored())) & ((1L << h.bitsStored()) - 1);
        if (h.signed() && (v & (1L << (h.bitsStored() - 1))) != 0) v -= 1L << h.bitsStored();
        return (float) (v * h.rescaleSlope() + h.rescaleIntercept());
    }
}
