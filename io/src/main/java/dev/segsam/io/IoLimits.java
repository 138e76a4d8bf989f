package dev.segsam.io;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.function.Function;

/**
 * How much a file may make segsam's readers spend before they refuse it: every size that a file <em>declares</em>
 * (pixels in an image header, voxels in a NIfTI header, what a pickle builds, how far a tensor view stretches its
 * storage) is checked against one of these limits before memory is spent on it, and a file over a limit fails with a
 * one-line format error that names the limit and the property that raises it. Sizes a file cannot lie about (bytes
 * that are really in it) are not limited.
 *
 * <p>One immutable value, passed to the readers that take it ({@code ImageFiles.read(path, limits)},
 * {@code PthFile.open(path, key, limits)}, {@code MedicalImages.read(path, volume, limits)}); the overloads without it
 * use {@link #defaults()}. Nothing in the library reads system properties: a program that wants the documented
 * {@code -Dsegsam.io.*} properties maps them once, at its edge, with {@link #fromSystemProperties()}.
 * {@link #PROPERTIES} lists each property with its meaning and default.
 *
 * @param maxImagePixels      most pixels (width × height) of a PNG/JPEG/TIFF/BMP/GIF image, checked from its header
 *                            before decoding. Default 2^26 = 67,108,864 (8192 × 8192): SAM shrinks every image to
 *                            1024 on its long side, so more pixels add nothing but memory (decoding costs about 25
 *                            bytes per pixel, 1.6 GiB at the limit)
 * @param maxVolumeVoxels     most voxels of one 3-D NIfTI volume or DICOM image/series (default 2^30: 4 GiB as float32)
 * @param maxInflatedBytes    most bytes one compressed part may inflate to: a deflated DICOM data set, a deflated
 *                            record of a {@code .pth} zip (default 1 GiB)
 * @param maxPickleBytes      most bytes of a {@code .pth}'s {@code data.pkl}: a pickle describes tensors, it does not
 *                            hold them; SAM ViT-H's is 40 KB (default 64 MiB)
 * @param maxPickleMemo       most entries of the unpickler's memo (default 1,000,000; SAM ViT-H's pickle uses ~3,000)
 * @param maxPickleMemory     most memory, estimated, that the objects built by the unpickler may take: strings and
 *                            bytes by their length, every container, item, stack slot and memo entry at a fixed cost
 *                            (default 256 MiB)
 * @param maxPickleNesting    most MARKs open at once in a pickle, i.e. how deeply MARK-built tuples, lists and dicts
 *                            nest (default 1,000; torch.save nests 3 deep)
 * @param maxZipEntries       most records in a {@code .pth} zip, read from the zip's end record before the directory
 *                            is loaded (default 100,000)
 * @param maxViewExpansion    most elements a tensor view may have per element of its storage: PyTorch views with
 *                            stride 0 ({@code expand}) repeat elements, so a one-element storage can claim any size
 *                            (default 16)
 * @param maxExpandedBytes    most bytes, added up over a file, that views may claim beyond their storages' sizes: the
 *                            memory that {@link #maxViewExpansion} lets a file ask for without holding it (default
 *                            256 MiB)
 */
