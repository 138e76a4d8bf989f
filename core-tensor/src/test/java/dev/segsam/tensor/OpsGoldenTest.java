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
class OpsGoldenTest {
    static final List<Golden.Case> CASES = Golden.load("/golden/ops.json");

    /** Every golden on every CPU backend: the reference, and the fast one when the Vector API is present. */
    static Stream<org.junit.jupiter.params.provider.Arguments> cases() {
        List<Backend> backends = new ArrayList<>(List.of(new CpuBackend()));
        if (dev.segsam.tensor.fast.Sgemm.enabled()) backends.add(new dev.segsam.tensor.fast.FastCpuBackend());
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
        switch (c.op()) {
            case "argmax" -> {
                assertArrayEquals(c.expectedInts(), B.argmax(c.input("x")), c.toString());
                return;
            }
            case "window_partition" -> {
                Backend.Windows w = B.windowPartition(c.input("x"), c.param("ws"));
                assertEquals(c.param("hp"), w.paddedH(), "padded height");
                assertEquals(c.param("wp"), w.paddedW(), "padded width");
                Compare.exact(c.expected(), w.windows(), c.toString());
                return;
            }
            default -> { }
        }
        Tensor actual = run(c, B);
        if (c.params().path("exact").asBoolean(false)) {
            Compare.exact(c.expected(), actual, c.toString());
        } else {
            Compare.close(c.expected(), actual, 1e-5, 1e-6, c.toString());
        }
    }

    private static Tensor run(Golden.Case c, Backend B) {
        return switch (c.op()) {
            case "matmul" -> B.matmul(c.input("a"), c.input("b"));
            case "linear" -> B.linear(c.input("x"), c.input("w"), c.input("bias"));
            case "conv2d" -> {
                int[] s = c.intsParam("stride"), p = c.intsParam("padding");
                yield B.conv2d(c.input("x"), c.input("w"), c.input("bias"), s[0], s[1], p[0], p[1]);
            }
            case "im2col" -> {
                int[] k = c.intsParam("kernel"), s = c.intsParam("stride"), p = c.intsParam("padding");
                yield B.im2col(c.input("x"), k[0], k[1], s[0], s[1], p[0], p[1]);
            }
            case "conv_transpose2d" -> B.convTranspose2d(c.input("x"), c.input("w"), c.input("bias"), c.param("stride"));
            case "layer_norm" -> B.layerNorm(c.input("x"), c.input("w"), c.input("bias"), c.floatParam("eps"));
            case "layer_norm2d" -> B.layerNorm2d(c.input("x"), c.input("w"), c.input("bias"), c.floatParam("eps"));
            case "gelu" -> B.gelu(c.input("x"));
            case "relu" -> B.relu(c.input("x"));
            case "sigmoid" -> B.sigmoid(c.input("x"));
            case "softmax" -> B.softmax(c.input("x"));
            case "add" -> B.add(c.input("a"), c.input("b"));
            case "sub" -> B.sub(c.input("a"), c.input("b"));
            case "mul" -> B.mul(c.input("a"), c.input("b"));
            case "div" -> B.div(c.input("a"), c.input("b"));
            case "scale" -> B.scale(c.input("x"), c.floatParam("s"));
            case "permute" -> B.permute(c.input("x"), c.intsParam("dims"));
            case "concat" -> {
                List<Tensor> parts = new ArrayList<>();
                for (int i = 0; c.inputs().has("t" + i); i++) parts.add(c.input("t" + i));
                yield B.concat(parts, c.param("dim"));
            }
            case "slice" -> B.slice(c.input("x"), c.param("dim"), c.param("start"), c.param("length"));
            case "window_unpartition" -> B.windowUnpartition(c.input("windows"), c.param("ws"), c.param("hp"), c.param("wp"), c.param("h"), c.param("w"));
            case "interpolate_bilinear" -> {
                int[] s = c.intsParam("size");
                yield B.interpolateBilinear(c.input("x"), s[0], s[1]);
            }
            case "rel_pos_lookup" -> B.relPosLookup(c.input("table"), c.param("q"), c.param("k"));
            case "attention" -> {
                Backend.RelPos rel = c.inputs().has("relH")
                        ? new Backend.RelPos(c.input("relH"), c.input("relW"), c.param("qh"), c.param("qw"), c.param("kh"), c.param("kw"))
                        : null;
                yield B.attention(c.input("q"), c.input("k"), c.input("v"), c.floatParam("scale"), rel);
            }
            case "fourier_pe" -> B.fourierPositionEncoding(c.input("coords"), c.input("gaussian"));
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
