package dev.segsam.cli.serve;

import dev.segsam.io.medical.Axis;
import dev.segsam.io.medical.Volume;
import dev.segsam.io.medical.intensity.CtWindow;
import dev.segsam.io.medical.intensity.IntensityMap;
import dev.segsam.io.medical.intensity.Windowing;
import dev.segsam.tensor.image.RgbImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One uploaded image: a picture, or a volume (NIfTI, DICOM file or series) whose slices are shown as {@code segsam
 * predict} shows them — the radiological layout of {@code export-slice}, windowed to 8-bit grey by a {@code --window}
 * value. A {@link View} picks the 2-D image that prompts refer to.
 */
final class ImageSession implements AutoCloseable {
    final String id, name;
    final Path folder;
    private final RgbImage picture;
    private final Volume volume;
    private final String description;
    private final Map<String, IntensityMap> maps = new ConcurrentHashMap<>();

    ImageSession(String id, String name, Path folder, RgbImage picture, Volume volume, String description) {
        this.id = id;
        this.name = name;
        this.folder = folder;
        this.picture = picture;
        this.volume = volume;
        this.description = description;
    }

    /** Memory the image holds: a volume's values (4 bytes each), a picture's RGB bytes. */
    long bytes() {
        return volume != null ? 4L * volume.nx() * volume.ny() * volume.nz() : 3L * picture.width() * picture.height();
    }

    boolean isVolume() {
        return volume != null;
    }

    /** The slice of a volume (or the picture) shown for prompts: axis, index, window (as {@code --window} takes it). */
    record View(Axis axis, int index, String window) {
        String key() {
            return axis == null ? "picture" : axis.name().toLowerCase(Locale.ROOT) + "/" + index + "/" + window;
        }
    }

    /** The window values offered for volumes: predict's presets, {@code mr}, {@code dicom} where stored, {@code auto}. */
    List<String> windows() {
        List<String> w = new ArrayList<>(List.of("auto"));
        for (String p : CtWindow.presetNames().split(", ")) w.add(p);
        w.add("mr");
        if (volume != null && volume.extras().containsKey(Volume.WINDOW_CENTER) && volume.extras().containsKey(Volume.WINDOW_WIDTH)) w.add("dicom");
        return w;
    }

    /** The view named by the query parameters (missing ones: z, the middle slice, auto); 400 for bad values. */
    View view(String axis, String index, String window) {
        if (volume == null) return new View(null, -1, "");
        Axis a;
        try {
            a = axis == null || axis.isEmpty() ? Axis.Z : Axis.parse(axis);
        } catch (IllegalArgumentException e) {
            throw new ApiException(400, e.getMessage());
        }
        int n = volume.size(a), i;
        try {
            i = index == null || index.isEmpty() ? n / 2 : Integer.parseInt(index.strip());
        } catch (NumberFormatException e) {
            throw new ApiException(400, "slice index '" + index + "' is not an integer");
        }
        if (i < 0 || i >= n) throw new ApiException(400, "slice index " + i + " is outside 0.." + (n - 1) + " along " + a.name().toLowerCase(Locale.ROOT));
        String w = window == null || window.isBlank() ? "auto" : window.strip().toLowerCase(Locale.ROOT);
        try {
            Windowing.parse(w);
        } catch (IllegalArgumentException e) {
            throw new ApiException(400, e.getMessage());
        }
        return new View(a, i, w);
    }

    /** The 2-D image of {@code v} (8-bit RGB, what the model sees). */
    RgbImage render(View v) {
        if (volume == null) return picture;
        IntensityMap map = maps.computeIfAbsent(v.window(), w -> {
            try {
                return Windowing.parse(w).resolve(volume);
            } catch (IllegalArgumentException e) {
                throw new ApiException(400, e.getMessage());
            }
        });
        return map.toRgb(volume.displaySlice(v.axis(), v.index()));
    }

    /** The view as {@code segsam predict} describes its input (the volume, slice and window; null for a picture). */
    dev.segsam.cli.predict.InputImage input(View v, RgbImage shown) {
        if (volume == null) return null;
        render(v); // makes sure the window's map is known
        return new dev.segsam.cli.predict.InputImage(shown, description + ", slice " + v.key(), volume, v.axis(), v.index(), maps.get(v.window()));
    }

    /** What {@code GET /api/images/{id}} answers. */
    Map<String, Object> info() {
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("id", id);
        m.put("name", name);
        m.put("kind", volume == null ? "picture" : "volume");
        m.put("description", description);
        if (volume == null) {
            m.put("width", picture.width());
            m.put("height", picture.height());
        } else {
            m.put("dims", Map.of("x", volume.nx(), "y", volume.ny(), "z", volume.nz()));
            m.put("axes", List.of("x", "y", "z"));
            m.put("windows", windows());
            View d = view(null, null, null);
            m.put("default", Map.of("axis", "z", "index", d.index(), "window", d.window()));
        }
        return m;
    }

    @Override
    public void close() {
        if (volume != null) volume.close();
        Uploads.deleteTree(folder);
    }
}
