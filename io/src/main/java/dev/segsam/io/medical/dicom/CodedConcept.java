package dev.segsam.io.medical.dicom;

/**
 * A coded concept as DICOM writes it (Code Sequence Macro, PS3.3 Table 8.8-1): code value, coding scheme designator
 * ({@code SCT} = SNOMED CT, {@code DCM} = DICOM's own codes) and code meaning.
 */
public record CodedConcept(String value, String scheme, String meaning) {
    public CodedConcept {
        if (value == null || value.isBlank() || scheme == null || scheme.isBlank() || meaning == null || meaning.isBlank()) {
            throw new IllegalArgumentException("a code needs a value, a scheme and a meaning: " + value + ", " + scheme + ", " + meaning);
        }
    }

    public static CodedConcept sct(String value, String meaning) {
        return new CodedConcept(value, "SCT", meaning);
    }

    public static CodedConcept dcm(String value, String meaning) {
        return new CodedConcept(value, "DCM", meaning);
    }
}
