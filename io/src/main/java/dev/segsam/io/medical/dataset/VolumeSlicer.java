package dev.segsam.io.medical.dataset;

import dev.segsam.io.medical.Axis;
import dev.segsam.io.medical.MedicalFormatException;
import dev.segsam.io.medical.Slice2D;
import dev.segsam.io.medical.Volume;
import dev.segsam.io.medical.intensity.IntensityMap;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * Cuts a labelled volume (an image and its label map on the same grid) into 2-D {@link Sample}s: one per slice along an
 * axis that shows at least one class, with one {@link InstanceMask} per class covering at least {@code minPixels}
 * pixels of the slice. Images are mapped to 8-bit grey by the given {@link IntensityMap} (a CT window or MR
 * normalisation, as {@code segsam predict} resolves it) and laid out like {@link Volume#displaySlice} (the radiological
 * display that {@code predict} and {@code export-slice} show), masks identically.
 */
public final class VolumeSlicer {
    private VolumeSlicer() {}

    /**
     * The default slicing axis of {@code v}: the voxel axis with the coarsest spacing (the acquisition axis, across
     * which neighbouring slices differ most, as nnU-Net's 2-D configuration slices), or — for (nearly, within 5 %)
     * isotropic voxels — the voxel axis closest to the patient's head–foot direction (axial slices).
     */
    public static Axis defaultAxis(Volume v) {
        double[] s = v.spacing();
        int coarse = 0;
        for (int a = 1; a < 3; a++) if (s[a] > s[coarse]) coarse = a;
        double min = Math.min(s[0], Math.min(s[1], s[2]));
        if (s[coarse] > 1.05 * min) return Axis.values()[coarse];
        double[][] m = v.affine();
        int axial = 2;
        double best = -1;
        for (int a = 0; a < 3; a++) {
            double norm = Math.sqrt(m[0][a] * m[0][a] + m[1][a] * m[1][a] + m[2][a] * m[2][a]);
            double z = norm == 0 ? 0 : Math.abs(m[2][a]) / norm;
            if (z > best + 1e-9) {
                best = z;
                axial = a;
            }
        }
        return Axis.values()[axial];
    }

    /**
     * Checks that {@code labels} is on {@code image}'s grid: the same dimensions and the same voxel-to-world affine
     * (each entry within 1e-3 + 1e-3·|value|).
     *
     * @throws MedicalFormatException naming {@code labelFile}
     */
    public static void requireSameGrid(Volume image, Path imageFile, Volume labels, Path labelFile) throws MedicalFormatException {
        if (!Arrays.equals(image.dims(), labels.dims())) {
            throw new MedicalFormatException(labelFile, "grid", "label volume " + shape(labels.dims()) + " differs from the image's "
                    + shape(image.dims()) + " (" + name(imageFile) + ")");
        }
        double[][] a = image.affine(), b = labels.affine();
        for (int r = 0; r < 3; r++) {
            for (int c = 0; c < 4; c++) {
                if (Math.abs(a[r][c] - b[r][c]) > 1e-3 + 1e-3 * Math.abs(a[r][c])) {
                    throw new MedicalFormatException(labelFile, "grid", "label volume's voxel-to-world affine differs from the image's ("
                            + name(imageFile) + "): row " + r + " column " + c + " is " + fmt(b[r][c]) + ", the image's " + fmt(a[r][c]));
                }
            }
        }
    }

