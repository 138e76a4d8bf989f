package dev.segsam.tensor.autodiff;

import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * Central finite differences for the gradient checks (GradCheckTest here, the CUDA tape's on the emulator in kernels):
 * each element of each input is moved by ±eps in place, the scalar loss evaluated at both, and the element restored.
 */
public final class FiniteDifferences {
    private FiniteDifferences() {}

    /** What a check does with one element's numeric derivative: {@code k} the input, {@code i} the element. */
    @FunctionalInterface
    public interface ElementCheck {
        void check(int k, int i, double numeric);
    }

    /**
     * Calls {@code check} with {@code (loss(x + eps) − loss(x − eps)) / 2eps} for every element of every array in
     * {@code values} (restored afterwards); returns how many elements were checked.
     */
    public static int forEachElement(List<float[]> values, double eps, ToDoubleFunction<List<float[]>> loss, ElementCheck check) {
        int checked = 0;
        for (int k = 0; k < values.size(); k++) {
            float[] x = values.get(k);
            for (int i = 0; i < x.length; i++) {
                float keep = x[i];
                x[i] = (float) (keep + eps);
                double lp = loss.applyAsDouble(values);
                x[i] = (float) (keep - eps);
                double lm = loss.applyAsDouble(values);
                x[i] = keep;
                check.check(k, i, (lp - lm) / (2 * eps));
                checked++;
            }
        }
        return checked;
    }

    /** {@code Σ r·y} in double: the scalar whose gradient {@code tape.backward(out, r)} computes. */
    public static double dot(float[] r, float[] y) {
        double l = 0;
        for (int i = 0; i < y.length; i++) l += (double) r[i] * y[i];
        return l;
    }
}
