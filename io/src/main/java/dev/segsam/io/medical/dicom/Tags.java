package dev.segsam.io.medical.dicom;

import java.util.HashMap;
import java.util.Map;

/**
 * The few DICOM attributes segsam reads (image attributes, and the patient/study/frame-of-reference attributes a
 * {@link DicomSegWriter} copies from its source), with the VR used when the transfer syntax is implicit.
 */
final class Tags {
    private Tags() {}

    static final int TRANSFER_SYNTAX = 0x00020010;
    static final int SPECIFIC_CHARSET = 0x00080005;
    static final int SOP_CLASS = 0x00080016;
    static final int SOP_INSTANCE = 0x00080018;
    static final int STUDY_DATE = 0x00080020;
    static final int STUDY_TIME = 0x00080030;
    static final int ACCESSION_NUMBER = 0x00080050;
    static final int REFERRING_PHYSICIAN = 0x00080090;
    static final int STUDY_DESCRIPTION = 0x00081030;
    static final int PATIENT_NAME = 0x00100010;
    static final int PATIENT_ID = 0x00100020;
    static final int PATIENT_BIRTH_DATE = 0x00100030;
    static final int PATIENT_SEX = 0x00100040;
    static final int STUDY_UID = 0x0020000D;
    static final int STUDY_ID = 0x00200010;
    static final int FRAME_OF_REFERENCE = 0x00200052;
    static final int POSITION_REFERENCE = 0x00201040;
    static final int MODALITY = 0x00080060;
    static final int SLICE_THICKNESS = 0x00180050;
    static final int SPACING_BETWEEN_SLICES = 0x00180088;
    static final int SERIES_UID = 0x0020000E;
    static final int INSTANCE_NUMBER = 0x00200013;
    static final int IMAGE_POSITION = 0x00200032;
    static final int IMAGE_ORIENTATION = 0x00200037;
    static final int SAMPLES_PER_PIXEL = 0x00280002;
    static final int PHOTOMETRIC = 0x00280004;
    static final int NUMBER_OF_FRAMES = 0x00280008;
    static final int ROWS = 0x00280010;
    static final int COLUMNS = 0x00280011;
    static final int PIXEL_SPACING = 0x00280030;
    static final int BITS_ALLOCATED = 0x00280100;
    static final int BITS_STORED = 0x00280101;
    static final int HIGH_BIT = 0x00280102;
    static final int PIXEL_REPRESENTATION = 0x00280103;
    static final int WINDOW_CENTER = 0x00281050;
    static final int WINDOW_WIDTH = 0x00281051;
    static final int RESCALE_INTERCEPT = 0x00281052;
    static final int RESCALE_SLOPE = 0x00281053;
    static final int FLOAT_PIXEL_DATA = 0x7FE00008;
    static final int DOUBLE_PIXEL_DATA = 0x7FE00009;
    static final int PIXEL_DATA = 0x7FE00010;

    static final int ITEM = 0xFFFEE000;
    static final int ITEM_DELIMITER = 0xFFFEE00D;
    static final int SEQUENCE_DELIMITER = 0xFFFEE0DD;
    static final int TRAILING_PADDING = 0xFFFCFFFC;

    record Info(String vr, String name) {}

    static final Map<Integer, Info> READ = new HashMap<>();

    static {
        put(TRANSFER_SYNTAX, "UI", "TransferSyntaxUID");
        put(SPECIFIC_CHARSET, "CS", "SpecificCharacterSet");
        put(SOP_CLASS, "UI", "SOPClassUID");
        put(SOP_INSTANCE, "UI", "SOPInstanceUID");
        put(STUDY_DATE, "DA", "StudyDate");
        put(STUDY_TIME, "TM", "StudyTime");
        put(ACCESSION_NUMBER, "SH", "AccessionNumber");
        put(REFERRING_PHYSICIAN, "PN", "ReferringPhysicianName");
        put(STUDY_DESCRIPTION, "LO", "StudyDescription");
        put(PATIENT_NAME, "PN", "PatientName");
        put(PATIENT_ID, "LO", "PatientID");
        put(PATIENT_BIRTH_DATE, "DA", "PatientBirthDate");
        put(PATIENT_SEX, "CS", "PatientSex");
        put(STUDY_UID, "UI", "StudyInstanceUID");
        put(STUDY_ID, "SH", "StudyID");
        put(FRAME_OF_REFERENCE, "UI", "FrameOfReferenceUID");
        put(POSITION_REFERENCE, "LO", "PositionReferenceIndicator");
        put(MODALITY, "CS", "Modality");
        put(SLICE_THICKNESS, "DS", "SliceThickness");
        put(SPACING_BETWEEN_SLICES, "DS", "SpacingBetweenSlices");
        put(SERIES_UID, "UI", "SeriesInstanceUID");
        put(INSTANCE_NUMBER, "IS", "InstanceNumber");
        put(IMAGE_POSITION, "DS", "ImagePositionPatient");
        put(IMAGE_ORIENTATION, "DS", "ImageOrientationPatient");
        put(SAMPLES_PER_PIXEL, "US", "SamplesPerPixel");
        put(PHOTOMETRIC, "CS", "PhotometricInterpretation");
        put(NUMBER_OF_FRAMES, "IS", "NumberOfFrames");
        put(ROWS, "US", "Rows");
        put(COLUMNS, "US", "Columns");
        put(PIXEL_SPACING, "DS", "PixelSpacing");
        put(BITS_ALLOCATED, "US", "BitsAllocated");
        put(BITS_STORED, "US", "BitsStored");
        put(HIGH_BIT, "US", "HighBit");
        put(PIXEL_REPRESENTATION, "US", "PixelRepresentation");
        put(WINDOW_CENTER, "DS", "WindowCenter");
        put(WINDOW_WIDTH, "DS", "WindowWidth");
        put(RESCALE_INTERCEPT, "DS", "RescaleIntercept");
        put(RESCALE_SLOPE, "DS", "RescaleSlope");
        put(FLOAT_PIXEL_DATA, "OF", "FloatPixelData");
        put(DOUBLE_PIXEL_DATA, "OD", "DoubleFloatPixelData");
        put(PIXEL_DATA, "OW", "PixelData");
    }

    private static void put(int tag, String vr, String name) {
        READ.put(tag, new Info(vr, name));
    }

    /** {@code (gggg,eeee) Name} for error messages. */
    static String name(int tag) {
        Info i = READ.get(tag);
        String t = String.format("(%04X,%04X)", tag >>> 16, tag & 0xFFFF);
        return i == null ? t : t + " " + i.name();
    }
}
