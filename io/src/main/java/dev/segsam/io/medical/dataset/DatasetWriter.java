package dev.segsam.io.medical.dataset;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.segsam.io.image.ImageFiles;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Writes samples to a folder:
 * <pre>
 * DIR/index.json                          classes, split counts, one entry per sample (see below)
 * DIR/images/ID.png                       8-bit grey (or RGB) image
 * DIR/masks/ID--CCCC_III.png              one binary mask per instance (0 / 255), class id CCCC, instance III
 * </pre>
 * Mask names follow SA-Med2D-16M's {@code <image stem>--<4-digit class id>_<3-digit instance>} pattern. Each sample
 * entry of {@code index.json} has {@code id, split, image, width, height, meta} and {@code masks}: {@code file,
 * class_id, class_name, instance, area, bbox} (inclusive {@code [x_min, y_min, x_max, y_max]}).
 * The folder must be absent or empty unless {@code force}; {@code index.json} is written last (via a temporary file),
 * so a folder with an index is complete.
 */
public final class DatasetWriter {
    private final Path dir;
    private final ObjectNode root;
    private final ArrayNode samples;
    private final Map<String, Integer> splitCounts = new TreeMap<>();
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public DatasetWriter(Path dir, String dataset, List<ClassInfo> classes, boolean force) throws IOException {
        this.dir = dir;
        if (Files.exists(dir) && !force) {
            try (Stream<Path> s = Files.list(dir)) {
                if (s.findAny().isPresent()) throw new FileAlreadyExistsException(dir.toString(), null, "output folder is not empty (use --force)");
            }
        }
        Files.createDirectories(dir.resolve("images"));
        Files.createDirectories(dir.resolve("masks"));
        root = JSON.createObjectNode();
        root.put("format", "segsam-dataset-1");
        root.put("dataset", dataset);
        ArrayNode cls = root.putArray("classes");
        for (ClassInfo c : classes) cls.addObject().put("id", c.id()).put("name", c.name());
        root.putObject("splits");
        samples = JSON.createArrayNode();
    }

    /** Adds a top-level string field (provenance, normalisation used, ...). */
    public DatasetWriter info(String key, String value) {
        root.put(key, value);
        return this;
    }

    /** Writes the sample's PNGs now and records it under {@code split}. */
    public void add(Sample s, String split) throws IOException {
        String image = "images/" + s.id() + ".png";
        Files.write(dir.resolve(image), ImageFiles.png(s.image(), true));
        ObjectNode e = samples.addObject();
        e.put("id", s.id()).put("split", split).put("image", image).put("width", s.image().width()).put("height", s.image().height());
        ObjectNode meta = e.putObject("meta");
        new TreeMap<>(s.meta()).forEach(meta::put);
        ArrayNode masks = e.putArray("masks");
        for (InstanceMask m : s.masks()) {
            String file = String.format("masks/%s--%04d_%03d.png", s.id(), m.classId(), m.instance());
            byte[] inside = new byte[m.mask().length];
            for (int i = 0; i < inside.length; i++) inside[i] = m.mask()[i] != 0 ? (byte) 255 : 0;
            Files.write(dir.resolve(file), ImageFiles.greyPng(inside, m.width(), m.height()));
            ObjectNode o = masks.addObject();
            o.put("file", file).put("class_id", m.classId()).put("class_name", m.className()).put("instance", m.instance()).put("area", m.area());
            ArrayNode b = o.putArray("bbox");
            int[] bb = m.bbox();
            if (bb != null) for (int v : bb) b.add(v);
        }
        splitCounts.merge(split, 1, Integer::sum);
    }

    /** Writes {@code index.json}; returns the sample count per split. */
    public Map<String, Integer> finish() throws IOException {
        ObjectNode splits = (ObjectNode) root.get("splits");
        splitCounts.forEach(splits::put);
        root.set("samples", samples);
        Path tmp = dir.resolve(".index." + Long.toHexString(System.nanoTime()) + ".json.tmp");
        try {
            JSON.writeValue(tmp.toFile(), root);
            Files.move(tmp, dir.resolve("index.json"), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
        return Map.copyOf(splitCounts);
    }
}
