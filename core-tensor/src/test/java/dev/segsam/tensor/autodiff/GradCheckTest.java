package dev.segsam.tensor.autodiff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.CpuBackend;
import dev.segsam.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every op's backward against central finite differences. The loss is {@code L = Σ r ⊙ op(inputs)} for a fixed random
 * {@code r}; the tape's gradient of each input is compared with {@code (L(x + ε) − L(x − ε)) / 2ε}, where the ops run
 * in float32 (as in training) and L and the differences are accumulated in double. With ε = 1e-2 the float32
 * rounding noise in the quotient is ~1e-4 and the truncation error O(ε²); the bound |a − n| ≤ 3e-3 + 2e-2·max(|a|,|n|)
 * is far below what a wrong formula gives (errors of order 1). Inputs of ReLU stay away from its kink. Each case runs
 * on a tape over every CPU backend (the reference, and the fast one where the Vector API is present), so each backend's
 * backward ops ({@link Backend#softmaxBackward}, {@link Backend#layerNormBackward}, {@link Backend#attentionBackward}…)
 * are checked where the tape uses them; the finite differences always come from the reference.
 */
class GradCheckTest {
    static final Backend CPU = new CpuBackend();

    record Case(String name, List<int[]> shapes, Function<Backend, Function<List<Tensor>, Tensor>> op) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Case c(String name, Function<Backend, Function<List<Tensor>, Tensor>> op, int[]... shapes) {
        return new Case(name, List.of(shapes), op);
    }

    static Stream<Arguments> cases() {
        List<Case> l = new ArrayList<>();
        l.add(c("matmul broadcast", b -> t -> b.matmul(t.get(0), t.get(1)), new int[] {2, 3, 4}, new int[] {4, 5}));
        l.add(c("matmul batched", b -> t -> b.matmul(t.get(0), t.get(1)), new int[] {2, 3, 4}, new int[] {2, 4, 2}));
        l.add(c("linear", b -> t -> b.linear(t.get(0), t.get(1), t.get(2)), new int[] {2, 3, 6}, new int[] {5, 6}, new int[] {5}));
        l.add(c("conv2d k2 s2", b -> t -> b.conv2d(t.get(0), t.get(1), t.get(2), 2, 2, 0, 0), new int[] {2, 2, 6, 4}, new int[] {3, 2, 2, 2}, new int[] {3}));
        l.add(c("conv2d 3x3 pad 1", b -> t -> b.conv2d(t.get(0), t.get(1), null, 1, 1, 1, 1), new int[] {1, 2, 5, 4}, new int[] {2, 2, 3, 3}));
        l.add(c("conv2d 1x1", b -> t -> b.conv2d(t.get(0), t.get(1), t.get(2), 1, 1, 0, 0), new int[] {1, 3, 3, 3}, new int[] {4, 3, 1, 1}, new int[] {4}));
        l.add(c("im2col", b -> t -> b.im2col(t.get(0), 2, 3, 1, 2, 1, 0), new int[] {1, 2, 4, 5}));
        l.add(c("conv_transpose2d", b -> t -> b.convTranspose2d(t.get(0), t.get(1), t.get(2), 2), new int[] {2, 3, 2, 3}, new int[] {3, 2, 2, 2}, new int[] {2}));
        l.add(c("layer_norm", b -> t -> b.layerNorm(t.get(0), t.get(1), t.get(2), 1e-5f), new int[] {3, 8}, new int[] {8}, new int[] {8}));
        l.add(c("layer_norm2d", b -> t -> b.layerNorm2d(t.get(0), t.get(1), t.get(2), 1e-6f), new int[] {2, 5, 2, 3}, new int[] {5}, new int[] {5}));
        l.add(c("gelu", b -> t -> b.gelu(t.get(0)), new int[] {30}));
        l.add(c("relu", b -> t -> b.relu(t.get(0)), new int[] {30}));
        l.add(c("sigmoid", b -> t -> b.sigmoid(t.get(0)), new int[] {30}));
        l.add(c("softmax", b -> t -> b.softmax(t.get(0)), new int[] {3, 7}));
        l.add(c("add broadcast", b -> t -> b.add(t.get(0), t.get(1)), new int[] {2, 3, 4}, new int[] {3, 1}));
        l.add(c("sub broadcast", b -> t -> b.sub(t.get(0), t.get(1)), new int[] {2, 1, 4}, new int[] {3, 4}));
        l.add(c("mul broadcast", b -> t -> b.mul(t.get(0), t.get(1)), new int[] {2, 3, 4}, new int[] {4}));
        l.add(c("div broadcast", b -> t -> b.div(t.get(0), b.add(b.mul(t.get(1), t.get(1)), Tensor.scalar(1f))), new int[] {2, 3}, new int[] {3}));
        l.add(c("scale", b -> t -> b.scale(t.get(0), -0.7f), new int[] {4, 2}));
        l.add(c("permute", b -> t -> b.permute(t.get(0), 2, 0, 1), new int[] {2, 3, 4}));
        l.add(c("concat", b -> t -> b.concat(List.of(t.get(0), t.get(1)), 1), new int[] {2, 3, 2}, new int[] {2, 1, 2}));
        l.add(c("slice", b -> t -> b.slice(t.get(0), 1, 1, 2), new int[] {2, 4, 3}));
        l.add(c("window_partition", b -> t -> b.windowPartition(t.get(0), 3).windows(), new int[] {1, 4, 5, 2}));
        l.add(c("window_unpartition", b -> t -> b.windowUnpartition(t.get(0), 2, 4, 4, 3, 3), new int[] {4, 2, 2, 2}));
        l.add(c("interpolate_bilinear", b -> t -> b.interpolateBilinear(t.get(0), 7, 5), new int[] {1, 2, 3, 4}));
        l.add(c("attention", b -> t -> b.attention(t.get(0), t.get(1), t.get(2), 0.5f, null), new int[] {2, 3, 4}, new int[] {2, 5, 4}, new int[] {2, 5, 3}));
        l.add(c("attention rel-pos", b -> t -> b.attention(t.get(0), t.get(1), t.get(2), 0.5f,
                new Backend.RelPos(b.relPosLookup(t.get(3), 2, 2), b.relPosLookup(t.get(4), 3, 3), 2, 3, 2, 3)),
                new int[] {1, 6, 4}, new int[] {1, 6, 4}, new int[] {1, 6, 2}, new int[] {3, 4}, new int[] {5, 4}));
        l.add(c("fourier_pe", b -> t -> b.fourierPositionEncoding(t.get(0), t.get(1)), new int[] {3, 2}, new int[] {2, 4}));
        List<Backend> backends = new ArrayList<>(List.of(CPU));
        if (dev.segsam.tensor.fast.Sgemm.available()) backends.add(new dev.segsam.tensor.fast.FastCpuBackend());
        return backends.stream().flatMap(b -> l.stream().map(c -> Arguments.of(c, b)));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void backwardMatchesFiniteDifferences(Case c, Backend backend) {
        Random rnd = new Random(c.name().hashCode());
        List<float[]> values = new ArrayList<>();
        for (int[] s : c.shapes()) {
            float[] v = new float[Math.toIntExact(dev.segsam.tensor.Shapes.numel(s))];
            for (int i = 0; i < v.length; i++) {
                double u = rnd.nextGaussian();
                if (c.name().equals("relu")) u = Math.signum(u) * (0.1 + Math.abs(u)); // away from the kink
                v[i] = (float) (c.name().equals("fourier_pe") && values.isEmpty() ? rnd.nextDouble() : u);
            }
            values.add(v);
        }
        // analytic
        Tensor out;
        List<float[]> grads = new ArrayList<>();
        float[] r;
        try (Tape tape = new Tape(backend)) {
            List<Tensor> in = new ArrayList<>();
            for (int i = 0; i < values.size(); i++) in.add(tape.param(Tensor.of(values.get(i), c.shapes().get(i))));
            out = c.op().apply(tape.backend()).apply(in);
            r = new float[Math.toIntExact(out.numel())];
            for (int i = 0; i < r.length; i++) r[i] = (float) rnd.nextGaussian();
            tape.backward(out, r);
            for (Tensor t : in) grads.add(tape.grad(t).clone());
        }
        // numeric
        int checked = FiniteDifferences.forEachElement(values, 1e-2, v -> loss(c, v, r), (k, i, num) -> {
            double ana = grads.get(k)[i];
            if (Math.abs(ana - num) > 3e-3 + 2e-2 * Math.max(Math.abs(ana), Math.abs(num))) {
                fail(c.name() + ": input " + k + "[" + i + "]: analytic " + ana + ", numeric " + num);
            }
        });
        assertEquals(values.stream().mapToInt(a -> a.length).sum(), checked);
    }

    private static double loss(Case c, List<float[]> values, float[] r) {
        List<Tensor> in = new ArrayList<>();
        for (int i = 0; i < values.size(); i++) in.add(Tensor.of(values.get(i), c.shapes().get(i)));
        return FiniteDifferences.dot(r, c.op().apply(CPU).apply(in).toArray());
    }
}
