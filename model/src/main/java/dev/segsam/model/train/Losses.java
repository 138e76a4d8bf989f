package dev.segsam.model.train;

/**
 * SEG-SAM's loss terms (docs/design/segsam.md §4), each returning its value and its gradient with respect to the logits it takes
 * (so a single {@code Tape.backward} per output finishes the job). Inputs are flat arrays; masks are 0/1 floats.
 *
 * <ul>
 *   <li>{@link #focal}: sigmoid focal loss, mean over pixels: {@code α_t·(1 − p_t)^γ·BCE(x, t)} (α 0.25, γ 2, as SAM and
 *       torchvision use);</li>
 *   <li>{@link #dice}: binary soft Dice on {@code σ(x)}: {@code 1 − (2Σpt + 1)/(Σp + Σt + 1)};</li>
 *   <li>{@link #crossEntropy}: mean over pixels of {@code −log softmax(x)[y]} over K+1 channels;</li>
 *   <li>{@link #multiDice}: mean soft Dice over the channels present in the target or the argmax prediction;</li>
 *   <li>{@link #bce}: mean binary cross-entropy with logits (class presence Ĉ_s);</li>
 *   <li>{@link #consistency}: {@code 1 − Σab / (Σa + Σb − Σab)}, the soft IoU between {@code a = σ(M̂_b)} and the semantic
 *       foreground {@code b = 1 − softmax(M̂_s)[0]} — the cross-mask alignment L_cons.</li>
 * </ul>
 * Arithmetic in double. Mirrored by {@code tools/reference/losses_golden.py} (PyTorch autograd gives the gradients).
 */
public final class Losses {
    private Losses() {}

    /** A loss value and its gradient(s) with respect to the inputs, in argument order. */
    public record Value(double value, float[]... grads) {
        public float[] grad() {
            return grads[0];
        }
    }

    static double sigmoid(double x) {
        return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
    }

    /** log(1 + e^x) without overflow. */
    static double softplus(double x) {
        return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
    }

    /** Sigmoid focal loss (mean), logits {@code x}, targets {@code t} in {0, 1}. */
    public static Value focal(float[] x, float[] t, double alpha, double gamma) {
        int n = x.length;
        double sum = 0;
        float[] g = new float[n];
        for (int i = 0; i < n; i++) {
            double p = sigmoid(x[i]), ti = t[i];
            double ce = softplus(x[i]) - ti * x[i];                  // BCE with logits
            double pt = p * ti + (1 - p) * (1 - ti);
            double at = alpha * ti + (1 - alpha) * (1 - ti);
            double m = Math.pow(1 - pt, gamma);
            sum += at * m * ce;
            // d/dx: dce/dx = p − t;  dpt/dx = (2t − 1)·p(1 − p);  d(1−pt)^γ/dx = −γ(1−pt)^(γ−1)·dpt/dx
            double dpt = (2 * ti - 1) * p * (1 - p);
            double dm = gamma == 0 ? 0 : -gamma * Math.pow(1 - pt, gamma - 1) * dpt;
            g[i] = (float) (at * (dm * ce + m * (p - ti)) / n);
        }
        return new Value(sum / n, g);
    }

