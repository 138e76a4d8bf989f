package dev.segsam.io.medical.dataset;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.segsam.io.medical.MedicalFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * A data set folder in the Medical Segmentation Decathlon (MSD) / nnU-Net layout, the layout most public 3-D medical
 * segmentation data sets ship in:
 * <pre>
 * DIR/dataset.json     labels (value ↔ name), modality / channel_names, training list (MSD)
 * DIR/imagesTr/        NIfTI images: MSD CASE.nii.gz (3-D, or 4-D with the channels along dim 4);
 *                      nnU-Net v2 CASE_0000.nii.gz, CASE_0001.nii.gz, ... (one 3-D file per channel)
 * DIR/labelsTr/        NIfTI label volumes CASE.nii.gz on the image's grid: 0 background, 1..K the classes
 * DIR/imagesTs/        optional unlabelled test images (not used for training or evaluation: they have no labels)
 * </pre>
 * Both spellings of {@code labels} are read: MSD's {@code {"0": "background", "1": "liver"}} and nnU-Net v2's
 * {@code {"background": 0, "liver": 1}}; nnU-Net v2's region-based labels (a name mapped to a list of values) are
 * refused. The cases are MSD's {@code training} list when present (paths relative to DIR), else every label file in
 * {@code labelsTr/} with its images {@code imagesTr/CASE_XXXX} + {@code file_ending} (nnU-Net v2). Only what
 * {@code dataset.json} says is read here; the volumes themselves are read by whoever uses a {@link Case}.
 */
public final class MsdDataset {
    public static final String INDEX = "dataset.json";

    /**
     * One labelled case: its id (the label file's name without extension), its image files — one file holding every
     * channel (MSD) or one file per channel (nnU-Net v2) — and its label file.
     */
    public record Case(String id, List<Path> images, Path label) {
        public Case {
            images = List.copyOf(images);
        }

        /**
         * The file and the volume index within it of {@code channel}: for one 4-D file, ({@code file}, channel); for
         * one file per channel, (that channel's file, 0).
         */
        public Map.Entry<Path, Integer> channel(int channel) {
            if (images.size() == 1) return Map.entry(images.getFirst(), channel);
            if (channel < 0 || channel >= images.size()) {
                throw new IllegalArgumentException("case " + id + " has " + images.size() + " channel files (0.." + (images.size() - 1) + "), not channel " + channel);
            }
            return Map.entry(images.get(channel), 0);
        }
    }

    private final Path dir;
    private final String name;
    private final Map<Integer, String> labels;
    private final Map<Integer, String> channels;
    private final List<Case> cases;
    private final int testImages;

    private MsdDataset(Path dir, String name, Map<Integer, String> labels, Map<Integer, String> channels, List<Case> cases, int testImages) {
        this.dir = dir;
        this.name = name;
        this.labels = labels;
        this.channels = channels;
        this.cases = cases;
        this.testImages = testImages;
    }

    /** Whether {@code dir} looks like this layout: a folder with {@code dataset.json} or with {@code imagesTr/} and {@code labelsTr/}. */
    public static boolean looksLike(Path dir) {
        return Files.isDirectory(dir) && (Files.isRegularFile(dir.resolve(INDEX))
                || Files.isDirectory(dir.resolve("imagesTr")) && Files.isDirectory(dir.resolve("labelsTr")));
    }

