package dev.segsam.cli.predict;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeType;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.segsam.io.AtomicFiles;
import dev.segsam.io.Checkpoint;
import dev.segsam.io.InputFormat;
import dev.segsam.io.IoLimits;
import dev.segsam.io.image.ImageFiles;
import dev.segsam.io.medical.Axis;
import dev.segsam.io.medical.MedicalImages;
import dev.segsam.io.medical.Volume;
import dev.segsam.io.medical.intensity.Windowing;
import dev.segsam.model.Masks;
import dev.segsam.model.Predictor;
import dev.segsam.model.Prompt;
import dev.segsam.model.preprocess.Preprocessor.Convention;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Backends;
import dev.segsam.tensor.Options;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * {@code segsam predict --batch}: one model over many inputs, listed by a folder or a manifest.
 *
 * <ul>
 *   <li>A folder: every picture, NIfTI file and DICOM file in it (sorted by name; hidden files and other files are
 *       left out and named on the error stream), and every sub-folder that holds a DICOM series, each with the command
 *       line's prompts ({@code --box}, {@code --point}, {@code --prompts}) and slice ({@code --axis}, {@code --index},
 *       {@code --window}).</li>
 *   <li>A manifest: CSV with a header row ({@code .csv}) or JSON lines ({@code .jsonl}, one object a line), with the
 *       fields {@code image} (required), {@code id}, {@code slice}, {@code axis}, {@code window}, {@code prompts} and
 *       {@code truth}. Paths are relative to the manifest's folder. {@code prompts} is a prompts file (CSV and JSON
 *       lines) or the prompts array itself (JSON lines); without it the command line's prompts apply. {@code truth} is
 *       a ground-truth mask (a picture, non-zero inside, or a label volume whose slice is taken as for the image):
 *       the summary then gives each prompt's Dice against it.</li>
 * </ul>
 *
 * <p>Each item's files go into its own sub-folder {@code <out>/<id>/} (those of {@code segsam predict}, see
 * {@link PredictionOutput}) and an {@code item.json}, written last: an item whose {@code item.json} exists is done and
 * is skipped when the same command runs again (resume after a crash or a stop; delete the sub-folder to redo an item).
 * An item that fails (unreadable image, prompt outside the image, ...) is reported with its one-line reason and the
 * others go on. {@code summary.csv} and {@code summary.json} list every prompt of every item (item, prompt, class,
 * probability, area, Dice when a truth is given, {@link Plausibility} warnings) and every failure; {@code batch.json} records the model, so a
 * resumed run with other weights is refused.
 */
public final class BatchPredict {
    /** Exit code of a batch in which some items failed (the others' outputs are written). */
    public static final int SOME_FAILED = 3;

    private BatchPredict() {}

    /**
     * One input of a batch.
     *
     * @param prompts null: the command line's prompts
     * @param slice   null: the command line's {@code --index} (or the middle slice)
     * @param axis    null: the command line's {@code --axis}
     * @param window  null: the command line's {@code --window}
     * @param truth   null: no ground truth
     */
    public record Item(String id, Path image, Integer slice, String axis, String window, List<Prompt> prompts, Path truth) {}

    /** What the command line gives every item, and where the results go. */
    public record Settings(Path model, SegSam segsam, Convention convention, Predictor predictor, List<Prompt> prompts,
                           String axis, Integer index, String window, Path out, boolean quiet) {}

    // ------------------------------------------------------------------ listing the items

