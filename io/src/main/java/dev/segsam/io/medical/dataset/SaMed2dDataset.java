package dev.segsam.io.medical.dataset;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.segsam.io.image.ImageFiles;
import dev.segsam.io.medical.MedicalFormatException;
import dev.segsam.tensor.image.RgbImage;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipFile;
import org.apache.commons.compress.archivers.zip.ZipSplitReadOnlySeekableByteChannel;

/**
 * Reads the SA-Med2D-16M layout ({@code docs/design/stack.md} §8.2) in place: an unpacked folder, a single {@code .zip}, or a
 * split archive ({@code X.zip} with {@code X.z01, X.z02, ...} beside it, opened with Commons Compress without
 * merging).
 *
 * <pre>
 * SAMed2Dv1/SAMed2D_v1.json                   {"images/&lt;img&gt;.png": ["masks/&lt;mask&gt;.png", ...], ...}
 * SAMed2Dv1/SAMed2D_v1_class_mapping_id.json  {"&lt;dataset&gt;": {"&lt;class name&gt;": &lt;id&gt;, ...}, ...}   (optional)
 * SAMed2Dv1/images/&lt;modality&gt;--&lt;dataset&gt;--&lt;case&gt;--&lt;axis&gt;_&lt;slice&gt;.png
 * SAMed2Dv1/masks/&lt;image stem&gt;--&lt;4-digit class id&gt;_&lt;3-digit instance&gt;.png
 * </pre>
 * The index may sit at the archive root, under any folder, or in an {@code annotations/} folder next to
 * {@code images/} (torch-em's layout); image and mask paths are resolved against its folder (or that folder's parent
 * for {@code annotations/}). Class names come from the mapping of the image's dataset (the second {@code --} field of
 * its name); the mapping's exact value format is unconfirmed, so {@code name → id}, {@code id → name} and
 * {@code name → [ids]} entries are all accepted, and a plain name wins over a {@code union_*} one. Masks whose size
 * differs from the image (a known quirk of the data set) are skipped and counted in the sample's meta
 * ({@code skipped_masks}). Licence of the real data: CC BY-NC-SA 4.0 (not redistributable with segsam).
 */
public final class SaMed2dDataset implements SegmentationDataset {
    public static final String INDEX = "SAMed2D_v1.json";
    public static final String CLASS_MAP = "SAMed2D_v1_class_mapping_id.json";
    private static final Pattern MASK = Pattern.compile("--(\\d{4})_(\\d{3})\\.png$");

    /** One image and its mask paths, as listed in the index. */
    public record Entry(String image, List<String> masks) {}

    private final Path source;
    private final Store store;
    private final String base;
    private final List<Entry> entries;
    private final Map<String, Map<Integer, String>> classNames;

    private SaMed2dDataset(Path source, Store store, String base, List<Entry> entries, Map<String, Map<Integer, String>> classNames) {
        this.source = source;
        this.store = store;
        this.base = base;
        this.entries = entries;
        this.classNames = classNames;
    }

    /** Opens a folder, a {@code .zip} or the last segment ({@code .zip}) of a split archive. */
    public static SaMed2dDataset open(Path path) throws IOException {
        Store store = Files.isDirectory(path) ? new DirStore(path) : ZipStore.open(path);
        try {
            String index = null;
            for (String n : store.names()) {
                if (n.equals(INDEX) || n.endsWith("/" + INDEX)) {
                    if (index == null || n.length() < index.length()) index = n;
                }
            }
            if (index == null) throw new MedicalFormatException(path, INDEX, "not found (is this the SA-Med2D-16M archive or its SAMed2Dv1 folder?)");
            String dir = index.contains("/") ? index.substring(0, index.lastIndexOf('/') + 1) : "";
            String base = dir.endsWith("annotations/") ? dir.substring(0, dir.length() - "annotations/".length()) : dir;
            List<Entry> entries;
            try (InputStream in = store.open(index)) {
                entries = readIndex(path, in);
            }
            Map<String, Map<Integer, String>> names = Map.of();
            if (store.exists(dir + CLASS_MAP)) {
                try (InputStream in = store.open(dir + CLASS_MAP)) {
                    names = readClassMap(path, in);
                }
            }
            return new SaMed2dDataset(path, store, base, entries, names);
        } catch (IOException | RuntimeException e) {
            store.close();
            throw e;
        }
    }

