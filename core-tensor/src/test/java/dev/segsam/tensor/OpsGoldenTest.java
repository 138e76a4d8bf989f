package dev.segsam.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every CPU reference op against PyTorch 1.13 (goldens from tools/reference/ops_golden.py, inputs included).
 *
 * <p>Tolerances: cases that only move values (permute, concat, slice, windows, rel-pos lookup without resizing,
 * argmax, ReLU; flagged {@code exact} by the generator) must be bit-exact. Arithmetic ops allow |err| ≤ 1e-6 + 1e-5·|expected|: float32 sums in another order (PyTorch's blocked
 * GEMM) differ by a few ulps, and our normalisation statistics are computed in double.
 */
public class OpsGoldenTest {
    public static final List<Golden.Case> CASES = Golden.load("/golden/ops.safetensors");

    /** Every golden on every CPU backend: the reference, and the fast one when the Vector API is present. */
    static Stream<org.junit.jupiter.params.provider.Arguments> cases() {
        List<Backend> backends = new ArrayList<>(List.of(new CpuBackend()));
        if (dev.segsam.tensor.fast.Sgemm.available()) backends.add(new dev.segsam.tensor.fast.FastCpuBackend());
        return backends.stream().flatMap(b -> CASES.stream().map(c -> org.junit.jupiter.params.provider.Arguments.of(b.name(), c, b)));
    }

