package dev.segsam.io.medical.dataset;

import dev.segsam.io.medical.Axis;
import dev.segsam.io.medical.MedicalFormatException;
import dev.segsam.io.medical.Slice2D;
import dev.segsam.io.medical.Volume;
import dev.segsam.io.medical.intensity.IntensityMap;
import dev.segsam.io.medical.intensity.MrNormalization;
import dev.segsam.io.medical.nifti.NiftiReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A 2-D labelled data set from the Colin27 T1 MRI ({@code ch2.nii.gz}) and the AAL atlas ({@code aal.nii.gz}, names
 * in {@code aal.nii.txt}) of Debian's {@code mricron-data} (fetched by {@code scripts/fetch-data.sh}; see
 * {@code docs/DATA.md}). Both volumes share one 181×217×181 1 mm grid.
 *
 * <p>Per slice along the chosen voxel axis: the T1 slice (MedSAM MR normalisation over the whole volume, 0.5–99.5 %
 * of the positive voxels) as the image, and one instance mask per selected AAL structure that covers at least
 * {@code minPixels} pixels of the slice. Slices without any such structure are left out. Image and masks use
 * {@link Volume#displaySlice} (radiological layout: anterior/superior up, patient left on the right).
 *
 * <p>Default structures ({@link #DEFAULT_CLASSES}): 16 regions large and compact enough for box prompts whose axial
 * extents together cover the brain from the lower cerebellum (z 10) to the vertex (z 155), so that nearly every
 * axial slice through the brain is usable — Hippocampus L/R (37, 38), Caudate L/R (71, 72), Putamen L/R (73, 74),
 * Thalamus L/R (77, 78), Cerebelum_Crus1 L/R (91, 92), Supp_Motor_Area L/R (19, 20), Precuneus L/R (67, 68),
 * Cerebelum_8 L/R (103, 104). A structure's cross-section counts when it covers at least 60 pixels (about 8×8 mm).
 *
 * <p>Split: the kept slices are cut into contiguous blocks of {@code blockSize} slice positions (counted from the
 * first kept slice); block b goes to {@code train} if b mod 7 &lt; 5, {@code val} if b mod 7 = 5, {@code test} if
 * b mod 7 = 6 (≈ 71/14/14 %). The first {@code gap} slices of a block whose split differs from the previous block's
 * are dropped, so neighbouring (nearly identical) slices never straddle two splits. Deterministic; no slice is in two
 * splits. {@code blockSize = 0} (the default) picks round(span / 21) clamped to 2..10, span = last − first kept
 * slice + 1, so that even a small structure spans three cycles of the pattern and gets val and test slices.
 */
public final class Colin27Aal {
    public static final int[] DEFAULT_CLASSES = {37, 38, 71, 72, 73, 74, 77, 78, 91, 92, 19, 20, 67, 68, 103, 104};
    /** The default smallest cross-section (pixels) of a structure that makes a mask. */
    public static final int DEFAULT_MIN_PIXELS = 60;
    private static final String[] PATTERN = {"train", "train", "train", "train", "train", "val", "test"};

    /** Options; {@link #defaults()} = axis z, default classes, ≥ {@value #DEFAULT_MIN_PIXELS} pixels, automatic block size, gap 1. */
    public record Options(Axis axis, int[] classIds, int minPixels, int blockSize, int gap) {
        public Options {
            if (classIds.length == 0) throw new IllegalArgumentException("no classes selected");
            if (minPixels < 1 || blockSize < 0 || gap < 0 || gap >= Math.max(blockSize, 2)) {
                throw new IllegalArgumentException("minPixels ≥ 1, blockSize ≥ 0 (0 = automatic) and 0 ≤ gap < blockSize (< 2 when automatic)");
            }
        }

        public static Options defaults() {
            return new Options(Axis.Z, DEFAULT_CLASSES, DEFAULT_MIN_PIXELS, 0, 1);
        }

        public Options withAxis(Axis a) {
            return new Options(a, classIds, minPixels, blockSize, gap);
        }

        public Options withClasses(int[] ids) {
            return new Options(axis, ids, minPixels, blockSize, gap);
        }
    }

    /** A sample and its split. */
    public record SplitSample(Sample sample, String split, int sliceIndex) {}

    private Colin27Aal() {}

    /** Reads {@code aal.nii.txt}: lines {@code index name code}; returns index → name in file order. */
    public static Map<Integer, String> readLabelNames(Path txt) throws IOException {
        Map<Integer, String> names = new LinkedHashMap<>();
        int line = 0;
        for (String l : Files.readAllLines(txt, StandardCharsets.ISO_8859_1)) {
            line++;
            String s = l.strip();
            if (s.isEmpty()) continue;
            String[] parts = s.split("\\s+");
            try {
                if (parts.length < 2) throw new NumberFormatException();
                names.put(Integer.parseInt(parts[0]), parts[1]);
            } catch (NumberFormatException e) {
                throw new MedicalFormatException(txt, "line " + line, "expected \"index name [code]\", got \"" + s + "\"");
            }
        }
        if (names.isEmpty()) throw new MedicalFormatException(txt, "labels", "no labels in the file");
        return names;
    }

    /** Resolves {@code --classes} items (numeric ids or AAL names, any case) to ids. */
    public static int[] resolveClasses(List<String> items, Map<Integer, String> names) {
        int[] ids = new int[items.size()];
        for (int i = 0; i < ids.length; i++) {
            String it = items.get(i).strip();
            Integer id = null;
            try {
                id = Integer.parseInt(it);
            } catch (NumberFormatException e) {
                for (Map.Entry<Integer, String> n : names.entrySet()) if (n.getValue().equalsIgnoreCase(it)) id = n.getKey();
            }
            if (id == null || !names.containsKey(id)) throw new IllegalArgumentException("unknown AAL structure '" + it + "' (use an index 1-116 or a name from aal.nii.txt, e.g. Thalamus_L)");
            ids[i] = id;
        }
        return ids;
    }

    /** Reads the three files, checks that image and atlas share a grid, and builds the samples. */
    public static List<SplitSample> samples(Path ch2, Path aal, Path aalTxt, Options o) throws IOException {
        Map<Integer, String> names = readLabelNames(aalTxt);
        try (Volume image = NiftiReader.read(ch2); Volume labels = NiftiReader.read(aal)) {
            if (!Arrays.equals(image.dims(), labels.dims())) {
                throw new MedicalFormatException(aal, "dim", "atlas grid " + Arrays.toString(labels.dims()) + " differs from the image's " + Arrays.toString(image.dims()));
            }
            double[][] a = image.affine(), b = labels.affine();
            for (int r = 0; r < 4; r++) for (int c = 0; c < 4; c++) {
                if (Math.abs(a[r][c] - b[r][c]) > 1e-3) throw new MedicalFormatException(aal, "srow", "atlas affine differs from the image's (not on one grid)");
            }
            return samples(image, labels, names, o);
        }
    }

    /** Builds the samples from an image volume and a label volume on the same grid. */
    public static List<SplitSample> samples(Volume image, Volume labels, Map<Integer, String> names, Options o) {
        for (int id : o.classIds()) if (!names.containsKey(id)) throw new IllegalArgumentException("class " + id + " is not in the label names");
        IntensityMap map = MrNormalization.of(image);
        Axis axis = o.axis();
        int n = image.size(axis);
        List<List<InstanceMask>> perSlice = new ArrayList<>();
        int first = -1;
        for (int k = 0; k < n; k++) {
            Slice2D lab = labels.displaySlice(axis, k);
            List<InstanceMask> masks = new ArrayList<>();
            for (int id : o.classIds()) {
                byte[] m = new byte[lab.values().length];
                int area = 0;
                for (int i = 0; i < m.length; i++) {
                    if (lab.values()[i] == id) {
                        m[i] = 1;
                        area++;
                    }
                }
                if (area >= o.minPixels()) masks.add(new InstanceMask(id, names.get(id), 1, lab.width(), lab.height(), m));
            }
            perSlice.add(masks);
            if (!masks.isEmpty() && first < 0) first = k;
        }
        List<SplitSample> out = new ArrayList<>();
        if (first < 0) return out;
        int last = first;
        for (int k = first; k < n; k++) if (!perSlice.get(k).isEmpty()) last = k;
        int blockSize = o.blockSize() > 0 ? o.blockSize() : autoBlock(last - first + 1);
        String axisName = axis.name().toLowerCase(java.util.Locale.ROOT);
        for (int k = first; k < n; k++) {
            if (perSlice.get(k).isEmpty()) continue;
            int block = (k - first) / blockSize;
            String split = PATTERN[block % PATTERN.length];
            boolean boundary = block > 0 && !PATTERN[(block - 1) % PATTERN.length].equals(split);
            if (boundary && (k - first) % blockSize < o.gap()) continue;
            Slice2D img = image.displaySlice(axis, k);
            String id = String.format("colin27_%s%03d", axisName, k);
            Sample s = new Sample(id, map.toRgb(img), perSlice.get(k), Map.of("axis", axisName, "index", Integer.toString(k), "source", "mricron-data ch2.nii.gz + aal.nii.gz"));
            out.add(new SplitSample(s, split, k));
        }
        return out;
    }

    /** The automatic block size for {@code span} slice positions: round(span / 21) clamped to 2..10. */
    public static int autoBlock(int span) {
        return Math.max(2, Math.min(10, (int) Math.round(span / 21.0)));
    }

    /** Builds the data set and writes it to {@code out} ({@link DatasetWriter} layout); returns the split counts. */
    public static Map<String, Integer> write(Path ch2, Path aal, Path aalTxt, Options o, Path out, boolean force) throws IOException {
        Map<Integer, String> names = readLabelNames(aalTxt);
        List<ClassInfo> classes = new ArrayList<>();
        for (int id : o.classIds()) {
            if (!names.containsKey(id)) throw new IllegalArgumentException("class " + id + " is not in " + aalTxt.getFileName());
            classes.add(new ClassInfo(id, names.get(id)));
        }
        DatasetWriter w = new DatasetWriter(out, "colin27-aal", classes, force); // refuses a non-empty folder before the work
        List<SplitSample> samples = samples(ch2, aal, aalTxt, o);
        if (samples.isEmpty()) throw new IllegalArgumentException("no slice along " + o.axis() + " contains the selected structures");
        w.info("source", "Debian mricron-data 1.2.20211006+dfsg-4: ch2.nii.gz (Colin27 T1), aal.nii.gz + aal.nii.txt (AAL)")
                .info("axis", o.axis().name().toLowerCase(java.util.Locale.ROOT))
                .info("normalisation", "MedSAM MR: clip to the 0.5-99.5 percentiles of the positive voxels of the volume, scale to 0-255, zeros kept")
                .info("orientation", "radiological display (Volume.displaySlice)")
                .info("split_rule", "blocks of " + (o.blockSize() > 0 ? o.blockSize() + " slices" : "round(span/21) in 2..10 slices")
                        + " from the first labelled slice: block%7<5 train, =5 val, =6 test; first "
                        + o.gap() + " slice(s) of a block after a split change dropped");
        for (SplitSample s : samples) w.add(s.sample(), s.split());
        return w.finish();
    }
}
