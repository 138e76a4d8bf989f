package dev.segsam.cli.predict;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import dev.segsam.model.Prompt;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Prompts as the user gives them, turned into {@link Prompt}s (original image pixels): the {@code --box x0,y0,x1,y1}
 * and {@code --point x,y,label} flags, and a prompts file, a JSON array of
 * {@code {"box": [x0,y0,x1,y1], "points": [[x,y,label], ...], "multimask": bool}} objects (each field optional, at
 * least a box or a point). Labels are 1 (foreground) or 0 (background).
 *
 * <p>Strict: a label that is not exactly 0 or 1, a {@code multimask} that is not a JSON boolean, a number too large
 * for a float (e.g. {@code 1e400}), a duplicate or unknown field and anything after the array are refused, each with a
 * one-line {@link BadPromptException} naming the file, the prompt and the field.
 */
public final class PromptParser {
    private PromptParser() {}

    /** Thrown for prompts that cannot be used; the message is one line for the user. */
    public static final class BadPromptException extends IllegalArgumentException {
        public BadPromptException(String message) {
            super(message);
        }
    }

    /** The prompt of the {@code --box} (or null) and {@code --point} flags, with {@code multimask}. */
    public static Prompt fromFlags(String box, List<String> points, boolean multimask) {
        if (box == null && points.isEmpty()) throw new BadPromptException("no prompt: give --box and/or --point");
        float[] b = null;
        if (box != null) {
            String[] parts = box.split(",", -1);
            if (parts.length != 4) throw new BadPromptException("--box " + box + ": expected x0,y0,x1,y1");
            b = new float[4];
            for (int i = 0; i < 4; i++) b[i] = coordinate(parts[i], "--box " + box, "x0,y0,x1,y1");
        }
        List<float[]> xy = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        for (String p : points) {
            String[] parts = p.split(",", -1);
            if (parts.length != 3) throw new BadPromptException("--point " + p + ": expected x,y,label");
            xy.add(new float[] {coordinate(parts[0], "--point " + p, "x,y,label"), coordinate(parts[1], "--point " + p, "x,y,label")});
            labels.add(label(parts[2].trim(), "--point " + p));
        }
        return make(b, xy, labels, multimask, "prompt");
    }

    /**
     * The prompts of repeated flags: one {@code --box} with any {@code --point}s is one prompt (as
     * {@link #fromFlags(String, List, boolean)}); several {@code --box}es are one prompt each (points cannot be shared
     * out among them: give those in a prompts file).
     */
    public static List<Prompt> fromFlagLists(List<String> boxes, List<String> points, boolean multimask) {
        if (boxes.size() <= 1) return List.of(fromFlags(boxes.isEmpty() ? null : boxes.get(0), points, multimask));
        if (!points.isEmpty()) {
            throw new BadPromptException("several --box prompts and --point: a point would not know its box; use a --prompts file");
        }
        List<Prompt> out = new ArrayList<>();
        for (String b : boxes) out.add(fromFlags(b, List.of(), multimask));
        return out;
    }

    /** One coordinate of a flag: a finite float. */
    private static float coordinate(String text, String what, String form) {
        String t = text.trim();
        float v;
        try {
            v = Float.parseFloat(t);
        } catch (NumberFormatException e) {
            throw new BadPromptException(what + ": '" + t + "' is not a number (expected " + form + ")");
        }
        if (!Float.isFinite(v)) throw new BadPromptException(what + ": '" + t + "' is not a finite number");
        return v;
    }

    /** A label written as text: exactly 0 or 1 (so {@code 0.9999999999} is refused, not rounded to 1). */
    private static int label(String text, String where) {
        BigDecimal v;
        try {
            v = new BigDecimal(text);
        } catch (NumberFormatException e) {
            throw new BadPromptException(where + ": label '" + shown(text) + "' is not 0 (background) or 1 (foreground)");
        }
        if (v.compareTo(BigDecimal.ZERO) == 0) return 0;
        if (v.compareTo(BigDecimal.ONE) == 0) return 1;
        throw new BadPromptException(where + ": label " + shown(text) + " is not 0 (background) or 1 (foreground)");
    }

