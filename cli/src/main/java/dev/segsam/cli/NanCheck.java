package dev.segsam.cli;

import dev.segsam.model.Predictor;
import dev.segsam.tensor.Tensor;
import java.io.PrintWriter;

/**
 * Warns when a prediction's logits are not numbers: a model whose weights hold NaN or infinities (a diverged training
 * run, a damaged conversion) gives NaN logits, which threshold to an empty mask — silently, without this check. One
 * warning per run, at the first such prompt; {@link #summary} counts them at the end.
 */
final class NanCheck {
    private final PrintWriter err;
    private int bad, seen;

    NanCheck(PrintWriter err) {
        this.err = err;
    }

    /** Checks prompt {@code i}'s result; warns (once) when its low-res logits or IoU predictions hold NaN or infinities. */
    void check(Predictor.Result r, int i) {
        seen++;
        if (finite(r.lowRes()) && finite(r.iou())) return;
        if (bad++ == 0) {
            err.println("segsam: warning: prompt " + i + ": the model's output is not a number (NaN/Inf), so its mask is empty;"
                    + " the weights are probably damaged or from a diverged training run");
        }
    }

    /** A closing line when more than one prompt was affected. */
    void summary() {
        if (bad > 1) err.println("segsam: warning: " + bad + " of " + seen + " prompts gave non-finite outputs");
    }

    static boolean finite(Tensor t) {
        float[] v = new float[(int) Math.min(t.numel(), 1 << 16)];
        for (long off = 0; off < t.numel(); off += v.length) {
            int n = (int) Math.min(v.length, t.numel() - off);
            t.read(off, v, 0, n);
            for (int k = 0; k < n; k++) if (!Float.isFinite(v[k])) return false;
        }
        return true;
    }

    static boolean finite(float[] v) {
        for (float x : v) if (!Float.isFinite(x)) return false;
        return true;
    }
}