    static List<Entry> readIndex(Path file, InputStream in) throws IOException {
        List<Entry> out = new ArrayList<>();
        try (JsonParser p = new JsonFactory().createParser(in)) {
            if (p.nextToken() != JsonToken.START_OBJECT) throw new MedicalFormatException(file, INDEX, "must be a JSON object {image: [masks]}");
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String image = p.currentName();
                if (p.nextToken() != JsonToken.START_ARRAY) throw new MedicalFormatException(file, INDEX, "value of \"" + image + "\" is not an array of mask paths");
                List<String> masks = new ArrayList<>();
                JsonToken t;
                while ((t = p.nextToken()) == JsonToken.VALUE_STRING) masks.add(p.getText());
                if (t != JsonToken.END_ARRAY) throw new MedicalFormatException(file, INDEX, "masks of \"" + image + "\" must be strings");
                out.add(new Entry(image, List.copyOf(masks)));
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new MedicalFormatException(file, INDEX, "invalid JSON: " + e.getOriginalMessage());
        }
        return Collections.unmodifiableList(out);
    }

    static Map<String, Map<Integer, String>> readClassMap(Path file, InputStream in) throws IOException {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(in);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new MedicalFormatException(file, CLASS_MAP, "invalid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) throw new MedicalFormatException(file, CLASS_MAP, "must be a JSON object keyed by dataset name");
        Map<String, Map<Integer, String>> out = new HashMap<>();
        for (Map.Entry<String, JsonNode> ds : root.properties()) {
            if (!ds.getValue().isObject()) continue;
            Map<Integer, String> m = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> e : ds.getValue().properties()) {
                String k = e.getKey();
                JsonNode v = e.getValue();
                if (v.isIntegralNumber() || v.isTextual() && v.asText().matches("\\d+")) {
                    name(m, v.asInt(), k);
                } else if (v.isTextual() && k.matches("\\d+")) {
                    name(m, Integer.parseInt(k), v.asText());
                } else if (v.isArray()) {
                    for (JsonNode id : v) if (id.isIntegralNumber()) name(m, id.asInt(), k);
                }
            }
            out.put(ds.getKey(), m);
        }
        return out;
    }

    private static void name(Map<Integer, String> m, int id, String name) {
        String old = m.get(id);
        if (old == null || old.startsWith("union_") && !name.startsWith("union_")) m.put(id, name);
    }

    // ------------------------------------------------------------------ access

    public List<Entry> entries() {
        return entries;
    }

    /** Per dataset: class id → name, as read from the class mapping (empty without one). */
    public Map<String, Map<Integer, String>> classNames() {
        return classNames;
    }

    /** The dataset name encoded in an image path ({@code <modality>--<dataset>--...}), or "" if the name has no such field. */
    public static String datasetOf(String imagePath) {
        String name = imagePath.substring(imagePath.lastIndexOf('/') + 1);
        String[] parts = name.split("--");
        return parts.length >= 3 ? parts[1] : "";
    }

    /** Every (id, name) pair of the class mapping, all datasets, without repeats; ids are per dataset. */
    @Override
    public List<ClassInfo> classes() {
        Set<ClassInfo> all = new LinkedHashSet<>();
        classNames.keySet().stream().sorted().forEach(ds -> classNames.get(ds).forEach((id, n) -> all.add(new ClassInfo(id, n))));
        return List.copyOf(all);
    }

    @Override
    public int size() {
        return entries.size();
    }

