package dev.segsam.io.medical;

import dev.segsam.io.Printable;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A medical image file (NIfTI, DICOM) or a series folder that breaks its format or that segsam cannot read. The
 * message names the file and the header field or element at fault, e.g.
 * {@code brain.nii.gz: dim[3]: -4 (each used dimension must be 1..32767)} or
 * {@code ct.dcm: (0028,0010) Rows: element length 2 runs past the end of the file at offset 812}.
 */
public class MedicalFormatException extends IOException {
    private final transient Path file;
    private final String field;

    public MedicalFormatException(Path file, String field, String problem) {
        super(Printable.of(file) + ": " + Printable.of(field) + ": " + Printable.of(problem));
        this.file = file;
        this.field = field;
    }

    public MedicalFormatException(Path file, String field, String problem, Throwable cause) {
        super(Printable.of(file) + ": " + Printable.of(field) + ": " + Printable.of(problem), cause);
        this.file = file;
        this.field = field;
    }

    /** The file (or series folder) at fault. */
    public Path file() {
        return file;
    }

    /** The header field, DICOM element or structural part at fault (e.g. {@code vox_offset}, {@code (0028,0010) Rows}, {@code file size}). */
    public String field() {
        return field;
    }
}
