package dev.segsam.io.medical.dataset;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.segsam.io.IoLimits;
import dev.segsam.io.image.ImageFiles;
import dev.segsam.io.medical.MedicalFormatException;
import dev.segsam.tensor.image.RgbImage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the folder that {@link DatasetWriter} ({@code segsam dataset}) writes: {@code index.json} (classes, one entry
 * per sample with its split) beside {@code images/} and {@code masks/}. Each sample keeps the split the writer gave
 * it ({@link #split}), and its {@code meta} (e.g. the source slice) plus {@code split} and {@code case} (the
 * sample's {@code meta.case} if the writer recorded one, else its id).
 */
public final class DatasetFolder implements SegmentationDataset {
    public static final String INDEX = "index.json";
    public static final String FORMAT = "segsam-dataset-1";

    private record Entry(String id, String split, String image, Map<String, String> meta, List<JsonNode> masks) {}

    private final Path dir;
    private final String name;
    private final List<ClassInfo> classes;
    private final Map<Integer, String> classNames = new LinkedHashMap<>();
    private final List<Entry> entries;

    private DatasetFolder(Path dir, String name, List<ClassInfo> classes, List<Entry> entries) {
        this.dir = dir;
        this.name = name;
        this.classes = List.copyOf(classes);
        for (ClassInfo c : classes) classNames.put(c.id(), c.name());
        this.entries = entries;
    }

    /** Whether {@code dir} holds an {@code index.json} of this format. */
    public static boolean looksLike(Path dir) {
        Path idx = dir.resolve(INDEX);
        if (!Files.isRegularFile(idx)) return false;
        try {
            return FORMAT.equals(new ObjectMapper().readTree(idx.toFile()).path("format").asText());
        } catch (IOException e) {
            return false;
        }
    }

    /** Reads the index (not yet the images); every listed image and mask file must exist. */
    public static DatasetFolder open(Path dir) throws IOException {
        Path idx = dir.resolve(INDEX);
        if (!Files.isRegularFile(idx)) throw new MedicalFormatException(idx, "file", "not found");
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(idx.toFile());
        } catch (JsonProcessingException e) {
            throw new MedicalFormatException(idx, "json", "invalid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !FORMAT.equals(root.path("format").asText())) {
            throw new MedicalFormatException(idx, "format", "expected \"" + FORMAT + "\" (a folder written by segsam dataset)");
        }
        List<ClassInfo> classes = new ArrayList<>();
        for (JsonNode c : root.path("classes")) {
            if (!c.path("id").isIntegralNumber() || !c.path("name").isTextual()) throw new MedicalFormatException(idx, "classes", "entries need an integer id and a name");
            classes.add(new ClassInfo(c.get("id").asInt(), c.get("name").asText()));
        }
        if (classes.isEmpty()) throw new MedicalFormatException(idx, "classes", "no classes");
        List<Entry> entries = new ArrayList<>();
        int i = 0;
        for (JsonNode s : root.path("samples")) {
            String field = "samples[" + i++ + "]";
            if (!s.path("id").isTextual() || !s.path("image").isTextual() || !s.path("masks").isArray()) {
                throw new MedicalFormatException(idx, field, "entries need id, image and masks");
            }
            Map<String, String> meta = new LinkedHashMap<>();
            s.path("meta").properties().forEach(e -> meta.put(e.getKey(), e.getValue().asText()));
            List<JsonNode> masks = new ArrayList<>();
            s.get("masks").forEach(masks::add);
            Entry e = new Entry(s.get("id").asText(), s.path("split").asText("train"), s.get("image").asText(), meta, masks);
            if (!List.of("train", "val", "test").contains(e.split())) throw new MedicalFormatException(idx, field, "split \"" + e.split() + "\" is not train, val or test");
            requireFile(dir, idx, field, e.image());
            for (JsonNode m : masks) requireFile(dir, idx, field, m.path("file").asText());
            entries.add(e);
        }
        if (entries.isEmpty()) throw new MedicalFormatException(idx, "samples", "no samples");
        return new DatasetFolder(dir, root.path("dataset").asText(dir.getFileName() == null ? "dataset" : dir.getFileName().toString()), classes, entries);
    }

    private static void requireFile(Path dir, Path idx, String field, String rel) throws IOException {
        Path base = dir.toAbsolutePath().normalize(), p = base.resolve(rel).normalize();
        if (rel.isEmpty() || !p.startsWith(base)) throw new MedicalFormatException(idx, field, "path \"" + rel + "\" leaves the data set folder");
        if (!Files.isRegularFile(p)) throw new MedicalFormatException(p, "file", "not found (listed in " + INDEX + ", " + field + ")");
    }

    /** The {@code dataset} name the writer recorded. */
    public String name() {
        return name;
    }

    @Override
    public List<ClassInfo> classes() {
        return classes;
    }

    @Override
    public int size() {
        return entries.size();
    }

    /** The split ({@code train}, {@code val}, {@code test}) the writer gave sample {@code index}. */
    public String split(int index) {
        return entries.get(index).split();
    }

    /**
     * Sample {@code index}: its image and masks (class names from the index's class list).
     *
     * @throws MedicalFormatException naming the file: a mask of another size than its image, a mask class that is
     *                                not in the class list
     */
    @Override
    public Sample get(int index) throws IOException {
        Entry e = entries.get(index);
        Path imgFile = dir.resolve(e.image());
        RgbImage image = ImageFiles.read(imgFile, IoLimits.fromSystemProperties()).image();
        List<InstanceMask> masks = new ArrayList<>();
        for (JsonNode m : e.masks()) {
            Path f = dir.resolve(m.path("file").asText());
            int cls = m.path("class_id").asInt(Integer.MIN_VALUE);
            String cname = classNames.get(cls);
            if (cname == null) throw new MedicalFormatException(f, "class_id", "class " + m.path("class_id") + " is not in " + INDEX + "'s class list " + classNames);
            ImageFiles.Mask mk;
            try (InputStream in = Files.newInputStream(f)) {
                mk = ImageFiles.readMask(in, f.getFileName().toString());
            }
            if (mk.width() != image.width() || mk.height() != image.height()) {
                throw new MedicalFormatException(f, "size", "mask is " + mk.width() + "x" + mk.height() + ", its image " + e.image() + " is "
                        + image.width() + "x" + image.height());
            }
            masks.add(new InstanceMask(cls, cname, m.path("instance").asInt(1), mk.width(), mk.height(), mk.inside()));
        }
        Map<String, String> meta = new LinkedHashMap<>(e.meta());
        meta.put("split", e.split());
        meta.putIfAbsent("case", e.id());
        return new Sample(e.id(), image, masks, meta);
    }

    @Override
    public String toString() {
        return "segsam data set " + dir + " (" + entries.size() + " samples)";
    }
}
