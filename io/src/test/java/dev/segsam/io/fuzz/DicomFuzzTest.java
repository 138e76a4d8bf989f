package dev.segsam.io.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.segsam.io.medical.MedicalImages;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.zip.Deflater;

/**
 * DICOM: {@code dicom} reads the input as a file (any transfer syntax its meta header names: native, big-endian,
 * implicit, RLE, deflate, and refused compressed ones); {@code dicomDeflated} puts a fixed preamble and meta header
 * naming the Deflated Explicit VR Little Endian syntax in front of the input, deflated, so the fuzzer mutates the data
 * set behind a valid deflate stream.
 */
class DicomFuzzTest {
    @FuzzTest(maxDuration = "10m")
    void dicom(byte[] data) throws Exception {
        Invariant.check(".dcm", data, p -> VolumeChecks.check(MedicalImages.read(p, 0, Invariant.LIMITS)));
    }

    @FuzzTest(maxDuration = "10m")
    void dicomDeflated(byte[] data) throws Exception {
        Invariant.check(".dcm", deflatedFile(data), p -> VolumeChecks.check(MedicalImages.read(p, 0, Invariant.LIMITS)));
    }

    static final String DEFLATED = "1.2.840.10008.1.2.1.99";

    /** Preamble, {@code DICM}, a meta group with TransferSyntaxUID = deflated, then {@code dataset} raw-deflated. */
    static byte[] deflatedFile(byte[] dataset) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[128]);
        out.writeBytes("DICM".getBytes(StandardCharsets.US_ASCII));
        byte[] uid = (DEFLATED + "\0").getBytes(StandardCharsets.US_ASCII); // even length
        out.writeBytes(new byte[] {2, 0, 0x10, 0, 'U', 'I', (byte) uid.length, 0});
        out.writeBytes(uid);
        Deflater d = new Deflater(Deflater.DEFAULT_COMPRESSION, true);
        d.setInput(dataset);
        d.finish();
        byte[] buf = new byte[8192];
        while (!d.finished()) out.write(buf, 0, d.deflate(buf));
        d.end();
        return out.toByteArray();
    }
}