    /** A validated {@link Prompt}, its refusals as one-line {@link BadPromptException}s prefixed by {@code where}. */
    private static Prompt make(float[] box, List<float[]> xy, List<Integer> labels, boolean multimask, String where) {
        float[][] pts = xy.toArray(float[][]::new);
        int[] lab = labels.stream().mapToInt(Integer::intValue).toArray();
        try {
            return Prompt.of(pts, lab, box, null, multimask);
        } catch (IllegalArgumentException e) {
            throw new BadPromptException(where + ": " + e.getMessage());
        }
    }

    /** Fails with a one-line message naming {@code where} unless {@code p} lies inside a {@code width × height} image. */
    public static void requireInside(Prompt p, int width, int height, String where) {
        try {
            p.requireInside(width, height);
        } catch (IllegalArgumentException e) {
            throw new BadPromptException(where + ": " + e.getMessage());
        }
    }

    // ------------------------------------------------------------------ prompts files

    /** The most prompts one file may hold (docs/LIMITS.md): their results are streamed, the prompts themselves are kept. */
    public static final int MAX_PROMPTS = 100_000;

    /** The most points one prompt may have (docs/LIMITS.md); SAM's prompts have a handful. */
    public static final int MAX_POINTS = 1024;

    /** Reads a prompts file (see the class comment). */
    public static List<Prompt> readJson(Path file) throws IOException {
        if (!Files.exists(file)) throw new NoSuchFileException(file.toString());
        try (JsonParser p = new JsonFactory().createParser(file.toFile())) {
            return readJson(p, dev.segsam.io.Printable.of(file.getFileName().toString()));
        }
    }

    /** Reads prompts given as JSON text (the same array as a prompts file; {@code name} for messages, e.g. a manifest line). */
    public static List<Prompt> readJson(String json, String name) throws IOException {
        try (JsonParser p = new JsonFactory().createParser(json)) {
            return readJson(p, name);
        }
    }

    private static List<Prompt> readJson(JsonParser parser, String name) throws IOException {
        List<Prompt> out = new ArrayList<>();
        try (JsonParser p = parser) {
            if (p.nextToken() != JsonToken.START_ARRAY) throw new BadPromptException(name + ": expected a JSON array of prompt objects");
            for (JsonToken t; (t = p.nextToken()) != JsonToken.END_ARRAY; ) {
                String where = name + " prompt " + out.size();
                if (t != JsonToken.START_OBJECT) throw new BadPromptException(where + ": not an object");
                if (out.size() == MAX_PROMPTS) throw new BadPromptException(name + ": more than " + MAX_PROMPTS + " prompts (the limit); split the file");
                out.add(object(p, where));
            }
            JsonToken after;
            try {
                after = p.nextToken();
            } catch (JsonProcessingException e) {
                after = JsonToken.NOT_AVAILABLE;
            }
            if (after != null) throw new BadPromptException(name + ": unexpected content after the prompts array (" + at(p.currentTokenLocation()) + ")");
        } catch (JsonProcessingException e) {
            throw new BadPromptException(name + ": not valid JSON (" + shown(e.getOriginalMessage().lines().findFirst().orElse("")) + ", " + at(e.getLocation()) + ")");
        } catch (java.io.CharConversionException e) { // fuzzing finding: bytes that are no UTF-8/16/32 text
            throw new BadPromptException(name + ": not valid JSON (not UTF-8 text: " + shown(e.getMessage()) + ")");
        }
        if (out.isEmpty()) throw new BadPromptException(name + ": no prompts");
        return out;
    }

    private static String at(JsonLocation l) {
        return l == null ? "at the end" : "line " + l.getLineNr() + ", column " + l.getColumnNr();
    }

