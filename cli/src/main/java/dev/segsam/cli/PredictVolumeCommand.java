package dev.segsam.cli;

import dev.segsam.io.IoLimits;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.segsam.cli.predict.BitmapFont;
import dev.segsam.cli.predict.Conventions;
import dev.segsam.cli.predict.DicomSegOutput;
import dev.segsam.cli.predict.InputImage;
import dev.segsam.cli.predict.Overlay;
import dev.segsam.cli.predict.Progress;
import dev.segsam.cli.predict.PromptParser;
import dev.segsam.io.AtomicFiles;
import dev.segsam.io.Checkpoint;
import dev.segsam.io.image.ImageFiles;
import dev.segsam.io.medical.Axis;
import dev.segsam.io.medical.MedicalImages;
import dev.segsam.io.medical.Volume;
import dev.segsam.io.medical.dicom.DicomSegWriter;
import dev.segsam.io.medical.intensity.Windowing;
import dev.segsam.io.medical.nifti.NiftiDataType;
import dev.segsam.io.medical.nifti.NiftiWriter;
import dev.segsam.model.Masks;
import dev.segsam.model.Predictor;
import dev.segsam.model.Prompt;
import dev.segsam.model.preprocess.Preprocessor.Convention;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.tensor.Backends;
import dev.segsam.tensor.Options;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.image.RgbImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code segsam predict-volume}: segment one object through a volume. The user prompts one slice; each neighbouring
 * slice is then prompted with the bounding box of the previous slice's mask (grown by {@code --margin} pixels), in both
 * directions, until the mask vanishes or the slice range ends. Writes a label-map NIfTI on the source grid (same affine),
 * a montage PNG and {@code volume.json}; for a DICOM source also {@code segmentation.dcm}, the label map as a DICOM-SEG
 * over the series (one segment, one frame per segmented source slice).
 */
@Command(name = "predict-volume", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Segment an object through a NIfTI/DICOM volume from a prompt on one slice.",
            "Prompt coordinates refer to the slice as 'segsam export-slice' shows it."})
