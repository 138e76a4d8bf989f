package dev.segsam.tensor.contract;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Compare;
import dev.segsam.tensor.Tensor;

/**
 * How close a backend's result must be to the reference's, per {@link Precision}. The bounds (|actual − expected|):
 * <ul>
 *   <li>{@link Exact}: data movement, index maths, single IEEE operations (permute, windows, interpolation, add…);</li>
 *   <li>{@link Close}: ≤ atol + rtol·|expected| per element (activations, norms, softmax: other float orders of the
 *       same formula);</li>
 *   <li>{@link Scaled}: ≤ rtol·S per element, S the natural scale of the op's rounding error, which stays meaningful
 *       under cancellation: for GEMM-shaped ops the same product on |inputs| (Σ_k |a||b|), for layer norms the
 *       terms of the final affine step;</li>
 *   <li>{@link ValueScale}: ≤ rtol·|expected| + bound·max|v|: attention, whose output is a convex combination of the
 *       rows of v.</li>
 * </ul>
 */
public sealed interface Tolerance {

    /** Checks {@code actual} (a host tensor, {@code Windows} of host tensors, or {@code int[]}) against {@code expected}. */
    void check(Object expected, Object actual, Backend reference, OpCase c, Tensor[] inputs, Precision p, String what);

    Tolerance EXACT = new Exact();

    /** Bit-equal values (NaN matches NaN), equal shapes, equal padded sizes, equal indices. */
    record Exact() implements Tolerance {
        @Override
        public void check(Object expected, Object actual, Backend reference, OpCase c, Tensor[] inputs, Precision p, String what) {
            switch (expected) {
                case int[] e -> assertArrayEquals(e, (int[]) actual, what);
                case Backend.Windows e -> {
                    Backend.Windows a = (Backend.Windows) actual;
                    assertArrayEquals(new int[] {e.paddedH(), e.paddedW()}, new int[] {a.paddedH(), a.paddedW()}, what + ": padded size");
                    Compare.exact(e.windows(), a.windows(), what);
                }
                case Tensor e -> Compare.exact(e, (Tensor) actual, what);
                default -> throw new IllegalStateException("result of type " + expected.getClass());
            }
        }
    }

    /** Element-wise ≤ atol + rtol·|expected|, per precision. */
    record Close(double rtol, double atol, double rtolTf32, double atolTf32) implements Tolerance {
        public Close(double rtol, double atol) {
            this(rtol, atol, rtol, atol);
        }

        @Override
        public void check(Object expected, Object actual, Backend reference, OpCase c, Tensor[] inputs, Precision p, String what) {
            boolean tf32 = p == Precision.TF32;
            Compare.close((Tensor) expected, (Tensor) actual, tf32 ? rtolTf32 : rtol, tf32 ? atolTf32 : atol, what);
        }
    }

    /** The scale S of a {@link Scaled} bound, computed by the reference from the case's host inputs. */
    @FunctionalInterface
    interface Scale {
        Tensor of(Backend reference, OpCase c, Tensor[] inputs);
    }

    /** ≤ rtol·S element by element, rtol per precision (× {@code factor}), S from {@code scale}. */
    record Scaled(double fp32, double tf32, double factor, Scale scale) implements Tolerance {
        @Override
        public void check(Object expected, Object actual, Backend reference, OpCase c, Tensor[] inputs, Precision p, String what) {
            withinScale((Tensor) expected, scale.of(reference, c, inputs), (Tensor) actual, factor * (p == Precision.TF32 ? tf32 : fp32), what);
        }
    }

    /** GEMM-shaped ops: S = the case's own op on |inputs|, i.e. Σ_k |a||b| (+ |bias|). */
    static Tolerance dot(double fp32, double tf32) {
        return new Scaled(fp32, tf32, 1, (ref, c, in) -> (Tensor) c.run().apply(ref, abs(in)));
    }

    /** S = {@code op} on |inputs| (a fused epilogue: the scale of the product before it), times a Lipschitz factor. */
    static Tolerance dot(double fp32, double tf32, double factor, OpCase.Op op) {
        return new Scaled(fp32, tf32, factor, (ref, c, in) -> (Tensor) op.apply(ref, abs(in)));
    }

    static Tensor[] abs(Tensor[] in) {
        Tensor[] out = new Tensor[in.length];
        for (int i = 0; i < in.length; i++) out[i] = in[i] == null ? null : abs(in[i]);
        return out;
    }

    static Tensor abs(Tensor t) {
        float[] v = t.toArray();
        for (int i = 0; i < v.length; i++) v[i] = Math.abs(v[i]);
        return Tensor.of(v, t.shape());
    }

    /** |actual − expected| ≤ rtol·scale + 1e-30 element by element. */
    static void withinScale(Tensor expected, Tensor scale, Tensor actual, double rtol, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        float[] e = expected.toArray(), s = scale.toArray(), a = actual.toArray();
        int bad = 0;
        double worst = 0;
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < e.length; i++) {
            double err = Math.abs((double) a[i] - e[i]), lim = rtol * s[i] + 1e-30;
            if (!(err <= lim) && !(Float.isNaN(e[i]) && Float.isNaN(a[i]))) { // NaN only where the reference has NaN
                if (bad++ < 5) sb.append(String.format("%n  [%d] expected %.9g, got %.9g (bound %.3g)", i, e[i], a[i], lim));
            }
            if (s[i] > 0) worst = Math.max(worst, err / s[i]);
        }
        if (bad > 0) fail(what + ": " + bad + " of " + e.length + " elements out of bounds (worst err/scale " + worst + ")" + sb);
    }

    /** ≤ rtol·|expected| + bound·max|inputs[values]|, bound per precision (attention: values = v). */
    record ValueScale(double rtol, double fp32, double tf32, int values) implements Tolerance {
        @Override
        public void check(Object expected, Object actual, Backend reference, OpCase c, Tensor[] inputs, Precision p, String what) {
            float vmax = 0;
            for (float x : inputs[values].toArray()) vmax = Math.max(vmax, Math.abs(x));
            Compare.close((Tensor) expected, (Tensor) actual, rtol, (p == Precision.TF32 ? tf32 : fp32) * vmax, what);
        }
    }
}
