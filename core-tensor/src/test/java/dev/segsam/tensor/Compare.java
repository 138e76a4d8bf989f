package dev.segsam.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** Tensor comparisons for tests: shape equality plus an llm.c-style element bound |a − e| ≤ atol + rtol·|e|. */
public final class Compare {
    private Compare() {}

    public static void close(Tensor expected, Tensor actual, double rtol, double atol, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        float[] e = expected.toArray(), a = actual.toArray();
        int bad = 0;
        StringBuilder sb = new StringBuilder();
        double worst = 0;
        for (int i = 0; i < e.length; i++) {
            double err = Math.abs((double) a[i] - e[i]);
            boolean ok = a[i] == e[i] || err <= atol + rtol * Math.abs(e[i]) || (Float.isNaN(e[i]) && Float.isNaN(a[i]));
            worst = Math.max(worst, err);
            if (!ok && bad++ < 5) sb.append(String.format("%n  [%d] expected %.9g, got %.9g", i, e[i], a[i]));
        }
        if (bad > 0) fail(what + ": " + bad + " of " + e.length + " elements differ (max |err| " + worst + ")" + sb);
    }

    public static void exact(Tensor expected, Tensor actual, String what) {
        close(expected, actual, 0, 0, what);
    }

    /** ‖a − e‖₂ / ‖e‖₂. */
    public static double relL2(Tensor expected, Tensor actual) {
        float[] e = expected.toArray(), a = actual.toArray();
        double num = 0, den = 0;
        for (int i = 0; i < e.length; i++) {
            double d = (double) a[i] - e[i];
            num += d * d;
            den += (double) e[i] * e[i];
        }
        return Math.sqrt(num / Math.max(den, 1e-300));
    }
}
