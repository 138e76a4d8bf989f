package dev.segsam.tensor.fast;

import dev.segsam.tensor.Parallel;
import dev.segsam.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * {@code layerNorm(residual + linear(x, w, bias))} on the fast CPU backend ({@code Backend.linearAddLayerNorm}): the
 * decoder's image→token output projection, its residual and norm4 ({@code keys = LN(keys + out_proj(…))}, 4 096 rows of
 * 256) in one pass — per task a block of {@value #ROWS} rows: the GEMM into a per-thread array (L2-resident), the
 * residual rows added ({@code residual + y}, as the separate {@code add}), {@link VectorMath#layerNormRow} on each row
 * (as the separate {@code layerNorm}), one store. Two [rows, N] tensors fewer are written and read (4 MB each at
 * ViT-B's size, in fresh memory each decode). Each element is the same expression as the separate fast ops compute
 * (the GEMM sums over k in one order whatever the row block): bit for bit when the last block has at least the GEMM
 * tile's 6 rows (SAM's 4 096 rows: 42 × 96 + 64); a last block of fewer rows takes the GEMM's small-M path, whose sums
 * differ in the last bits ({@code ResidualNormOpsTest}).
 */
final class ResidualNormOps {
    private ResidualNormOps() {}

    /** Rows per task (a multiple of the GEMM tile's 6 rows; DecodeOpsLab "norm4": 64 rows 3.40 ms, 96 2.75, 192 2.88, separate ops 2.72–2.88 with recycled and 4.76–4.99 ms with fresh output memory). */
    static final int ROWS = 96;

    /** The caller checked: {@code x [..., K]}, {@code w [N, K]}, bias {@code [N]} or null, residual with the output's shape. */
    static Tensor linearAddLayerNorm(Parallel par, Tensor x, Tensor w, Tensor bias, Tensor residual, Tensor lnW, Tensor lnB, float eps) {
        int K = w.size(1), N = w.size(0), rows = Math.toIntExact(x.numel() / K);
        int[] shape = x.shape();
        shape[shape.length - 1] = N;
        Tensor y = Tensor.empty(shape);
        float[] lw = lnW == null ? null : lnW.toArray(), lb = lnB == null ? null : lnB.toArray();
        MemorySegment xs = x.data(), ws = w.data(), bs = bias == null ? null : bias.data(), rs = residual.data(), out = y.data();
        par.forRange((rows + ROWS - 1) / ROWS, t -> {
            int r0 = t * ROWS, rn = Math.min(ROWS, rows - r0), n = rn * N;
            float[] buf = Buffers.get(0, n), res = Buffers.get(1, n);
            Sgemm.gemm(Parallel.SEQUENTIAL, 1, rn, N, K, new Sgemm.Mat(xs, (long) r0 * K, K, 0), new Sgemm.Mat(ws, 0, K, 0), true,
                    new Sgemm.Mat(MemorySegment.ofArray(buf), 0, N, 0), bs);
            MemorySegment.copy(rs, Tensor.LAYOUT, (long) r0 * N * Float.BYTES, res, 0, n);
            for (int i = 0; i < n; i++) buf[i] = res[i] + buf[i];
            for (int r = 0; r < rn; r++) VectorMath.layerNormRow(buf, r * N, N, lw, lb, eps);
            MemorySegment.copy(buf, 0, out, Tensor.LAYOUT, (long) r0 * N * Float.BYTES, n);
        });
        return y;
    }
}