    @Override
    public Sample get(int index) throws IOException {
        Entry e = entries.get(index);
        RgbImage image;
        try (InputStream in = store.open(base + e.image())) {
            image = ImageFiles.read(in, e.image()).image();
        }
        String ds = datasetOf(e.image());
        Map<Integer, String> names = classNames.getOrDefault(ds, Map.of());
        List<InstanceMask> masks = new ArrayList<>();
        int skipped = 0, unnamed = 0;
        for (String mp : e.masks()) {
            Matcher m = MASK.matcher(mp);
            int classId = m.find() ? Integer.parseInt(m.group(1)) : -1;
            int instance = classId >= 0 ? Integer.parseInt(m.group(2)) : ++unnamed;
            ImageFiles.Mask mask;
            try (InputStream in = store.open(base + mp)) {
                mask = ImageFiles.readMask(in, mp);
            }
            if (mask.width() != image.width() || mask.height() != image.height()) {
                skipped++;
                continue;
            }
            masks.add(new InstanceMask(classId, names.getOrDefault(classId, classId < 0 ? "unknown" : "class_" + classId), instance,
                    mask.width(), mask.height(), mask.inside()));
        }
        String stem = e.image().substring(e.image().lastIndexOf('/') + 1).replaceFirst("\\.png$", "");
        Map<String, String> meta = new HashMap<>();
        meta.put("dataset", ds);
        meta.put("image", e.image());
        if (skipped > 0) meta.put("skipped_masks", Integer.toString(skipped));
        return new Sample(stem, image, masks, meta);
    }

    @Override
    public void close() throws IOException {
        store.close();
    }

    @Override
    public String toString() {
        return "SA-Med2D " + source + " (" + entries.size() + " images)";
    }

    // ------------------------------------------------------------------ storage

    private interface Store extends Closeable {
        Iterable<String> names() throws IOException;

        boolean exists(String name);

        InputStream open(String name) throws IOException;
    }

    private static final class DirStore implements Store {
        private final Path root;

        DirStore(Path root) {
            this.root = root.toAbsolutePath().normalize();
        }

        @Override
        public Iterable<String> names() throws IOException {
            // only the places the index may be: the folder, its children, and children/annotations
            List<String> out = new ArrayList<>();
            for (String cand : new String[] {INDEX, "annotations/" + INDEX}) if (exists(cand)) out.add(cand);
            try (var s = Files.list(root)) {
                for (Path d : s.filter(Files::isDirectory).toList()) {
                    String rel = d.getFileName() + "/";
                    for (String cand : new String[] {INDEX, "annotations/" + INDEX}) if (exists(rel + cand)) out.add(rel + cand);
                }
            }
            return out;
        }

        private Path resolve(String name) throws IOException {
            Path p = root.resolve(name).normalize();
            if (!p.startsWith(root)) throw new MedicalFormatException(root, "path", "\"" + name + "\" leaves the data set folder");
            return p;
        }

        @Override
        public boolean exists(String name) {
            try {
                return Files.isRegularFile(resolve(name));
            } catch (IOException e) {
                return false;
            }
        }

        @Override
        public InputStream open(String name) throws IOException {
            return Files.newInputStream(resolve(name));
        }

        @Override
        public void close() {}
    }

    private static final class ZipStore implements Store {
        private final Path path;
        private final ZipFile zip;

        private ZipStore(Path path, ZipFile zip) {
            this.path = path;
            this.zip = zip;
        }

        static ZipStore open(Path path) throws IOException {
            String name = path.getFileName().toString();
            String stem = name.toLowerCase(java.util.Locale.ROOT).endsWith(".zip") ? name.substring(0, name.length() - 4) : name;
            boolean split = Files.exists(path.resolveSibling(stem + ".z01"));
            SeekableByteChannel ch = split ? ZipSplitReadOnlySeekableByteChannel.buildFromLastSplitSegment(path) : Files.newByteChannel(path);
            try {
                return new ZipStore(path, ZipFile.builder().setSeekableByteChannel(ch).get());
            } catch (IOException | RuntimeException e) {
                ch.close();
                throw new MedicalFormatException(path, "zip", "cannot open the " + (split ? "split " : "") + "archive: " + e.getMessage(), e);
            }
        }

        @Override
        public Iterable<String> names() {
            List<String> out = new ArrayList<>();
            for (var en = zip.getEntries(); en.hasMoreElements(); ) out.add(en.nextElement().getName());
            return out;
        }

        @Override
        public boolean exists(String name) {
            return zip.getEntry(name) != null;
        }

        @Override
        public InputStream open(String name) throws IOException {
            ZipArchiveEntry e = zip.getEntry(name);
            if (e == null) throw new MedicalFormatException(path, name, "missing from the archive");
            return zip.getInputStream(e);
        }

        @Override
        public void close() throws IOException {
            zip.close();
        }
    }
}
