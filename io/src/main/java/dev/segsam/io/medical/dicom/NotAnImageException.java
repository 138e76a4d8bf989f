package dev.segsam.io.medical.dicom;

import dev.segsam.io.medical.MedicalFormatException;
import java.nio.file.Path;

/** A file that is not a DICOM image (not DICOM at all, or DICOM without pixel data such as a DICOMDIR or report). */
public final class NotAnImageException extends MedicalFormatException {
    public NotAnImageException(Path file, String field, String problem) {
        super(file, field, problem);
    }
}