    @Test
    void theFastBackendIsTestedWhenTheVectorApiIsPresent() {
        // surefire runs with --add-modules jdk.incubator.vector: the fast backend must not silently drop out
        assertTrue(dev.segsam.tensor.fast.Sgemm.available(), "surefire should start the JVM with the Vector API module");
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("cases")
    void matchesPyTorch(String backend, Golden.Case c, Backend B) {
        check(c, B, 1e-5, 1e-6);
    }

    /**
     * Runs golden case {@code c} on backend {@code B} (inputs uploaded, outputs downloaded, so device backends work
     * too) and compares with PyTorch: bit-exact for cases flagged {@code exact}, else |err| ≤ atol + rtol·|expected|.
     */
    public static void check(Golden.Case c, Backend B, double rtol, double atol) {
        switch (c.op()) {
            case "argmax" -> {
                assertArrayEquals(c.expectedInts(), B.argmax(in(c, B, "x")), c.toString());
                return;
            }
            case "window_partition" -> {
                Backend.Windows w = B.windowPartition(in(c, B, "x"), c.param("ws"));
                assertEquals(c.param("hp"), w.paddedH(), "padded height");
                assertEquals(c.param("wp"), w.paddedW(), "padded width");
                Compare.exact(c.expected(), B.download(w.windows()), c.toString());
                return;
            }
            default -> { }
        }
        Tensor actual = B.download(run(c, B));
        if (c.params().path("exact").asBoolean(false)) {
            Compare.exact(c.expected(), actual, c.toString());
        } else {
            Compare.close(c.expected(), actual, rtol, atol, c.toString());
        }
    }

    /** Input {@code key} of the case on {@code B}'s device (null stays null). */
    private static Tensor in(Golden.Case c, Backend B, String key) {
        Tensor t = c.input(key);
        return t == null ? null : B.upload(t);
    }

    private static Tensor run(Golden.Case c, Backend B) {
        return switch (c.op()) {
            case "matmul" -> B.matmul(in(c, B, "a"), in(c, B, "b"));
            case "linear" -> B.linear(in(c, B, "x"), in(c, B, "w"), in(c, B, "bias"));
            case "conv2d" -> {
                int[] s = c.intsParam("stride"), p = c.intsParam("padding");
                yield B.conv2d(in(c, B, "x"), in(c, B, "w"), in(c, B, "bias"), s[0], s[1], p[0], p[1]);
            }
            case "im2col" -> {
                int[] k = c.intsParam("kernel"), s = c.intsParam("stride"), p = c.intsParam("padding");
                yield B.im2col(in(c, B, "x"), k[0], k[1], s[0], s[1], p[0], p[1]);
            }
            case "conv_transpose2d" -> B.convTranspose2d(in(c, B, "x"), in(c, B, "w"), in(c, B, "bias"), c.param("stride"));
            case "layer_norm" -> B.layerNorm(in(c, B, "x"), in(c, B, "w"), in(c, B, "bias"), c.floatParam("eps"));
            case "layer_norm2d" -> B.layerNorm2d(in(c, B, "x"), in(c, B, "w"), in(c, B, "bias"), c.floatParam("eps"));
            case "gelu" -> B.gelu(in(c, B, "x"));
            case "relu" -> B.relu(in(c, B, "x"));
            case "sigmoid" -> B.sigmoid(in(c, B, "x"));
            case "softmax" -> B.softmax(in(c, B, "x"));
            case "add" -> B.add(in(c, B, "a"), in(c, B, "b"));
            case "sub" -> B.sub(in(c, B, "a"), in(c, B, "b"));
            case "mul" -> B.mul(in(c, B, "a"), in(c, B, "b"));
            case "div" -> B.div(in(c, B, "a"), in(c, B, "b"));
            case "scale" -> B.scale(in(c, B, "x"), c.floatParam("s"));
            case "permute" -> B.permute(in(c, B, "x"), c.intsParam("dims"));
            case "concat" -> {
                List<Tensor> parts = new ArrayList<>();
                for (int i = 0; c.inputs().has("t" + i); i++) parts.add(in(c, B, "t" + i));
                yield B.concat(parts, c.param("dim"));
            }
            case "slice" -> B.slice(in(c, B, "x"), c.param("dim"), c.param("start"), c.param("length"));
            case "window_unpartition" -> B.windowUnpartition(in(c, B, "windows"), c.param("ws"), c.param("hp"), c.param("wp"), c.param("h"), c.param("w"));
            case "interpolate_bilinear" -> {
                int[] s = c.intsParam("size");
                yield B.interpolateBilinear(in(c, B, "x"), s[0], s[1]);
            }
            case "rel_pos_lookup" -> B.relPosLookup(in(c, B, "table"), c.param("q"), c.param("k"));
            case "attention" -> {
                Backend.RelPos rel = c.inputs().has("relH")
                        ? new Backend.RelPos(in(c, B, "relH"), in(c, B, "relW"), c.param("qh"), c.param("qw"), c.param("kh"), c.param("kw"))
                        : null;
                yield B.attention(in(c, B, "q"), in(c, B, "k"), in(c, B, "v"), c.floatParam("scale"), rel);
            }
            case "fourier_pe" -> B.fourierPositionEncoding(in(c, B, "coords"), in(c, B, "gaussian"));
            default -> throw new AssertionError("no runner for golden op " + c.op());
        };
    }

    /** Each op of the Backend interface must have at least one PyTorch golden case. */
    @Test
    void everyBackendOpHasAGolden() {
        Set<String> covered = new TreeSet<>();
        for (Golden.Case c : CASES) covered.add(c.op());
        Set<String> required = Set.of("matmul", "linear", "conv2d", "im2col", "conv_transpose2d", "layer_norm",
                "layer_norm2d", "gelu", "relu", "sigmoid", "softmax", "add", "sub", "mul", "div", "scale", "permute",
                "concat", "slice", "window_partition", "window_unpartition", "interpolate_bilinear", "rel_pos_lookup",
                "attention", "fourier_pe", "argmax");
        Set<String> missing = new TreeSet<>(required);
        missing.removeAll(covered);
        assertTrue(missing.isEmpty(), "ops without goldens: " + missing);
        // upload/download/zeros are identity on the CPU; every other interface method is listed above
        long interfaceOps = Stream.of(Backend.class.getDeclaredMethods())
                .filter(m -> !m.isDefault() && !Set.of("name", "device", "upload", "download", "zeros").contains(m.getName()))
                .count();
        assertEquals(interfaceOps, required.size(), "a Backend op was added without a golden case");
    }
}
