package dev.segsam.model.train;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.CpuBackend;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorScope;
import java.util.ArrayList;
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
 * The work runs on a {@link Backend} ({@link Backend#sumSquares} for the norm, {@link Backend#adamw} per parameter), so
 * on a device the parameters, the moments m, v and the gradients stay there: only one number per parameter tensor (its
 * Σ g²) comes back to the host per step. The parameters must be tensors of that backend (on the CPU, host tensors).
 * The state (step, m, v) can be exported and restored exactly ({@link #state}, {@link #restore}).
 */
public final class AdamW {
    private final Backend backend;
    private final Map<String, Tensor> params;
    private final Map<String, Tensor> m = new LinkedHashMap<>(), v = new LinkedHashMap<>();
    private final double lr, beta1, beta2, eps, weightDecay, clip, minLrFraction;
    private final int warmup, totalSteps;
    private int step;

    /** On {@code backend}, whose tensors {@code params} are. */
    public AdamW(Backend backend, Map<String, Tensor> params, double lr, double weightDecay, double beta1, double beta2, double eps,
                 double clip, int warmup, int totalSteps, double minLrFraction) {
        this.backend = backend;
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
            m.put(e.getKey(), TensorScope.detach(backend.zeros(e.getValue().shape())));
            v.put(e.getKey(), TensorScope.detach(backend.zeros(e.getValue().shape())));
        }
    }

    /** On the host (the CPU reference backend's ops): {@code params} are host tensors. */
    public AdamW(Map<String, Tensor> params, double lr, double weightDecay, double beta1, double beta2, double eps, double clip,
                 int warmup, int totalSteps, double minLrFraction) {
        this(new CpuBackend(), params, lr, weightDecay, beta1, beta2, eps, clip, warmup, totalSteps, minLrFraction);
    }

    /** docs/design/segsam.md §4 defaults: lr 1e-4, weight decay 1e-2, β (0.9, 0.999), clip 1; on the host. */
    public static AdamW defaults(Map<String, Tensor> params, double lr, int warmup, int totalSteps) {
        return defaults(new CpuBackend(), params, lr, warmup, totalSteps);
    }

    /** The defaults on {@code backend}, whose tensors {@code params} are. */
    public static AdamW defaults(Backend backend, Map<String, Tensor> params, double lr, int warmup, int totalSteps) {
        return new AdamW(backend, params, lr, 1e-2, 0.9, 0.999, 1e-8, 1.0, warmup, totalSteps, 0.01);
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
     * One update from host gradients (name → gradient, missing names = zero gradient), uploaded to the backend.
     * Returns the gradient norm before clipping.
     */
    public double update(Map<String, float[]> grads) {
        try (TensorScope _ = TensorScope.open()) {
            Map<String, Tensor> g = new LinkedHashMap<>();
            for (var e : params.entrySet()) {
                float[] a = grads.get(e.getKey());
                if (a != null) g.put(e.getKey(), backend.upload(Tensor.of(a, e.getValue().shape())));
            }
            return updateTensors(g);
        }
    }

    /**
     * One update from gradients that are tensors of the backend (name → gradient; missing names or null = zero
     * gradient), e.g. {@link dev.segsam.tensor.autodiff.Tape#gradTensor}. Returns the gradient norm before clipping.
     */
    public double updateTensors(Map<String, Tensor> grads) {
        step++;
        List<Tensor> g = new ArrayList<>(params.size());
        for (String name : params.keySet()) g.add(grads.get(name));
        double sq = 0;
        for (double s : backend.sumSquares(g)) sq += s;
        double norm = Math.sqrt(sq);
        double factor = clip > 0 && norm > clip ? clip / (norm + 1e-6) : 1.0;
        double a = learningRate(step);
        Backend.AdamWStep s = new Backend.AdamWStep(a, weightDecay, beta1, beta2, eps, factor, 1 - Math.pow(beta1, step), 1 - Math.pow(beta2, step));
        int i = 0;
        for (var e : params.entrySet()) backend.adamw(e.getValue(), g.get(i++), m.get(e.getKey()), v.get(e.getKey()), s);
        return norm;
    }

    /** The optimiser state as host tensors ({@code adamw.m.<name>}, {@code adamw.v.<name>}, {@code adamw.step}), copies. */
    public Map<String, Tensor> state() {
        Map<String, Tensor> s = new LinkedHashMap<>();
        for (var e : params.entrySet()) {
            int[] shape = e.getValue().shape();
            s.put("adamw.m." + e.getKey(), Tensor.of(host(m.get(e.getKey())), shape));
            s.put("adamw.v." + e.getKey(), Tensor.of(host(v.get(e.getKey())), shape));
        }
        s.put("adamw.step", Tensor.of(new float[] {step}, 1));
        return s;
    }

    private float[] host(Tensor t) {
        try (TensorScope _ = TensorScope.open()) {
            return backend.download(t).toArray();
        }
    }

    /** Restores a state written by {@link #state}; every parameter must be present. */
    public void restore(java.util.function.Function<String, Tensor> get) {
        for (String name : params.keySet()) {
            Tensor tm = get.apply("adamw.m." + name), tv = get.apply("adamw.v." + name);
            if (tm == null || tv == null) throw new IllegalArgumentException("optimizer state has no entry for " + name);
            int[] shape = params.get(name).shape();
            long n = params.get(name).numel();
            if (tm.numel() != n || tv.numel() != n) throw new IllegalArgumentException("optimizer state for " + name + " has the wrong size");
            replace(m, name, tm, shape);
            replace(v, name, tv, shape);
        }
        Tensor st = get.apply("adamw.step");
        if (st == null) throw new IllegalArgumentException("optimizer state has no step");
        step = (int) st.get(0);
    }

    private void replace(Map<String, Tensor> moments, String name, Tensor value, int[] shape) {
        float[] a = new float[Math.toIntExact(value.numel())];
        value.read(0, a, 0, a.length);
        Tensor old = moments.put(name, TensorScope.detach(backend.upload(Tensor.of(a, shape))));
        if (old != null) old.close();
    }

    /** Parameter names in update order. */
    public List<String> names() {
        return List.copyOf(params.keySet());
    }
}
