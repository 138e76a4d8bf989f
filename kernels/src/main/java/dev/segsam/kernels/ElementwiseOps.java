package dev.segsam.kernels;

import static dev.segsam.kernels.CudaRuntime.requireDevice;
import static dev.segsam.kernels.KernelArgs.in;
import static dev.segsam.kernels.KernelArgs.out;

import dev.segsam.tensor.Shapes;
import dev.segsam.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The CUDA backend's element-wise ops, normalisations and softmax ({@code elementwise.cuh}, {@code norm.cuh}): one
 * thread per element (grid-stride) for activations and broadcasting arithmetic, one warp per row for layer norm and
 * softmax; statistics accumulate in double like the reference.
 */
final class ElementwiseOps {
    /** Op codes of {@code binary_f32}. */
    static final int ADD = 0, SUB = 1, MUL = 2, DIV = 3;

    private final CudaRuntime rt;

    ElementwiseOps(CudaRuntime rt) {
        this.rt = rt;
    }

    private static String str(Tensor t) {
        return Shapes.str(t.shape());
    }

    private static void affine(Tensor t, int n, String what) {
        if (t != null && t.numel() != n) throw new IllegalArgumentException(what + " has shape " + str(t) + ", expected [" + n + "]");
    }

    Tensor layerNorm(Tensor x, Tensor w, Tensor b, float eps) {
        requireDevice("layer_norm", x, w, b);
        int D = x.size(-1);
        affine(w, D, "layer_norm weight");
        affine(b, D, "layer_norm bias");
        Tensor y = rt.alloc(x.shape());
        int rows = D == 0 ? 0 : (int) (x.numel() / D);
        rt.launchRows(Kernel.LAYERNORM, "layer_norm " + str(x), rows, new KernelArgs.LayerNorm(out(y), in(x), in(w), in(b), rows, D, eps));
        return y;
    }

    Tensor layerNorm2d(Tensor x, Tensor w, Tensor b, float eps) {
        requireDevice("layer_norm2d", x, w, b);
        Shapes.requireRank(x, 4, "layer_norm2d input");
        int B = x.size(0), C = x.size(1), HW = x.size(2) * x.size(3);
        affine(w, C, "layer_norm2d weight");
        affine(b, C, "layer_norm2d bias");
        if (B > 65535) throw new IllegalArgumentException("layer_norm2d: batch " + B + " exceeds one launch (65535)");
        Tensor y = rt.alloc(x.shape());
        if (y.numel() > 0) {
            // blocks of 32 pixels × 8 channel groups, one grid row per image
            rt.launch(Kernel.LAYERNORM2D, "layer_norm2d " + str(x), (HW + 31) / 32, B, 1, 32, 8, 0,
                    new KernelArgs.LayerNorm2d(out(y), in(x), in(w), in(b), C, HW, eps));
        }
        return y;
    }

    /** relu, gelu or sigmoid: one kernel per activation, same arguments. */
    Tensor unary(Kernel k, String op, Tensor x) {
        requireDevice(op, x);
        Tensor y = rt.alloc(x.shape());
        rt.launch1d(k, op + " " + str(x), x.numel(), new KernelArgs.Unary(out(y), in(x), (int) x.numel()));
        return y;
    }

    Tensor softmax(Tensor x) {
        requireDevice("softmax", x);
        int D = x.size(-1);
        Tensor y = rt.alloc(x.shape());
        int rows = D == 0 ? 0 : (int) (x.numel() / D);
        rt.launchRows(Kernel.SOFTMAX, "softmax " + str(x), rows, new KernelArgs.Softmax(out(y), in(x), rows, D));
        return y;
    }

    Tensor scale(Tensor x, float s) {
        requireDevice("scale", x);
        Tensor y = rt.alloc(x.shape());
        rt.launch1d(Kernel.SCALE, "scale " + str(x), x.numel(), new KernelArgs.Scale(out(y), in(x), s, (int) x.numel()));
        return y;
    }

    /**
     * The broadcast shape with its dimensions merged where both inputs are contiguous across them (size-1 dimensions
     * dropped): {@code dims[i]}, input strides {@code sa[i]}, {@code sb[i]}, outermost first.
     */
    record Collapsed(int[] dims, long[] sa, long[] sb) {
        static Collapsed of(int[] out, long[] sa, long[] sb) {
            List<long[]> g = new ArrayList<>(); // {size, strideA, strideB}, innermost first
            for (int i = out.length - 1; i >= 0; i--) {
                if (out[i] == 1) continue;
                long[] last = g.isEmpty() ? null : g.get(g.size() - 1);
                if (last != null && sa[i] == last[1] * last[0] && sb[i] == last[2] * last[0]) last[0] *= out[i];
                else g.add(new long[] {out[i], sa[i], sb[i]});
            }
            if (g.isEmpty()) g.add(new long[] {1, 0, 0});
            int r = g.size();
            int[] d = new int[r];
            long[] a = new long[r], b = new long[r];
            for (int i = 0; i < r; i++) {
                long[] e = g.get(r - 1 - i);
                d[i] = (int) e[0];
                a[i] = e[1];
                b[i] = e[2];
            }
            return new Collapsed(d, a, b);
        }
    }

    /** {@code a op b} with broadcasting: merged dimensions, the innermost ≤ 4 per launch, one launch per outer index. */
    Tensor binary(int op, String name, Tensor a, Tensor b) {
        requireDevice(name, a, b);
        int[] shape = Shapes.broadcast(a.shape(), b.shape());
        Tensor c = rt.alloc(shape);
        if (c.numel() == 0) return c;
        Collapsed k = Collapsed.of(shape, Shapes.broadcastStrides(a.shape(), shape), Shapes.broadcastStrides(b.shape(), shape));
        int r = k.dims().length, inner = Math.min(r, 4), outer = r - inner;
        long innerCount = Shapes.numel(k.dims(), outer, r);
        int[] d = new int[4];
        int[] sa = new int[4], sb = new int[4];
        Arrays.fill(d, 1);
        for (int i = 0; i < inner; i++) {
            d[4 - inner + i] = k.dims()[outer + i];
            sa[4 - inner + i] = (int) k.sa()[outer + i];
            sb[4 - inner + i] = (int) k.sb()[outer + i];
        }
        String what = name + " " + str(a) + ", " + str(b);
        long outerCount = Shapes.numel(k.dims(), 0, outer);
        for (long o = 0; o < outerCount; o++) {
            long oa = 0, ob = 0;
            for (int i = outer - 1, rem = (int) o; i >= 0; rem /= k.dims()[i], i--) {
                oa += (rem % k.dims()[i]) * k.sa()[i];
                ob += (rem % k.dims()[i]) * k.sb()[i];
            }
            rt.launch1d(Kernel.BINARY, what, innerCount, new KernelArgs.Binary(out(c, o * innerCount), in(a, oa), in(b, ob),
                    (int) innerCount, op, inner, d[0], d[1], d[2], d[3], sa[0], sa[1], sa[2], sa[3], sb[0], sb[1], sb[2], sb[3]));
        }
        return c;
    }
}
