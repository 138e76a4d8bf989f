package dev.segsam.io.medical.dicom;

import java.util.Map;

/**
 * A DICOM transfer syntax: how the data set is encoded (VR explicit or implicit, byte order, deflate) and whether the
 * pixel data are native or encapsulated. {@link #supported()} says whether segsam decodes its pixels: the three
 * native syntaxes, deflated explicit little endian and RLE Lossless are; JPEG, JPEG-LS, JPEG 2000, HTJ2K and video
 * are not (decompress them first, e.g. {@code gdcmconv --raw in.dcm out.dcm}).
 */
public record TransferSyntax(String uid, String name, boolean explicitVr, boolean bigEndian, boolean deflated,
                             boolean encapsulated, boolean supported) {
    public static final String IMPLICIT_LE = "1.2.840.10008.1.2";
    public static final String EXPLICIT_LE = "1.2.840.10008.1.2.1";
    public static final String DEFLATED_LE = "1.2.840.10008.1.2.1.99";
    public static final String EXPLICIT_BE = "1.2.840.10008.1.2.2";
    public static final String RLE = "1.2.840.10008.1.2.5";

    private static final Map<String, TransferSyntax> KNOWN = Map.ofEntries(
            native_(IMPLICIT_LE, "Implicit VR Little Endian", false, false),
            native_(EXPLICIT_LE, "Explicit VR Little Endian", true, false),
            native_(EXPLICIT_BE, "Explicit VR Big Endian", true, true),
            Map.entry(DEFLATED_LE, new TransferSyntax(DEFLATED_LE, "Deflated Explicit VR Little Endian", true, false, true, false, true)),
            Map.entry(RLE, new TransferSyntax(RLE, "RLE Lossless", true, false, false, true, true)),
            compressed("1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)"),
            compressed("1.2.840.10008.1.2.4.51", "JPEG Extended (Process 2 & 4)"),
            compressed("1.2.840.10008.1.2.4.57", "JPEG Lossless, Non-Hierarchical (Process 14)"),
            compressed("1.2.840.10008.1.2.4.70", "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 SV1)"),
            compressed("1.2.840.10008.1.2.4.80", "JPEG-LS Lossless"),
            compressed("1.2.840.10008.1.2.4.81", "JPEG-LS Near-Lossless"),
            compressed("1.2.840.10008.1.2.4.90", "JPEG 2000 (Lossless Only)"),
            compressed("1.2.840.10008.1.2.4.91", "JPEG 2000"),
            compressed("1.2.840.10008.1.2.4.92", "JPEG 2000 Part 2 Multi-component (Lossless Only)"),
            compressed("1.2.840.10008.1.2.4.93", "JPEG 2000 Part 2 Multi-component"),
            compressed("1.2.840.10008.1.2.4.94", "JPIP Referenced"),
            compressed("1.2.840.10008.1.2.4.100", "MPEG2 Main Profile / Main Level"),
            compressed("1.2.840.10008.1.2.4.101", "MPEG2 Main Profile / High Level"),
            compressed("1.2.840.10008.1.2.4.102", "MPEG-4 AVC/H.264 High Profile"),
            compressed("1.2.840.10008.1.2.4.103", "MPEG-4 AVC/H.264 BD-compatible High Profile"),
            compressed("1.2.840.10008.1.2.4.104", "MPEG-4 AVC/H.264 High Profile for 2D Video"),
            compressed("1.2.840.10008.1.2.4.105", "MPEG-4 AVC/H.264 High Profile for 3D Video"),
            compressed("1.2.840.10008.1.2.4.106", "MPEG-4 AVC/H.264 Stereo High Profile"),
            compressed("1.2.840.10008.1.2.4.107", "HEVC/H.265 Main Profile"),
            compressed("1.2.840.10008.1.2.4.108", "HEVC/H.265 Main 10 Profile"),
            compressed("1.2.840.10008.1.2.4.201", "High-Throughput JPEG 2000 (Lossless Only)"),
            compressed("1.2.840.10008.1.2.4.202", "High-Throughput JPEG 2000 with RPCL Options (Lossless Only)"),
            compressed("1.2.840.10008.1.2.4.203", "High-Throughput JPEG 2000"));

    /** The syntax for {@code uid}, or null if the UID is not a transfer syntax segsam knows. */
    public static TransferSyntax of(String uid) {
        return KNOWN.get(uid);
    }

    private static Map.Entry<String, TransferSyntax> native_(String uid, String name, boolean explicit, boolean be) {
        return Map.entry(uid, new TransferSyntax(uid, name, explicit, be, false, false, true));
    }

    private static Map.Entry<String, TransferSyntax> compressed(String uid, String name) {
        return Map.entry(uid, new TransferSyntax(uid, name, true, false, false, true, false));
    }

    @Override
    public String toString() {
        return name + " (" + uid + ")";
    }
}
