package dev.segsam.model.train;

import dev.segsam.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdamW (Loshchilov &amp; Hutter; PyTorch's {@code torch.optim.AdamW} update order) over named float32 parameters, updated
 * in place, with global gradient-norm clipping and a linear warm-up + cosine learning-rate schedule.
 * <pre>
 * g ← g·min(1, clip/‖g‖)                         (over all parameters together)
 * θ ← θ − lr·wd·θ                                 (decoupled weight decay)
 * m ← β1·m + (1 − β1)·g;   v ← β2·v + (1 − β2)·g²
 * θ ← θ − lr·(m / (1 − β1^t)) / (√(v / (1 − β2^t)) + ε)
 * lr(t) = base·t/warmup for t ≤ warmup, then base·(min + (1 − min)·½(1 + cos(π·(t − warmup)/(total − warmup))))
 * </pre>
 * The state (step, m, v) can be exported and restored exactly ({@link #state}, {@link #restore}).
 */
public final class AdamW {
    private final Map<String, Tensor> params;
    private final Map<String, float[]> m = new LinkedHashMap<>(), v = new LinkedHashMap<>();
    private final double lr, beta1, beta2, eps, weightDecay, clip, minLrFraction;
    private final int warmup, totalSteps;
    private int step;

    public AdamW(Map<String, Tensor> params, double lr, double weightDecay, double beta1, double beta2, double eps, double clip,
                 int warmup, int totalSteps, double minLrFraction) {
        this.params = params;
        this.lr = lr;
        this.weightDecay = weightDecay;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.clip = clip;
        this.warmup = warmup;
        this.totalSteps = totalSteps;
        this.minLrFraction = minLrFraction;
        for (var e : params.entrySet()) {
            m.put(e.getKey(), new float[Math.toIntExact(e.getValue().numel())]);
            v.put(e.getKey(), new float[Math.toIntExact(e.getValue().numel())]);
        }
    }

    /** docs/design/segsam.md §4 defaults: lr 1e-4, weight decay 1e-2, β (0.9, 0.999), clip 1. */
    public static AdamW defaults(Map<String, Tensor> params, double lr, int warmup, int totalSteps) {
        return new AdamW(params, lr, 1e-2, 0.9, 0.999, 1e-8, 1.0, warmup, totalSteps, 0.01);
    }

    public int step() {
        return step;
    }

    /** The learning rate used at step {@code t} (1-based). */
    public double learningRate(int t) {
        if (warmup > 0 && t <= warmup) return lr * t / warmup;
        if (totalSteps <= warmup) return lr;
        double progress = Math.min(1.0, (double) (t - warmup) / (totalSteps - warmup));
        return lr * (minLrFraction + (1 - minLrFraction) * 0.5 * (1 + Math.cos(Math.PI * progress)));
    }

    /**
     * One update from {@code grads} (name → gradient, missing names = zero gradient). Returns the gradient norm before
     * clipping.
     */
    public double update(Map<String, float[]> grads) {
        step++;
        double sq = 0;
        for (float[] g : grads.values()) for (float x : g) sq += (double) x * x;
        double norm = Math.sqrt(sq);
        double factor = clip > 0 && norm > clip ? clip / (norm + 1e-6) : 1.0;
        double a = learningRate(step);
        double bc1 = 1 - Math.pow(beta1, step), bc2 = 1 - Math.pow(beta2, step);
        for (var e : params.entrySet()) {
            float[] g = grads.get(e.getKey());
            Tensor p = e.getValue();
            float[] mm = m.get(e.getKey()), vv = v.get(e.getKey());
            float[] theta = p.toArray();
            for (int i = 0; i < theta.length; i++) {
                double gi = g == null ? 0 : g[i] * factor;
                double th = theta[i] * (1 - a * weightDecay);
                mm[i] = (float) (beta1 * mm[i] + (1 - beta1) * gi);
                vv[i] = (float) (beta2 * vv[i] + (1 - beta2) * gi * gi);
                th -= a * (mm[i] / bc1) / (Math.sqrt(vv[i] / bc2) + eps);
                theta[i] = (float) th;
            }
            p.write(0, theta, 0, theta.length);
        }
        return norm;
    }

    /** The optimiser state as tensors ({@code adamw.m.<name>}, {@code adamw.v.<name>}, {@code adamw.step}). */
    public Map<String, Tensor> state() {
        Map<String, Tensor> s = new LinkedHashMap<>();
        for (var e : params.entrySet()) {
            int[] shape = e.getValue().shape();
            s.put("adamw.m." + e.getKey(), Tensor.of(m.get(e.getKey()), shape));
            s.put("adamw.v." + e.getKey(), Tensor.of(v.get(e.getKey()), shape));
        }
        s.put("adamw.step", Tensor.of(new float[] {step}, 1));
        return s;
    }

    /** Restores a state written by {@link #state}; every parameter must be present. */
    public void restore(java.util.function.Function<String, Tensor> get) {
        for (String name : params.keySet()) {
            Tensor tm = get.apply("adamw.m." + name), tv = get.apply("adamw.v." + name);
            if (tm == null || tv == null) throw new IllegalArgumentException("optimizer state has no entry for " + name);
            tm.read(0, m.get(name), 0, m.get(name).length);
            tv.read(0, v.get(name), 0, v.get(name).length);
        }
        Tensor st = get.apply("adamw.step");
        if (st == null) throw new IllegalArgumentException("optimizer state has no step");
        step = (int) st.get(0);
    }

    /** Parameter names in update order. */
    public List<String> names() {
        return List.copyOf(params.keySet());
    }
}
