package dev.segsam.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The integrity rules of a training run folder ({@code segsam train --out}), which is written step by step rather than
 * all at once (see {@link OutputFolder} for the commands that write a folder at the end):
 * <ul>
 *   <li>{@code train.json} is saved before the checkpoint, so after a kill it never misses a step the checkpoint holds;
 *       on {@code --resume} the steps and validations past the checkpoint's step are dropped ({@link #truncate}).
 *   <li>Temporary files left by a killed write ({@code .<name>.<random>.tmp}, io's AtomicFiles) are deleted when the
 *       next run starts ({@link #cleanLeftovers}).
 *   <li>{@code --resume} takes the run's options from {@code train.json}: an option not given on the command line gets
 *       the run's value, one given with another value is refused, naming it ({@link #resumeOptions}).
 * </ul>
 */
final class RunFolder {
    private RunFolder() {}

    /** The temporary file names of io's AtomicFiles: {@code .<name>.<base-36 random>.tmp}. */
    private static final Pattern LEFTOVER = Pattern.compile("\\..+\\.[0-9a-z]+\\.tmp");

    /** Deletes the temporary files a killed write left in {@code dir}; returns how many. */
    static int cleanLeftovers(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return 0;
        int n = 0;
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                if (Files.isRegularFile(p) && LEFTOVER.matcher(p.getFileName().toString()).matches()) {
                    Files.delete(p);
                    n++;
                }
            }
        }
        return n;
    }

    /**
     * For {@code --resume}: the options of the run in {@code trainJson} ({@code "options"}, as {@code current} writes
     * them, keys without dashes) fill the options not given on the command line (or in {@code --config}); those given
     * with a different value make the whole resume fail with one line that names each. {@code configured}: the keys
     * {@code --config} set. No train.json: nothing to check.
     */
    static void resumeOptions(CommandSpec spec, Path trainJson, Supplier<ObjectNode> current, ObjectMapper json, Set<String> configured)
            throws IOException {
        if (!Files.exists(trainJson)) return;
        JsonNode saved;
        try {
            saved = json.readTree(trainJson.toFile()).path("options");
        } catch (IOException e) {
            throw new IOException(trainJson + " is damaged (" + Main.oneLine(e) + "); cannot check the options of the run to resume");
        }
        if (!saved.isObject()) return;
        var parsed = spec.commandLine().getParseResult();
        ObjectNode now = current.get();
        List<String> contradictions = new ArrayList<>();
        for (Iterator<String> it = saved.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            JsonNode was = saved.get(key), is = now.get(key);
            OptionSpec opt = spec.findOption("--" + key.replace('_', '-'));
            if (opt == null || same(was, is)) continue;
            if (parsed.hasMatchedOption(opt) || configured.contains(key)) {
                contradictions.add(opt.longestName() + " " + text(is) + " (the run has " + text(was) + ")");
            } else if (!was.isNull()) {
                try {
                    opt.setValue(ConfigFile.value(opt, was));
                } catch (IllegalArgumentException e) {
                    throw new IOException(trainJson + ": option \"" + key + "\": " + e.getMessage());
                }
            }
        }
        if (!contradictions.isEmpty()) {
            throw new IllegalArgumentException("--resume: " + String.join(", ", contradictions)
                    + " contradict" + (contradictions.size() == 1 ? "s" : "") + " the run in " + trainJson.getParent()
                    + "; drop " + (contradictions.size() == 1 ? "it" : "them") + " to continue that run, or start over with --force");
        }
    }

    private static boolean same(JsonNode a, JsonNode b) {
        if (a == null || b == null) return a == b;
        if (a.isNumber() && b.isNumber()) return a.asDouble() == b.asDouble();
        return a.equals(b);
    }

    private static String text(JsonNode n) {
        return n == null || n.isNull() ? "(none)" : n.asText();
    }

    /** Drops the steps and validations of {@code log} after {@code step} (saved before a checkpoint that never came). */
    static void truncate(ObjectNode log, int step) {
        for (String k : new String[] {"steps", "evals"}) {
            if (!(log.get(k) instanceof ArrayNode a)) continue;
            for (int i = a.size() - 1; i >= 0; i--) if (a.get(i).path("step").asInt(0) > step) a.remove(i);
        }
    }
}