final class PredictVolumeCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "FILE", description = "SAM/MedSAM/SEG-SAM weights (.safetensors or .pth)")
    Path model;

    @Option(names = "--volume", required = true, paramLabel = "FILE_OR_DIR", description = "NIfTI file, DICOM file or DICOM series folder")
    Path volume;

    @Option(names = "--axis", defaultValue = "z", paramLabel = "x|y|z", description = "slice axis (default ${DEFAULT-VALUE})")
    String axis;

    @Option(names = "--index", required = true, paramLabel = "N", description = "the slice the prompt is on")
    int index;

    @Option(names = "--box", paramLabel = "x0,y0,x1,y1", description = "a box prompt on that slice")
    String box;

    @Option(names = "--point", paramLabel = "x,y,label", description = "a point prompt on that slice (repeatable)")
    List<String> points = new ArrayList<>();

    @Option(names = "--range", paramLabel = "FIRST:LAST", description = "slices to consider (default: the whole axis)")
    String range;

    @Option(names = "--min-area", paramLabel = "N", defaultValue = "10", description = "a slice's mask below this many pixels counts as vanished (default ${DEFAULT-VALUE})")
    int minArea;

    @Option(names = "--margin", paramLabel = "N", defaultValue = "3", description = "pixels added around the previous mask's box (default ${DEFAULT-VALUE})")
    int margin;

    @Option(names = "--window", defaultValue = "auto", paramLabel = "PRESET|W,L", description = "intensity window (default ${DEFAULT-VALUE})")
    String window;

    @Option(names = "--convention", paramLabel = "sam|medsam", description = "preprocessing (default: the model's, else sam)")
    String convention;

    @Mixin
    ComputeOptions compute;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output folder (must be empty unless --force)")
    Path out;

    @Option(names = "--force", description = "replace a non-empty output folder (as a whole, once the new output is complete)")
    boolean force;

    @Option(names = "--quiet", description = "no progress")
    boolean quiet;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter o = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        Ranges.check(spec, "--min-area", minArea, 0, Integer.MAX_VALUE);
        Ranges.check(spec, "--margin", margin, 0, 65536);
        Axis ax = Axis.parse(axis);
        Windowing win = Windowing.parse(window);
        Prompt first = PromptParser.fromFlags(box, points, false);
        Options options = compute.options();
        try (OutputFolder folder = OutputFolder.prepare(out, force, "use --force to replace it", model, volume)) {
            run(folder, ax, win, first, options, o, err);
        }
        return 0;
    }

    private void run(OutputFolder folder, Axis ax, Windowing win, Prompt first, Options options, PrintWriter o, PrintWriter err) throws Exception {
        Volume vol = MedicalImages.read(volume);
        int n = vol.size(ax);
        int lo = 0, hi = n - 1;
        if (range != null) {
            String[] r = range.split(":");
            try {
                lo = Integer.parseInt(r[0].trim());
                hi = Integer.parseInt(r[1].trim());
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("--range " + range + ": expected FIRST:LAST slice indexes");
            }
            if (lo < 0 || hi >= n || lo > hi) throw new IllegalArgumentException("--range " + range + " is outside 0:" + (n - 1));
        }
        if (index < lo || index > hi) throw new IllegalArgumentException("--index " + index + " is outside the slice range " + lo + ":" + hi);
        InputImage start = InputImage.slice(vol, ax, index, win);
        PromptParser.requireInside(first, start.image().width(), start.image().height(), "prompt");

        try (Checkpoint weights = Checkpoint.open(model, IoLimits.fromSystemProperties())) {
            SegSam segsam = SegSam.load(weights, Backends.select(options));
            Predictor predictor = new Predictor(segsam, Conventions.choose(convention, segsam), options);
            int w = start.image().width(), h = start.image().height();
            TreeMap<Integer, boolean[]> masks = new TreeMap<>();
            TreeMap<Integer, RgbImage> images = new TreeMap<>();
            Progress bar = new Progress(err, "slices", hi - lo + 1, !quiet);
            int[] done = {0};
            boolean[] seed = segment(predictor, start.image(), first);
            masks.put(index, seed);
            images.put(index, start.image());
            bar.update(++done[0], "slices (upper bound)");
            int[] seedBox = Masks.bbox(seed, w, h);
            List<String> warnings = new ArrayList<>();
            for (int dir : new int[] {-1, 1}) {
                boolean[] prev = seed;
                boolean drifted = false;
                for (int z = index + dir; z >= lo && z <= hi && Masks.area(prev) >= minArea; z += dir) {
                    int[] bb = Masks.bbox(prev, w, h);
                    if (bb == null) break; // an empty mask (possible with --min-area 0) has no box to follow
                    Prompt next = Prompt.box(Math.max(0, bb[0] - margin), Math.max(0, bb[1] - margin), Math.min(w, bb[2] + margin), Math.min(h, bb[3] + margin));
                    RgbImage img = InputImage.slice(vol, ax, z, win).image();
                    prev = segment(predictor, img, next);
                    bar.update(++done[0], "slices (upper bound)");
                    if (Masks.area(prev) < minArea) break;
                    masks.put(z, prev);
                    images.put(z, img);
                    int[] now = Masks.bbox(prev, w, h);
                    if (!drifted && seedBox != null && now != null && (now[2] <= seedBox[0] || now[0] >= seedBox[2] || now[3] <= seedBox[1] || now[1] >= seedBox[3])) {
                        drifted = true; // once per direction
                        warnings.add("slice " + z + ": the propagated mask left the prompted region (its box no longer overlaps the prompt slice's mask); check the slices from here on, or limit them with --range");
                    }
                }
            }
            if (!quiet) err.println();
            String modelName = "segsam " + segsam.sam().config().name() + (segsam.hasSemantics() ? " SEG-SAM" : " SAM");
            write(folder.dir(), vol, ax, masks, images, w, h, first, warnings, modelName);
            folder.commit();
            long voxels = masks.values().stream().mapToLong(Masks::area).sum();
            o.printf(Locale.ROOT, "segmented slices %d..%d along %s (%d slices, %d voxels = %.1f ml)%n", masks.firstKey(), masks.lastKey(),
                    ax, masks.size(), voxels, voxels * vol.spacing()[0] * vol.spacing()[1] * vol.spacing()[2] / 1000.0);
            for (String x : warnings) o.println("warning: " + x);
            o.println("wrote " + out);
        }
    }

    private static boolean[] segment(Predictor p, RgbImage img, Prompt prompt) {
        try (Predictor.Encoded e = p.encode(img)) {
            return p.predict(e, prompt).mask();
        }
    }

    private void write(Path out, Volume vol, Axis ax, TreeMap<Integer, boolean[]> masks, TreeMap<Integer, RgbImage> images, int w, int h,
                       Prompt first, List<String> warnings, String modelName) throws IOException {
        // label map on the source grid: undo the display layout of each slice
        int nx = vol.nx(), ny = vol.ny(), nz = vol.nz();
        float[] labels = new float[nx * ny * nz];
        Volume.SliceLayout layout = vol.displayLayout(ax);
        int sw = layout.transpose() ? h : w, sh = layout.transpose() ? w : h; // voxel-order slice size
        for (var e : masks.entrySet()) {
            int k = e.getKey();
            boolean[] m = e.getValue();
            for (int y = 0; y < h; y++) {
                int sy = layout.flipY() ? h - 1 - y : y;
                for (int x = 0; x < w; x++) {
                    if (!m[y * w + x]) continue;
                    int sx = layout.flipX() ? w - 1 - x : x;
                    int u = layout.transpose() ? sy : sx, v = layout.transpose() ? sx : sy; // voxel-order slice (u, v)
                    if (u >= sw || v >= sh) continue;
                    int vx, vy, vz;
                    switch (ax) {
                        case Z -> { vx = u; vy = v; vz = k; }
                        case Y -> { vx = u; vy = k; vz = v; }
                        default -> { vx = k; vy = u; vz = v; }
                    }
                    labels[(vz * ny + vy) * nx + vx] = 1f;
                }
            }
        }
        try (Volume lab = vol.withData(Tensor.of(labels, nz, ny, nx), "uint8")) {
            NiftiWriter.write(out.resolve("labels.nii.gz"), lab, NiftiDataType.UINT8, true);
        }
        // a DICOM source also gets the label map as a DICOM-SEG over its series (docs/DATA.md, DICOM-SEG output)
        DicomSegWriter.Written seg = null;
        String segSkipped = null;
        if (DicomSegOutput.isDicom(vol)) {
            try {
                seg = DicomSegOutput.writeVolume(vol, labels, "prompt 0", "predict-volume: the mask propagated from slice "
                        + ax.name().toLowerCase(Locale.ROOT) + "=" + index, modelName, model, ax == Axis.Z ? index : 0, out);
            } catch (IOException | RuntimeException e) {
                segSkipped = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
                warnings.add("no " + DicomSegOutput.FILE + ": " + segSkipped);
            }
        }
        // montage: up to 16 slices spread over the segmented range, masks overlaid
        List<Integer> keys = new ArrayList<>(masks.keySet());
        int tiles = Math.min(16, keys.size()), cols = (int) Math.ceil(Math.sqrt(tiles)), rows = (tiles + cols - 1) / cols;
        RgbImage montage = RgbImage.black(cols * w, rows * h);
        for (int t = 0; t < tiles; t++) {
            int k = keys.get(tiles == 1 ? 0 : (int) Math.round((double) t * (keys.size() - 1) / (tiles - 1)));
            RgbImage tile = Overlay.render(images.get(k), List.of(masks.get(k)), k == index ? List.of(first) : List.of());
            int scale = Math.max(1, Math.min(3, w / 200 + 1));
            BitmapFont.draw(tile, ax.name().toLowerCase(Locale.ROOT) + "=" + k + (k == index ? " prompt" : ""), 2 * scale, 2 * scale, scale, new int[] {255, 255, 255});
            int ox = (t % cols) * w, oy = (t / cols) * h;
            for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) for (int c = 0; c < 3; c++) montage.set(ox + x, oy + y, c, tile.get(x, y, c));
        }
        ImageFiles.writePng(montage, out.resolve("montage.png"));
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = json.createObjectNode();
        root.put("volume", volume.toString());
        root.put("axis", ax.name().toLowerCase(Locale.ROOT));
        root.put("prompt_slice", index);
        root.put("first_slice", masks.firstKey());
        root.put("last_slice", masks.lastKey());
        ArrayNode per = root.putArray("slices");
        for (var e : masks.entrySet()) per.addObject().put("index", e.getKey()).put("area", Masks.area(e.getValue()));
        root.put("label_map", "labels.nii.gz");
        root.put("montage", "montage.png");
        if (seg != null) {
            root.putObject("dicom_seg").put("file", DicomSegOutput.FILE).put("sop_instance_uid", seg.sopInstanceUid())
                    .put("series_instance_uid", seg.seriesInstanceUid()).put("frames", seg.frames());
        } else if (segSkipped != null) {
            root.putObject("dicom_seg").putNull("file").put("skipped", segSkipped);
        }
        ArrayNode warn = root.putArray("warnings");
        warnings.forEach(warn::add);
        AtomicFiles.write(out.resolve("volume.json"), true, tmp -> json.writeValue(tmp.toFile(), root));
    }
}