    /**
     * The distinct values of a label volume, all of which must be whole numbers that are 0 or keys of {@code names}.
     *
     * @throws MedicalFormatException naming {@code labelFile} and the values that are not in the map
     */
    public static TreeSet<Integer> requireKnownLabels(Volume labels, Path labelFile, Map<Integer, String> names) throws MedicalFormatException {
        TreeSet<Integer> seen = new TreeSet<>();
        float[] buf = new float[1 << 16];
        long n = labels.data().numel();
        for (long at = 0; at < n; at += buf.length) {
            int len = (int) Math.min(buf.length, n - at);
            labels.data().read(at, buf, 0, len);
            for (int i = 0; i < len; i++) {
                float v = buf[i];
                if (v != Math.rint(v) || Float.isNaN(v)) {
                    throw new MedicalFormatException(labelFile, "values", "label value " + v + " is not a whole number (a label map holds class numbers)");
                }
                seen.add((int) v);
            }
        }
        List<Integer> unknown = new ArrayList<>();
        for (int v : seen) if (v != 0 && !names.containsKey(v)) unknown.add(v);
        if (!unknown.isEmpty()) {
            throw new MedicalFormatException(labelFile, "values", "label value" + (unknown.size() > 1 ? "s " : " ") + join(unknown)
                    + " not in the data set's label map (" + names + ")");
        }
        return seen;
    }

    /**
     * The samples of one case, in slice order: every slice along {@code axis} where some class of {@code names}
     * covers at least {@code minPixels} pixels. Ids are {@code CASE_AXIS###} (e.g. {@code liver_003_z041}); meta holds
     * {@code case}, {@code axis} and {@code index}. The volumes must share a grid ({@link #requireSameGrid}).
     *
     * @param names label value → class name (the classes to cut masks for; other values count as background)
     */
    public static List<Sample> slices(String caseId, Volume image, Volume labels, Map<Integer, String> names, Axis axis,
                                      IntensityMap map, int minPixels) {
        if (minPixels < 1) throw new IllegalArgumentException("minPixels must be at least 1");
        if (!Arrays.equals(image.dims(), labels.dims())) throw new IllegalArgumentException("image and labels are on different grids");
        int maxLabel = 0;
        for (int v : names.keySet()) maxLabel = Math.max(maxLabel, v);
        String[] nameOf = new String[maxLabel + 1];
        names.forEach((v, nm) -> {
            if (v > 0) nameOf[v] = nm;
        });
        Volume.SliceLayout layout = image.displayLayout(axis);
        String ax = axis.name().toLowerCase(Locale.ROOT);
        List<Sample> out = new ArrayList<>();
        int n = image.size(axis);
        for (int k = 0; k < n; k++) {
            Slice2D lab = layout.apply(labels.slice(axis, k));
            float[] lv = lab.values();
            int[] area = new int[maxLabel + 1];
            boolean any = false;
            for (float v : lv) {
                int c = (int) v;
                if (c > 0 && c <= maxLabel && nameOf[c] != null) {
                    area[c]++;
                    any = true;
                }
            }
            if (!any) continue;
            List<InstanceMask> masks = new ArrayList<>();
            for (int c = 1; c <= maxLabel; c++) {
                if (nameOf[c] == null || area[c] < minPixels) continue;
                byte[] m = new byte[lv.length];
                for (int i = 0; i < lv.length; i++) if ((int) lv[i] == c) m[i] = 1;
                masks.add(new InstanceMask(c, nameOf[c], 1, lab.width(), lab.height(), m));
            }
            if (masks.isEmpty()) continue;
            Slice2D img = layout.apply(image.slice(axis, k));
            String id = String.format(Locale.ROOT, "%s_%s%03d", caseId, ax, k);
            out.add(new Sample(id, map.toRgb(img), masks, Map.of("case", caseId, "axis", ax, "index", Integer.toString(k))));
        }
        return out;
    }

    private static String shape(int[] d) {
        return d[0] + "x" + d[1] + "x" + d[2];
    }

    private static String name(Path p) {
        return p == null ? "?" : p.getFileName() == null ? p.toString() : p.getFileName().toString();
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.4g", v);
    }

    private static String join(List<Integer> v) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(v.size(), 10); i++) sb.append(i > 0 ? ", " : "").append(v.get(i));
        if (v.size() > 10) sb.append(", ... (").append(v.size()).append(" values)");
        return sb.toString();
    }
}
