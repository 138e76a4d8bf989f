package dev.segsam.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.CpuBackend;
import dev.segsam.tensor.Options.AttentionKind;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorScope;
import dev.segsam.tensor.autodiff.FiniteDifferences;
import dev.segsam.tensor.autodiff.Tape;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The autodiff tape over the CUDA backend (on the emulator): gradients of a handful of ops and of a small
 * decoder-like block against central finite differences of the CPU reference, with the bound of the core-tensor
 * gradient check ({@code |a − n| ≤ 3e-3 + 2e-2·max(|a|,|n|)}, ε = 1e-2, float32 ops, double sums), and against the
 * CPU tape's gradients. Everything the tape hands back (outputs, gradients) must be a device tensor.
 */
@Tag("emu")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TapeCudaEmuTest {
    static final Backend CPU = new CpuBackend();
    private Backend cuda;

    @BeforeAll
    void emulator() {
        EmuGpu gpu = EmuGpu.getOrSkip();
        CudaRuntime rt = new CudaDevice(gpu, true).runtime(-1, true);
        rt.pool.poison = true;
        cuda = new CudaBackend(rt, GemmEngine.FP32_TILED, AttentionKind.FLASH, 64L << 20);
    }

    record Case(String name, Function<Backend, Function<List<Tensor>, Tensor>> op, int[]... shapes) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Case> cases() {
        return Stream.of(
                new Case("linear", b -> t -> b.linear(t.get(0), t.get(1), t.get(2)), new int[] {2, 3, 6}, new int[] {5, 6}, new int[] {5}),
                new Case("layer_norm", b -> t -> b.layerNorm(t.get(0), t.get(1), t.get(2), 1e-5f), new int[] {3, 8}, new int[] {8}, new int[] {8}),
                new Case("softmax", b -> t -> b.softmax(t.get(0)), new int[] {3, 7}),
                new Case("gelu", b -> t -> b.gelu(t.get(0)), new int[] {30}),
                new Case("attention", b -> t -> b.attention(t.get(0), t.get(1), t.get(2), 0.5f, null),
                        new int[] {2, 3, 4}, new int[] {2, 5, 4}, new int[] {2, 5, 3}),
                // a two-way-decoder-like pair: token/image cross-attention, residual, layer norm, MLP (GELU), sigmoid mask
                new Case("decoder pair", b -> t -> {
                    Tensor q = b.linear(t.get(0), t.get(2), null);
                    Tensor a = b.add(t.get(0), b.attention(q, t.get(1), t.get(1), 0.5f, null));
                    Tensor n = b.layerNorm(a, t.get(3), t.get(4), 1e-5f);
                    Tensor m = b.add(n, b.linear(b.gelu(b.linear(n, t.get(5), null)), t.get(6), null));
                    return b.sigmoid(b.matmul(m, b.permute(t.get(1), 0, 2, 1)));
                }, new int[] {1, 2, 4}, new int[] {1, 6, 4}, new int[] {4, 4}, new int[] {4}, new int[] {4}, new int[] {8, 4}, new int[] {4, 8}));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void tapeOnCudaMatchesFiniteDifferencesAndTheCpuTape(Case c) {
        Random rnd = new Random(c.name().hashCode());
        List<float[]> values = new ArrayList<>();
        for (int[] s : c.shapes()) {
            float[] v = new float[Math.toIntExact(dev.segsam.tensor.Shapes.numel(s))];
            for (int i = 0; i < v.length; i++) v[i] = (float) rnd.nextGaussian();
            values.add(v);
        }
        float[] r = new float[Math.toIntExact(c.op().apply(CPU).apply(inputs(c, values)).numel())];
        for (int i = 0; i < r.length; i++) r[i] = (float) rnd.nextGaussian();
        List<float[]> onCuda = tapeGrads(c, values, r, cuda, true);
        List<float[]> onCpu = tapeGrads(c, values, r, CPU, false);
        int checked = FiniteDifferences.forEachElement(values, 1e-2, v -> loss(c, v, r), (k, i, num) -> {
            double ana = onCuda.get(k)[i], cpu = onCpu.get(k)[i];
            if (Math.abs(ana - num) > 3e-3 + 2e-2 * Math.max(Math.abs(ana), Math.abs(num))) {
                fail(c.name() + ": input " + k + "[" + i + "]: cuda tape " + ana + ", numeric " + num);
            }
            if (Math.abs(ana - cpu) > 1e-4 + 1e-3 * Math.abs(cpu)) {
                fail(c.name() + ": input " + k + "[" + i + "]: cuda tape " + ana + ", cpu tape " + cpu);
            }
        });
        assertEquals(values.stream().mapToInt(a -> a.length).sum(), checked);
    }

    /** The tape's gradients over {@code b}, parameters uploaded to it; on a device, checks what the tape hands back. */
    private static List<float[]> tapeGrads(Case c, List<float[]> values, float[] r, Backend b, boolean device) {
        List<float[]> grads = new ArrayList<>();
        try (TensorScope _ = TensorScope.open(); Tape tape = new Tape(b)) {
            List<Tensor> in = new ArrayList<>();
            for (int i = 0; i < values.size(); i++) in.add(tape.param(b.upload(Tensor.of(values.get(i), c.shapes()[i]))));
            Tensor out = c.op().apply(tape.backend()).apply(in);
            if (device) assertFalse(out.isHost(), "the tape's output is a device tensor");
            tape.backward(out, r);
            for (Tensor t : in) {
                Tensor g = tape.gradTensor(t);
                if (device && g != null) {
                    assertFalse(g.isHost(), "the gradient is a device tensor");
                    assertEquals(b.device(), g.device());
                }
                grads.add(tape.grad(t).clone());
            }
        }
        return grads;
    }

    private static List<Tensor> inputs(Case c, List<float[]> values) {
        List<Tensor> in = new ArrayList<>();
        for (int i = 0; i < values.size(); i++) in.add(Tensor.of(values.get(i), c.shapes()[i]));
        return in;
    }

    private static double loss(Case c, List<float[]> values, float[] r) {
        return FiniteDifferences.dot(r, c.op().apply(CPU).apply(inputs(c, values)).toArray());
    }

    @Test
    void aTapeViewOfADeviceTensorIsBorrowedAndDiesWithTheTape() {
        Tensor view;
        Tensor w = cuda.upload(Tensor.of(new float[] {1, -2, 3, -4}, 4));
        try (Tape tape = new Tape(cuda)) {
            tape.param(w);
            try (TensorScope _ = TensorScope.open()) {
                view = tape.backend().relu(w);
                view.close(); // borrowed: the tape keeps it
            }
            assertTrue(view.isOpen());
            assertFalse(view.isHost());
            tape.backward(view, new float[] {1, 1, 1, 1});
            assertEquals(List.of(1f, 0f, 1f, 0f), boxed(tape.grad(w)));
        }
        assertFalse(view.isOpen(), "the tape freed the device memory behind its view");
        w.close();
    }

    private static List<Float> boxed(float[] a) {
        List<Float> l = new ArrayList<>();
        for (float f : a) l.add(f);
        return l;
    }
}
