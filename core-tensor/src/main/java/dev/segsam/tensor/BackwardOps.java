package dev.segsam.tensor;

import java.util.Arrays;
import java.util.function.Function;

/**
 * The reference backward ops of {@link Backend} (its "backward ops" section): plain loops on host tensors, the spec
 * that faster versions (the fast CPU backend's, CUDA kernels) are tested against, in the style of {@link CpuBackend}.
 * {@link #hosted} runs one on any backend by downloading its inputs and uploading its results (what a backend without
 * its own version gets).
 */
public final class BackwardOps {
    private BackwardOps() {}

    /** Runs a host formula for a backend: on a CPU backend directly, elsewhere on downloaded copies, results uploaded. */
    static Tensor[] hosted(Backend b, Function<Tensor[], Tensor[]> f, Tensor... in) {
        if (b.device() == Device.CPU) return f.apply(in);
        try (TensorScope s = TensorScope.open()) {
            Tensor[] h = new Tensor[in.length];
            for (int i = 0; i < in.length; i++) h[i] = in[i] == null ? null : b.download(in[i]);
            Tensor[] r = f.apply(h);
            Tensor[] out = new Tensor[r.length];
            for (int i = 0; i < r.length; i++) out[i] = r[i] == null ? null : s.keep(b.upload(r[i]));
            return out;
        }
    }

    static Tensor hosted1(Backend b, Function<Tensor[], Tensor> f, Tensor... in) {
        return hosted(b, h -> new Tensor[] {f.apply(h)}, in)[0];
    }

    /** The bodies of {@link Backend}'s default backward ops: the host reference, via {@link #hosted} off the CPU. */
    static final class Defaults {
        private Defaults() {}

        static Tensor softmaxBackward(Backend b, Tensor y, Tensor dy) {
            return hosted1(b, h -> BackwardOps.softmaxBackward(b.parallel(), h[0], h[1]), y, dy);
        }

        static Backend.LayerNormGrads layerNormBackward(Backend b, Tensor x, Tensor w, Tensor dy, float eps) {
            Tensor[] r = hosted(b, h -> BackwardOps.layerNormBackward(b.parallel(), h[0], h[1], h[2], eps), x, w, dy);
            return new Backend.LayerNormGrads(r[0], r[1], r[2]);
        }

        static Tensor geluBackward(Backend b, Tensor x, Tensor dy) {
            return hosted1(b, h -> BackwardOps.geluBackward(b.parallel(), h[0], h[1]), x, dy);
        }

        static Tensor reluBackward(Backend b, Tensor x, Tensor dy) {
            return hosted1(b, h -> BackwardOps.reluBackward(h[0], h[1]), x, dy);
        }

        static Tensor sigmoidBackward(Backend b, Tensor y, Tensor dy) {
            return hosted1(b, h -> BackwardOps.sigmoidBackward(h[0], h[1]), y, dy);
        }

        static Tensor sumTo(Backend b, Tensor g, int[] shape) {
            return hosted1(b, h -> BackwardOps.sumTo(h[0], shape), g);
        }

        static Tensor col2im(Backend b, Tensor cols, int[] xs, int kh, int kw, int sh, int sw, int ph, int pw) {
            return hosted1(b, h -> BackwardOps.col2im(h[0], xs[0], xs[1], xs[2], xs[3], kh, kw, sh, sw, ph, pw), cols);
        }

        static Tensor interpolateBilinearBackward(Backend b, Tensor dy, int H, int W) {
            return hosted1(b, g -> BackwardOps.interpolateBilinearBackward(g[0], H, W), dy);
        }

        static Tensor relPosLookupBackward(Backend b, Tensor dy, int L, int q, int k) {
            return hosted1(b, g -> BackwardOps.relPosLookupBackward(g[0], L, q, k), dy);
        }
    }

