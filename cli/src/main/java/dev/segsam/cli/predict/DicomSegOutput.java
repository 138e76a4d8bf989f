package dev.segsam.cli.predict;

import dev.segsam.io.medical.Axis;
import dev.segsam.io.medical.Volume;
import dev.segsam.io.medical.dicom.DicomSegWriter;
import dev.segsam.io.medical.dicom.SegmentCodes;
import dev.segsam.model.Predictor;
import dev.segsam.model.Prompt;
import dev.segsam.model.segsam.SegSam;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code segmentation.dcm}: predict's masks as a DICOM Segmentation object over the DICOM file or series the slice came
 * from ({@link DicomSegWriter}). SEG-SAM models: one segment per class of the model's class list, segment k = class k
 * (the IDs of {@code labels.png}), holding the union of the binary masks M̂_b of the prompts predicted as that class
 * (segments may overlap, unlike the label map; a prompt predicted as no class is in no segment, as in the label map).
 * Plain SAM models: one segment per prompt, segment i + 1 labelled "prompt i". The masks are put back on the source
 * grid as the NIfTI outputs are ({@link SourceGrid}), so a slice along x or y gives one frame per source image it
 * crosses.
 */
public final class DicomSegOutput {
    public static final String FILE = "segmentation.dcm";

    private final DicomSegWriter writer;
    private final InputImage input;
    private final SegSam model;
    private final List<DicomSegWriter.Segment> classes = new ArrayList<>();

    private DicomSegOutput(DicomSegWriter writer, InputImage input, SegSam model) {
        this.writer = writer;
        this.input = input;
        this.model = model;
    }

    /** True when {@code v} was read from a DICOM file or series. */
    public static boolean isDicom(Volume v) {
        return v.format().startsWith("DICOM") && v.source().isPresent();
    }

    /**
     * {@code segmentation.dcm} of {@code segsam predict-volume}: one segment (generic codes) holding the voxels where
     * {@code labels} ({@code [nz][ny][nx]}, voxel order of {@code v}) is not 0, one frame per source slice it touches.
     */
    public static DicomSegWriter.Written writeVolume(Volume v, float[] labels, String label, String description, String modelName,
                                                     Path modelFile, int emptySlice, Path out) throws IOException {
        DicomSegWriter w = DicomSegWriter.of(v.source().orElseThrow());
        if (w.slices() != v.nz() || w.rows() != v.ny() || w.columns() != v.nx()) {
            throw new IOException("the DICOM source has " + w.slices() + "x" + w.rows() + "x" + w.columns() + " voxels, the volume read " + v.nz() + "x" + v.ny() + "x" + v.nx());
        }
        String version = DicomSegOutput.class.getPackage().getImplementationVersion();
        w.softwareVersion(version == null ? "0.1.0-SNAPSHOT" : version).modelName(modelName).seriesDescription("segsam predict-volume")
                .contentDescription("segsam predict-volume, model " + (modelFile == null ? "?" : modelFile.getFileName())).emptySlice(emptySlice);
        DicomSegWriter.Segment s = w.addSegment(label, SegmentCodes.generic()).description(description);
        int nx = v.nx(), ny = v.ny();
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] != 0) s.set(i / (nx * ny), i / nx % ny, i % nx);
        }
        return w.write(out.resolve(FILE));
    }

    /** True when {@code input} is a slice of a DICOM file or series. */
    static boolean applies(InputImage input) {
        return input != null && input.volume() != null && isDicom(input.volume());
    }

    /** Reads the source's headers; fails (with the reason) when no DICOM-SEG can be written over them. */
    static DicomSegOutput open(InputImage input, SegSam model, Path modelFile) throws IOException {
        Volume v = input.volume();
        DicomSegWriter w = DicomSegWriter.of(v.source().orElseThrow());
        if (w.slices() != v.nz() || w.rows() != v.ny() || w.columns() != v.nx()) {
            throw new IOException("the DICOM source has " + w.slices() + "x" + w.rows() + "x" + w.columns() + " voxels, the volume read " + v.nz() + "x" + v.ny() + "x" + v.nx());
        }
        String version = DicomSegOutput.class.getPackage().getImplementationVersion();
        w.softwareVersion(version == null ? "0.1.0-SNAPSHOT" : version)
                .modelName("segsam " + model.sam().config().name() + (model.hasSemantics() ? " SEG-SAM" : " SAM"))
                .seriesDescription("segsam " + (model.hasSemantics() ? "SEG-SAM classes" : "SAM prompts"))
                .contentDescription("segsam predict, model " + (modelFile == null ? "?" : modelFile.getFileName()) + ", slice "
                        + input.axis().name().toLowerCase(Locale.ROOT) + "=" + input.index());
        if (input.axis() == Axis.Z) w.emptySlice(input.index());
        DicomSegOutput out = new DicomSegOutput(w, input, model);
        if (model.hasSemantics()) {
            for (String name : model.config().classNames()) {
                out.classes.add(w.addSegment(name, SegmentCodes.forName(name)).description("SEG-SAM class " + name));
            }
        }
        return out;
    }

    /** Adds prompt {@code i}'s mask: to its predicted class's segment (SEG-SAM) or as its own segment (plain SAM). */
    void add(int i, Prompt p, Predictor.Result r) {
        DicomSegWriter.Segment s;
        if (model.hasSemantics()) {
            int k = r.semantic() == null ? 0 : r.semantic().predictedClass();
            if (k <= 0) return;
            s = classes.get(k - 1);
        } else {
            s = writer.addSegment("prompt " + i, SegmentCodes.generic()).description(describe(i, p));
        }
        boolean[] m = r.mask();
        int w = input.image().width(), h = input.image().height();
        SourceGrid.forEachVoxel(input.volume(), input.axis(), input.index(), w, h, (j, vx, vy, vz) -> {
            if (m[j]) s.set(vz, vy, vx);
        });
    }

    private static String describe(int i, Prompt p) {
        StringBuilder sb = new StringBuilder("SAM mask of prompt " + i + " (mask_" + i + ".png)");
        if (p.hasBox()) {
            float[] b = p.box();
            sb.append(String.format(Locale.ROOT, ", box %.0f,%.0f,%.0f,%.0f", b[0], b[1], b[2], b[3]));
        }
        if (p.pointCount() > 0) sb.append(", ").append(p.pointCount()).append(" point(s)");
        return sb.toString();
    }

    /** Writes {@code segmentation.dcm} into {@code out}. */
    DicomSegWriter.Written write(Path out) throws IOException {
        return writer.write(out.resolve(FILE));
    }

    List<DicomSegWriter.Segment> segments() {
        return writer.segments();
    }
}