    /** The items of a folder or a manifest (see the class comment); a bad manifest fails here, naming its line. */
    public static List<Item> items(Path batch, PrintWriter err) throws IOException {
        if (Files.isDirectory(batch)) return folder(batch, err);
        if (!Files.exists(batch)) throw new java.nio.file.NoSuchFileException(batch.toString());
        String name = batch.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".csv")) return csv(batch);
        if (name.endsWith(".jsonl") || name.endsWith(".ndjson")) return jsonLines(batch);
        throw new IllegalArgumentException("--batch " + batch + ": expected a folder, a .csv manifest or a .jsonl manifest");
    }

    static List<Item> folder(Path dir, PrintWriter err) throws IOException {
        List<Path> entries;
        try (Stream<Path> s = Files.list(dir)) {
            entries = s.sorted().toList();
        }
        List<Item> items = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        List<String> left = new ArrayList<>();
        for (Path p : entries) {
            String n = p.getFileName().toString();
            if (n.startsWith(".")) continue;
            if (!isInput(p)) {
                left.add(n);
                continue;
            }
            items.add(new Item(uniqueId(stem(n), ids), p, null, null, null, null, null));
        }
        if (!left.isEmpty()) err.println("segsam: --batch " + dir + ": left out (not an image, NIfTI or DICOM): " + String.join(", ", left));
        if (items.isEmpty()) throw new IllegalArgumentException("--batch " + dir + ": no image, NIfTI or DICOM input in the folder");
        return items;
    }

    /**
     * Whether a folder entry is an input: a picture or NIfTI file, a DICOM file (with the {@code DICM} preamble or a
     * {@code .dcm} name; other unknown files are not taken for bare DICOM here), or a folder holding such DICOM files.
     */
    static boolean isInput(Path p) {
        try {
            if (Files.isDirectory(p)) {
                try (Stream<Path> s = Files.list(p)) {
                    return s.anyMatch(c -> Files.isRegularFile(c) && !c.getFileName().toString().startsWith(".") && isDicomFile(c));
                }
            }
            if (!Files.isRegularFile(p)) return false;
            InputFormat f = InputFormat.detect(p);
            return f != InputFormat.DICOM || isDicomFile(p);
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static boolean isDicomFile(Path p) {
        if (p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".dcm")) return true;
        try (InputStream in = Files.newInputStream(p)) {
            byte[] h = in.readNBytes(132);
            return h.length == 132 && h[128] == 'D' && h[129] == 'I' && h[130] == 'C' && h[131] == 'M';
        } catch (IOException e) {
            return false;
        }
    }

    /** A file name without its image/volume extension. */
    static String stem(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        for (String ext : new String[] {".nii.gz", ".nii", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".dcm", ".gif", ".bmp"}) {
            if (lower.endsWith(ext) && name.length() > ext.length()) return name.substring(0, name.length() - ext.length());
        }
        return name;
    }

    /** {@code wanted} made safe as a folder name and unique among {@code taken} (which it joins). */
    static String uniqueId(String wanted, Set<String> taken) {
        String base = wanted.replaceAll("[^A-Za-z0-9._-]", "_");
        if (base.isEmpty() || base.equals(".") || base.equals("..")) base = "item";
        String id = base;
        for (int k = 2; !taken.add(id); k++) id = base + "_" + k;
        return id;
    }

    static List<Item> csv(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        String name = file.getFileName().toString();
        int first = 0;
        while (first < lines.size() && lines.get(first).isBlank()) first++;
        if (first == lines.size()) throw new IllegalArgumentException(name + ": empty manifest");
        List<String> header = Csv.parse(stripBom(lines.get(first)), name + " line " + (first + 1));
        Map<String, Integer> col = new LinkedHashMap<>();
        for (int i = 0; i < header.size(); i++) {
            String h = header.get(i).trim().toLowerCase(Locale.ROOT);
            if (!FIELDS.contains(h)) throw new IllegalArgumentException(name + ": unknown column \"" + header.get(i) + "\" (expected " + String.join(", ", FIELDS) + ")");
            if (col.put(h, i) != null) throw new IllegalArgumentException(name + ": column \"" + h + "\" twice");
        }
        if (!col.containsKey("image")) throw new IllegalArgumentException(name + ": no \"image\" column");
        List<Item> items = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        for (int ln = first + 1; ln < lines.size(); ln++) {
            if (lines.get(ln).isBlank()) continue;
            String where = name + " line " + (ln + 1);
            List<String> cells = Csv.parse(lines.get(ln), where);
            if (cells.size() > header.size()) throw new IllegalArgumentException(where + ": " + cells.size() + " cells for " + header.size() + " columns");
            Map<String, String> row = new LinkedHashMap<>();
            col.forEach((k, i) -> {
                String v = i < cells.size() ? cells.get(i).trim() : "";
                if (!v.isEmpty()) row.put(k, v);
            });
            items.add(item(row, null, file, where, ids));
        }
        if (items.isEmpty()) throw new IllegalArgumentException(name + ": no items");
        return items;
    }

    static List<Item> jsonLines(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        String name = file.getFileName().toString();
        ObjectMapper json = new ObjectMapper();
        List<Item> items = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        for (int ln = 0; ln < lines.size(); ln++) {
            String line = ln == 0 ? stripBom(lines.get(ln)) : lines.get(ln);
            if (line.isBlank()) continue;
            String where = name + " line " + (ln + 1);
            JsonNode o;
            try {
                o = json.readTree(line);
            } catch (IOException e) {
                throw new IllegalArgumentException(where + ": not valid JSON (" + e.getMessage().lines().findFirst().orElse("") + ")");
            }
            if (o == null || !o.isObject()) throw new IllegalArgumentException(where + ": expected a JSON object");
            Map<String, String> row = new LinkedHashMap<>();
            String inlinePrompts = null;
            for (Map.Entry<String, JsonNode> e : o.properties()) {
                String k = e.getKey();
                JsonNode v = e.getValue();
                if (!FIELDS.contains(k)) throw new IllegalArgumentException(where + ": unknown field \"" + k + "\" (expected " + String.join(", ", FIELDS) + ")");
                if (v.isNull()) continue;
                if (k.equals("prompts") && v.isArray()) {
                    inlinePrompts = v.toString();
                } else if (v.getNodeType() == JsonNodeType.STRING || (k.equals("slice") && v.isIntegralNumber())) {
                    row.put(k, v.asText());
                } else {
                    throw new IllegalArgumentException(where + ": field \"" + k + "\" must be " + (k.equals("slice") ? "a whole number" : "a string"));
                }
            }
            items.add(item(row, inlinePrompts, file, where, ids));
        }
        if (items.isEmpty()) throw new IllegalArgumentException(name + ": no items");
        return items;
    }

    private static final List<String> FIELDS = List.of("image", "id", "slice", "axis", "window", "prompts", "truth");

    private static String stripBom(String s) {
        return s.startsWith("\uFEFF") ? s.substring(1) : s;
    }

    private static Item item(Map<String, String> row, String inlinePrompts, Path manifest, String where, Set<String> ids) throws IOException {
        Path base = manifest.toAbsolutePath().getParent();
        String image = row.get("image");
        if (image == null) throw new IllegalArgumentException(where + ": no image");
        Integer slice = null;
        if (row.containsKey("slice")) {
            try {
                slice = Integer.parseInt(row.get("slice"));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(where + ": slice \"" + row.get("slice") + "\" is not a whole number");
            }
            if (slice < 0) throw new IllegalArgumentException(where + ": slice " + slice + " is negative");
        }
        if (row.containsKey("axis")) {
            try {
                Axis.parse(row.get("axis"));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(where + ": " + e.getMessage());
            }
        }
        if (row.containsKey("window")) {
            try {
                Windowing.parse(row.get("window"));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(where + ": " + e.getMessage());
            }
        }
        List<Prompt> prompts = null;
        try {
            if (inlinePrompts != null) prompts = PromptParser.readJson(inlinePrompts, where);
            else if (row.containsKey("prompts")) prompts = PromptParser.readJson(base.resolve(row.get("prompts")));
        } catch (java.nio.file.NoSuchFileException e) {
            throw new IllegalArgumentException(where + ": prompts file " + e.getMessage() + " not found");
        }
        String id = row.containsKey("id") ? row.get("id") : stem(Path.of(image).getFileName().toString()) + (slice != null ? "_" + slice : "");
        return new Item(uniqueId(id, ids), base.resolve(image), slice, row.get("axis"), row.get("window"), prompts,
                row.containsKey("truth") ? base.resolve(row.get("truth")) : null);
    }

    /** A minimal RFC 4180 reader for one line: comma-separated cells, double quotes around cells with commas or quotes. */
    static final class Csv {
        static List<String> parse(String line, String where) {
            List<String> cells = new ArrayList<>();
            StringBuilder cell = new StringBuilder();
            boolean quoted = false, wasQuoted = false;
            for (int i = 0; i < line.length(); i++) {
                char c = line.charAt(i);
                if (quoted) {
                    if (c == '"') {
                        if (i + 1 < line.length() && line.charAt(i + 1) == '"') {
                            cell.append('"');
                            i++;
                        } else {
                            quoted = false;
                        }
                    } else {
                        cell.append(c);
                    }
                } else if (c == ',') {
                    cells.add(cell.toString());
                    cell.setLength(0);
                    wasQuoted = false;
                } else if (c == '"' && cell.toString().isBlank() && !wasQuoted) {
                    cell.setLength(0);
                    quoted = true;
                    wasQuoted = true;
                } else if (c != '\r') {
                    cell.append(c);
                }
            }
            if (quoted) throw new IllegalArgumentException(where + ": a quoted cell is not closed");
            cells.add(cell.toString());
            return cells;
        }

        static String quote(String s) {
            if (s == null) return "";
            return s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
        }
    }

    // ------------------------------------------------------------------ running

    /**
     * {@code segsam predict --batch}: lists the items (a bad manifest fails before anything is loaded), loads the model
     * once and runs them all ({@link #run}). {@code prompts} (null: none given) apply to items without their own.
     */
    public static int command(Path batch, Path model, String convention, Options options, List<Prompt> prompts, String axis,
                              Integer index, String window, Path out, boolean quiet, PrintWriter o, PrintWriter err) throws IOException {
        if (axis != null) Axis.parse(axis);
        Windowing.parse(window);
        List<Item> items = items(batch, err);
        if (prompts == null) {
            for (Item it : items) {
                if (it.prompts() == null) throw new PromptParser.BadPromptException("item " + it.id() + " has no prompts: give --box, --point or --prompts, or prompts in the manifest");
            }
        }
        Backend backend = Backends.select(options);
        try (Checkpoint weights = Checkpoint.open(model, IoLimits.fromSystemProperties())) {
            SegSam segsam = SegSam.load(weights, backend);
            Convention conv = Conventions.choose(convention, segsam);
            Predictor predictor = new Predictor(segsam, conv, options);
            if (!quiet) {
                err.println("segsam: " + segsam.sam().config().name() + (segsam.hasSemantics() ? " + SEG-SAM (" + segsam.config().numClasses() + " classes)" : "")
                        + " on " + backend.name() + ", batch of " + items.size() + " item(s) from " + batch);
            }
            return run(new Settings(model, segsam, conv, predictor, prompts, axis, index, window, out, quiet), items, batch, o, err);
        }
    }

    /** Outcome of one item: its summary rows (one per prompt) or the reason it failed. */
    record Outcome(String id, String status, List<ObjectNode> rows, String error) {}

    /**
     * Runs every item (see the class comment) and writes the summary; returns 0 when every item succeeded (or was done
     * already), {@link #SOME_FAILED} otherwise.
     */
    public static int run(Settings s, List<Item> items, Path batch, PrintWriter o, PrintWriter err) throws IOException {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        Files.createDirectories(s.out());
        writeBatchJson(s, batch, json);
        List<Outcome> outcomes = new ArrayList<>();
        Progress bar = new Progress(err, "items", items.size(), !s.quiet());
        bar.update(0, "items");
        int done = 0;
        for (Item item : items) {
            outcomes.add(runOne(s, item, json));
            bar.update(++done, "items");
        }
        long failed = outcomes.stream().filter(x -> x.status().equals("failed")).count();
        long skipped = outcomes.stream().filter(x -> x.status().equals("done earlier")).count();
        writeSummary(s.out(), outcomes, json);
        for (Outcome x : outcomes) if (x.error() != null) err.println("segsam: " + x.id() + ": " + x.error());
        o.printf(Locale.ROOT, "batch: %d items: %d predicted, %d done earlier (skipped), %d failed%n", items.size(),
                items.size() - failed - skipped, skipped, failed);
        o.println("wrote " + s.out().resolve("summary.csv") + " and summary.json");
        return failed > 0 ? SOME_FAILED : 0;
    }

    /** {@code batch.json}: the model of this output folder; a resumed run must use the same one. */
    private static void writeBatchJson(Settings s, Path batch, ObjectMapper json) throws IOException {
        Path f = s.out().resolve("batch.json");
        String model = s.model().getFileName().toString();
        long size = Files.size(s.model());
        if (Files.exists(f)) {
            JsonNode old = json.readTree(f.toFile());
            if (!model.equals(old.path("model_name").asText()) || size != old.path("model_bytes").asLong()) {
                throw new IllegalArgumentException(s.out() + " holds a batch run of " + old.path("model_name").asText()
                        + " (" + old.path("model_bytes").asLong() + " bytes), not of " + model + " (" + size + " bytes); use another --out");
            }
            return;
        }
        ObjectNode root = json.createObjectNode();
        root.put("model", PredictionOutput.relative(s.out(), s.model()));
        root.put("model_name", model);
        root.put("model_bytes", size);
        root.put("batch", PredictionOutput.relative(s.out(), batch));
        AtomicFiles.write(f, true, tmp -> json.writeValue(tmp.toFile(), root));
    }

    /** Whether {@code out} holds an earlier batch run, which a new run may resume. */
    public static boolean isBatchFolder(Path out) {
        return Files.isRegularFile(out.resolve("batch.json"));
    }

    private static Outcome runOne(Settings s, Item item, ObjectMapper json) {
        Path dir = s.out().resolve(item.id());
        Path marker = dir.resolve("item.json");
        try {
            if (Files.exists(marker)) {
                List<ObjectNode> rows = new ArrayList<>();
                for (JsonNode r : json.readTree(marker.toFile()).path("rows")) rows.add((ObjectNode) r);
                return new Outcome(item.id(), "done earlier", rows, null);
            }
            List<Prompt> prompts = item.prompts() != null ? item.prompts() : s.prompts();
            if (prompts == null || prompts.isEmpty()) throw new PromptParser.BadPromptException("no prompts (give them in the manifest or on the command line)");
            String axisName = item.axis() != null ? item.axis() : s.axis();
            Axis axis = axisName == null ? null : Axis.parse(axisName);
            Integer slice = item.slice() != null ? item.slice() : s.index();
            InputImage input = InputImage.load(item.image(), axis, slice, Windowing.parse(item.window() != null ? item.window() : s.window()));
            int w = input.image().width(), h = input.image().height();
            for (int i = 0; i < prompts.size(); i++) PromptParser.requireInside(prompts.get(i), w, h, "prompt " + i);
            boolean[] truth = item.truth() == null ? null : truth(item.truth(), input, w, h);
            List<Predictor.Result> results = new ArrayList<>();
            try (Predictor.Encoded enc = s.predictor().encode(input.image(), null)) {
                for (Prompt p : prompts) results.add(s.predictor().predict(enc, p));
                Files.createDirectories(dir);
                new PredictionOutput(s.model(), item.image(), s.segsam(), s.convention(), input.image(), enc, prompts, results)
                        .input(input).write(dir);
            }
            List<ObjectNode> rows = new ArrayList<>();
            for (int i = 0; i < results.size(); i++) {
                Predictor.Result r = results.get(i);
                ObjectNode row = json.createObjectNode();
                row.put("item", item.id()).put("prompt", i);
                if (r.semantic() != null && r.semantic().predictedClass() > 0) {
                    row.put("class", s.segsam().config().classNames().get(r.semantic().predictedClass() - 1));
                    row.put("probability", r.semantic().classProbability());
                } else {
                    row.putNull("class");
                    row.putNull("probability");
                }
                row.put("area", Masks.area(r.mask()));
                row.put("warnings", String.join("; ", Plausibility.warnings(prompts.get(i), r, w, h)));
                if (truth != null) row.put("dice", dice(r.mask(), truth));
                else row.putNull("dice");
                rows.add(row);
            }
            ObjectNode mark = json.createObjectNode();
            mark.put("item", item.id());
            mark.put("image", PredictionOutput.relative(dir, item.image()));
            if (item.truth() != null) mark.put("truth", PredictionOutput.relative(dir, item.truth()));
            ArrayNode arr = mark.putArray("rows");
            rows.forEach(arr::add);
            AtomicFiles.write(marker, true, tmp -> json.writeValue(tmp.toFile(), mark)); // last: the item is done
            return new Outcome(item.id(), "ok", rows, null);
        } catch (Exception e) {
            return new Outcome(item.id(), "failed", List.of(), oneLine(e));
        }
    }

    private static String oneLine(Throwable e) {
        String m = e.getMessage();
        if (m == null || m.isBlank()) m = e.getClass().getSimpleName();
        if (e instanceof java.nio.file.NoSuchFileException) m = "no such file: " + m;
        return m.replace('\n', ' ');
    }

    /** The ground truth of one item as a mask of the picture's pixels (non-zero inside). */
    static boolean[] truth(Path file, InputImage input, int w, int h) throws IOException {
        boolean[] m = new boolean[w * h];
        if (InputFormat.detect(file) == InputFormat.PICTURE) {
            ImageFiles.Mask mask;
            try (InputStream in = Files.newInputStream(file)) {
                mask = ImageFiles.readMask(in, file.toString());
            }
            if (mask.width() != w || mask.height() != h) {
                throw new IllegalArgumentException("truth " + file.getFileName() + " is " + mask.width() + "x" + mask.height() + ", the image " + w + "x" + h);
            }
            for (int i = 0; i < m.length; i++) m[i] = mask.inside()[i] != 0;
            return m;
        }
        if (input.volume() == null) throw new IllegalArgumentException("truth " + file.getFileName() + " is a volume, the image a picture");
        try (Volume v = MedicalImages.read(file, 0, IoLimits.fromSystemProperties())) {
            if (!java.util.Arrays.equals(v.dims(), input.volume().dims())) {
                throw new IllegalArgumentException("truth " + file.getFileName() + " has dims " + java.util.Arrays.toString(v.dims())
                        + ", the image " + java.util.Arrays.toString(input.volume().dims()));
            }
            float[] s = v.displaySlice(input.axis(), input.index()).values();
            for (int i = 0; i < m.length; i++) m[i] = s[i] != 0;
            return m;
        }
    }

    /** Dice 2|A∩B| / (|A| + |B|); 1 when both are empty. */
    static double dice(boolean[] a, boolean[] b) {
        long both = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            if (a[i]) na++;
            if (b[i]) nb++;
            if (a[i] && b[i]) both++;
        }
        return na + nb == 0 ? 1.0 : 2.0 * both / (na + nb);
    }

    private static void writeSummary(Path out, List<Outcome> outcomes, ObjectMapper json) throws IOException {
        StringBuilder csv = new StringBuilder("item,status,prompt,class,probability,area,dice,error,warnings\n");
        ObjectNode root = json.createObjectNode();
        ArrayNode rows = root.putArray("rows"), failures = root.putArray("failures");
        int ok = 0, earlier = 0, failed = 0;
        for (Outcome x : outcomes) {
            switch (x.status()) {
                case "ok" -> ok++;
                case "failed" -> failed++;
                default -> earlier++;
            }
            if (x.error() != null) {
                failures.addObject().put("item", x.id()).put("error", x.error());
                csv.append(Csv.quote(x.id())).append(",failed,,,,,,").append(Csv.quote(x.error())).append(",\n");
            }
            for (ObjectNode r : x.rows()) {
                ObjectNode row = r.deepCopy();
                row.put("status", x.status());
                rows.add(row);
                csv.append(Csv.quote(x.id())).append(',').append(x.status()).append(',').append(r.path("prompt").asInt()).append(',')
                        .append(r.path("class").isNull() ? "" : Csv.quote(r.path("class").asText())).append(',')
                        .append(r.path("probability").isNull() ? "" : String.format(Locale.ROOT, "%.6f", r.path("probability").asDouble())).append(',')
                        .append(r.path("area").asLong()).append(',')
                        .append(r.path("dice").isNull() ? "" : String.format(Locale.ROOT, "%.6f", r.path("dice").asDouble())).append(",,")
                        .append(Csv.quote(r.path("warnings").asText(""))).append('\n');
            }
        }
        root.put("items", outcomes.size()).put("predicted", ok).put("done_earlier", earlier).put("failed", failed);
        AtomicFiles.write(out.resolve("summary.csv"), true, tmp -> Files.writeString(tmp, csv.toString()));
        AtomicFiles.write(out.resolve("summary.json"), true, tmp -> json.writeValue(tmp.toFile(), root));
    }
}
