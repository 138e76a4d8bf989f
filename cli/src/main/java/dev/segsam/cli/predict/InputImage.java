package dev.segsam.cli.predict;

import dev.segsam.io.InputFormat;
import dev.segsam.io.IoLimits;
import dev.segsam.io.image.ImageFiles;
import dev.segsam.io.medical.Axis;
import dev.segsam.io.medical.MedicalImages;
import dev.segsam.io.medical.Slice2D;
import dev.segsam.io.medical.Volume;
import dev.segsam.io.medical.intensity.IntensityMap;
import dev.segsam.io.medical.intensity.Windowing;
import dev.segsam.tensor.image.RgbImage;
import java.io.IOException;
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

    /**
     * True for files the image reader takes: PNG/JPEG/TIFF/GIF/BMP by content, or by extension when the content is no
     * known format (so an empty {@code .png} gets an image error). A DICOM file is never a picture, even when its
     * preamble holds a TIFF header ({@link InputFormat#detect}).
     */
    static boolean isPicture(Path p) throws IOException {
        return InputFormat.detect(p) == InputFormat.PICTURE;
    }

    /** Loads {@code p}; for volumes the slice {@code index} along {@code axis} (null: the middle slice). */
    public static InputImage load(Path p, Axis axis, Integer index, Windowing window) throws IOException {
        if (!Files.exists(p)) throw new NoSuchFileException(p.toString());
        if (isPicture(p)) {
            var img = ImageFiles.read(p, IoLimits.fromSystemProperties());
            return new InputImage(img.image(), img.describe(), null, null, -1, null);
        }
        Volume v = MedicalImages.read(p, 0, IoLimits.fromSystemProperties());
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
