package dev.segsam.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.RecordComponent;
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
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;

/**
 * Without a GPU: the Java launch table, the CUDA sources and the committed fatbin agree.
 * <ul>
 *   <li>every {@link Kernel} is declared in {@code src/main/cuda} with the same {@code __launch_bounds__}, and its
 *       {@link KernelArgs} record has the kernel's parameters by name, type and order ({@code const float*} ↔
 *       {@code In}, other pointers ↔ {@code Out}, {@code int}, {@code float}); every declared kernel is in the table;</li>
 *   <li>the fatbin on the class path (the build decompresses the committed {@code segsam.fatbin.gz} into the classes)
 *       holds SASS (ELF) and PTX, and contains every kernel name;</li>
 *   <li>its stamp lists the SHA-256 of exactly the current sources, the flags of build-fatbin.sh and the fatbin's own
 *       hash: editing a kernel without rebuilding the fatbin fails here, on any machine.</li>
 * </ul>
 */
class KernelSourceTest {
    private static final Path STAMP = Path.of("src/main/resources/dev/segsam/kernels/segsam.fatbin.sha256");
    private static final Path COMMITTED = Path.of("src/main/resources/dev/segsam/kernels/segsam.fatbin.gz");

    @Test
    void javaTableMatchesTheCudaDeclarations() {
        Map<String, KernelSource> declared = KernelSource.all();
        List<String> problems = new ArrayList<>();
        for (Kernel k : Kernel.values()) {
            KernelSource s = declared.get(k.symbol);
            if (s == null) problems.add(k + ": no kernel " + k.symbol + " in src/main/cuda");
            else {
                if (s.threads() != k.threads) problems.add(k.symbol + ": __launch_bounds__(" + s.threads() + ") but Java launches " + k.threads);
                problems.addAll(signatureProblems(k.args, s));
            }
        }
        TreeSet<String> unused = new TreeSet<>(declared.keySet());
        for (Kernel k : Kernel.values()) unused.remove(k.symbol);
        if (!unused.isEmpty()) problems.add("declared but never launched: " + unused);
        if (!problems.isEmpty()) fail(String.join("\n", problems));
    }

    /** Where the record's components differ from the kernel's parameters (name, Java type, position), one line each. */
    static List<String> signatureProblems(Class<?> args, KernelSource s) {
        List<String> problems = new ArrayList<>();
        RecordComponent[] rc = args.getRecordComponents();
        if (rc.length != s.params().size()) {
            problems.add(s.name() + ": " + s.params().size() + " parameters but " + args.getSimpleName() + " has " + rc.length + " components");
        }
        for (int i = 0; i < Math.min(rc.length, s.params().size()); i++) {
            KernelSource.Param p = s.params().get(i);
            if (!rc[i].getName().equals(p.name()) || rc[i].getType() != p.javaType()) {
                problems.add(s.name() + " parameter " + i + " is " + p.type() + " " + p.name() + " but " + args.getSimpleName() + "."
                        + rc[i].getName() + " is " + rc[i].getType().getSimpleName() + " (expected " + p.javaType().getSimpleName() + ")");
            }
        }
        return problems;
    }

    /** im2col_f32's record with H and W swapped, and one with the output and input pointers swapped. */
    record SwappedSizes(KernelArgs.Out cols, KernelArgs.In x, int B, int C, int W, int H, int kh, int kw, int sh, int sw, int ph, int pw,
                        int Ho, int Wo) {}

    record SwappedPointers(KernelArgs.In cols, KernelArgs.Out x, int B, int C, int H, int W, int kh, int kw, int sh, int sw, int ph, int pw,
                           int Ho, int Wo) {}

    /** The check catches two swapped parameters of the same type, and swapped input / output pointers. */
    @Test
    void swappedArgumentsAreCaught() {
        KernelSource im2col = KernelSource.all().get("im2col_f32");
        assertEquals(List.of(), signatureProblems(KernelArgs.Im2col.class, im2col));
        List<String> sizes = signatureProblems(SwappedSizes.class, im2col);
        assertEquals(2, sizes.size(), sizes.toString());
        assertTrue(sizes.get(0).contains("parameter 4 is int H but SwappedSizes.W"), sizes.get(0));
        List<String> pointers = signatureProblems(SwappedPointers.class, im2col);
        assertEquals(2, pointers.size(), pointers.toString());
        assertTrue(pointers.get(0).contains("parameter 0 is float* cols but SwappedPointers.cols is In (expected Out)"), pointers.get(0));
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
        byte[] committed;
        try (InputStream in = new GZIPInputStream(Files.newInputStream(COMMITTED))) {
            committed = in.readAllBytes();
        }
        assertEquals(sha256(committed), fields.get("fatbin"), "the committed " + COMMITTED + " vs its stamp" + fix);
        assertEquals(sha256(committed), sha256(JCudaGpu.fatbin()), "the class path's fatbin is the committed one, decompressed by the build");
        assertFalse(Files.exists(COMMITTED.resolveSibling("segsam.fatbin")), "only the compressed fatbin is committed");
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
