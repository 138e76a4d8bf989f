package dev.segsam.model.sam;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.segsam.io.safetensors.SafeTensorsFile;
import dev.segsam.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** Opens a golden safetensors file from the test resources (written by tools/reference/sam_reference.py). */
public final class Goldens {
    private Goldens() {}

    public static SafeTensorsFile open(String name) {
        try {
            Path tmp = Files.createTempFile("golden-", ".safetensors");
            tmp.toFile().deleteOnExit();
            try (InputStream in = Goldens.class.getResourceAsStream("/golden/" + name)) {
                if (in == null) throw new IllegalStateException("missing golden " + name + ": run tools/reference/sam_reference.py");
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            }
            return SafeTensorsFile.open(tmp);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static JsonNode json(SafeTensorsFile f, String key) {
        try {
            return new ObjectMapper().readTree(f.metadata().get(key));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A prompt of the goldens' "prompts" metadata: points with labels, and a box (each may be null). */
    public record GoldenPrompt(float[][] points, int[] labels, float[] box, boolean multimask) {}

    /**
     * Reads prompt {@code p} ({@code {"points": [[x, y, label], ...], "box": [x0, y0, x1, y1], "multimask": bool}});
     * with {@code scale}, coordinates are mapped from the original {@code h × w} image to the resized {@code rh × rw}
     * frame as SAM's apply_coords does (float64 maths, then float32).
     */
    public static GoldenPrompt prompt(JsonNode p, boolean scale, int h, int w, int rh, int rw) {
        double sx = scale ? (double) rw / w : 1, sy = scale ? (double) rh / h : 1;
        float[][] pts = null;
        int[] labels = null;
        if (p.has("points")) {
            pts = new float[p.get("points").size()][];
            labels = new int[pts.length];
            for (int j = 0; j < pts.length; j++) {
                JsonNode q = p.get("points").get(j);
                pts[j] = new float[] {(float) (q.get(0).asDouble() * sx), (float) (q.get(1).asDouble() * sy)};
                labels[j] = q.get(2).asInt();
            }
        }
        float[] box = null;
        if (p.has("box")) {
            JsonNode b = p.get("box");
            box = new float[] {(float) (b.get(0).asDouble() * sx), (float) (b.get(1).asDouble() * sy), (float) (b.get(2).asDouble() * sx),
                (float) (b.get(3).asDouble() * sy)};
        }
        return new GoldenPrompt(pts, labels, box, p.path("multimask").asBoolean());
    }

    /** ‖a − e‖₂ / ‖e‖₂ (shapes must match). */
    public static double relL2(Tensor expected, Tensor actual) {
        if (!java.util.Arrays.equals(expected.shape(), actual.shape())) {
            throw new AssertionError("shape " + java.util.Arrays.toString(actual.shape()) + ", expected " + java.util.Arrays.toString(expected.shape()));
        }
        float[] e = expected.toArray(), a = actual.toArray();
        double num = 0, den = 0;
        for (int i = 0; i < e.length; i++) {
            double d = (double) a[i] - e[i];
            num += d * d;
            den += (double) e[i] * e[i];
        }
        return Math.sqrt(num / Math.max(den, 1e-300));
    }

    /** IoU of the masks {@code expected > 0} and {@code actual > 0}. */
    public static double maskIoU(Tensor expected, Tensor actual) {
        float[] e = expected.toArray(), a = actual.toArray();
        long inter = 0, union = 0;
        for (int i = 0; i < e.length; i++) {
            boolean x = e[i] > 0, y = a[i] > 0;
            if (x && y) inter++;
            if (x || y) union++;
        }
        return union == 0 ? 1.0 : (double) inter / union;
    }
}
