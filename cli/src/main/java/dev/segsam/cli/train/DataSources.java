package dev.segsam.cli.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.segsam.cli.predict.Progress;
import dev.segsam.io.IoLimits;
import dev.segsam.io.medical.Axis;
import dev.segsam.io.medical.MedicalFormatException;
import dev.segsam.io.medical.MedicalImages;
import dev.segsam.io.medical.Volume;
import dev.segsam.io.medical.dataset.AbdomenPhantom;
import dev.segsam.io.medical.dataset.CaseSplit;
import dev.segsam.io.medical.dataset.ClassInfo;
import dev.segsam.io.medical.dataset.Colin27Aal;
import dev.segsam.io.medical.dataset.DatasetFolder;
import dev.segsam.io.medical.dataset.InstanceMask;
import dev.segsam.io.medical.dataset.MsdDataset;
import dev.segsam.io.medical.dataset.SaMed2dDataset;
import dev.segsam.io.medical.dataset.Sample;
import dev.segsam.io.medical.dataset.SegmentationDataset;
import dev.segsam.io.medical.dataset.VolumeSlicer;
import dev.segsam.io.medical.intensity.CtWindow;
import dev.segsam.io.medical.intensity.IntensityMap;
import dev.segsam.io.medical.intensity.Windowing;
import dev.segsam.model.train.TrainSample;
import dev.segsam.model.train.TrainingData;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The data sets {@code segsam train} and {@code segsam eval} read, split into train / val / test. {@code --data} is a
 * built-in name or a path, whose layout is detected:
 * <ul>
 *   <li>{@code colin27}: Colin27 T1 + AAL slices (real labelled MRI; fetched by {@code scripts/fetch-data.sh}), the
 *       default structures of {@link Colin27Aal}, split by bands of slice positions as that class documents;</li>
 *   <li>{@code phantom}: {@code count} synthetic abdominal CT slices (seeds 1..count), split 80/10/10 by seed;</li>
 *   <li>an MSD / nnU-Net folder ({@link MsdDataset}): each case's image (the {@code --channel} of a 4-D image) and label
 *       volume cut into slices along {@code --axis} ({@link VolumeSlicer}; slices without a class skipped), grey
 *       values by {@code --window} as {@code segsam predict} maps them, classes from the label map; split by case
 *       ({@link CaseSplit}, {@code --val-fraction}, {@code --test-fraction});</li>
 *   <li>a {@code segsam dataset} folder ({@link DatasetFolder}): its classes and its own split;</li>
 *   <li>SA-Med2D-16M ({@link SaMed2dDataset}: a folder or {@code .zip}): classes from its class mapping, split by case
 *       (the {@code <dataset>--<case>} fields of the image names).</li>
 * </ul>
 * Class indices are 1..K in the order of {@link #classNames()}. {@link #provenance()} is what train.json and the
 * model's metadata record (layout, options, the split's case lists); given back to {@link #load} as {@code recorded},
 * it reproduces the same split (what {@code segsam eval} does with a trained model).
 */
public record DataSources(String name, List<String> classNames, List<TrainSample> train, List<TrainSample> val, List<TrainSample> test,
                          ObjectNode provenance, String cacheKey) implements TrainingData {
    /** The model metadata key that holds {@link #provenance()}. */
    public static final String META_KEY = "segsam.data";
    static final String LAYOUTS = "an MSD/nnU-Net folder (dataset.json, imagesTr/, labelsTr/), a `segsam dataset` folder (index.json, images/, masks/), "
            + "SA-Med2D-16M (SAMed2D_v1.json with images/ and masks/, a folder or .zip), or a built-in name: colin27, phantom";
    private static final ObjectMapper JSON = new ObjectMapper();

    public static Path defaultDataDir() {
        String env = System.getenv("SEGSAM_DATA");
        return env != null && !env.isBlank() ? Path.of(env) : Path.of(System.getProperty("user.home"), ".cache", "segsam");
    }

    /** The layouts {@code --data} may name. */
    public enum Layout { COLIN27, PHANTOM, MSD, FOLDER, SAMED2D }

    /**
     * The layout of {@code data}: the built-in names first, then a path's content.
     *
     * @throws NoSuchFileException      a path that does not exist
     * @throws IllegalArgumentException a path in none of the layouts (the message names them)
     */
    public static Layout detect(String data) throws IOException {
        if (data.equals("colin27")) return Layout.COLIN27;
        if (data.equals("phantom")) return Layout.PHANTOM;
        Path p = Path.of(data);
        if (!Files.exists(p)) throw new NoSuchFileException(data + " (not a data set folder, nor a built-in name: colin27, phantom)");
        if (Files.isDirectory(p)) {
            if (DatasetFolder.looksLike(p)) return Layout.FOLDER;
            if (MsdDataset.looksLike(p)) return Layout.MSD;
            if (samed2dIndexIn(p)) return Layout.SAMED2D;
        } else if (p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".zip")) {
            return Layout.SAMED2D;
        }
        throw new IllegalArgumentException(data + ": no data set layout found; expected " + LAYOUTS);
    }

    private static boolean samed2dIndexIn(Path dir) throws IOException {
        for (String c : new String[] {SaMed2dDataset.INDEX, "annotations/" + SaMed2dDataset.INDEX}) if (Files.isRegularFile(dir.resolve(c))) return true;
        try (var s = Files.list(dir)) {
            for (Path d : s.filter(Files::isDirectory).toList()) {
                if (Files.isRegularFile(d.resolve(SaMed2dDataset.INDEX)) || Files.isRegularFile(d.resolve("annotations").resolve(SaMed2dDataset.INDEX))) return true;
            }
        }
        return false;
    }

    /** A sample with its case (volume) and, where the layout decides the split itself, that split. */
    private record Item(Sample sample, String caseId, String split) {}

    /**
     * Loads the data set {@code o} names.
     *
     * @param recorded a model's {@link #META_KEY} metadata (null: none): its split is used instead of a new one, and its
     *                 slicing options wherever {@code o} leaves the default
     * @param only     load only the cases of these splits (others come back empty); null: all
     * @param err      progress and notes
     */
    public static DataSources load(DataOptions o, JsonNode recorded, Set<String> only, PrintWriter err) throws IOException {
        Layout layout = detect(o.data);
        ObjectNode prov = JSON.createObjectNode();
        prov.put("layout", layout.name().toLowerCase(Locale.ROOT));
        prov.put("data", layout == Layout.COLIN27 || layout == Layout.PHANTOM ? o.data : Path.of(o.data).toAbsolutePath().normalize().toString());
        JsonNode recSplit = recorded == null ? null : recorded.get("split");
        List<String> classNames = new ArrayList<>();
        List<Item> items = new ArrayList<>();
        String splitRule;
        Budget budget = new Budget();
        Map<String, String> decided = null; // MSD: every case's split, also of cases without a usable slice
        switch (layout) {
            case COLIN27 -> {
                Path dir = o.dataDir == null ? defaultDataDir().resolve("mricron-data") : o.dataDir;
                Path ch2 = dir.resolve("ch2.nii.gz"), aal = dir.resolve("aal.nii.gz"), txt = dir.resolve("aal.nii.txt");
                for (Path p : List.of(ch2, aal, txt)) {
                    if (!Files.exists(p)) throw new NoSuchFileException(p + " (run scripts/fetch-data.sh mricron, Debian mricron-data, or pass --data-dir)");
                }
                Colin27Aal.Options co = Colin27Aal.Options.defaults();
                Map<Integer, String> names = Colin27Aal.readLabelNames(txt);
                for (int id : co.classIds()) classNames.add(names.get(id));
                for (Colin27Aal.SplitSample s : Colin27Aal.samples(ch2, aal, txt, co)) items.add(new Item(s.sample(), s.sample().id(), s.split()));
                splitRule = "by bands of axial slice positions (one subject): blocks of round(span/21) slices, block%7<5 train, =5 val, =6 test; "
                        + "the first slice of a block after a split change dropped";
                prov.put("min_pixels", co.minPixels()).put("axis", "z");
            }
            case PHANTOM -> {
                for (ClassInfo c : AbdomenPhantom.CLASSES) classNames.add(c.name());
                int count = o.phantoms;
                if (count < 1) throw new IllegalArgumentException("--phantoms must be at least 1");
                try (SegmentationDataset d = AbdomenPhantom.dataset(1, count, 256)) {
                    for (int i = 0; i < count; i++) {
                        Sample s = d.get(i);
                        items.add(new Item(s, s.id(), i < count * 8 / 10 ? "train" : i < count * 9 / 10 ? "val" : "test"));
                    }
                }
                splitRule = "by seed: the first 80 % train, the next 10 % val, the last 10 % test";
                prov.put("phantoms", count);
            }
            case FOLDER -> {
                DatasetFolder d = DatasetFolder.open(Path.of(o.data));
                for (ClassInfo c : d.classes()) classNames.add(c.name());
                Progress bar = new Progress(err, "data", d.size(), true);
                for (int i = 0; i < d.size(); i++) {
                    Sample s = d.get(i);
                    budget.add(s);
                    items.add(new Item(s, s.meta().get("case"), d.split(i)));
                    bar.update(i + 1, "images");
                }
                splitRule = "as recorded in index.json (by `segsam dataset`)";
            }
            case SAMED2D -> {
                try (SaMed2dDataset d = SaMed2dDataset.open(Path.of(o.data))) {
                    Set<String> names = new TreeSet<>();
                    Progress bar = new Progress(err, "data", d.size(), true);
                    for (int i = 0; i < d.size(); i++) {
                        Sample s = d.get(i);
                        budget.add(s);
                        for (InstanceMask m : s.masks()) names.add(m.className());
                        items.add(new Item(s, samed2dCase(s.id()), null));
                        bar.update(i + 1, "images");
                    }
                    if (names.isEmpty()) throw new IllegalArgumentException(o.data + ": no image of the data set has a mask");
                    classNames.addAll(names);
                }
                splitRule = null;
            }
            case MSD -> {
                MsdDataset d = MsdDataset.open(Path.of(o.data));
                classNames.addAll(d.labels().values());
                List<MsdDataset.Case> cases = d.cases();
                Map<String, String> splitOf = null;
                if (recSplit != null) {
                    splitOf = recordedSplit(recSplit, cases.stream().map(MsdDataset.Case::id).toList(), o.data);
                } else {
                    CaseSplit cs = CaseSplit.of(cases.stream().map(MsdDataset.Case::id).toList(), o.valFraction, o.testFraction);
                    splitOf = new LinkedHashMap<>();
                    for (String c : cases.stream().map(MsdDataset.Case::id).toList()) splitOf.put(c, cs.splitOf(c));
                    prov.put("split_rule_detail", cs.rule());
                }
                decided = splitOf;
                String axisSpec = pick(o.axis, "auto", recorded, "axis");
                String windowSpec = pick(o.window, "auto", recorded, "window");
                int channel = recorded != null && o.channel == 0 && recorded.has("channel") ? recorded.get("channel").asInt() : o.channel;
                int minPixels = recorded != null && o.minPixels == 20 && recorded.has("min_pixels") ? recorded.get("min_pixels").asInt() : o.minPixels;
                int step = recorded != null && o.sliceStep == 1 && recorded.has("slice_step") ? recorded.get("slice_step").asInt() : o.sliceStep;
                if (minPixels < 1) throw new IllegalArgumentException("--min-pixels must be at least 1");
                if (step < 1) throw new IllegalArgumentException("--slice-step must be at least 1");
                if (channel < 0) throw new IllegalArgumentException("--channel must be 0 or more");
                Windowing window = windowFor(windowSpec, d.isCt(channel));
                Axis fixedAxis = axisSpec.equals("auto") ? null : Axis.parse(axisSpec);
                List<MsdDataset.Case> todo = new ArrayList<>();
                for (MsdDataset.Case c : cases) {
                    String sp = splitOf.get(c.id());
                    if (sp != null && (only == null || only.contains(sp))) todo.add(c);
                }
                Progress bar = new Progress(err, "data", todo.size(), true);
                int k = 0, empty = 0;
                Set<String> axesUsed = new TreeSet<>();
                for (MsdDataset.Case c : todo) try {
                    var file = c.channel(channel);
                    List<Sample> slices;
                    try (Volume img = readChannel(file.getKey(), file.getValue(), channel); Volume lab = MedicalImages.read(c.label(), 0, IoLimits.fromSystemProperties())) {
                        if (lab.volumeCount() > 1) {
                            throw new MedicalFormatException(c.label(), "dim", "label volume is " + lab.fileShape() + ": a label map must be 3-D");
                        }
                        VolumeSlicer.requireSameGrid(img, file.getKey(), lab, c.label());
                        VolumeSlicer.requireKnownLabels(lab, c.label(), d.labels());
                        Axis axis = fixedAxis != null ? fixedAxis : VolumeSlicer.defaultAxis(img);
                        axesUsed.add(axis.name().toLowerCase(Locale.ROOT));
                        IntensityMap map = window.resolve(img);
                        slices = VolumeSlicer.slices(c.id(), img, lab, d.labels(), axis, map, minPixels);
                    }
                    int kept = 0;
                    for (Sample s : slices) {
                        if (Integer.parseInt(s.meta().get("index")) % step != 0) continue;
                        budget.add(s);
                        items.add(new Item(s, c.id(), splitOf.get(c.id())));
                        kept++;
                    }
                    if (kept == 0) empty++;
                    bar.update(++k, "volumes");
                } catch (IOException | RuntimeException e) {
                    if (k > 0) err.println(); // end the progress line before the error
                    throw e;
                }
                if (empty > 0) err.println("data: " + empty + " of " + todo.size() + " volumes have no slice with a labelled class of at least " + minPixels + " pixels");
                splitRule = recSplit != null ? recSplit.path("rule").asText() : "by case: --val-fraction " + o.valFraction + ", --test-fraction " + o.testFraction;
                prov.put("name", d.name()).put("axis", axisSpec).put("axes_used", String.join(",", axesUsed)).put("channel", channel)
                        .put("channel_name", d.channels().getOrDefault(channel, null)).put("window", windowSpec).put("min_pixels", minPixels)
                        .put("slice_step", step).put("cases", cases.size()).put("unlabelled_test_images", d.testImages());
            }
            default -> throw new IllegalStateException();
        }
        // ------------------------------------------------------------------ split
        Map<String, String> splitOf = new LinkedHashMap<>();
        if (layout == Layout.MSD) {
            for (Item it : items) splitOf.put(it.caseId(), it.split()); // decided (or taken from the record) before reading
        } else if (recSplit != null) {
            splitOf = recordedSplit(recSplit, items.stream().map(Item::caseId).distinct().toList(), o.data);
            splitRule = recSplit.path("rule").asText(splitRule);
        } else if (layout == Layout.SAMED2D) {
            CaseSplit cs = CaseSplit.of(items.stream().map(Item::caseId).distinct().toList(), o.valFraction, o.testFraction);
            for (Item it : items) splitOf.put(it.caseId(), cs.splitOf(it.caseId()));
            splitRule = cs.rule();
        } else {
            for (Item it : items) splitOf.put(it.caseId(), it.split());
        }
        Map<String, Integer> index = new LinkedHashMap<>();
        for (String c : classNames) index.put(c, index.size() + 1);
        List<TrainSample> tr = new ArrayList<>(), va = new ArrayList<>(), te = new ArrayList<>();
        Map<String, Set<String>> casesBySplit = new LinkedHashMap<>();
        for (String s : List.of("train", "val", "test")) casesBySplit.put(s, new LinkedHashSet<>());
        for (Item it : items) {
            String sp = splitOf.get(it.caseId());
            if (sp == null || only != null && !only.contains(sp)) continue;
            TrainSample t = convert(it.sample(), index);
            (switch (sp) { case "train" -> tr; case "val" -> va; default -> te; }).add(t);
            casesBySplit.get(sp).add(it.caseId());
        }
        if (tr.isEmpty() && va.isEmpty() && te.isEmpty()) {
            throw new IllegalArgumentException(o.data + ": the data set is empty (no slice with a labelled class"
                    + (layout == Layout.MSD ? " of at least --min-pixels pixels" : "") + ")");
        }
        ArrayNode cl = prov.putArray("classes");
        classNames.forEach(cl::add);
        ObjectNode split = prov.putObject("split");
        split.put("rule", splitRule);
        for (var e : casesBySplit.entrySet()) {
            ArrayNode a = split.putArray(e.getKey());
            // the split's full case list when it was made here; eval's subset otherwise keeps the recorded one
            Iterable<String> ids = recSplit != null && recSplit.has(e.getKey()) ? iterable(recSplit.get(e.getKey()))
                    : sortedKeys(decided != null ? decided : splitOf, e.getKey());
            for (String id : ids) a.add(id);
        }
        ObjectNode counts = prov.putObject("samples");
        counts.put("train", tr.size()).put("val", va.size()).put("test", te.size());
        String name = layout == Layout.COLIN27 || layout == Layout.PHANTOM ? o.data : Path.of(o.data).toAbsolutePath().normalize().getFileName().toString();
        String key = layout == Layout.PHANTOM ? "phantom" + o.phantoms : layout == Layout.COLIN27 ? "colin27-" + contentHash(tr, va, te)
                : sanitize(name) + "-" + contentHash(tr, va, te);
        return new DataSources(name, List.copyOf(classNames), tr, va, te, prov, key);
    }

    private static Iterable<String> iterable(JsonNode arr) {
        List<String> out = new ArrayList<>();
        arr.forEach(n -> out.add(n.asText()));
        return out;
    }

    private static List<String> sortedKeys(Map<String, String> splitOf, String split) {
        return splitOf.entrySet().stream().filter(e -> split.equals(e.getValue())).map(Map.Entry::getKey).sorted().toList();
    }

    /** case → split from a recorded split; every recorded case must be in {@code available}. */
    private static Map<String, String> recordedSplit(JsonNode rec, List<String> available, String data) {
        Set<String> have = new LinkedHashSet<>(available);
        Map<String, String> out = new LinkedHashMap<>();
        List<String> missing = new ArrayList<>();
        for (String sp : List.of("train", "val", "test")) {
            for (JsonNode c : rec.path(sp)) {
                out.put(c.asText(), sp);
                if (!have.contains(c.asText())) missing.add(c.asText());
            }
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException(data + " lacks " + missing.size() + " case(s) of the model's recorded split (e.g. " + missing.getFirst()
                    + "): evaluate on the data set the model was trained on");
        }
        return out;
    }

    private static String pick(String given, String dflt, JsonNode recorded, String key) {
        return recorded != null && given.equals(dflt) && recorded.has(key) ? recorded.get(key).asText() : given;
    }

    /** {@code auto} with the data set's own word on CT/MR: a CT window or MR normalisation; otherwise predict's rule. */
    static Windowing windowFor(String spec, Boolean ct) {
        Windowing w = Windowing.parse(spec);
        if (!(w instanceof Windowing.Auto) || ct == null) return w;
        return ct ? new Windowing.Fixed(CtWindow.ABDOMEN) : new Windowing.MrPercentile();
    }

    private static Volume readChannel(Path file, int volume, int channel) throws IOException {
        try {
            return MedicalImages.read(file, volume, IoLimits.fromSystemProperties());
        } catch (MedicalFormatException e) {
            if (!"volume".equals(e.field())) throw e;
            String m = e.getMessage(), cut = ": volume: ";
            throw new MedicalFormatException(file, "channel", "--channel " + channel + ": " + (m.contains(cut) ? m.substring(m.indexOf(cut) + cut.length()) : m));
        }
    }

    /** SA-Med2D image stems are {@code <modality>--<dataset>--<case>--<axis>_<slice>}: the case is {@code <dataset>--<case>}. */
    static String samed2dCase(String id) {
        String[] f = id.split("--");
        return f.length >= 3 ? f[1] + "--" + f[2] : id;
    }

    static TrainSample convert(Sample s, Map<String, Integer> index) {
        List<TrainSample.Target> targets = new ArrayList<>();
        for (InstanceMask m : s.masks()) {
            Integer k = index.get(m.className());
            if (k != null && m.area() > 0) targets.add(new TrainSample.Target(k, m.className(), m.mask()));
        }
        return new TrainSample(s.id(), s.image(), targets);
    }

    /** 12 hex digits of SHA-256 over every sample's id and image: the embedding cache's key for this data. */
    @SafeVarargs
    static String contentHash(List<TrainSample>... splits) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (List<TrainSample> l : splits) {
                for (TrainSample s : l) {
                    md.update(s.id().getBytes(StandardCharsets.UTF_8));
                    md.update(s.image().rgb());
                }
            }
            return HexFormat.of().formatHex(md.digest()).substring(0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String sanitize(String s) {
        String t = s.replaceAll("[^A-Za-z0-9._-]", "_");
        return t.length() > 40 ? t.substring(0, 40) : t;
    }

    /** Refuses to load more than about half the heap of slices (a one-line error instead of running out of memory). */
    private static final class Budget {
        private final long limit = Runtime.getRuntime().maxMemory() / 2;
        private long bytes;
        private int samples;

        void add(Sample s) {
            samples++;
            long px = (long) s.image().width() * s.image().height();
            bytes += px * 3 + px * s.masks().size() + 3L * 256 * 256 * 4; // image, masks, the preprocessed frame
            if (bytes > limit) {
                throw new IllegalStateException(String.format(Locale.ROOT, "the data set does not fit in memory (%d slices, %.0f MB so far, heap %d MB): "
                        + "keep fewer slices with --slice-step N, use fewer cases, or give more heap (SEGSAM_HEAP=16g)", samples, bytes / 1e6,
                        Runtime.getRuntime().maxMemory() >> 20));
            }
        }
    }

    /** The split called {@code name}. */
    public List<TrainSample> split(String name) {
        return switch (name) {
            case "train" -> train;
            case "val" -> val;
            case "test" -> test;
            default -> throw new IllegalArgumentException("unknown split '" + name + "': expected train, val or test");
        };
    }
}