    /** One prompt object; the parser stands on its START_OBJECT and is left on its END_OBJECT. */
    private static Prompt object(JsonParser p, String where) throws IOException {
        Set<String> seen = new HashSet<>();
        float[] box = null;
        List<float[]> xy = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        boolean multimask = false;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            if (!seen.add(field)) throw new BadPromptException(where + ": duplicate field \"" + shown(field) + "\"");
            JsonToken v = p.nextToken();
            switch (field) {
                case "box" -> box = numberArray(p, v, 4, where + " box", "[x0, y0, x1, y1]");
                case "points" -> {
                    if (v != JsonToken.START_ARRAY) throw new BadPromptException(where + " points: expected an array of [x, y, label], got " + text(p, v));
                    for (JsonToken t; (t = p.nextToken()) != JsonToken.END_ARRAY; ) {
                        String pw = where + " point " + xy.size();
                        if (xy.size() == MAX_POINTS) throw new BadPromptException(where + ": more than " + MAX_POINTS + " points (the limit)");
                        if (t != JsonToken.START_ARRAY) throw new BadPromptException(pw + ": expected [x, y, label], got " + text(p, t));
                        float x = 0, y = 0;
                        int n = 0;
                        for (JsonToken e; (e = p.nextToken()) != JsonToken.END_ARRAY; n++) {
                            if (n == 0) {
                                x = number(p, e, pw + " x", "[x, y, label]");
                            } else if (n == 1) {
                                y = number(p, e, pw + " y", "[x, y, label]");
                            } else if (n == 2) {
                                if (e != JsonToken.VALUE_NUMBER_INT && e != JsonToken.VALUE_NUMBER_FLOAT) {
                                    throw new BadPromptException(pw + ": label " + text(p, e) + " is not 0 (background) or 1 (foreground)");
                                }
                                labels.add(label(p.getText(), pw));
                            } else {
                                throw new BadPromptException(pw + ": expected [x, y, label], got more than 3 values");
                            }
                        }
                        if (n != 3) throw new BadPromptException(pw + ": expected [x, y, label], got " + n + " value" + (n == 1 ? "" : "s"));
                        xy.add(new float[] {x, y});
                    }
                }
                case "multimask" -> {
                    if (v != JsonToken.VALUE_TRUE && v != JsonToken.VALUE_FALSE) {
                        throw new BadPromptException(where + " multimask: expected true or false, got " + text(p, v));
                    }
                    multimask = v == JsonToken.VALUE_TRUE;
                }
                default -> throw new BadPromptException(where + ": unknown field \"" + shown(field) + "\" (expected box, points, multimask)");
            }
        }
        if (box == null && xy.isEmpty()) throw new BadPromptException(where + ": needs a box or at least one point");
        return make(box, xy, labels, multimask, where);
    }

    /** An array of exactly {@code n} numbers starting at token {@code v}. */
    private static float[] numberArray(JsonParser p, JsonToken v, int n, String where, String form) throws IOException {
        if (v != JsonToken.START_ARRAY) throw new BadPromptException(where + ": expected " + form + ", got " + text(p, v));
        float[] out = new float[n];
        int i = 0;
        for (JsonToken t; (t = p.nextToken()) != JsonToken.END_ARRAY; i++) {
            if (i == n) throw new BadPromptException(where + ": expected " + n + " numbers " + form);
            out[i] = number(p, t, where, form);
        }
        if (i != n) throw new BadPromptException(where + ": expected " + n + " numbers " + form + ", got " + i);
        return out;
    }

    /** The number at token {@code t} as a float (through double, as JSON readers do), which must be finite. */
    private static float number(JsonParser p, JsonToken t, String where, String form) throws IOException {
        if (t != JsonToken.VALUE_NUMBER_INT && t != JsonToken.VALUE_NUMBER_FLOAT) {
            throw new BadPromptException(where + ": " + text(p, t) + " is not a number (expected " + form + ")");
        }
        float v = (float) p.getDoubleValue();
        if (!Float.isFinite(v)) throw new BadPromptException(where + ": " + shown(p.getText()) + " is not a finite number (too large for a float)");
        return v;
    }

    /** The JSON text of the value at token {@code t}, for messages (containers named, not printed). */
    private static String text(JsonParser p, JsonToken t) throws IOException {
        if (t == null) return "the end of the file";
        return switch (t) {
            case START_ARRAY -> "an array";
            case START_OBJECT -> "an object";
            case END_ARRAY, END_OBJECT -> "the end of the " + (t == JsonToken.END_ARRAY ? "array" : "object");
            case VALUE_STRING -> "\"" + shown(p.getText()) + "\"";
            default -> shown(p.getText());
        };
    }

    /** Text from the file as it may appear in a message: control characters escaped, at most 40 characters. */
    private static String shown(String s) {
        String t = s.length() > 40 ? s.substring(0, 40) + "..." : s;
        return dev.segsam.io.Printable.of(t);
    }
}
