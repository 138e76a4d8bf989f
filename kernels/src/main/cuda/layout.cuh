// Data movement and index-heavy ops: permute, row copies (concat/slice), SAM's window partition, im2col and the
// gather half of the transposed convolution, bilinear interpolation, the relative-position table lookup, the random
// Fourier encoding and argmax. One thread per output element; outputs are written coalesced.
#pragma once
#include "common.cuh"
#include "elementwise.cuh"

// x.permute(...).contiguous(): output dimension k has size d_k and reads the input with element stride s_k.
// The Java side merges dimensions that stay adjacent and pads at the front to 6 (rank = real dimensions).
extern "C" __global__ void __launch_bounds__(256) permute_f32(float* __restrict__ out, const float* __restrict__ x, int n,
        int rank, int d0, int d1, int d2, int d3, int d4, int d5, int s0, int s1, int s2, int s3, int s4, int s5) {
    const int dims[6] = {d0, d1, d2, d3, d4, d5}, st[6] = {s0, s1, s2, s3, s4, s5};
    SEG_GRID_STRIDE_LOOP(i, n) {
        unsigned rem = i;
        long long off = 0;
#pragma unroll
        for (int d = 5; d >= 0; --d) {
            if (d >= 6 - rank) {
                off += (long long) (rem % (unsigned) dims[d]) * st[d];
                rem /= (unsigned) dims[d];
            }
        }
        out[i] = x[off];
    }
}

// dst[r·dstLd + c] = src[r·srcLd + c] for r < rows, c < cols: one input's block of torch.cat, or narrow().
extern "C" __global__ void __launch_bounds__(256) copy_rows_f32(float* __restrict__ dst, int dstLd,
        const float* __restrict__ src, int srcLd, int rows, int cols) {
    const unsigned n = (unsigned) rows * cols;
    SEG_GRID_STRIDE_LOOP(i, n) {
        const unsigned r = i / (unsigned) cols, c = i % (unsigned) cols;
        dst[(long long) r * dstLd + c] = src[(long long) r * srcLd + c];
    }
}

// SAM window_partition: x [B, H, W, C] → [B·nH·nW, ws, ws, C], zero where the window covers the bottom/right
// padding. Window n = (b·nH + wr)·nW + wc, position (i, j) holds padded pixel (wr·ws + i, wc·ws + j).
extern "C" __global__ void __launch_bounds__(256) window_partition_f32(float* __restrict__ out, const float* __restrict__ x,
        int B, int H, int W, int C, int ws, int nH, int nW) {
    const unsigned n = (unsigned) B * nH * nW * ws * ws * C;
    SEG_GRID_STRIDE_LOOP(e, n) {
        unsigned r = e;
        const int c = (int) (r % (unsigned) C); r /= (unsigned) C;
        const int j = (int) (r % (unsigned) ws); r /= (unsigned) ws;
        const int i = (int) (r % (unsigned) ws); r /= (unsigned) ws;
        const int wc = (int) (r % (unsigned) nW); r /= (unsigned) nW;
        const int wr = (int) (r % (unsigned) nH);
        const int b = (int) (r / (unsigned) nH);
        const int py = wr * ws + i, px = wc * ws + j;
        out[e] = (py < H && px < W) ? x[(((long long) b * H + py) * W + px) * C + c] : 0.f;
    }
}

// SAM window_unpartition: windows [B·nH·nW, ws, ws, C] → [B, h, w, C] (the padded grid cropped to h × w).
extern "C" __global__ void __launch_bounds__(256) window_unpartition_f32(float* __restrict__ out, const float* __restrict__ win,
        int B, int h, int w, int C, int ws, int nH, int nW) {
    const unsigned n = (unsigned) B * h * w * C;
    SEG_GRID_STRIDE_LOOP(e, n) {
        unsigned r = e;
        const int c = (int) (r % (unsigned) C); r /= (unsigned) C;
        const int px = (int) (r % (unsigned) w); r /= (unsigned) w;
        const int py = (int) (r % (unsigned) h);
        const int b = (int) (r / (unsigned) h);
        const long long wn = ((long long) b * nH + py / ws) * nW + px / ws;
        out[e] = win[((wn * ws + py % ws) * ws + px % ws) * C + c];
    }
}

