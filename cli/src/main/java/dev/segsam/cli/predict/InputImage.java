package dev.segsam.cli.predict;

import dev.segsam.io.image.ImageFiles;
import dev.segsam.io.medical.Axis;
import dev.segsam.io.medical.MedicalImages;
import dev.segsam.io.medical.Slice2D;
import dev.segsam.io.medical.Volume;
import dev.segsam.io.medical.intensity.IntensityMap;
import dev.segsam.io.medical.intensity.Windowing;
import dev.segsam.tensor.image.RgbImage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * What {@code segsam predict} accepts as {@code --image}: a PNG/JPEG/TIFF picture (8/16-bit, grey or RGB), or one slice
 * of a NIfTI volume, a DICOM file or a DICOM series folder, windowed to 8-bit grey ({@code --window}, default auto:
 * CT → the file's window or abdomen W400/L40, MR → 0.5–99.5 % percentiles) and shown in the radiological layout that
 * {@code segsam export-slice} writes — prompt coordinates refer to that picture.
 */
public record InputImage(RgbImage image, String description, Volume volume, Axis axis, int index, IntensityMap map) {

    /** True for files whose first bytes say PNG, JPEG or TIFF. */
    static boolean isPicture(Path p) throws IOException {
        if (Files.isDirectory(p)) return false;
        byte[] h;
        try (InputStream in = Files.newInputStream(p)) {
            h = in.readNBytes(4);
        }
        if (h.length < 4) return false;
        int a = h[0] & 0xFF, b = h[1] & 0xFF, c = h[2] & 0xFF, d = h[3] & 0xFF;
        return (a == 0x89 && b == 'P' && c == 'N' && d == 'G') || (a == 0xFF && b == 0xD8)
                || (a == 'I' && b == 'I' && c == 42 && d == 0) || (a == 'M' && b == 'M' && c == 0 && d == 42);
    }

    /** Loads {@code p}; for volumes the slice {@code index} along {@code axis} (null: the middle slice). */
    public static InputImage load(Path p, Axis axis, Integer index, Windowing window) throws IOException {
        if (!Files.exists(p)) throw new NoSuchFileException(p.toString());
        if (isPicture(p)) {
            var img = ImageFiles.read(p);
            return new InputImage(img.image(), img.describe(), null, null, -1, null);
        }
        Volume v = MedicalImages.read(p);
        return slice(v, axis == null ? Axis.Z : axis, index, window);
    }

    /** One slice of an already loaded volume. */
    public static InputImage slice(Volume v, Axis axis, Integer index, Windowing window) {
        int n = v.size(axis);
        int i = index == null ? n / 2 : index;
        if (i < 0 || i >= n) throw new IllegalArgumentException("slice index " + i + " is outside 0.." + (n - 1) + " along " + axis);
        IntensityMap map = (window == null ? Windowing.parse("auto") : window).resolve(v);
        Slice2D s = v.displaySlice(axis, i);
        return new InputImage(map.toRgb(s), v + ", slice " + axis + "=" + i, v, axis, i, map);
    }
}
