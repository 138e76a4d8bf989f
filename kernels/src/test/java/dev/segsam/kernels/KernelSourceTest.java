package dev.segsam.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Without a GPU: the Java launch table, the CUDA sources and the committed fatbin agree.
 * <ul>
 *   <li>every {@link Kernel} is declared in {@code src/main/cuda} with the same {@code __launch_bounds__} and parameter
 *       kinds, and every declared kernel is in the table;</li>
 *   <li>the fatbin resource is an (uncompressed) fatbin holding SASS (ELF) and PTX, and contains every kernel name;</li>
 *   <li>its stamp lists the SHA-256 of exactly the current sources, the flags of build-fatbin.sh and the fatbin's own
 *       hash: editing a kernel without rebuilding the fatbin fails here, on any machine.</li>
 * </ul>
 */
class KernelSourceTest {
    private static final Path STAMP = Path.of("src/main/resources/dev/segsam/kernels/segsam.fatbin.sha256");

    @Test
    void javaTableMatchesTheCudaDeclarations() {
        Map<String, KernelSource> declared = KernelSource.all();
        List<String> problems = new ArrayList<>();
        for (Kernel k : Kernel.values()) {
            KernelSource s = declared.get(k.symbol);
            if (s == null) problems.add(k + ": no kernel " + k.symbol + " in src/main/cuda");
            else {
                if (s.threads() != k.threads) problems.add(k.symbol + ": __launch_bounds__(" + s.threads() + ") but Java launches " + k.threads);
                if (!s.kinds().equals(k.params)) problems.add(k.symbol + ": parameters " + s.kinds() + " " + s.params() + " but Java passes " + k.params);
            }
        }
        TreeSet<String> unused = new TreeSet<>(declared.keySet());
        for (Kernel k : Kernel.values()) unused.remove(k.symbol);
        if (!unused.isEmpty()) problems.add("declared but never launched: " + unused);
        if (!problems.isEmpty()) fail(String.join("\n", problems));
    }

    @Test
    void fatbinHoldsSassPtxAndEveryKernel() {
        byte[] fb = JCudaGpu.fatbin();
        assertTrue(fb.length > 1000, "fatbin of " + fb.length + " bytes");
        // fatbin header magic 0xBA55ED50, little-endian
        assertEquals(0xBA55ED50, (fb[0] & 0xff) | (fb[1] & 0xff) << 8 | (fb[2] & 0xff) << 16 | (fb[3] & 0xff) << 24, "fatbin magic");
        String bytes = new String(fb, StandardCharsets.ISO_8859_1);
        assertTrue(count(bytes, "\u007fELF") >= 2, "SASS for sm_80 and sm_90 (two ELF images)");
        assertTrue(bytes.contains(".target sm_80"), "PTX for compute_80 (uncompressed)");
        for (Kernel k : Kernel.values()) {
            assertTrue(bytes.contains(".entry " + k.symbol + "("), "PTX entry for " + k.symbol);
            assertTrue(count(bytes, k.symbol) >= 3, k.symbol + " in both SASS images and the PTX");
        }
    }

    private static int count(String s, String what) {
        int n = 0;
        for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + 1)) n++;
        return n;
    }

    @Test
    void stampMatchesTheSourcesTheFlagsAndTheFatbin() throws IOException {
        assertTrue(Files.exists(STAMP), "missing " + STAMP + ": run kernels/build-fatbin.sh --update");
        Map<String, String> recorded = new TreeMap<>();
        Map<String, String> fields = new LinkedHashMap<>();
        for (String line : Files.readAllLines(STAMP)) {
            if (line.startsWith("#") || line.isBlank()) continue;
            Matcher m = Pattern.compile("([0-9a-f]{64})  (\\S+)").matcher(line);
            if (m.matches()) recorded.put(m.group(2), m.group(1));
            else fields.put(line.substring(0, line.indexOf(':')), line.substring(line.indexOf(':') + 1).trim());
        }
        Map<String, String> actual = new TreeMap<>();
        for (Path p : KernelSource.files()) actual.put("src/main/cuda/" + p.getFileName(), sha256(Files.readAllBytes(p)));
        String fix = "\nThe committed fatbin was built from other sources: run kernels/build-fatbin.sh --update (needs nvcc) and commit it.";
        assertEquals(actual, recorded, "CUDA sources vs the fatbin's stamp" + fix);
        Matcher flags = Pattern.compile("(?m)^FLAGS=\"([^\"]*)\"").matcher(Files.readString(Path.of("build-fatbin.sh")));
        assertTrue(flags.find(), "FLAGS in build-fatbin.sh");
        assertEquals(flags.group(1), fields.get("flags"), "nvcc flags vs the stamp" + fix);
        assertEquals(sha256(JCudaGpu.fatbin()), fields.get("fatbin"), "the fatbin resource vs its stamp" + fix);
        assertNotNull(fields.get("nvcc"));
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