public record IoLimits(long maxImagePixels, long maxVolumeVoxels, long maxInflatedBytes, long maxPickleBytes,
                       long maxPickleMemo, long maxPickleMemory, int maxPickleNesting, long maxZipEntries,
                       long maxViewExpansion, long maxExpandedBytes) {

    public IoLimits {
        positive("maxImagePixels", maxImagePixels);
        positive("maxVolumeVoxels", maxVolumeVoxels);
        positive("maxInflatedBytes", maxInflatedBytes);
        positive("maxPickleBytes", maxPickleBytes);
        if (maxPickleBytes > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("maxPickleBytes must be below 2 GiB (a pickle is read into one array), got " + maxPickleBytes);
        }
        positive("maxPickleMemo", maxPickleMemo);
        positive("maxPickleMemory", maxPickleMemory);
        positive("maxPickleNesting", maxPickleNesting);
        positive("maxZipEntries", maxZipEntries);
        positive("maxViewExpansion", maxViewExpansion);
        if (maxExpandedBytes < 0) throw new IllegalArgumentException("maxExpandedBytes must be ≥ 0, got " + maxExpandedBytes);
    }

    private static void positive(String name, long v) {
        if (v < 1) throw new IllegalArgumentException(name + " must be at least 1, got " + v);
    }

    /** The defaults described on each component. */
    public static IoLimits defaults() {
        return new IoLimits(1L << 26, 1L << 30, 1L << 30, 64L << 20, 1_000_000, 256L << 20, 1000, 100_000, 16, 256L << 20);
    }

    public IoLimits withMaxImagePixels(long v) {
        return new IoLimits(v, maxVolumeVoxels, maxInflatedBytes, maxPickleBytes, maxPickleMemo, maxPickleMemory, maxPickleNesting, maxZipEntries, maxViewExpansion, maxExpandedBytes);
    }

    public IoLimits withMaxVolumeVoxels(long v) {
        return new IoLimits(maxImagePixels, v, maxInflatedBytes, maxPickleBytes, maxPickleMemo, maxPickleMemory, maxPickleNesting, maxZipEntries, maxViewExpansion, maxExpandedBytes);
    }

    public IoLimits withMaxInflatedBytes(long v) {
        return new IoLimits(maxImagePixels, maxVolumeVoxels, v, maxPickleBytes, maxPickleMemo, maxPickleMemory, maxPickleNesting, maxZipEntries, maxViewExpansion, maxExpandedBytes);
    }

    public IoLimits withMaxPickleBytes(long v) {
        return new IoLimits(maxImagePixels, maxVolumeVoxels, maxInflatedBytes, v, maxPickleMemo, maxPickleMemory, maxPickleNesting, maxZipEntries, maxViewExpansion, maxExpandedBytes);
    }

    public IoLimits withMaxPickleMemo(long v) {
        return new IoLimits(maxImagePixels, maxVolumeVoxels, maxInflatedBytes, maxPickleBytes, v, maxPickleMemory, maxPickleNesting, maxZipEntries, maxViewExpansion, maxExpandedBytes);
    }

    public IoLimits withMaxPickleMemory(long v) {
        return new IoLimits(maxImagePixels, maxVolumeVoxels, maxInflatedBytes, maxPickleBytes, maxPickleMemo, v, maxPickleNesting, maxZipEntries, maxViewExpansion, maxExpandedBytes);
    }

    public IoLimits withMaxPickleNesting(int v) {
        return new IoLimits(maxImagePixels, maxVolumeVoxels, maxInflatedBytes, maxPickleBytes, maxPickleMemo, maxPickleMemory, v, maxZipEntries, maxViewExpansion, maxExpandedBytes);
    }

    public IoLimits withMaxZipEntries(long v) {
        return new IoLimits(maxImagePixels, maxVolumeVoxels, maxInflatedBytes, maxPickleBytes, maxPickleMemo, maxPickleMemory, maxPickleNesting, v, maxViewExpansion, maxExpandedBytes);
    }

    public IoLimits withMaxViewExpansion(long v) {
        return new IoLimits(maxImagePixels, maxVolumeVoxels, maxInflatedBytes, maxPickleBytes, maxPickleMemo, maxPickleMemory, maxPickleNesting, maxZipEntries, v, maxExpandedBytes);
    }

    public IoLimits withMaxExpandedBytes(long v) {
        return new IoLimits(maxImagePixels, maxVolumeVoxels, maxInflatedBytes, maxPickleBytes, maxPickleMemo, maxPickleMemory, maxPickleNesting, maxZipEntries, maxViewExpansion, v);
    }

    // ------------------------------------------------------------------ the documented system properties

    /** One documented property: its name, what it limits, and its default as written. */
    public record Property(String name, String meaning, String defaultValue) {}

    public static final String IMAGE_PIXELS = "segsam.io.maxImagePixels";
    public static final String VOLUME_VOXELS = "segsam.io.maxVolumeVoxels";
    public static final String INFLATED_BYTES = "segsam.io.maxInflatedBytes";
    public static final String PICKLE_BYTES = "segsam.io.pth.maxPickleBytes";
    public static final String PICKLE_MEMO = "segsam.io.pth.maxPickleMemo";
    public static final String PICKLE_MEMORY = "segsam.io.pth.maxPickleMemory";
    public static final String PICKLE_NESTING = "segsam.io.pth.maxPickleNesting";
    public static final String ZIP_ENTRIES = "segsam.io.pth.maxZipEntries";
    public static final String VIEW_EXPANSION = "segsam.io.pth.maxViewExpansion";
    public static final String EXPANDED_BYTES = "segsam.io.pth.maxExpandedBytes";

    /** Every {@code segsam.io.*} property that {@link #fromProperties} understands. Sizes in bytes take K, M, G suffixes (powers of 1024). */
    public static final List<Property> PROPERTIES = List.of(
            new Property(IMAGE_PIXELS, "most pixels (width × height) of an image, checked from its header before decoding", "67108864 (8192²)"),
            new Property(VOLUME_VOXELS, "most voxels of one NIfTI volume or DICOM image/series", "1073741824 (2^30)"),
            new Property(INFLATED_BYTES, "most bytes a deflated DICOM data set or a deflated .pth record may inflate to", "1G"),
            new Property(PICKLE_BYTES, "most bytes of a .pth's data.pkl", "64M"),
            new Property(PICKLE_MEMO, "most memo entries of a .pth pickle", "1000000"),
            new Property(PICKLE_MEMORY, "most memory (estimated) the objects of a .pth pickle may take", "256M"),
            new Property(PICKLE_NESTING, "most MARKs open at once in a .pth pickle (nesting of tuples, lists, dicts)", "1000"),
            new Property(ZIP_ENTRIES, "most records in a .pth zip", "100000"),
            new Property(VIEW_EXPANSION, "most elements a .pth tensor view may have per element of its storage", "16"),
            new Property(EXPANDED_BYTES, "most bytes, over a file, that .pth views may claim beyond their storages", "256M"));

    /** The limits the JVM's {@code -Dsegsam.io.*} system properties ask for (defaults for those not set). */
    public static IoLimits fromSystemProperties() {
        Properties p = System.getProperties();
        Map<String, String> m = new LinkedHashMap<>();
        for (String name : p.stringPropertyNames()) {
            if (name.startsWith("segsam.io.")) m.put(name, p.getProperty(name));
        }
        return fromProperties(m);
    }

    /**
     * The limits named by {@code props} (keys as in {@link #PROPERTIES}; other keys are ignored), defaults for the
     * rest. A bad value is an {@link IllegalArgumentException} whose one-line message names the property.
     */
    public static IoLimits fromProperties(Map<String, String> props) {
        IoLimits d = defaults();
        Function<String, String> get = k -> {
            String v = props.get(k);
            return v == null ? null : v.trim();
        };
        return new IoLimits(
                size(get, IMAGE_PIXELS, d.maxImagePixels),
                size(get, VOLUME_VOXELS, d.maxVolumeVoxels),
                size(get, INFLATED_BYTES, d.maxInflatedBytes),
                size(get, PICKLE_BYTES, d.maxPickleBytes),
                size(get, PICKLE_MEMO, d.maxPickleMemo),
                size(get, PICKLE_MEMORY, d.maxPickleMemory),
                (int) Math.min(Integer.MAX_VALUE, size(get, PICKLE_NESTING, d.maxPickleNesting)),
                size(get, ZIP_ENTRIES, d.maxZipEntries),
                size(get, VIEW_EXPANSION, d.maxViewExpansion),
                size(get, EXPANDED_BYTES, d.maxExpandedBytes));
    }

    private static long size(Function<String, String> get, String name, long fallback) {
        String v = get.apply(name);
        if (v == null) return fallback;
        try {
            long n = parseSize(v);
            if (n < 1) throw new IllegalArgumentException();
            return n;
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(name + " must be a whole number ≥ 1 (K, M, G suffixes allowed), got '" + v + "'");
        }
    }

    /** {@code 123}, {@code 64K}, {@code 64M}, {@code 1G} (also {@code 64MiB}, {@code 64MB}: powers of 1024). */
    static long parseSize(String v) {
        String s = v.strip().toUpperCase(Locale.ROOT).replace("_", "");
        if (s.endsWith("IB")) s = s.substring(0, s.length() - 2);
        else if (s.endsWith("B")) s = s.substring(0, s.length() - 1);
        int shift = 0;
        if (!s.isEmpty()) {
            switch (s.charAt(s.length() - 1)) {
                case 'K' -> shift = 10;
                case 'M' -> shift = 20;
                case 'G' -> shift = 30;
                case 'T' -> shift = 40;
                default -> { }
            }
        }
        if (shift > 0) s = s.substring(0, s.length() - 1);
        long n = Long.parseLong(s.strip());
        if (n > (Long.MAX_VALUE >> shift)) throw new NumberFormatException("too large");
        return n << shift;
    }

    /** How an error message says how to raise a limit: {@code "(raise it with -Dsegsam.io.pth.maxPickleBytes=N)"}. */
    public static String hint(String property) {
        return "(raise it with -D" + property + "=N)";
    }

    /** {@code 67108864} → {@code "64 MiB"}; non-round sizes in bytes. */
    public static String bytes(long n) {
        if (n >= 1L << 30 && n % (1L << 30) == 0) return (n >> 30) + " GiB";
        if (n >= 1L << 20 && n % (1L << 20) == 0) return (n >> 20) + " MiB";
        if (n >= 1L << 10 && n % (1L << 10) == 0) return (n >> 10) + " KiB";
        return n + " bytes";
    }
}