    /** {@code dx = y ⊙ (dy − Σ_last dy·y)}, rows of the last dimension (sums in double). */
    public static Tensor softmaxBackward(Parallel par, Tensor y, Tensor dy) {
        requireSame(y, dy, "softmax_backward");
        int n = y.size(-1), rows = Math.toIntExact(y.numel() / Math.max(n, 1));
        float[] yv = y.toArray(), g = dy.toArray(), dx = new float[yv.length];
        par.forRange(rows, r -> {
            int o = r * n;
            double dot = 0;
            for (int i = 0; i < n; i++) dot += (double) g[o + i] * yv[o + i];
            for (int i = 0; i < n; i++) dx[o + i] = (float) (yv[o + i] * (g[o + i] - dot));
        });
        return Tensor.of(dx, y.shape());
    }

    /**
     * Layer-norm backward over the last dimension D: with {@code x̂ = (x − μ)·r}, {@code r = (σ² + eps)^−½},
     * {@code dx̂ = dy·w}: {@code dx = r·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂))}, {@code dw = Σ_rows dy·x̂},
     * {@code db = Σ_rows dy}. Statistics recomputed in double. Returns {dx, dw, db} ({@code w} null: weight 1).
     */
    public static Tensor[] layerNormBackward(Parallel par, Tensor x, Tensor w, Tensor dy, float eps) {
        requireSame(x, dy, "layer_norm_backward");
        int D = x.size(-1), rows = Math.toIntExact(x.numel() / D);
        float[] xv = x.toArray(), g = dy.toArray(), wv = w == null ? null : w.toArray(), dx = new float[xv.length];
        float[] xhat = new float[xv.length];
        par.forRange(rows, r -> {
            int o = r * D;
            double mean = 0, var = 0;
            for (int i = 0; i < D; i++) mean += xv[o + i];
            mean /= D;
            for (int i = 0; i < D; i++) {
                double d = xv[o + i] - mean;
                var += d * d;
            }
            double rs = 1.0 / Math.sqrt(var / D + eps), mg = 0, mgx = 0;
            for (int i = 0; i < D; i++) {
                double xh = (xv[o + i] - mean) * rs, gh = g[o + i] * (wv == null ? 1.0 : wv[i]);
                xhat[o + i] = (float) xh;
                mg += gh;
                mgx += gh * xh;
            }
            mg /= D;
            mgx /= D;
            for (int i = 0; i < D; i++) {
                double gh = g[o + i] * (wv == null ? 1.0 : wv[i]);
                dx[o + i] = (float) (rs * (gh - mg - xhat[o + i] * mgx));
            }
        });
        double[] dw = new double[D], db = new double[D];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < D; i++) {
                dw[i] += (double) g[r * D + i] * xhat[r * D + i];
                db[i] += g[r * D + i];
            }
        }
        return new Tensor[] {Tensor.of(dx, x.shape()), Tensor.of(toFloat(dw), D), Tensor.of(toFloat(db), D)};
    }

    /** {@code dy·GELU'(x)}, {@code GELU'(x) = Φ(x) + x·φ(x)} (exact GELU), in double. */
    public static Tensor geluBackward(Parallel par, Tensor x, Tensor dy) {
        requireSame(x, dy, "gelu_backward");
        float[] xv = x.toArray(), g = dy.toArray(), dx = new float[xv.length];
        int chunk = 4096, chunks = (xv.length + chunk - 1) / chunk;
        par.forRange(chunks, c -> {
            for (int i = c * chunk, e = Math.min(xv.length, i + chunk); i < e; i++) dx[i] = (float) (g[i] * geluPrime(xv[i]));
        });
        return Tensor.of(dx, x.shape());
    }

    /** d/dx of the exact GELU: {@code Φ(x) + x·φ(x)}. */
    public static double geluPrime(double x) {
        double cdf = 0.5 * Erf.erfcFast(-x / Math.sqrt(2));
        double pdf = Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
        return cdf + x * pdf;
    }

    /** {@code dy·[x > 0]}. */
    public static Tensor reluBackward(Tensor x, Tensor dy) {
        requireSame(x, dy, "relu_backward");
        float[] xv = x.toArray(), g = dy.toArray(), dx = new float[xv.length];
        for (int i = 0; i < dx.length; i++) dx[i] = xv[i] > 0 ? g[i] : 0f;
        return Tensor.of(dx, x.shape());
    }

    /** {@code dy·y·(1 − y)} from the sigmoid's output y. */
    public static Tensor sigmoidBackward(Tensor y, Tensor dy) {
        requireSame(y, dy, "sigmoid_backward");
        float[] yv = y.toArray(), g = dy.toArray(), dx = new float[yv.length];
        for (int i = 0; i < dx.length; i++) dx[i] = g[i] * yv[i] * (1 - yv[i]);
        return Tensor.of(dx, y.shape());
    }

    /**
     * Sums {@code g} down to {@code shape}, the adjoint of broadcasting {@code shape} to {@code g}'s shape: {@code shape}
     * (right-aligned, missing leading dimensions count as 1) must broadcast to {@code g.shape()}. Sums in double.
     */
    public static Tensor sumTo(Tensor g, int... shape) {
        int[] out = g.shape();
        if (!Arrays.equals(Shapes.broadcast(shape, out), out)) {
            throw new IllegalArgumentException("sum_to: " + Shapes.str(shape) + " does not broadcast to " + Shapes.str(out));
        }
        if (Arrays.equals(shape, out)) return Tensor.of(g.toArray(), shape);
        long[] s = Shapes.broadcastStrides(shape, out);
        float[] gv = g.toArray();
        double[] r = new double[Math.toIntExact(Shapes.numel(shape))];
        int rank = out.length;
        int[] idx = new int[rank];
        long off = 0;
        for (int i = 0; i < gv.length; i++) {
            r[(int) off] += gv[i];
            for (int d = rank - 1; d >= 0; d--) {
                off += s[d];
                if (++idx[d] < out[d]) break;
                off -= s[d] * out[d];
                idx[d] = 0;
            }
        }
        return Tensor.of(toFloat(r), shape);
    }

    /**
     * The adjoint of {@link Backend#im2col} ({@code torch.nn.functional.fold}): {@code cols [B, C·kh·kw, Ho·Wo]} scatter-added
     * back to {@code [B, C, H, W]}.
     */
    public static Tensor col2im(Tensor cols, int B, int C, int H, int W, int kh, int kw, int sh, int sw, int ph, int pw) {
        int Ho = (H + 2 * ph - kh) / sh + 1, Wo = (W + 2 * pw - kw) / sw + 1, rows = C * kh * kw, L = Ho * Wo;
        if (!cols.hasShape(B, rows, L)) {
            throw new IllegalArgumentException("col2im: cols " + Shapes.str(cols.shape()) + " for " + Shapes.str(new int[] {B, C, H, W})
                    + " needs [" + B + ", " + rows + ", " + L + "]");
        }
        float[] cv = cols.toArray(), gx = new float[B * C * H * W];
        for (int b = 0; b < B; b++) {
            for (int row = 0; row < rows; row++) {
                int c = row / (kh * kw), i = (row / kw) % kh, j = row % kw;
                for (int oy = 0; oy < Ho; oy++) {
                    int y = oy * sh - ph + i;
                    if (y < 0 || y >= H) continue;
                    for (int ox = 0; ox < Wo; ox++) {
                        int xx = ox * sw - pw + j;
                        if (xx >= 0 && xx < W) gx[((b * C + c) * H + y) * W + xx] += cv[(b * rows + row) * L + oy * Wo + ox];
                    }
                }
            }
        }
        return Tensor.of(gx, B, C, H, W);
    }

    /** The adjoint of {@link Backend#interpolateBilinear} (align_corners=False): {@code dy [B, C, outH, outW] → [B, C, H, W]}. */
    public static Tensor interpolateBilinearBackward(Tensor dy, int H, int W) {
        Shapes.requireRank(dy, 4, "interpolate_bilinear_backward");
        int B = dy.size(0), C = dy.size(1), outH = dy.size(2), outW = dy.size(3);
        float[] g = dy.toArray(), gx = new float[B * C * H * W];
        float sh = (float) H / outH, sw = (float) W / outW;
        for (int p = 0; p < B * C; p++) {
            for (int oy = 0; oy < outH; oy++) {
                float fy = Math.max(0f, sh * (oy + 0.5f) - 0.5f);
                int y0 = Math.min((int) fy, H - 1), y1 = y0 + (y0 < H - 1 ? 1 : 0);
                float ly1 = fy - y0, ly0 = 1f - ly1;
                for (int ox = 0; ox < outW; ox++) {
                    float fx = Math.max(0f, sw * (ox + 0.5f) - 0.5f);
                    int x0 = Math.min((int) fx, W - 1), x1 = x0 + (x0 < W - 1 ? 1 : 0);
                    float lx1 = fx - x0, lx0 = 1f - lx1;
                    float v = g[(p * outH + oy) * outW + ox];
                    int base = p * H * W;
                    gx[base + y0 * W + x0] += v * ly0 * lx0;
                    gx[base + y0 * W + x1] += v * ly0 * lx1;
                    gx[base + y1 * W + x0] += v * ly1 * lx0;
                    gx[base + y1 * W + x1] += v * ly1 * lx1;
                }
            }
        }
        return Tensor.of(gx, B, C, H, W);
    }

    /**
     * The adjoint of {@link Backend#relPosLookup} for a table of exactly {@code 2·max(q, k) − 1} rows (no resize):
     * {@code dy [qSize, kSize, d] → [L, d]}, every gathered row scatter-added back.
     */
    public static Tensor relPosLookupBackward(Tensor dy, int L, int qSize, int kSize) {
        int d = dy.size(2);
        if (L != 2 * Math.max(qSize, kSize) - 1) throw new UnsupportedOperationException("gradient of a resized rel-pos table is not implemented");
        float qScale = (float) Math.max((double) kSize / qSize, 1.0), kScale = (float) Math.max((double) qSize / kSize, 1.0);
        float shift = (float) ((kSize - 1) * Math.max((double) qSize / kSize, 1.0));
        float[] g = dy.toArray(), gt = new float[L * d];
        for (int i = 0; i < qSize; i++) {
            for (int j = 0; j < kSize; j++) {
                int idx = (int) ((i * qScale - j * kScale) + shift);
                for (int c = 0; c < d; c++) gt[idx * d + c] += g[(i * kSize + j) * d + c];
            }
        }
        return Tensor.of(gt, L, d);
    }

    /**
     * The adjoint of {@link Backend#fourierPositionEncoding}: {@code y = [sin t, cos t]}, {@code t = ((2c − 1)·G)·2π};
     * returns {dcoords, dgaussian}.
     */
    public static Tensor[] fourierPositionEncodingBackward(Tensor coords, Tensor gaussian, Tensor dy) {
        int F = gaussian.size(1), P = Math.toIntExact(coords.numel() / 2);
        float[] c = coords.toArray(), g = gaussian.toArray(), gy = dy.toArray(), gc = new float[c.length], gg = new float[g.length];
        float twoPi = (float) (2 * Math.PI);
        for (int p = 0; p < P; p++) {
            float cx = 2f * c[2 * p] - 1f, cy = 2f * c[2 * p + 1] - 1f;
            for (int j = 0; j < F; j++) {
                double t = (cx * g[j] + cy * g[F + j]) * twoPi;
                double dt = (gy[p * 2 * F + j] * Math.cos(t) - gy[p * 2 * F + F + j] * Math.sin(t)) * twoPi;
                gg[j] += (float) (dt * cx);
                gg[F + j] += (float) (dt * cy);
                gc[2 * p] += (float) (dt * g[j] * 2);
                gc[2 * p + 1] += (float) (dt * g[F + j] * 2);
            }
        }
        return new Tensor[] {Tensor.of(gc, coords.shape()), Tensor.of(gg, gaussian.shape())};
    }

    private static void requireSame(Tensor a, Tensor b, String op) {
        if (!Arrays.equals(a.shape(), b.shape())) {
            throw new IllegalArgumentException(op + ": shapes " + Shapes.str(a.shape()) + " and " + Shapes.str(b.shape()) + " differ");
        }
    }

    private static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }
}
