package dev.segsam.io.medical;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;

/**
 * Test helpers: committed fixtures under {@code /medical/}, their expected values (written by
 * tools/reference/medical_fixtures.py from nibabel/pydicom/numpy), fetched data, and comparisons.
 */
public final class Fixtures {
    private Fixtures() {}

    /** Copies {@code /medical/<name>} (e.g. {@code dicom/CT_small.dcm}) to {@code dir} and returns the copy. */
    public static Path copy(Path dir, String name) {
        Path p = dir.resolve(name.substring(name.lastIndexOf('/') + 1));
        try (InputStream in = Fixtures.class.getResourceAsStream("/medical/" + name)) {
            if (in == null) throw new IllegalStateException("missing test resource /medical/" + name);
            Files.copy(in, p, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p;
    }

    public static byte[] bytes(String name) {
        try (InputStream in = Fixtures.class.getResourceAsStream("/medical/" + name)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static JsonNode load(String name) {
        try (InputStream in = Fixtures.class.getResourceAsStream("/medical/" + name)) {
            return new ObjectMapper().readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code expected.json} (fixtures). */
    public static JsonNode expected() {
        return load("expected.json");
    }

    /** {@code fetched.expected.json} (data from scripts/fetch-data.sh). */
    public static JsonNode fetchedExpected() {
        return load("fetched.expected.json");
    }

    /** The fetched-data folder: {@code -Dsegsam.data}, else {@code $SEGSAM_DATA}, else {@code ~/.cache/segsam}. */
    public static Path dataDir() {
        String p = System.getProperty("segsam.data", System.getenv("SEGSAM_DATA"));
        return p != null && !p.isBlank() ? Path.of(p) : Path.of(System.getProperty("user.home"), ".cache", "segsam");
    }

    /** {@code dataDir()/part/file}, or skips the test (naming the package and the fetch command) when absent. */
    public static Path fetched(String part, String file, String pkg) {
        Path p = dataDir().resolve(part).resolve(file);
        Assumptions.assumeTrue(Files.exists(p), () -> "fetched data " + p + " is absent (" + pkg + "); run scripts/fetch-data.sh " + part.replace("-data", ""));
        return p;
    }

    /** SHA-256 of the volume's float32 values, little-endian, [z, y, x] order. */
    public static String sha256(Volume v) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            long n = v.data().numel();
            float[] buf = new float[(int) Math.min(n, 1 << 16)];
            ByteBuffer bb = ByteBuffer.allocate(buf.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (long at = 0; at < n; at += buf.length) {
                int len = (int) Math.min(buf.length, n - at);
                v.data().read(at, buf, 0, len);
                bb.clear();
                for (int i = 0; i < len; i++) bb.putFloat(buf[i]);
                md.update(bb.array(), 0, len * 4);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    public static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    private static final Map<String, String> NUMPY_DTYPES = Map.of(">i2", "int16", "<i2", "int16", "int16", "int16", "uint8", "uint8",
            "|u1", "uint8", "float32", "float32", "<f4", "float32");

    /** Asserts that {@code v} matches an expected entry: dims, spacing, affine, source, dtype, range, sum, checksum, voxels. */
    public static void assertMatches(JsonNode e, Volume v, String what) {
        assertArrayEquals(ints(e.get("dims")), v.dims(), what + " dims");
        double[] sp = doubles(e.get("spacing"));
        assertArrayEquals(sp, v.spacing(), 1e-9, what + " spacing");
        if (e.has("affine")) {
            double[][] a = v.affine();
            for (int r = 0; r < 4; r++) assertArrayEquals(doubles(e.get("affine").get(r)), a[r], 1e-5, what + " affine row " + r);
            assertEquals(e.get("affine_source").asText(), v.affineSource().name(), what + " affine source");
        }
        String dt = e.get("dtype").asText();
        assertEquals(NUMPY_DTYPES.getOrDefault(dt, dt), v.dataType(), what + " dtype");
        if (e.has("modality") && !e.get("modality").isNull()) assertEquals(e.get("modality").asText(), v.modality().orElse(null), what + " modality");
        double[] range = v.valueRange();
        assertEquals(e.get("min").asDouble(), range[0], 0, what + " min");
        assertEquals(e.get("max").asDouble(), range[1], 0, what + " max");
        double sum = 0;
        for (float f : v.data().toArray()) sum += f;
        assertEquals(e.get("sum").asDouble(), sum, Math.abs(e.get("sum").asDouble()) * 1e-12 + 1e-6, what + " sum");
        for (JsonNode p : e.get("voxels")) {
            int[] ijk = ints(p.get("ijk"));
            assertEquals((float) p.get("value").asDouble(), v.get(ijk[0], ijk[1], ijk[2]), what + " voxel " + p.get("ijk"));
        }
        assertEquals(e.get("sha256").asText(), sha256(v), what + " sha256 of all values");
    }

    public static int[] ints(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = a.get(i).asInt();
        return out;
    }

    public static double[] doubles(JsonNode a) {
        double[] out = new double[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = a.get(i).asDouble();
        return out;
    }
}