    /**
     * Reads {@code DIR/dataset.json} and lists the cases; every listed image and label file must exist.
     *
     * @throws MedicalFormatException naming the file at fault: no or unreadable {@code dataset.json}, labels that are not
     *                                a value ↔ name map, a listed file that is missing, no case at all
     */
    public static MsdDataset open(Path dir) throws IOException {
        Path index = dir.resolve(INDEX);
        if (!Files.isRegularFile(index)) {
            throw new MedicalFormatException(index, "file", "not found (an MSD/nnU-Net folder needs it for its label names)");
        }
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(index.toFile());
        } catch (JsonProcessingException e) {
            throw new MedicalFormatException(index, "json", "invalid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) throw new MedicalFormatException(index, "json", "expected a JSON object");
        Map<Integer, String> labels = labels(index, root.get("labels"));
        Map<Integer, String> channels = new TreeMap<>();
        JsonNode mod = root.has("channel_names") ? root.get("channel_names") : root.get("modality");
        if (mod != null && mod.isObject()) {
            for (var e : mod.properties()) {
                try {
                    channels.put(Integer.parseInt(e.getKey().strip()), e.getValue().asText());
                } catch (NumberFormatException x) {
                    throw new MedicalFormatException(index, mod == root.get("modality") ? "modality" : "channel_names",
                            "keys must be channel numbers, got \"" + e.getKey() + "\"");
                }
            }
        }
        List<Case> cases = new ArrayList<>();
        JsonNode training = root.get("training");
        if (training != null && training.isArray() && !training.isEmpty()) {
            int i = 0;
            for (JsonNode t : training) {
                String field = "training[" + i++ + "]";
                if (!t.isObject() || !t.path("image").isTextual() || !t.path("label").isTextual()) {
                    throw new MedicalFormatException(index, field, "expected {\"image\": PATH, \"label\": PATH}");
                }
                Path img = resolve(dir, index, field, t.get("image").asText()), lab = resolve(dir, index, field, t.get("label").asText());
                for (Path p : List.of(img, lab)) {
                    if (!Files.isRegularFile(p)) throw new MedicalFormatException(p, "file", "not found (listed in " + field + " of " + INDEX + ")");
                }
                cases.add(new Case(stem(lab), List.of(img), lab));
            }
        } else {
            String ending = root.path("file_ending").asText(".nii.gz");
            Path labelsTr = dir.resolve("labelsTr"), imagesTr = dir.resolve("imagesTr");
            if (!Files.isDirectory(labelsTr)) throw new MedicalFormatException(labelsTr, "folder", "not found (" + INDEX + " has no training list)");
            List<Path> labelFiles;
            try (Stream<Path> s = Files.list(labelsTr)) {
                labelFiles = s.filter(p -> p.getFileName().toString().endsWith(ending) && !p.getFileName().toString().startsWith("."))
                        .sorted().toList();
            }
            int nChannels = Math.max(1, channels.size());
            for (Path lab : labelFiles) {
                String id = lab.getFileName().toString();
                id = id.substring(0, id.length() - ending.length());
                List<Path> imgs = new ArrayList<>();
                for (int c = 0; c < nChannels; c++) {
                    Path p = imagesTr.resolve(String.format(Locale.ROOT, "%s_%04d%s", id, c, ending));
                    if (!Files.isRegularFile(p)) {
                        Path msd = imagesTr.resolve(id + ending); // an MSD folder without a training list
                        if (c == 0 && Files.isRegularFile(msd)) {
                            imgs.add(msd);
                            break;
                        }
                        throw new MedicalFormatException(p, "file", "not found (image channel " + c + " of labelsTr/" + lab.getFileName() + ")");
                    }
                    imgs.add(p);
                }
                cases.add(new Case(id, imgs, lab));
            }
        }
        if (cases.isEmpty()) throw new MedicalFormatException(index, "training", "no labelled case (empty training list and no labelsTr/ files)");
        int test = 0;
        Path imagesTs = dir.resolve("imagesTs");
        if (Files.isDirectory(imagesTs)) {
            try (Stream<Path> s = Files.list(imagesTs)) {
                test = (int) s.filter(p -> !p.getFileName().toString().startsWith(".")).count();
            }
        }
        return new MsdDataset(dir, root.path("name").asText(dir.getFileName() == null ? "msd" : dir.getFileName().toString()),
                Collections.unmodifiableMap(labels), Collections.unmodifiableMap(channels), List.copyOf(cases), test);
    }

    /** label value → name, both spellings; background (value 0) left out. */
    private static Map<Integer, String> labels(Path index, JsonNode n) throws MedicalFormatException {
        if (n == null || !n.isObject() || n.isEmpty()) {
            throw new MedicalFormatException(index, "labels", "missing: expected {\"0\": \"background\", \"1\": NAME, ...} (MSD) or {\"background\": 0, NAME: 1, ...} (nnU-Net)");
        }
        Map<Integer, String> out = new TreeMap<>();
        for (var e : n.properties()) {
            String k = e.getKey().strip();
            JsonNode v = e.getValue();
            int value;
            String name;
            if (k.matches("-?\\d+") && v.isTextual()) {
                value = Integer.parseInt(k);
                name = v.asText().strip();
            } else if (v.isIntegralNumber() || v.isTextual() && v.asText().strip().matches("-?\\d+")) {
                value = v.asInt();
                name = k;
            } else if (v.isArray()) {
                throw new MedicalFormatException(index, "labels", "\"" + k + "\" maps to a list of values (nnU-Net region-based labels): not supported, use one value per class");
            } else {
                throw new MedicalFormatException(index, "labels", "entry \"" + k + "\": " + v + " is neither a label value nor a name");
            }
            if (value < 0) throw new MedicalFormatException(index, "labels", "negative label value " + value);
            if (name.isEmpty()) throw new MedicalFormatException(index, "labels", "label " + value + " has an empty name");
            String old = out.put(value, name);
            if (old != null) throw new MedicalFormatException(index, "labels", "label value " + value + " is named twice (" + old + ", " + name + ")");
        }
        out.remove(0); // background
        if (out.isEmpty()) throw new MedicalFormatException(index, "labels", "no class besides background");
        if (new java.util.HashSet<>(out.values()).size() < out.size()) throw new MedicalFormatException(index, "labels", "two label values share a name");
        return out;
    }

    private static Path resolve(Path dir, Path index, String field, String rel) throws MedicalFormatException {
        Path base = dir.toAbsolutePath().normalize();
        Path p = base.resolve(rel).normalize();
        if (!p.startsWith(base)) throw new MedicalFormatException(index, field, "\"" + rel + "\" leaves the data set folder");
        return p;
    }

    private static String stem(Path p) {
        String n = p.getFileName().toString();
        for (String ext : new String[] {".nii.gz", ".nii", ".gz"}) {
            if (n.toLowerCase(Locale.ROOT).endsWith(ext)) return n.substring(0, n.length() - ext.length());
        }
        return n;
    }

    public Path dir() {
        return dir;
    }

    /** The data set's {@code name}, or the folder's. */
    public String name() {
        return name;
    }

    /** label value → class name, in value order, without background. */
    public Map<Integer, String> labels() {
        return labels;
    }

    /** channel → its name ({@code modality} / {@code channel_names}); may be empty. */
    public Map<Integer, String> channels() {
        return channels;
    }

    /**
     * Whether {@code channel} is CT as the data set says ({@code "CT"} in its name, any case): null when the data set does
     * not name its channels.
     */
    public Boolean isCt(int channel) {
        String n = channels.get(channel);
        return n == null ? null : n.toUpperCase(Locale.ROOT).contains("CT");
    }

    /** The labelled cases, in the data set's order. */
    public List<Case> cases() {
        return cases;
    }

    /** How many files {@code imagesTs/} holds (unlabelled; 0 without the folder). */
    public int testImages() {
        return testImages;
    }
}
