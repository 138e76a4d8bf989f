package dev.segsam.tensor.fast;

import dev.segsam.tensor.Parallel;
import dev.segsam.tensor.Shapes;
import dev.segsam.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * {@code im2col} ({@code torch.nn.functional.unfold}) for the fast CPU backend: the same values as the reference
 * ({@code CpuBackend.im2col}, which tests every output element for padding), written span by span. For output row
 * {@code (c, i, j)} the output columns whose input column {@code ox·sw − pw + j} lies inside the image form one range
 * {@code [oxLo, oxHi)}, the same for every output row {@code oy}; so per {@code oy} the row is one copy (stride 1: contiguous
 * input) or one strided gather between zeros, in an array that then goes to the output in one bulk copy.
 *
 * <p>Why it exists: SAM's neck (a 3×3 convolution of 256 channels on the 64×64 grid: 9.4 M values) runs once per
 * image, so in a fresh process its im2col runs in the interpreter before the JIT gets to it — 60–70 ms of the two
 * threads at the end of every first encode (JFR samples, docs/PERF.md "session 7"). With the padding decided once per
 * row, array code and the copies done in bulk, the interpreted cost is per span (64 floats) instead of per value.
 */
final class Im2col {
    private Im2col() {}

    /** {@code x [B, C, H, W] → cols [B, C·kh·kw, Ho·Wo]}, row {@code (c·kh + i)·kw + j}, column {@code oy·Wo + ox}. */
    static Tensor run(Parallel par, Tensor x, int kh, int kw, int sh, int sw, int ph, int pw) {
        Shapes.requireRank(x, 4, "im2col input");
        int B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
        int Ho = Shapes.convOut(H, kh, sh, ph, "height"), Wo = Shapes.convOut(W, kw, sw, pw, "width");
        int rowsPerImage = C * kh * kw, L = Ho * Wo;
        Tensor out = Tensor.empty(B, rowsPerImage, L);
        float[] xv = x.toArray(); // arrays, not segment accessors: the interpreter runs array code far faster
        MemorySegment cs = out.data();
        par.forRange(B * rowsPerImage, r -> {
            int b = r / rowsPerImage, row = r % rowsPerImage;
            int c = row / (kh * kw), i = (row / kw) % kh, j = row % kw;
            // ox·sw − pw + j ∈ [0, W)  ⇔  ox ∈ [⌈(pw − j)/sw⌉, ⌊(W − 1 + pw − j)/sw⌋]
            int oxLo = Math.min(Wo, Math.ceilDiv(Math.max(0, pw - j), sw));
            int oxHi = Math.max(oxLo, Math.min(Wo, Math.floorDiv(W - 1 + pw - j, sw) + 1));
            int src = (b * C + c) * H * W;
            float[] cols = new float[L]; // zeros: the padding
            for (int oy = 0; oy < Ho && oxLo < oxHi; oy++) {
                int y = oy * sh - ph + i;
                if (y < 0 || y >= H) continue;
                int s = src + y * W + oxLo * sw - pw + j, d = oy * Wo + oxLo;
                if (sw == 1) {
                    System.arraycopy(xv, s, cols, d, oxHi - oxLo);
                } else {
                    for (int end = oy * Wo + oxHi; d < end; d++, s += sw) cols[d] = xv[s];
                }
            }
            MemorySegment.copy(cols, 0, cs, Tensor.LAYOUT, (long) r * L * Float.BYTES, L);
        });
        return out;
    }
}
