package dev.segsam.tensor.fast;

import dev.segsam.tensor.Parallel;
import dev.segsam.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * SAM's output upscaling stages fused on the fast CPU backend ({@code Backend.convTranspose2dGelu},
 * {@code Backend.convTranspose2dLayerNormGelu}): a transposed convolution whose kernel equals its stride (each output
 * pixel is one tap), then optionally LayerNorm2d over the output channels, then GELU — all on one task's block of
 * products while it sits in L2, instead of three passes over the whole output (4 MB and 8 MB at ViT-B's sizes) and two
 * intermediate tensors.
 *
 * <p>Per task (whole input rows, about {@value FastCpuBackend#CONVT_PIXELS} pixels, as
 * {@code FastCpuBackend.convTransposeCover}): one single-threaded GEMM {@code cols[(i,j,o), p] = Σ_c W[c,(o,i,j)]·x[c,p]}
 * into a per-thread array (the rows in convTransposeCover's order, so the GEMM's sums are the same bits), then the bias,
 * per tap {@link VectorMath#layerNormColumns} over its O rows (s² rows apart: the output channels of one output pixel
 * are a column of them) and the hand-inlined GELU over the whole block, then each output row is zipped from its s taps and copied out. Every value
 * is the same expression as the unfused fast ops compute (bias + tap; the same per-column norm; the same GELU), so the
 * results are bit for bit those of {@code gelu(layerNorm2d(convTranspose2d(…)))} on this backend when P is a whole
 * number of vectors (SAM: always); ImageContextsTest and the contract cases check them against the reference.
 */
final class UpscaleOps {
    private UpscaleOps() {}

    /**
     * {@code gelu([layerNorm2d](convTranspose2d(x, w, bias, s)))} for {@code x [B, C, H, W]}, {@code w [C, O, s, s]}
     * (the caller checked the shapes); the norm when {@code norm} (weights {@code lnW, lnB} may be null).
     */
    static Tensor convTransposeGelu(Parallel par, Tensor x, Tensor w, Tensor bias, int s, boolean norm, Tensor lnW, Tensor lnB, float eps) {
        return convTransposeGelu(par, x, w, bias, s, norm, lnW, lnB, eps, null);
    }

    /**
     * As {@link #convTransposeGelu(Parallel, Tensor, Tensor, Tensor, int, boolean, Tensor, Tensor, float)}, then, when
     * {@code proj [B, M, O]} is given, {@code proj[b]·U[b]} over the output channels ({@code Backend.convTranspose2dGeluProject}:
     * SAM's masks = hypernetwork outputs · upscaled embedding) on the task's block, so the upscaled tensor
     * {@code [B, O, Ho, Wo]} (8 MB at ViT-B's sizes) is never stored: the result is {@code [B, M, Ho, Wo]}. The block is
     * {@code [O, s²·P]} row-major (its rows are {@code (o, tap)}), so the projection is one small GEMM per task; float
     * sums over O in another order than the separate matmul's, so equal to float rounding, not to the bit.
     */
    static Tensor convTransposeGelu(Parallel par, Tensor x, Tensor w, Tensor bias, int s, boolean norm, Tensor lnW, Tensor lnB, float eps,
                                    Tensor proj) {
        int B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), O = w.size(1), SS = s * s, OKK = O * SS, HW = H * W;
        int M = proj == null ? 0 : proj.size(1), outC = proj == null ? O : M;
        float[] pv = proj == null ? null : proj.toArray();
        int Ho = H * s, Wo = W * s;
        float[] wt = w.toArray(), wT = new float[OKK * C]; // [C, (o,i,j)] → [(o,i,j), C], the GEMM's A (as convTransposeCover)
        for (int c = 0; c < C; c++) for (int r = 0; r < OKK; r++) wT[r * C + c] = wt[c * OKK + r];
        float[] bv = bias == null ? null : bias.toArray(), gw = lnW == null ? null : lnW.toArray(), gb = lnB == null ? null : lnB.toArray();
        Tensor y = Tensor.empty(B, outC, Ho, Wo);
        int rows = Math.max(1, Math.min(H, FastCpuBackend.CONVT_PIXELS / Math.max(1, W))), tiles = (H + rows - 1) / rows;
        MemorySegment xs = x.data(), out = y.data(), ws = MemorySegment.ofArray(wT);
        par.forRange(B * tiles, t -> {
            int b = t / tiles, y0 = (t % tiles) * rows, yn = Math.min(rows, H - y0), P = yn * W;
            float[] cols = Buffers.get(0, OKK * P), row = Buffers.get(1, Wo);
            MemorySegment cs = MemorySegment.ofArray(cols);
            Sgemm.gemm(Parallel.SEQUENTIAL, 1, OKK, P, C, new Sgemm.Mat(ws, 0, C, 0), new Sgemm.Mat(xs, (long) b * C * HW + (long) y0 * W, HW, 0),
                    false, new Sgemm.Mat(cs, 0, P, 0), null);
            if (bv != null) {
                for (int r = 0; r < OKK; r++) {
                    float b0 = bv[r / SS];
                    for (int p = r * P, end = p + P; p < end; p++) cols[p] = b0 + cols[p];
                }
            }
            if (norm) for (int tap = 0; tap < SS; tap++) VectorMath.layerNormColumns(cols, tap * P, SS * P, O, P, gw, gb, eps);
            VectorMath.geluInPlace(cols, 0, OKK * P);
            float[] src = cols;
            if (pv != null) { // [M, O]·[O, s²·P]: the masks of this block, rows (m, tap) as the block's (o, tap)
                src = Buffers.get(2, M * SS * P);
                Sgemm.gemm(Parallel.SEQUENTIAL, 1, M, SS * P, O, new Sgemm.Mat(MemorySegment.ofArray(pv), (long) b * M * O, O, 0),
                        new Sgemm.Mat(cs, 0, SS * P, 0), false, new Sgemm.Mat(MemorySegment.ofArray(src), 0, SS * P, 0), null);
            }
            for (int o = 0; o < outC; o++) {
                for (int i = 0; i < s; i++) {
                    for (int yy = 0; yy < yn; yy++) {
                        int done = s == 2 ? VectorMath.zip2(src, ((o * s + i) * s) * P + yy * W, src, ((o * s + i) * s + 1) * P + yy * W, row, 0, W) : 0;
                        for (int j = 0; j < s; j++) {
                            int from = ((o * s + i) * s + j) * P + yy * W;
                            for (int xx = done, d = j + done * s; xx < W; xx++, d += s) row[d] = src[from + xx];
                        }
                        long at = (((long) b * outC + o) * Ho + (long) (y0 + yy) * s + i) * Wo;
                        MemorySegment.copy(row, 0, out, Tensor.LAYOUT, at * Float.BYTES, Wo);
                    }
                }
            }
        });
        return y;
    }
}
