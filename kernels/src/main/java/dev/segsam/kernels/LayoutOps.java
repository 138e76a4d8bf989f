package dev.segsam.kernels;

import static dev.segsam.kernels.CudaRuntime.requireDevice;
import static dev.segsam.kernels.KernelArgs.in;
import static dev.segsam.kernels.KernelArgs.out;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Shapes;
import dev.segsam.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;

/**
 * The CUDA backend's data movement ({@code layout.cuh}): permute, concat, slice, SAM's window partition, bilinear
 * resize and the fused mask postprocessing, and argmax. All of them are bit-exact with the reference: they move values,
 * or repeat its float index and blend operations exactly.
 */
final class LayoutOps {
    private final CudaRuntime rt;

    LayoutOps(CudaRuntime rt) {
        this.rt = rt;
    }

    private static String str(Tensor t) {
        return Shapes.str(t.shape());
    }

    Tensor permute(Tensor x, int... dims) {
        requireDevice("permute", x);
        Shapes.Permutation p = Shapes.permute(x.shape(), dims);
        Tensor y = rt.alloc(p.shape());
        if (y.numel() == 0) return y;
        // merge output dimensions i, i+1 that read the input contiguously (the "b" strides are unused: pass zeros)
        ElementwiseOps.Collapsed k = ElementwiseOps.Collapsed.of(p.shape(), p.strides(), new long[x.rank()]);
        int m = k.dims().length;
        if (m > 6) throw new IllegalArgumentException("permute " + str(x) + " by " + Arrays.toString(dims) + ": more than 6 dimensions after merging");
        int[] d = new int[6], s = new int[6];
        Arrays.fill(d, 1);
        for (int i = 0; i < m; i++) {
            d[6 - m + i] = k.dims()[i];
            s[6 - m + i] = (int) k.sa()[i];
        }
        rt.launch1d(Kernel.PERMUTE, "permute " + str(x) + " by " + Arrays.toString(dims), y.numel(), new KernelArgs.Permute(out(y), in(x),
                (int) y.numel(), m, d[0], d[1], d[2], d[3], d[4], d[5], s[0], s[1], s[2], s[3], s[4], s[5]));
        return y;
    }

    /** One strided row copy per part into its columns of the output. */
    Tensor concat(List<Tensor> tensors, int dim) {
        int[] shape = Shapes.concat(tensors, dim);
        requireDevice("concat", tensors.toArray(new Tensor[0]));
        int[] first = tensors.get(0).shape();
        int d = Shapes.axis(dim, first.length), total = shape[d];
        Tensor y = rt.alloc(shape);
        int outer = (int) Shapes.numel(first, 0, d), inner = (int) Shapes.numel(first, d + 1, first.length);
        int at = 0;
        for (Tensor t : tensors) {
            int len = t.size(d) * inner;
            rt.launch1d(Kernel.COPY_ROWS, "concat " + str(t) + " into " + Shapes.str(shape) + " at " + at, (long) outer * len,
                    new KernelArgs.CopyRows(out(y, (long) at * inner), total * inner, in(t), len, outer, len));
            at += t.size(d);
        }
        return y;
    }

    Tensor slice(Tensor x, int dim, int start, int length) {
        requireDevice("slice", x);
        int[] s = x.shape();
        int d = Shapes.axis(dim, s.length);
        if (start < 0 || length < 0 || start + length > s[d]) {
            throw new IndexOutOfBoundsException("slice(" + dim + ", " + start + ", " + length + ") of shape " + Shapes.str(s));
        }
        int outer = (int) Shapes.numel(s, 0, d), inner = (int) Shapes.numel(s, d + 1, s.length);
        int[] shape = s.clone();
        shape[d] = length;
        Tensor y = rt.alloc(shape);
        rt.launch1d(Kernel.COPY_ROWS, "slice " + str(x) + " dim " + d + " [" + start + ", " + (start + length) + ")",
                (long) outer * length * inner, new KernelArgs.CopyRows(out(y), length * inner, in(x, (long) start * inner),
                        s[d] * inner, outer, length * inner));
        return y;
    }

