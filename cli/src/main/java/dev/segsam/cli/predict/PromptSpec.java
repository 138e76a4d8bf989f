package dev.segsam.cli.predict;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One prompt as the user gives it, in original image pixels: optional box {@code x0,y0,x1,y1}, points
 * {@code (x, y, label)} with label 1 = foreground and 0 = background, and whether to return SAM's three masks.
 */
public record PromptSpec(float[] box, float[][] points, int[] labels, boolean multimask) {

    /** Thrown for prompts that cannot be used; the message is one line for the user. */
    public static final class BadPromptException extends IllegalArgumentException {
        public BadPromptException(String message) {
            super(message);
        }
    }

    public boolean hasPoints() {
        return points != null && points.length > 0;
    }

    /** Parses {@code "x0,y0,x1,y1"}. */
    public static float[] parseBox(String s) {
        float[] v = numbers(s, 4, "--box", "x0,y0,x1,y1");
        return v;
    }

    /** Parses {@code "x,y,label"}; the label must be 0 or 1. */
    public static float[] parsePoint(String s) {
        return numbers(s, 3, "--point", "x,y,label");
    }

    private static float[] numbers(String s, int n, String what, String form) {
        String[] parts = s.split(",");
        if (parts.length != n) throw new BadPromptException(what + " " + s + ": expected " + form);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            try {
                v[i] = Float.parseFloat(parts[i].trim());
            } catch (NumberFormatException e) {
                throw new BadPromptException(what + " " + s + ": '" + parts[i].trim() + "' is not a number (expected " + form + ")");
            }
            if (!Float.isFinite(v[i])) throw new BadPromptException(what + " " + s + ": not a finite number");
        }
        return v;
    }

    /** A prompt from command-line pieces (box or null, points as {@code [x, y, label]}). */
    public static PromptSpec of(float[] box, List<float[]> points, boolean multimask) {
        float[][] xy = new float[points.size()][];
        int[] labels = new int[points.size()];
        for (int i = 0; i < xy.length; i++) {
            float[] p = points.get(i);
            xy[i] = new float[] {p[0], p[1]};
            labels[i] = label(p[2], "point " + (i + 1));
        }
        return new PromptSpec(box, xy, labels, multimask);
    }

    private static int label(double v, String where) {
        if (v != 0 && v != 1) {
            throw new BadPromptException(where + ": label " + fmt(v) + " is not 0 (background) or 1 (foreground)");
        }
        return (int) v;
    }

    /**
     * Reads a prompts file: a JSON array of objects {@code {"box": [x0,y0,x1,y1], "points": [[x,y,label], ...],
     * "multimask": bool}}, each field optional but at least a box or a point per prompt.
     */
    public static List<PromptSpec> readJson(Path file) throws IOException {
        if (!Files.exists(file)) throw new NoSuchFileException(file.toString());
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new BadPromptException(file + ": not valid JSON (" + e.getMessage().lines().findFirst().orElse("") + ")");
        }
        if (root == null || !root.isArray()) throw new BadPromptException(file + ": expected a JSON array of prompt objects");
        List<PromptSpec> out = new ArrayList<>();
        for (int i = 0; i < root.size(); i++) {
            JsonNode o = root.get(i);
            String where = file.getFileName() + " prompt " + i;
            if (!o.isObject()) throw new BadPromptException(where + ": not an object");
            float[] box = null;
            if (o.has("box")) box = array(o.get("box"), 4, where + " box");
            List<float[]> pts = new ArrayList<>();
            if (o.has("points")) {
                JsonNode p = o.get("points");
                if (!p.isArray()) throw new BadPromptException(where + ": points must be an array of [x, y, label]");
                for (int j = 0; j < p.size(); j++) pts.add(array(p.get(j), 3, where + " point " + j));
            }
            boolean multi = o.path("multimask").asBoolean(false);
            if (box == null && pts.isEmpty()) throw new BadPromptException(where + ": needs a box or at least one point");
            out.add(of(box, pts, multi));
        }
        if (out.isEmpty()) throw new BadPromptException(file + ": no prompts");
        return out;
    }

    private static float[] array(JsonNode n, int len, String where) {
        if (n == null || !n.isArray() || n.size() != len) throw new BadPromptException(where + ": expected " + len + " numbers");
        float[] v = new float[len];
        for (int i = 0; i < len; i++) {
            if (!n.get(i).isNumber()) throw new BadPromptException(where + ": '" + n.get(i) + "' is not a number");
            v[i] = (float) n.get(i).asDouble();
        }
        return v;
    }

    /** Checks the prompt against the image size: boxes ordered and inside, points inside. */
    public void validate(int width, int height, String where) {
        if (box == null && !hasPoints()) throw new BadPromptException(where + ": needs a box or at least one point");
        if (box != null) {
            if (!(box[0] < box[2] && box[1] < box[3])) {
                throw new BadPromptException(where + ": box " + str(box) + " must have x0 < x1 and y0 < y1");
            }
            if (box[0] < 0 || box[1] < 0 || box[2] > width || box[3] > height) {
                throw new BadPromptException(where + ": box " + str(box) + " lies outside the " + width + "x" + height + " image");
            }
        }
        if (points != null) {
            for (float[] p : points) {
                if (p[0] < 0 || p[1] < 0 || p[0] > width || p[1] > height) {
                    throw new BadPromptException(where + ": point (" + fmt(p[0]) + ", " + fmt(p[1]) + ") lies outside the " + width + "x" + height + " image");
                }
            }
        }
    }

    private static String str(float[] v) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < v.length; i++) sb.append(i == 0 ? "" : ",").append(fmt(v[i]));
        return sb.toString();
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? String.valueOf((long) v) : String.format(Locale.ROOT, "%g", v);
    }
}
