package dev.segsam.io.medical.dicom;

import dev.segsam.io.AtomicFiles;
import dev.segsam.io.medical.MedicalFormatException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes a DICOM Segmentation object (DICOM-SEG, Segmentation Storage SOP class 1.2.840.10008.5.1.4.1.1.66.4, PS3.3
 * §A.51) over a source DICOM image or series, so that viewers (3D Slicer, OHIF) load it onto that series.
 *
 * <p>What is written (explicit VR little endian, Part 10 file with preamble and meta group):
 * <ul>
 *   <li>Patient and General Study modules copied from the source (patient name, ID, birth date, sex; study UID, date,
 *       time, ID, accession number, referring physician, description; the source's SpecificCharacterSet, so copied
 *       names keep their encoding); the Frame of Reference UID and Position Reference Indicator likewise.</li>
 *   <li>A new series (Modality SEG, series number {@link #seriesNumber}, new SeriesInstanceUID) and instance (new
 *       SOPInstanceUID; UIDs from a {@link UidGenerator}, 2.25.&lt;UUID&gt;).</li>
 *   <li>General and Enhanced General Equipment: Manufacturer "segsam", model name, device serial number "0" (software
 *       has none; the module requires a value), software version.</li>
 *   <li>Segmentation Image: ImageType DERIVED\PRIMARY, SegmentationType BINARY, 1 bit per pixel (MONOCHROME2, packed
 *       without padding between frames, first pixel in the lowest bit), ContentLabel "SEGSAM"; one SegmentSequence item
 *       per {@link Segment}: number (1, 2, ... in the order added), label, description, algorithm type AUTOMATIC with
 *       algorithm name "SEG-SAM", category/type (/modifier) codes ({@link SegmentCodes}).</li>
 *   <li>Multi-frame Functional Groups: shared PixelMeasures (PixelSpacing, SliceThickness, SpacingBetweenSlices from
 *       the source) and PlaneOrientation (the source's ImageOrientationPatient); per frame FrameContent
 *       (DimensionIndexValues = segment number, source slice number), PlanePosition (the source slice's
 *       ImagePositionPatient, its text copied), DerivationImage with a SourceImageSequence naming the source slice's
 *       SOP class and instance (purpose DCM 121322, derivation DCM 113076 "Segmentation") and SegmentIdentification.</li>
 *   <li>Multi-frame Dimension: two dimensions, ReferencedSegmentNumber then ImagePositionPatient.</li>
 *   <li>Common Instance Reference: ReferencedSeriesSequence with the source series and every source instance.</li>
 * </ul>
 * Frames: one per segment and source slice on which the segment has at least one pixel, ordered by segment, then by
 * slice (slices in {@link DicomSeries}' order). A segment with no pixel at all is listed in the SegmentSequence but
 * has no frame; when no segment has any pixel, one empty frame of segment 1 on {@link #emptySlice} is written, since
 * the object needs at least one frame.
 *
 * <p>Limits: the source must be single-frame images (one file, or a series folder as {@link DicomSeries} reads it)
 * with ImagePositionPatient, ImageOrientationPatient, PixelSpacing, StudyInstanceUID and FrameOfReferenceUID — a
 * segmentation without geometry would not land on the images in a viewer, so it is refused with a
 * {@link MedicalFormatException}. Enhanced multi-frame sources (per-frame geometry) are refused likewise.
 */
public final class DicomSegWriter {
    public static final String SEGMENTATION_STORAGE = "1.2.840.10008.5.1.4.1.1.66.4";
    public static final String ALGORITHM_NAME = "SEG-SAM";
    public static final String MANUFACTURER = "segsam";
    static final CodedConcept SOURCE_IMAGE_PURPOSE = CodedConcept.dcm("121322", "Source image for image processing operation");
    static final CodedConcept SEGMENTATION_DERIVATION = CodedConcept.dcm("113076", "Segmentation");

    /** One source slice: its instance and position (text as in the source). */
    private record SourceSlice(String sopClass, String sopInstance, byte[] position) {}

    /** One segment: its label, description, codes and pixels (per source slice a bit set of rows × columns). */
    public final class Segment {
        private final int number;
        private final String label;
        private final SegmentCodes codes;
        private String description;
        private final TreeMap<Integer, BitSet> slices = new TreeMap<>();

        private Segment(int number, String label, SegmentCodes codes) {
            this.number = number;
            this.label = label;
            this.codes = codes;
        }

        /** The segment number (1-based, in the order segments were added). */
        public int number() {
            return number;
        }

        /** SegmentDescription (free text), or null for none. Returns this. */
        public Segment description(String d) {
            this.description = d;
            return this;
        }

        /** Marks the pixel at {@code row}, {@code column} of source slice {@code slice} (0-based, slice order as read). */
        public void set(int slice, int row, int column) {
            if (slice < 0 || slice >= sources.size() || row < 0 || row >= rows || column < 0 || column >= columns) {
                throw new IndexOutOfBoundsException("pixel " + slice + "/" + row + "/" + column + " outside " + sources.size() + "x" + rows + "x" + columns);
            }
            slices.computeIfAbsent(slice, k -> new BitSet(rows * columns)).set(row * columns + column);
        }

        public String label() {
            return label;
        }

        /** The number of pixels set, over all slices. */
        public long count() {
            long n = 0;
            for (BitSet b : slices.values()) n += b.cardinality();
            return n;
        }
    }

    private final Path source;
    private final DicomParser first;
    private final List<SourceSlice> sources;
    private final int rows, columns;
    private final List<Segment> segments = new ArrayList<>();
    private UidGenerator uids = UidGenerator.random();
    private Clock clock = Clock.systemDefaultZone();
    private String softwareVersion = "unknown", modelName = "segsam", seriesDescription = "segsam segmentation", contentDescription = "";
    private int seriesNumber = 300, emptySlice;

    private DicomSegWriter(Path source, DicomParser first, List<SourceSlice> sources, int rows, int columns) {
        this.source = source;
        this.first = first;
        this.sources = sources;
        this.rows = rows;
        this.columns = columns;
    }

    /**
     * Reads the headers of {@code source}: one DICOM image file, or a folder holding one series (slices in the order
     * {@link DicomSeries#read} gives them, so slice k here is slice k of that volume).
     */
    public static DicomSegWriter of(Path source) throws IOException {
        List<Path> files = Files.isDirectory(source)
                ? DicomSeries.slices(source, DicomReader.DEFAULT_MAX_VOXELS, DicomParser.MAX_INFLATED).headers().stream().map(DicomHeader::file).toList()
                : List.of(source);
        DicomParser first = null;
        DicomHeader h0 = null;
        List<SourceSlice> slices = new ArrayList<>();
        for (Path file : files) {
            DicomFile df = DicomFile.open(file, DicomReader.DEFAULT_MAX_VOXELS);
            DicomParser p = df.p;
            DicomHeader h = df.header;
            if (h.frames() != 1) {
                throw new MedicalFormatException(h.file(), "(0028,0008) NumberOfFrames", h.frames() + " frames: a DICOM-SEG is written over single-frame source images only");
            }
            for (int tag : new int[] {Tags.SOP_CLASS, Tags.SOP_INSTANCE, Tags.STUDY_UID, Tags.SERIES_UID, Tags.FRAME_OF_REFERENCE,
                    Tags.IMAGE_POSITION, Tags.IMAGE_ORIENTATION, Tags.PIXEL_SPACING}) {
                String v = p.string(tag);
                if (v == null || v.isEmpty()) {
                    throw p.err(tag, "missing: a DICOM-SEG needs the source's UIDs and geometry to land on its images");
                }
            }
            if (first == null) {
                first = p;
                h0 = h;
            }
            slices.add(new SourceSlice(p.string(Tags.SOP_CLASS), p.string(Tags.SOP_INSTANCE), trimmed(p.bytes(Tags.IMAGE_POSITION))));
        }
        return new DicomSegWriter(source, first, List.copyOf(slices), h0.rows(), h0.columns());
    }

    /** Source slices (1 for a single file). */
    public int slices() {
        return sources.size();
    }

    public int rows() {
        return rows;
    }

    public int columns() {
        return columns;
    }

    /** Adds the next segment (number = segments added so far + 1). */
    public Segment addSegment(String label, SegmentCodes codes) {
        if (label == null || label.isBlank()) throw new IllegalArgumentException("a segment needs a label");
        if (segments.size() == 0xFFFF) throw new IllegalStateException("too many segments");
        Segment s = new Segment(segments.size() + 1, label, codes == null ? SegmentCodes.generic() : codes);
        segments.add(s);
        return s;
    }

    public List<Segment> segments() {
        return List.copyOf(segments);
    }

    /** Where UIDs come from (default {@link UidGenerator#random()}). Returns this. */
    public DicomSegWriter uids(UidGenerator g) {
        this.uids = g;
        return this;
    }

    /** The clock for the content/series/instance dates and times (default: the system clock and zone). Returns this. */
    public DicomSegWriter clock(Clock c) {
        this.clock = c;
        return this;
    }

    /** SoftwareVersions (0018,1020). Returns this. */
    public DicomSegWriter softwareVersion(String v) {
        this.softwareVersion = v;
        return this;
    }

    /** ManufacturerModelName (0008,1090), default "segsam". Returns this. */
    public DicomSegWriter modelName(String v) {
        this.modelName = v;
        return this;
    }

    public DicomSegWriter seriesDescription(String v) {
        this.seriesDescription = v;
        return this;
    }

    public DicomSegWriter contentDescription(String v) {
        this.contentDescription = v;
        return this;
    }

    public DicomSegWriter seriesNumber(int n) {
        this.seriesNumber = n;
        return this;
    }

    /** The slice of the one empty frame written when no segment has a pixel (default 0). Returns this. */
    public DicomSegWriter emptySlice(int slice) {
        if (slice < 0 || slice >= sources.size()) throw new IndexOutOfBoundsException("slice " + slice);
        this.emptySlice = slice;
        return this;
    }

    /** What was written. */
    public record Written(Path file, String sopInstanceUid, String seriesInstanceUid, int frames, int segments) {}

    /** Writes the object to {@code target} (replaced atomically if it exists). */
    public Written write(Path target) throws IOException {
        if (segments.isEmpty()) throw new IllegalStateException("no segment added");
        String sopInstance = uids.next(), seriesUid = uids.next(), dimensionOrg = uids.next();
        byte[] data = encode(sopInstance, seriesUid, dimensionOrg);
        int frames = frames().size();
        AtomicFiles.write(target, true, tmp -> Files.write(tmp, data));
        return new Written(target, sopInstance, seriesUid, frames, segments.size());
    }

    /** The frames: {segment number, slice}, by segment then slice. */
    private List<int[]> frames() {
        List<int[]> f = new ArrayList<>();
        for (Segment s : segments) {
            for (Map.Entry<Integer, BitSet> e : s.slices.entrySet()) if (!e.getValue().isEmpty()) f.add(new int[] {s.number, e.getKey()});
        }
        if (f.isEmpty()) f.add(new int[] {1, emptySlice});
        return f;
    }

    private byte[] encode(String sopInstance, String seriesUid, String dimensionOrg) {
        String charsetName = first.string(Tags.SPECIFIC_CHARSET);
        boolean ascii = isAscii(seriesDescription) && isAscii(contentDescription) && isAscii(modelName) && isAscii(softwareVersion)
                && segments.stream().allMatch(s -> isAscii(s.label) && isAscii(s.description));
        Charset charset;
        if (charsetName == null || charsetName.isEmpty()) {
            charsetName = ascii ? null : "ISO_IR 192";
            charset = ascii ? StandardCharsets.US_ASCII : StandardCharsets.UTF_8;
        } else {
            charset = switch (charsetName) {
                case "ISO_IR 192" -> StandardCharsets.UTF_8;
                case "ISO_IR 100" -> StandardCharsets.ISO_8859_1;
                default -> StandardCharsets.US_ASCII; // other character sets: our own text is written as ASCII ('?' for the rest)
            };
        }
        ZonedDateTime now = ZonedDateTime.now(clock);
        String date = now.format(DateTimeFormatter.ofPattern("yyyyMMdd")), time = now.format(DateTimeFormatter.ofPattern("HHmmss.SSSSSS"));
        List<int[]> frames = frames();

        DataSetEncoder d = new DataSetEncoder(charset);
        if (charsetName != null) d.str(Tags.SPECIFIC_CHARSET, "CS", charsetName);
        d.str(0x00080008, "CS", "DERIVED", "PRIMARY");
        d.str(0x00080012, "DA", date).str(0x00080013, "TM", time);
        d.str(Tags.SOP_CLASS, "UI", SEGMENTATION_STORAGE).str(Tags.SOP_INSTANCE, "UI", sopInstance);
        copy(d, Tags.STUDY_DATE, "DA");
        d.str(0x00080021, "DA", date).str(0x00080023, "DA", date);
        copy(d, Tags.STUDY_TIME, "TM");
        d.str(0x00080031, "TM", time).str(0x00080033, "TM", time);
        copy(d, Tags.ACCESSION_NUMBER, "SH");
        d.str(Tags.MODALITY, "CS", "SEG");
        d.str(0x00080070, "LO", MANUFACTURER);
        copy(d, Tags.REFERRING_PHYSICIAN, "PN");
        if (first.has(Tags.STUDY_DESCRIPTION)) copy(d, Tags.STUDY_DESCRIPTION, "LO");
        d.str(0x0008103E, "LO", lo(seriesDescription));
        d.str(0x00081090, "LO", lo(modelName));
        // Common Instance Reference: the source series and its instances
        List<DataSetEncoder> instances = new ArrayList<>();
        for (SourceSlice s : sources) instances.add(d.item().str(0x00081150, "UI", s.sopClass()).str(0x00081155, "UI", s.sopInstance()));
        d.sq(0x00081115, List.of(d.item().sq(0x0008114A, instances).str(Tags.SERIES_UID, "UI", first.string(Tags.SERIES_UID))));
        copy(d, Tags.PATIENT_NAME, "PN");
        copy(d, Tags.PATIENT_ID, "LO");
        copy(d, Tags.PATIENT_BIRTH_DATE, "DA");
        copy(d, Tags.PATIENT_SEX, "CS");
        d.str(0x00181000, "LO", "0");
        d.str(0x00181020, "LO", lo(softwareVersion));
        copy(d, Tags.STUDY_UID, "UI");
        d.str(Tags.SERIES_UID, "UI", seriesUid);
        copy(d, Tags.STUDY_ID, "SH");
        d.str(0x00200011, "IS", Integer.toString(seriesNumber));
        d.str(Tags.INSTANCE_NUMBER, "IS", "1");
        copy(d, Tags.FRAME_OF_REFERENCE, "UI");
        copy(d, Tags.POSITION_REFERENCE, "LO");
        // Multi-frame Dimension
        d.sq(0x00209221, List.of(d.item().str(0x00209164, "UI", dimensionOrg)));
        d.sq(0x00209222, List.of(
                dimension(d, dimensionOrg, 0x0062000B, 0x0062000A, "Segment Number"),
                dimension(d, dimensionOrg, Tags.IMAGE_POSITION, 0x00209113, "Image Position Patient")));
        // Image Pixel and Segmentation Image
        d.us(Tags.SAMPLES_PER_PIXEL, 1).str(Tags.PHOTOMETRIC, "CS", "MONOCHROME2").str(Tags.NUMBER_OF_FRAMES, "IS", Integer.toString(frames.size()));
        d.us(Tags.ROWS, rows).us(Tags.COLUMNS, columns);
        d.us(Tags.BITS_ALLOCATED, 1).us(Tags.BITS_STORED, 1).us(Tags.HIGH_BIT, 0).us(Tags.PIXEL_REPRESENTATION, 0);
        d.str(0x00282110, "CS", "00");
        d.str(0x00620001, "CS", "BINARY");
        List<DataSetEncoder> segItems = new ArrayList<>();
        for (Segment s : segments) {
            DataSetEncoder it = d.item();
            it.code(0x00620003, s.codes.category());
            it.us(0x00620004, s.number);
            it.str(0x00620005, "LO", lo(s.label));
            if (s.description != null && !s.description.isEmpty()) it.str(0x00620006, "ST", st(s.description));
            it.str(0x00620008, "CS", "AUTOMATIC");
            it.str(0x00620009, "LO", ALGORITHM_NAME);
            DataSetEncoder type = it.codeItem(s.codes.type());
            if (s.codes.modifier() != null) type.code(0x00620011, s.codes.modifier());
            it.sq(0x0062000F, List.of(type));
            segItems.add(it);
        }
        d.sq(0x00620002, segItems);
        d.str(0x00700080, "CS", "SEGSAM");
        d.str(0x00700081, "LO", lo(contentDescription));
        d.str(0x00700084, "PN", "");
        // Functional groups
        DataSetEncoder shared = d.item();
        shared.sq(0x00209116, List.of(d.item().raw(Tags.IMAGE_ORIENTATION, "DS", trimmed(first.bytes(Tags.IMAGE_ORIENTATION)))));
        DataSetEncoder measures = d.item().raw(Tags.PIXEL_SPACING, "DS", trimmed(first.bytes(Tags.PIXEL_SPACING)));
        if (first.has(Tags.SLICE_THICKNESS) && trimmed(first.bytes(Tags.SLICE_THICKNESS)).length > 0) {
            measures.raw(Tags.SLICE_THICKNESS, "DS", trimmed(first.bytes(Tags.SLICE_THICKNESS)));
        }
        if (first.has(Tags.SPACING_BETWEEN_SLICES) && trimmed(first.bytes(Tags.SPACING_BETWEEN_SLICES)).length > 0) {
            measures.raw(Tags.SPACING_BETWEEN_SLICES, "DS", trimmed(first.bytes(Tags.SPACING_BETWEEN_SLICES)));
        }
        shared.sq(0x00289110, List.of(measures));
        d.sq(0x52009229, List.of(shared));
        List<DataSetEncoder> perFrame = new ArrayList<>();
        for (int[] f : frames) {
            SourceSlice src = sources.get(f[1]);
            DataSetEncoder it = d.item();
            DataSetEncoder sourceImage = d.item().str(0x00081150, "UI", src.sopClass()).str(0x00081155, "UI", src.sopInstance())
                    .code(0x0040A170, SOURCE_IMAGE_PURPOSE);
            it.sq(0x00089124, List.of(d.item().sq(0x00082112, List.of(sourceImage)).code(0x00089215, SEGMENTATION_DERIVATION)));
            it.sq(0x00209111, List.of(d.item().ul(0x00209157, f[0], f[1] + 1)));
            it.sq(0x00209113, List.of(d.item().raw(Tags.IMAGE_POSITION, "DS", src.position())));
            it.sq(0x0062000A, List.of(d.item().us(0x0062000B, f[0])));
            perFrame.add(it);
        }
        d.sq(0x52009230, perFrame);
        d.ob(Tags.PIXEL_DATA, pack(frames));

        byte[] dataset = d.encode();
        DataSetEncoder meta = new DataSetEncoder(StandardCharsets.US_ASCII);
        meta.ob(0x00020001, new byte[] {0, 1});
        meta.str(0x00020002, "UI", SEGMENTATION_STORAGE).str(0x00020003, "UI", sopInstance);
        meta.str(Tags.TRANSFER_SYNTAX, "UI", TransferSyntax.EXPLICIT_LE);
        meta.str(0x00020012, "UI", UidGenerator.IMPLEMENTATION_CLASS_UID).str(0x00020013, "SH", "SEGSAM");
        byte[] metaBytes = meta.encode();
        ByteArrayOutputStream out = new ByteArrayOutputStream(132 + 12 + metaBytes.length + dataset.length);
        out.writeBytes(new byte[128]);
        out.writeBytes("DICM".getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(new DataSetEncoder(StandardCharsets.US_ASCII).ul(0x00020000, metaBytes.length).encode());
        out.writeBytes(metaBytes);
        out.writeBytes(dataset);
        return out.toByteArray();
    }

    private static DataSetEncoder dimension(DataSetEncoder d, String org, int pointer, int group, String label) {
        return d.item().str(0x00209164, "UI", org).at(0x00209165, pointer).at(0x00209167, group).str(0x00209421, "LO", label);
    }

    /** The frames' bits, frame after frame with no padding between them, pixel 0 in bit 0; padded to an even length. */
    private byte[] pack(List<int[]> frames) {
        long bits = (long) frames.size() * rows * columns;
        long bytes = (bits + 7) / 8;
        bytes += bytes & 1;
        if (bytes > Integer.MAX_VALUE - 64) throw new IllegalStateException(frames.size() + " frames of " + rows + "x" + columns + " are too many for one DICOM-SEG");
        byte[] out = new byte[(int) bytes];
        long base = 0;
        int frame = rows * columns;
        for (int[] f : frames) {
            BitSet b = segments.get(f[0] - 1).slices.get(f[1]);
            if (b != null) {
                for (int i = b.nextSetBit(0); i >= 0; i = b.nextSetBit(i + 1)) {
                    long bit = base + i;
                    out[(int) (bit >>> 3)] |= (byte) (1 << (bit & 7));
                }
            }
            base += frame;
        }
        return out;
    }

    /** Copies a source attribute's value as is (type 2 attributes are written empty when the source lacks them). */
    private void copy(DataSetEncoder d, int tag, String vr) {
        byte[] v = first.bytes(tag);
        d.raw(tag, vr, v == null ? new byte[0] : v);
    }

    /** Value bytes without trailing padding (space or NUL), so they can be re-padded. */
    private static byte[] trimmed(byte[] v) {
        if (v == null) return new byte[0];
        int e = v.length;
        while (e > 0 && (v[e - 1] == ' ' || v[e - 1] == 0)) e--;
        int s = 0;
        while (s < e && v[s] == ' ') s++;
        return java.util.Arrays.copyOfRange(v, s, e);
    }

    private static boolean isAscii(String s) {
        if (s == null) return true;
        for (int i = 0; i < s.length(); i++) if (s.charAt(i) >= 0x80) return false;
        return true;
    }

    /** LO: at most 64 characters, no backslash or control characters. */
    private static String lo(String s) {
        String t = s == null ? "" : s.replace('\\', '/').replaceAll("\\p{Cntrl}", " ").strip();
        return t.length() > 64 ? t.substring(0, 64) : t;
    }

    /** ST: at most 1024 characters. */
    private static String st(String s) {
        String t = s.replaceAll("\\p{Cntrl}", " ").strip();
        return t.length() > 1024 ? t.substring(0, 1024) : t;
    }

    @Override
    public String toString() {
        return "DICOM-SEG over " + source + " (" + sources.size() + " slice(s), " + rows + "x" + columns + ")";
    }
}
