package dev.segsam.io.medical.dicom;

import dev.segsam.io.medical.MedicalFormatException;
import java.nio.file.Path;

/**
 * A DICOM file whose pixel data use a compression segsam does not decode (JPEG, JPEG-LS, JPEG 2000, video) or an
 * unknown transfer syntax. The message names the syntax and how to convert the file, e.g.
 * {@code x.dcm: (0002,0010) TransferSyntaxUID: JPEG 2000 (Lossless Only) (1.2.840.10008.1.2.4.90) is not supported;
 * decompress with gdcmconv --raw x.dcm out.dcm}.
 */
public final class UnsupportedTransferSyntaxException extends MedicalFormatException {
    private final String uid;

    public UnsupportedTransferSyntaxException(Path file, String uid, String name) {
        super(file, "(0002,0010) TransferSyntaxUID", (name == null ? "unknown transfer syntax " + uid : name + " (" + uid + ")")
                + " is not supported; decompress with gdcmconv --raw " + file.getFileName() + " out.dcm (or dcmdjpeg/dcmdjpls/dcmdrle)");
        this.uid = uid;
    }

    public String uid() {
        return uid;
    }
}
