package dev.segsam.io.medical.nifti;

import dev.segsam.io.IoLimits;
import dev.segsam.io.medical.MedicalFormatException;
import dev.segsam.io.medical.Volume;
import dev.segsam.tensor.Tensor;
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reads NIfTI-1 single-file images, {@code .nii} or gzip-compressed {@code .nii.gz} (detected by the gzip magic,
 * not the name), into a {@link Volume}.
 *
 * <ul>
 *   <li>Datatypes: uint8, int8, int16, uint16, int32, uint32, int64, uint64 (via double; exact up to 2^53), float32,
 *       float64, and rgb24/rgba32 converted to grey (0.299 R + 0.587 G + 0.114 B; alpha ignored). Complex and
 *       float128 are refused.</li>
 *   <li>Either byte order, told apart by {@code sizeof_hdr}. NIfTI-2 and .hdr/.img pairs are refused by name.</li>
 *   <li>Scaling: when {@code scl_slope} is finite and non-zero, value = slope·raw + inter (computed in double,
 *       stored as float32).</li>
 *   <li>Affine: sform when {@code sform_code > 0}, else qform when {@code qform_code > 0}, else nibabel's pixdim
 *       fallback ({@link NiftiHeader#baseAffine}); spacing = |pixdim[1..3]| (units as stored, normally mm).</li>
 *   <li>Dimensions: {@code dim[1..3]} form the volume (missing ones are 1). Images with more dimensions (time,
 *       channels such as MR sequences, dims 4..7) hold several 3-D volumes ("frames"); one is read: frame 0 by
 *       default, any other with {@link #frame(long)}. The file's full shape and the frame read are in
 *       {@link Volume#fileDims()}, {@link Volume#volumeIndex()} and {@link Volume#volumeCount()} (and the extras
 *       {@code nifti.dim}, {@code nifti.frame}).</li>
 *   <li>Extensions between the header and {@code vox_offset} are skipped.</li>
 * </ul>
 *
 * <p>Safety: every header value is validated before it sizes anything. For {@code .nii} the data must lie inside the
 * file; for {@code .nii.gz} the frame must fit in what the compressed size can possibly hold (DEFLATE expands at
 * most 1032:1) and in {@link #maxVoxels(long)}; a frame needing more than 64 times the file's size is inflated
 * before its tensor is allocated. So a lying header ends in a {@link MedicalFormatException}, never in an
 * allocation the file's content does not back.
 */
public final class NiftiReader {
    /** Default limit on voxels per 3-D frame (2^30 voxels = 4 GiB of float32). */
    public static final long DEFAULT_MAX_VOXELS = 1L << 30;
    /** DEFLATE's maximum expansion ratio. */
    static final long MAX_DEFLATE_RATIO = 1032;
    /**
     * A {@code .nii.gz} whose frame needs more than this many times the file's size is read into memory before its
     * tensor is allocated (real images compress 2–10:1, label maps up to a few hundred).
     */
    static final long STAGE_RATIO = 64;

    private long maxVoxels = DEFAULT_MAX_VOXELS;
    private long frame;

    /** Reads frame 0 of {@code file} with the default limits. */
    public static Volume read(Path file) throws IOException {
        return new NiftiReader().readVolume(file);
    }

    /** Reads and validates only the header of {@code file}. */
    public static NiftiHeader readHeader(Path file) throws IOException {
        try (InputStream in = open(file)) {
            return NiftiHeader.parse(file, in.readNBytes(NiftiHeader.MIN_VOX_OFFSET));
        } catch (ZipException | EOFException e) {
            throw new MedicalFormatException(file, "gzip", "corrupt or truncated gzip data: " + e.getMessage(), e);
        }
    }

    /** Refuses frames with more than {@code n} voxels. */
    public NiftiReader maxVoxels(long n) {
        if (n <= 0) throw new IllegalArgumentException("maxVoxels " + n);
        this.maxVoxels = n;
        return this;
    }

    /** Which 3-D frame to read from a 4-D..7-D image (flat index over dims 4..7; default 0). */
    public NiftiReader frame(long t) {
        if (t < 0) throw new IllegalArgumentException("frame " + t);
        this.frame = t;
        return this;
    }

    public Volume readVolume(Path file) throws IOException {
        long fileSize = Files.size(file);
        try (InputStream in = open(file)) {
            boolean gz = in instanceof GZIPInputStream;
            byte[] hb = in.readNBytes(NiftiHeader.MIN_VOX_OFFSET);
            NiftiHeader h = NiftiHeader.parse(file, hb);
            NiftiDataType dt = h.dataType();
            long nvox = h.frameVoxels();
            if (nvox > maxVoxels) {
                throw new MedicalFormatException(file, "dim", h.size(1) + "x" + h.size(2) + "x" + h.size(3) + " = " + nvox
                        + " voxels exceeds the limit of " + maxVoxels + " " + IoLimits.hint(IoLimits.VOLUME_VOXELS));
            }
            long frames = h.frames();
            if (frame >= frames) {
                throw new MedicalFormatException(file, "volume", "volume " + frame + " asked for, but the " + dimString(h)
                        + " image holds " + frames + (frames == 1 ? " volume (volume 0)" : " volumes (0.." + (frames - 1) + ")"));
            }
            if (frames > Integer.MAX_VALUE) {
                throw new MedicalFormatException(file, "dim", dimString(h) + " holds " + frames + " volumes, more than segsam counts");
            }
            long frameBytes = nvox * dt.bytes();
            long totalBytes;
            try {
                totalBytes = Math.multiplyExact(frameBytes, frames);
                Math.addExact(totalBytes, h.voxOffset());
            } catch (ArithmeticException e) {
                throw new MedicalFormatException(file, "dim", dimString(h) + " of " + dt.label() + " overflows a 64-bit byte count");
            }
            long start = h.voxOffset() + frame * frameBytes;
            if (!gz) {
                if (h.voxOffset() > fileSize) {
                    throw new MedicalFormatException(file, "vox_offset", h.voxOffset() + " is beyond the end of the " + fileSize + "-byte file");
                }
                if (h.voxOffset() + totalBytes > fileSize) {
                    throw new MedicalFormatException(file, "file size", "file is truncated: " + fileSize + " bytes, the header describes "
                            + (h.voxOffset() + totalBytes) + " (vox_offset " + h.voxOffset() + " + " + dimString(h) + " " + dt.label() + ")");
                }
            } else {
                long bound = fileSize * MAX_DEFLATE_RATIO;
                if (start + frameBytes > bound) {
                    throw new MedicalFormatException(file, "dim", dimString(h) + " " + dt.label() + " at vox_offset " + h.voxOffset()
                            + " needs " + (start + frameBytes) + " bytes, but a " + fileSize + "-byte gzip file holds at most " + bound);
                }
            }
            try {
                in.skipNBytes(start - hb.length);
            } catch (EOFException e) {
                throw new MedicalFormatException(file, "vox_offset", "the data ends before vox_offset " + h.voxOffset()
                        + (frame > 0 ? " + frame " + frame : "") + " (truncated file?)");
            }
            InputStream data = in;
            if (gz && frameBytes > STAGE_RATIO * fileSize) {
                // a .nii.gz declaring far more than its size usually holds: make the stream prove it before the
                // tensor is allocated, so a small file cannot make us allocate what it does not contain
                data = staged(file, in, h, nvox, frameBytes);
            }
            Tensor t = Tensor.zeros(h.size(3), h.size(2), h.size(1));
            try {
                readData(file, data, h, nvox, t);
            } catch (IOException | RuntimeException e) {
                t.close();
                throw e;
            }
            return toVolume(file, h, t);
        } catch (ZipException e) {
            throw new MedicalFormatException(file, "gzip", "corrupt gzip data: " + e.getMessage(), e);
        } catch (EOFException e) {
            throw new MedicalFormatException(file, "file size", "file is truncated (" + e.getMessage() + ")", e);
        }
    }

    private static InputStream open(Path file) throws IOException {
        BufferedInputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        in.mark(2);
        int b0 = in.read(), b1 = in.read();
        in.reset();
        if (b0 == 0x1f && b1 == 0x8b) {
            try {
                return new GZIPInputStream(in, 1 << 16);
            } catch (IOException e) {
                in.close();
                throw new MedicalFormatException(file, "gzip", "corrupt gzip header: " + e.getMessage(), e);
            }
        }
        return in;
    }

    /**
     * Reads a frame's {@code frameBytes} raw bytes from {@code in} into memory (in chunks, as they arrive), failing as
     * {@link #readData} would if the stream ends early; returns a stream over them. Raw bytes cost at most as much as
     * the float32 tensor (1/4 of it for uint8 data), and only once the data has been seen.
     */
    private static InputStream staged(Path file, InputStream in, NiftiHeader h, long nvox, long frameBytes) throws IOException {
        java.util.List<byte[]> chunks = new java.util.ArrayList<>();
        long done = 0;
        while (done < frameBytes) {
            byte[] c = new byte[(int) Math.min(1 << 24, frameBytes - done)];
            int got;
            try {
                got = in.readNBytes(c, 0, c.length);
            } catch (EOFException e) {
                got = -1;
            }
            if (got != c.length) {
                throw new MedicalFormatException(file, "file size", "file is truncated: the data end after "
                        + (done + Math.max(got, 0)) + " of the " + frameBytes + " bytes of " + dimString(h) + " " + h.dataType().label());
            }
            chunks.add(c);
            done += c.length;
        }
        return new java.io.SequenceInputStream(java.util.Collections.enumeration(
                chunks.stream().map(c -> (InputStream) new java.io.ByteArrayInputStream(c)).toList()));
    }

    private static void readData(Path file, InputStream in, NiftiHeader h, long nvox, Tensor t) throws IOException {
        NiftiDataType dt = h.dataType();
        int bytes = dt.bytes();
        int chunk = 1 << 16;
        byte[] buf = new byte[chunk * bytes];
        float[] out = new float[chunk];
        ByteBuffer bb = ByteBuffer.wrap(buf).order(h.order());
        boolean scaled = h.scaled();
        double slope = h.sclSlope(), inter = Float.isFinite(h.sclInter()) ? h.sclInter() : 0;
        for (long done = 0; done < nvox; ) {
            int n = (int) Math.min(chunk, nvox - done);
            int got;
            try {
                got = in.readNBytes(buf, 0, n * bytes);
            } catch (EOFException e) {
                got = -1; // GZIPInputStream: the compressed stream ended mid-block
            }
            if (got != n * bytes) {
                throw new MedicalFormatException(file, "file size", "file is truncated: the data end after "
                        + (done * bytes + Math.max(got, 0)) + " of the " + nvox * bytes + " bytes of " + dimString(h) + " " + dt.label());
            }
            for (int i = 0; i < n; i++) {
                double v = raw(dt, bb, i * bytes);
                out[i] = (float) (scaled ? v * slope + inter : v);
            }
            t.write(done, out, 0, n);
            done += n;
        }
    }

    private static double raw(NiftiDataType dt, ByteBuffer b, int at) {
        return switch (dt) {
            case UINT8 -> b.get(at) & 0xFF;
            case INT8 -> b.get(at);
            case INT16 -> b.getShort(at);
            case UINT16 -> b.getShort(at) & 0xFFFF;
            case INT32 -> b.getInt(at);
            case UINT32 -> b.getInt(at) & 0xFFFFFFFFL;
            case INT64 -> (double) b.getLong(at);
            case UINT64 -> {
                long v = b.getLong(at);
                yield v >= 0 ? (double) v : ((v >>> 1) | (v & 1)) * 2.0;
            }
            case FLOAT32 -> b.getFloat(at);
            case FLOAT64 -> b.getDouble(at);
            case RGB24, RGBA32 -> 0.299 * (b.get(at) & 0xFF) + 0.587 * (b.get(at + 1) & 0xFF) + 0.114 * (b.get(at + 2) & 0xFF);
        };
    }

    private Volume toVolume(Path file, NiftiHeader h, Tensor t) {
        double[][] affine;
        Volume.AffineSource src;
        if (h.sformCode() > 0) {
            affine = h.sform();
            src = Volume.AffineSource.SFORM;
        } else if (h.qformCode() > 0) {
            affine = h.qform();
            src = Volume.AffineSource.QFORM;
        } else {
            affine = h.baseAffine();
            src = Volume.AffineSource.SPACING_ONLY;
        }
        Volume.Builder b = Volume.builder(t).spacing(h.spacing()).affine(affine, src).format("NIfTI-1")
                .dataType(h.dataType().label()).source(file)
                .extra("nifti.dim", dimString(h))
                .extra("nifti.sform_code", Integer.toString(h.sformCode()))
                .extra("nifti.qform_code", Integer.toString(h.qformCode()))
                .extra("nifti.byte_order", h.order().toString().toLowerCase(java.util.Locale.ROOT));
        if (h.frames() > 1) b.extra("nifti.frame", frame + " of " + h.frames());
        int[] dims = new int[Math.max(3, h.dim()[0])];
        for (int i = 0; i < dims.length; i++) dims[i] = h.size(i + 1);
        b.volumes(dims, (int) frame, (int) h.frames());
        if (h.scaled()) b.extra("nifti.scl_slope", Float.toString(h.sclSlope())).extra("nifti.scl_inter", Float.toString(h.sclInter()));
        if (!h.descrip().isEmpty()) b.extra("nifti.descrip", h.descrip());
        return b.build();
    }

    static String dimString(NiftiHeader h) {
        StringBuilder sb = new StringBuilder();
        for (int i = 1; i <= h.dim()[0]; i++) sb.append(i > 1 ? "x" : "").append(h.dim()[i]);
        return sb.toString();
    }
}