// torch.nn.functional.unfold: x [B, C, H, W] → cols [B, C·kh·kw, Ho·Wo]; row (c·kh + i)·kw + j, column oy·Wo + ox
// holds x[b, c, oy·sh − ph + i, ox·sw − pw + j], zero outside the image.
extern "C" __global__ void __launch_bounds__(256) im2col_f32(float* __restrict__ cols, const float* __restrict__ x,
        int B, int C, int H, int W, int kh, int kw, int sh, int sw, int ph, int pw, int Ho, int Wo) {
    const int L = Ho * Wo, CKK = C * kh * kw;
    const unsigned n = (unsigned) B * CKK * L;
    SEG_GRID_STRIDE_LOOP(e, n) {
        const int l = (int) (e % (unsigned) L);
        const unsigned r = e / (unsigned) L;
        const int row = (int) (r % (unsigned) CKK);
        const int b = (int) (r / (unsigned) CKK);
        const int ox = l % Wo, oy = l / Wo;
        const int j = row % kw, i = (row / kw) % kh, c = row / (kh * kw);
        const int y = oy * sh - ph + i, xx = ox * sw - pw + j;
        cols[e] = (y >= 0 && y < H && xx >= 0 && xx < W) ? x[(((long long) b * C + c) * H + y) * W + xx] : 0.f;
    }
}

// Second half of conv_transpose2d (padding 0): the GEMM has produced cols [B, O·kh·kw, H·W] with
// cols[b][(o·kh + i)·kw + j][y·W + x] = Σ_c x[b,c,y,x]·w[c,o,i,j]; each output pixel gathers the taps that land on it:
// out[b,o,oy,ox] = bias[o] + Σ over (i, j) with oy = y·s + i, ox = x·s + j. Deterministic (no atomics).
extern "C" __global__ void __launch_bounds__(256) col2im_convt_f32(float* __restrict__ out, const float* __restrict__ cols,
        const float* __restrict__ bias, int B, int O, int H, int W, int kh, int kw, int s, int Ho, int Wo) {
    const unsigned n = (unsigned) B * O * Ho * Wo;
    const long long HW = (long long) H * W;
    SEG_GRID_STRIDE_LOOP(e, n) {
        unsigned r = e;
        const int ox = (int) (r % (unsigned) Wo); r /= (unsigned) Wo;
        const int oy = (int) (r % (unsigned) Ho); r /= (unsigned) Ho;
        const int o = (int) (r % (unsigned) O);
        const int b = (int) (r / (unsigned) O);
        float sum = 0.f;
        for (int i = 0; i < kh; ++i) {
            const int ty = oy - i;
            if (ty < 0 || (unsigned) ty % (unsigned) s != 0) continue;
            const int y = (int) ((unsigned) ty / (unsigned) s);
            if (y >= H) continue;
            for (int j = 0; j < kw; ++j) {
                const int tx = ox - j;
                if (tx < 0 || (unsigned) tx % (unsigned) s != 0) continue;
                const int xx = (int) ((unsigned) tx / (unsigned) s);
                if (xx >= W) continue;
                sum += cols[(((long long) b * O + o) * kh * kw + (long long) i * kw + j) * HW + (long long) y * W + xx];
            }
        }
        out[e] = bias != nullptr ? __fadd_rn(bias[o], sum) : sum;
    }
}

// F.interpolate(x, (outH, outW), mode="bilinear", align_corners=False) over planes = B·C images of H × W, index and
// blend maths in the reference's float order (bit-exact with CpuBackend.interpolateBilinear).
extern "C" __global__ void __launch_bounds__(256) interp_bilinear_f32(float* __restrict__ out, const float* __restrict__ x,
        int planes, int H, int W, int outH, int outW) {
    const unsigned n = (unsigned) planes * outH * outW;
    SEG_GRID_STRIDE_LOOP(e, n) {
        const int ox = (int) (e % (unsigned) outW);
        const unsigned r = e / (unsigned) outW;
        const int oy = (int) (r % (unsigned) outH);
        const long long plane = r / (unsigned) outH;
        int y0, y1, x0, x1;
        float h0, h1, w0, w1;
        lerp_axis(H, outH, oy, y0, y1, h0, h1);
        lerp_axis(W, outW, ox, x0, x1, w0, w1);
        const float* p = x + plane * H * W;
        const float v00 = p[(long long) y0 * W + x0], v01 = p[(long long) y0 * W + x1];
        const float v10 = p[(long long) y1 * W + x0], v11 = p[(long long) y1 * W + x1];
        const float top = __fadd_rn(__fmul_rn(w0, v00), __fmul_rn(w1, v01));
        const float bot = __fadd_rn(__fmul_rn(w0, v10), __fmul_rn(w1, v11));
        out[e] = __fadd_rn(__fmul_rn(h0, top), __fmul_rn(h1, bot));
    }
}