    /** Binary soft Dice loss on sigmoid probabilities, smoothing 1. */
    public static Value dice(float[] x, float[] t) {
        double inter = 0, ps = 0, ts = 0;
        double[] p = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            p[i] = sigmoid(x[i]);
            inter += p[i] * t[i];
            ps += p[i];
            ts += t[i];
        }
        double num = 2 * inter + 1, den = ps + ts + 1;
        float[] g = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            double dLdp = -(2 * t[i] * den - num) / (den * den);
            g[i] = (float) (dLdp * p[i] * (1 - p[i]));
        }
        return new Value(1 - num / den, g);
    }

    /**
     * Softmax over {@code k} channels of {@code x [k, n]} (channel-major), per pixel; returns {@code [k·n]}. A step's
     * cross-entropy, multi-class Dice and L_cons take the same semantic logits: compute it once and pass it to the
     * overloads that take {@code p}.
     */
    public static double[] softmax(float[] x, int k, int n) {
        return softmaxOnce(x, k, n);
    }

    private static double[] softmaxOnce(float[] x, int k, int n) {
        double[] p = new double[k * n];
        for (int i = 0; i < n; i++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < k; c++) max = Math.max(max, x[c * n + i]);
            double z = 0;
            for (int c = 0; c < k; c++) z += p[c * n + i] = Math.exp(x[c * n + i] - max);
            for (int c = 0; c < k; c++) p[c * n + i] /= z;
        }
        return p;
    }

    /** Cross-entropy over {@code k} channels, logits {@code x [k, n]}, integer targets {@code y [n]}, mean over pixels. */
    public static Value crossEntropy(float[] x, int[] y, int k) {
        return crossEntropy(softmax(x, k, y.length), y, k);
    }

    /** {@link #crossEntropy(float[], int[], int)} from {@code p = softmax(x)} ({@link #softmax}), not modified. */
    public static Value crossEntropy(double[] p, int[] y, int k) {
        int n = y.length;
        double sum = 0;
        float[] g = new float[k * n];
        for (int i = 0; i < n; i++) {
            sum -= Math.log(Math.max(p[y[i] * n + i], 1e-300));
            for (int c = 0; c < k; c++) g[c * n + i] = (float) ((p[c * n + i] - (c == y[i] ? 1 : 0)) / n);
        }
        return new Value(sum / n, g);
    }

    /**
     * Multi-class soft Dice: for each channel c present in {@code y} or in the argmax of {@code x},
     * {@code 1 − (2Σp_c·y_c + 1)/(Σp_c + Σy_c + 1)} with {@code p = softmax(x)}; the mean over those channels.
     */
    public static Value multiDice(float[] x, int[] y, int k) {
        return multiDice(softmax(x, k, y.length), y, k);
    }

    /** {@link #multiDice(float[], int[], int)} from {@code p = softmax(x)} ({@link #softmax}), not modified. */
    public static Value multiDice(double[] p, int[] y, int k) {
        int n = y.length;
        boolean[] used = new boolean[k];
        for (int i = 0; i < n; i++) {
            used[y[i]] = true;
            int arg = 0;
            for (int c = 1; c < k; c++) if (p[c * n + i] > p[arg * n + i]) arg = c;
            used[arg] = true;
        }
        int m = 0;
        for (boolean u : used) if (u) m++;
        double total = 0;
        double[] dLdp = new double[k * n];
        for (int c = 0; c < k; c++) {
            if (!used[c]) continue;
            double inter = 0, ps = 0, ts = 0;
            for (int i = 0; i < n; i++) {
                double t = y[i] == c ? 1 : 0;
                inter += p[c * n + i] * t;
                ps += p[c * n + i];
                ts += t;
            }
            double num = 2 * inter + 1, den = ps + ts + 1;
            total += 1 - num / den;
            for (int i = 0; i < n; i++) {
                double t = y[i] == c ? 1 : 0;
                dLdp[c * n + i] = -(2 * t * den - num) / (den * den) / m;
            }
        }
        // back through the softmax: dx_c = p_c·(dp_c − Σ_j dp_j·p_j)
        float[] g = new float[k * n];
        for (int i = 0; i < n; i++) {
            double dot = 0;
            for (int c = 0; c < k; c++) dot += dLdp[c * n + i] * p[c * n + i];
            for (int c = 0; c < k; c++) g[c * n + i] = (float) (p[c * n + i] * (dLdp[c * n + i] - dot));
        }
        return new Value(total / m, g);
    }

    /** Mean binary cross-entropy with logits. */
    public static Value bce(float[] x, float[] t) {
        double sum = 0;
        float[] g = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            sum += softplus(x[i]) - t[i] * x[i];
            g[i] = (float) ((sigmoid(x[i]) - t[i]) / x.length);
        }
        return new Value(sum / x.length, g);
    }

    /**
     * L_cons: {@code 1 − Σab / (Σa + Σb − Σab)} with {@code a = σ(binary)} ({@code [n]}) and
     * {@code b = 1 − softmax(semantic)[0]} ({@code semantic [k, n]}); gradients for both logit arrays.
     */
    public static Value consistency(float[] binary, float[] semantic, int k) {
        return consistency(binary, softmax(semantic, k, binary.length), k);
    }

    /** {@link #consistency(float[], float[], int)} from {@code p = softmax(semantic)} ({@link #softmax}), not modified. */
    public static Value consistency(float[] binary, double[] p, int k) {
        int n = binary.length;
        double sab = 0, sa = 0, sb = 0;
        double[] a = new double[n], b = new double[n];
        for (int i = 0; i < n; i++) {
            a[i] = sigmoid(binary[i]);
            b[i] = 1 - p[i];
            sab += a[i] * b[i];
            sa += a[i];
            sb += b[i];
        }
        double u = sa + sb - sab + 1e-6, iou = sab / u;
        float[] ga = new float[n], gs = new float[k * n];
        for (int i = 0; i < n; i++) {
            // dIoU/da = (b·u − sab·(1 − b))/u²; likewise for b
            double dA = -(b[i] * u - sab * (1 - b[i])) / (u * u);
            double dB = -(a[i] * u - sab * (1 - a[i])) / (u * u);
            ga[i] = (float) (dA * a[i] * (1 - a[i]));
            // b = 1 − p_0: db/dx_c = −p_0·(δ_c0 − p_c)
            for (int c = 0; c < k; c++) gs[c * n + i] = (float) (dB * -(p[i] * ((c == 0 ? 1 : 0) - p[c * n + i])));
        }
        return new Value(1 - iou, ga, gs);
    }
}
