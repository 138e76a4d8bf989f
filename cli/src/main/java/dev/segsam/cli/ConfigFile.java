package dev.segsam.cli;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.segsam.io.Printable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * A command's options as a JSON file ({@code segsam train --config FILE}), read strictly: an object of option names
 * (without the dashes; {@code _} or {@code -} between words) to values of the option's type — whole numbers in range
 * for integer options, finite numbers for decimal ones, {@code true}/{@code false}, strings for text and paths. A
 * train.json (whose {@code "options"} is such an object) is accepted too. Anything else — unknown or repeated names,
 * a value of the wrong type, trailing content, a file over {@link #MAX_BYTES} — is a {@link BadConfigException} with
 * one line naming the file. Fuzzed by {@code ConfigFuzzTest} (docs/FUZZING.md).
 */
public final class ConfigFile {
    private ConfigFile() {}

    /** The largest config file read: a config names a few dozen options. */
    public static final long MAX_BYTES = 1 << 20;

    /** Options that make no sense in a file. */
    private static final Set<String> NOT_IN_FILES = Set.of("--config", "--help", "--version");

    /** A config file that cannot be used; the message is one line that names the file. */
    public static final class BadConfigException extends IOException {
        BadConfigException(Path file, String problem) {
            super(Printable.of(file) + ": " + problem);
        }
    }

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    /** The options {@code file} sets, in file order, each with a value of its option's type. */
    public static Map<OptionSpec, Object> read(Path file, CommandSpec spec) throws IOException {
        if (!Files.exists(file)) throw new NoSuchFileException(file.toString());
        long size = Files.size(file);
        if (size > MAX_BYTES) throw new BadConfigException(file, size + " bytes, more than the " + MAX_BYTES + " a config file may have");
        JsonNode root;
        try (JsonParser p = JSON.createParser(file.toFile())) {
            root = JSON.readTree(p);
        } catch (JsonParseException e) {
            throw new BadConfigException(file, "not valid JSON (" + shown(e.getOriginalMessage().lines().findFirst().orElse("")) + ")");
        } catch (JsonProcessingException e) {
            throw new BadConfigException(file, "not valid JSON (" + shown(e.getOriginalMessage().lines().findFirst().orElse("")) + ")");
        } catch (java.io.CharConversionException e) { // fuzzing finding: bytes that are no UTF-8/16/32 text
            throw new BadConfigException(file, "not valid JSON (not UTF-8 text: " + shown(e.getMessage()) + ")");
        }
        if (root != null && root.isObject() && root.get("options") instanceof JsonNode o && o.isObject()) root = o; // a train.json
        if (root == null || !root.isObject()) throw new BadConfigException(file, "expected a JSON object of option values");
        Map<OptionSpec, Object> out = new LinkedHashMap<>();
        for (var e : root.properties()) {
            String key = e.getKey();
            OptionSpec opt = option(spec, key);
            if (opt == null || NOT_IN_FILES.contains(opt.longestName())) throw new BadConfigException(file, "unknown option \"" + shown(key) + "\"");
            if (out.containsKey(opt)) throw new BadConfigException(file, "option \"" + shown(key) + "\" is given twice");
            String problem = null;
            Object v = null;
            try {
                v = value(opt, e.getValue());
            } catch (IllegalArgumentException bad) {
                problem = bad.getMessage();
            }
            if (problem != null) throw new BadConfigException(file, "\"" + shown(key) + "\": " + problem);
            out.put(opt, v);
        }
        return out;
    }

    /** The option a file key names ({@code text_dim} or {@code text-dim} → {@code --text-dim}), or null. */
    static OptionSpec option(CommandSpec spec, String key) {
        if (key.isEmpty() || key.startsWith("-")) return null;
        return spec.findOption("--" + key.replace('_', '-'));
    }

    /** The key under which an option is written ({@code --text-dim} → {@code text_dim}). */
    static String key(OptionSpec opt) {
        return opt.longestName().replaceFirst("^--", "").replace('-', '_');
    }

    /**
     * {@code v} as a value of {@code opt}'s type, or {@link IllegalArgumentException} saying what was expected (a short
     * phrase, no file name).
     */
    static Object value(OptionSpec opt, JsonNode v) {
        Class<?> type = opt.typeInfo().getType();
        if (type == int.class || type == Integer.class) {
            if (!v.isIntegralNumber() || !v.canConvertToInt()) throw new IllegalArgumentException("expected a whole number from " + Integer.MIN_VALUE + " to " + Integer.MAX_VALUE + ", got " + describe(v));
            return v.intValue();
        }
        if (type == long.class || type == Long.class) {
            if (!v.isIntegralNumber() || !v.canConvertToLong()) throw new IllegalArgumentException("expected a whole number (64-bit), got " + describe(v));
            return v.longValue();
        }
        if (type == double.class || type == Double.class || type == float.class || type == Float.class) {
            if (!v.isNumber() || !Double.isFinite(v.doubleValue())) throw new IllegalArgumentException("expected a finite number, got " + describe(v));
            return type == float.class || type == Float.class ? (Object) (float) v.doubleValue() : (Object) v.doubleValue();
        }
        if (type == boolean.class || type == Boolean.class) {
            if (!v.isBoolean()) throw new IllegalArgumentException("expected true or false, got " + describe(v));
            return v.booleanValue();
        }
        if (type == Path.class) {
            if (!v.isTextual() || v.textValue().isEmpty()) throw new IllegalArgumentException("expected a path as a non-empty string, got " + describe(v));
            try {
                return Path.of(v.textValue());
            } catch (InvalidPathException e) {
                throw new IllegalArgumentException("not a usable path: " + describe(v));
            }
        }
        if (type == String.class) {
            if (!v.isTextual()) throw new IllegalArgumentException("expected a string, got " + describe(v));
            return v.textValue();
        }
        throw new IllegalArgumentException("cannot be set in a config file");
    }

    private static String describe(JsonNode v) {
        if (v.isTextual()) return "\"" + shown(v.textValue()) + "\"";
        if (v.isObject()) return "an object";
        if (v.isArray()) return "an array";
        return shown(v.toString());
    }

    /** Text from the file as it may appear in a message: control characters escaped, at most 40 characters. */
    private static String shown(String s) {
        return Printable.of(s.length() > 40 ? s.substring(0, 40) + "..." : s);
    }
}