// get_rel_pos, step 1 (only when the table length L differs from 2·max(q, k) − 1): linear resize along L,
// align_corners=False, out [Lout, d] = l0·t[i0] + l1·t[i1] in the reference's float order.
extern "C" __global__ void __launch_bounds__(256) relpos_resize_f32(float* __restrict__ out, const float* __restrict__ t,
        int L, int Lout, int d) {
    const unsigned n = (unsigned) Lout * d;
    SEG_GRID_STRIDE_LOOP(e, n) {
        const int c = (int) (e % (unsigned) d), i = (int) (e / (unsigned) d);
        int i0, i1;
        float l0, l1;
        lerp_axis(L, Lout, i, i0, i1, l0, l1);
        out[e] = __fadd_rn(__fmul_rn(l0, t[(long long) i0 * d + c]), __fmul_rn(l1, t[(long long) i1 * d + c]));
    }
}

// get_rel_pos, step 2: out [q, k, d], out[i][j] = t[int((i·qScale − j·kScale) + shift)] with the scales computed on
// the host exactly as the reference does; the index is clamped to [0, L − 1] (never needed for valid inputs).
extern "C" __global__ void __launch_bounds__(256) relpos_gather_f32(float* __restrict__ out, const float* __restrict__ t,
        int L, int qn, int kn, int d, float qScale, float kScale, float shift) {
    const unsigned n = (unsigned) qn * kn * d;
    SEG_GRID_STRIDE_LOOP(e, n) {
        const int c = (int) (e % (unsigned) d);
        const unsigned r = e / (unsigned) d;
        const int j = (int) (r % (unsigned) kn), i = (int) (r / (unsigned) kn);
        int idx = (int) __fadd_rn(__fsub_rn(__fmul_rn((float) i, qScale), __fmul_rn((float) j, kScale)), shift);
        idx = idx < 0 ? 0 : (idx >= L ? L - 1 : idx);
        out[e] = t[(long long) idx * d + c];
    }
}

// SAM PositionEmbeddingRandom._pe_encoding: coords [n, 2] in [0, 1], G [2, F] → out [n, 2F]:
// t_j = ((2x − 1)·G[0][j] + (2y − 1)·G[1][j])·twoPi (float, reference order), out = [sin t, cos t] (sin/cos in double
// of the float t, as the reference).
extern "C" __global__ void __launch_bounds__(256) fourier_pe_f32(float* __restrict__ out, const float* __restrict__ coords,
        const float* __restrict__ g, int n, int F, float twoPi) {
    const unsigned total = (unsigned) n * F;
    SEG_GRID_STRIDE_LOOP(e, total) {
        const int j = (int) (e % (unsigned) F);
        const long long p = e / (unsigned) F;
        const float cx = __fsub_rn(__fmul_rn(2.f, coords[2 * p]), 1.f);
        const float cy = __fsub_rn(__fmul_rn(2.f, coords[2 * p + 1]), 1.f);
        const float t = __fmul_rn(__fadd_rn(__fmul_rn(cx, g[j]), __fmul_rn(cy, g[F + j])), twoPi);
        out[p * 2 * F + j] = (float) sin((double) t);
        out[p * 2 * F + F + j] = (float) cos((double) t);
    }
}

// (v2, i2) beats (v1, i1) for torch.argmax: NaN is the maximum, then the larger value, ties to the lower index.
__device__ __forceinline__ bool argmax_better(float v2, int i2, float v1, int i1) {
    const bool n1 = seg_isnan(v1), n2 = seg_isnan(v2);
    if (n1 || n2) return (n1 && n2) ? i2 < i1 : n2;
    if (v2 != v1) return v2 > v1;
    return i2 < i1;
}

// torch.argmax(x, dim=-1), one warp per row of D (D ≥ 1); out[row] = index of the first maximum.
extern "C" __global__ void __launch_bounds__(256) argmax_f32(int* __restrict__ out, const float* __restrict__ x, int rows, int D) {
    const int row = (int) (((long long) blockIdx.x * blockDim.x + threadIdx.x) >> 5);
    const int lane = threadIdx.x & 31;
    if (row >= rows) return; // the whole warp leaves together
    const float* xr = x + (long long) row * D;
    float bv = -INFINITY;
    int bi = 0x7fffffff; // lanes without an element never win: every real index is smaller
    for (int i = lane; i < D; i += 32) {
        const float v = xr[i];
        if (argmax_better(v, i, bv, bi)) {
            bv = v;
            bi = i;
        }
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        const float v = __shfl_xor_sync(SEGSAM_FULL_MASK, bv, o);
        const int i = __shfl_xor_sync(SEGSAM_FULL_MASK, bi, o);
        if (argmax_better(v, i, bv, bi)) {
            bv = v;
            bi = i;
        }
    }
    if (lane == 0) out[row] = bi;
}
