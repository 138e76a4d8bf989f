package dev.segsam.model.preprocess;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.segsam.io.safetensors.SafeTensorsFile;
import dev.segsam.model.sam.Goldens;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.image.RgbImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/**
 * The input images of tools/reference/preprocess_golden.py, regenerated from the same tiny generators (a 64-bit LCG
 * and an integer-only phantom), plus helpers to read its golden file {@code golden/preprocess.safetensors}: the cases
 * are JSON in the metadata (one entry per section), and a case field that keeps a full output names the tensor
 * holding it.
 */
final class TestImages {
    private TestImages() {}

    static final long LCG_A = 6364136223846793005L;
    static final long LCG_C = 1442695040888963407L;

    /** {@code n} bytes: {@code s ← s·A + C (mod 2⁶⁴)}, byte = the top 8 bits of {@code s}. */
    static byte[] lcgBytes(int n, long seed) {
        byte[] out = new byte[n];
        long s = seed;
        for (int i = 0; i < n; i++) {
            s = s * LCG_A + LCG_C;
            out[i] = (byte) (s >>> 56);
        }
        return out;
    }

    static RgbImage noise(int w, int h, long seed) {
        return new RgbImage(w, h, lcgBytes(w * h * 3, seed));
    }

    /** The grey CT-like phantom of the Python script, replicated to three channels. */
    static RgbImage phantom(int w, int h, long seed) {
        byte[] tex = lcgBytes(w * h, seed);
        long cx = w / 2, cy = h / 2;
        long rx = Math.max(1, w * 2 / 5), ry = Math.max(1, h * 2 / 5);
        long m = Math.max(1, Math.min(w, h));
        long r1 = m / 8, r2 = m / 12;
        long c1x = cx - w / 8, c2x = cx + w / 6, c2y = cy - h / 10;
        byte[] rgb = new byte[w * h * 3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int t = tex[y * w + x] & 0xFF;
                long v = 0;
                if ((x - cx) * (x - cx) * ry * ry + (y - cy) * (y - cy) * rx * rx <= rx * rx * ry * ry) v = 70 + t % 17 - 8;
                if ((x - c1x) * (x - c1x) + (y - cy) * (y - cy) <= r1 * r1) v = 130 + t % 9 - 4;
                if ((x - c2x) * (x - c2x) + (y - c2y) * (y - c2y) <= r2 * r2) v = 210 + t % 9 - 4;
                byte b = (byte) Math.clamp(v, 0, 255);
                int o = (y * w + x) * 3;
                rgb[o] = b;
                rgb[o + 1] = b;
                rgb[o + 2] = b;
            }
        }
        return new RgbImage(w, h, rgb);
    }

    /** The image a golden case's {@code input} describes. */
    static RgbImage make(JsonNode spec) {
        int w = spec.get("w").asInt();
        int h = spec.get("h").asInt();
        long seed = spec.get("seed").asLong();
        return switch (spec.get("kind").asText()) {
            case "noise" -> noise(w, h, seed);
            case "phantom" -> phantom(w, h, seed);
            default -> throw new IllegalArgumentException("unknown image kind " + spec);
        };
    }

    static String describe(JsonNode spec) {
        return spec.get("kind").asText() + " " + spec.get("w").asInt() + "x" + spec.get("h").asInt();
    }

    // ------------------------------------------------------------------ golden/preprocess.safetensors

    private static JsonNode golden;
    private static SafeTensorsFile file;

    /** The golden's metadata as one JSON object: each section's JSON value (plain strings stay strings). */
    static synchronized JsonNode golden() {
        if (golden == null) {
            file = Goldens.open("preprocess.safetensors");
            ObjectMapper json = new ObjectMapper();
            ObjectNode doc = json.createObjectNode();
            for (Map.Entry<String, String> e : file.metadata().entrySet()) {
                String v = e.getValue();
                try {
                    doc.set(e.getKey(), v.startsWith("{") || v.startsWith("[") ? json.readTree(v) : doc.textNode(v));
                } catch (IOException ex) {
                    throw new UncheckedIOException(ex);
                }
            }
            golden = doc;
        }
        return golden;
    }

    /** The raw little-endian bytes of the tensor a case field names. */
    static synchronized byte[] bytes(JsonNode tensorName) {
        golden();
        return file.bytes(tensorName.asText()).toArray(ValueLayout.JAVA_BYTE);
    }

    /** The gunzipped content of the U8 tensor (a gzip stream) a case field names. */
    static byte[] gunzip(JsonNode tensorName) {
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(bytes(tensorName)))) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A tensor's values as little-endian float32 bytes (numpy's {@code astype('<f4').tobytes()}). */
    static byte[] f32le(Tensor t) {
        float[] v = t.toArray();
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) b.putFloat(f);
        return b.array();
    }

    static byte[] f64le(double[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (double d : v) b.putDouble(d);
        return b.array();
    }

    static double[] doublesLe(byte[] raw) {
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        double[] out = new double[raw.length / 8];
        for (int i = 0; i < out.length; i++) out[i] = b.getDouble();
        return out;
    }

    static float[] floatsLe(byte[] raw) {
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[raw.length / 4];
        for (int i = 0; i < out.length; i++) out[i] = b.getFloat();
        return out;
    }

    /** "first difference at element i: expected e, got a" or null when equal. */
    static String firstByteDifference(byte[] expected, byte[] actual, int channels) {
        if (expected.length != actual.length) return "length " + expected.length + " vs " + actual.length;
        for (int i = 0; i < expected.length; i++) {
            if (expected[i] != actual[i]) {
                return "first difference at pixel " + i / channels + " channel " + i % channels + ": expected "
                        + (expected[i] & 0xFF) + ", got " + (actual[i] & 0xFF);
            }
        }
        return null;
    }
}