    Backend.Windows windowPartition(Tensor x, int ws) {
        requireDevice("window_partition", x);
        Shapes.requireRank(x, 4, "window_partition input");
        if (ws <= 0) throw new IllegalArgumentException("window size " + ws);
        int B = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3);
        int hp = (H + ws - 1) / ws * ws, wp = (W + ws - 1) / ws * ws, nH = hp / ws, nW = wp / ws;
        Tensor y = rt.alloc(B * nH * nW, ws, ws, C);
        rt.launch1d(Kernel.WINDOW_PARTITION, "window_partition " + str(x) + " ws " + ws, y.numel(),
                new KernelArgs.WindowPartition(out(y), in(x), B, H, W, C, ws, nH, nW));
        return new Backend.Windows(y, hp, wp);
    }

    Tensor windowUnpartition(Tensor windows, int ws, int hp, int wp, int h, int w) {
        requireDevice("window_unpartition", windows);
        int B = Shapes.windowUnpartitionBatch(windows, ws, hp, wp, h, w);
        int nH = hp / ws, nW = wp / ws, C = windows.size(3);
        Tensor y = rt.alloc(B, h, w, C);
        rt.launch1d(Kernel.WINDOW_UNPARTITION, "window_unpartition " + str(windows) + " to " + h + "x" + w, y.numel(),
                new KernelArgs.WindowUnpartition(out(y), in(windows), B, h, w, C, ws, nH, nW));
        return y;
    }

    Tensor interpolateBilinear(Tensor x, int outH, int outW) {
        requireDevice("interpolate", x);
        Shapes.requireRank(x, 4, "interpolate input");
        if (outH <= 0 || outW <= 0) throw new IllegalArgumentException("interpolate: output size " + outH + "x" + outW);
        int B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
        if (H == 0 || W == 0) throw new IllegalArgumentException("interpolate: empty input " + str(x));
        Tensor y = rt.alloc(B, C, outH, outW);
        rt.launch1d(Kernel.INTERP_BILINEAR, "interpolate " + str(x) + " to " + outH + "x" + outW, y.numel(),
                new KernelArgs.InterpBilinear(out(y), in(x), B * C, H, W, outH, outW));
        return y;
    }

    /**
     * {@link Backend#postprocessMasks} in one kernel ({@code mask_postprocess_f32}): every output pixel recomputes the
     * four pixels of the cropped {@code padSize²} upsampling it blends, with the reference's float operations, so the
     * result equals the two-stage sequence bit for bit without the intermediate.
     */
    Tensor postprocessMasks(Tensor lowRes, int padSize, int h, int w, int outH, int outW, boolean threshold) {
        requireDevice("postprocess_masks", lowRes);
        Shapes.requireRank(lowRes, 4, "postprocess_masks input");
        if (h < 1 || w < 1 || h > padSize || w > padSize || outH < 1 || outW < 1) {
            throw new IllegalArgumentException("postprocess_masks: crop " + h + "x" + w + " of " + padSize + "x" + padSize
                    + " to " + outH + "x" + outW);
        }
        int B = lowRes.size(0), C = lowRes.size(1), H = lowRes.size(2), W = lowRes.size(3);
        if (H == 0 || W == 0) throw new IllegalArgumentException("postprocess_masks: empty input " + str(lowRes));
        Tensor y = rt.alloc(B, C, outH, outW);
        rt.launch1d(Kernel.MASK_POSTPROCESS, "postprocess_masks " + str(lowRes) + " via " + padSize + "² crop " + h + "x" + w + " to "
                + outH + "x" + outW, y.numel(), new KernelArgs.MaskPostprocess(out(y), in(lowRes), B * C, H, W, padSize, h, w, outH,
                outW, threshold ? 1 : 0));
        return y;
    }

    /** One warp per row; the int32 indices come back through a float-sized device buffer. */
    int[] argmax(Tensor x) {
        requireDevice("argmax", x);
        if (x.rank() == 0) return new int[] {0};
        int D = x.size(-1);
        if (D == 0) throw new IllegalArgumentException("argmax over an empty dimension");
        int rows = (int) (x.numel() / D);
        int[] idx = new int[rows];
        if (rows == 0) return idx;
        try (Tensor y = rt.alloc(rows)) {
            rt.launchRows(Kernel.ARGMAX, "argmax " + str(x), rows, new KernelArgs.Argmax(out(y), in(x), rows, D));
            rt.copyToHost(MemorySegment.ofArray(idx), CudaRuntime.address(y, 0), (long) rows * Integer.BYTES, "argmax " + str(x));
        }
        return idx;
    }
}
