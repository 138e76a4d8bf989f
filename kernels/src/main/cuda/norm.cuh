// Normalisations and softmax. Statistics are accumulated in double, as in the Java reference (CpuBackend.normalise),
// so LayerNorm agrees with it to float rounding; softmax sums in float (exp dominates the error).
#pragma once
#include "common.cuh"

// torch.nn.functional.layer_norm over the last dimension D, one warp per row (8 rows per 256-thread block):
// mean, then the biased variance of (x − mean) (two passes, no cancellation), then y = (x − mean)·inv·w + b.
// w and b may be null.
extern "C" __global__ void __launch_bounds__(256) layernorm_f32(float* __restrict__ out, const float* __restrict__ x,
        const float* __restrict__ w, const float* __restrict__ b, int rows, int D, float eps) {
    const int row = (int) (((long long) blockIdx.x * blockDim.x + threadIdx.x) >> 5);
    const int lane = threadIdx.x & 31;
    if (row >= rows) return; // the whole warp leaves together
    const float* xr = x + (long long) row * D;
    float* yr = out + (long long) row * D;
    double s = 0.0;
    for (int i = lane; i < D; i += 32) s += xr[i];
    const double mean = warp_sum_d(s) / D;
    double v = 0.0;
    for (int i = lane; i < D; i += 32) {
        const double d = xr[i] - mean;
        v += d * d;
    }
    const double inv = 1.0 / sqrt(warp_sum_d(v) / D + (double) eps);
    for (int i = lane; i < D; i += 32) {
        double y = (xr[i] - mean) * inv;
        if (w != nullptr) y *= w[i];
        if (b != nullptr) y += b[i];
        yr[i] = (float) y;
    }
}

// SAM's LayerNorm2d: x [B, C, HW]; at every pixel, over the C channels (stride HW). Block (32, 8): 32 adjacent
// pixels (coalesced) × 8 channel groups whose partial sums meet in shared memory. Grid (⌈HW/32⌉, B).
extern "C" __global__ void __launch_bounds__(256) layernorm2d_f32(float* __restrict__ out, const float* __restrict__ x,
        const float* __restrict__ w, const float* __restrict__ b, int C, int HW, float eps) {
    __shared__ double red[8][33];
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int p = blockIdx.x * 32 + tx;
    const bool valid = p < HW;
    const long long base = (long long) blockIdx.y * C * HW + p;
    double s = 0.0;
    if (valid) for (int c = ty; c < C; c += 8) s += x[base + (long long) c * HW];
    red[ty][tx] = s;
    __syncthreads();
    double t = 0.0;
    for (int k = 0; k < 8; ++k) t += red[k][tx];
    const double mean = t / C;
    __syncthreads(); // everyone has read red before it is overwritten
    double v = 0.0;
    if (valid) {
        for (int c = ty; c < C; c += 8) {
            const double d = x[base + (long long) c * HW] - mean;
            v += d * d;
        }
    }
    red[ty][tx] = v;
    __syncthreads();
    t = 0.0;
    for (int k = 0; k < 8; ++k) t += red[k][tx];
    const double inv = 1.0 / sqrt(t / C + (double) eps);
    if (valid) {
        for (int c = ty; c < C; c += 8) {
            const long long i = base + (long long) c * HW;
            double y = (x[i] - mean) * inv;
            if (w != nullptr) y *= w[c];
            if (b != nullptr) y += b[c];
            out[i] = (float) y;
        }
    }
}

// torch.softmax(x, dim=-1), one warp per row: max, Σ exp(x − max), exp(x − max)/Σ. out may alias x.
extern "C" __global__ void __launch_bounds__(256) softmax_f32(float* out, const float* x, int rows, int D) {
    const int row = (int) (((long long) blockIdx.x * blockDim.x + threadIdx.x) >> 5);
    const int lane = threadIdx.x & 31;
    if (row >= rows) return; // the whole warp leaves together
    const float* xr = x + (long long) row * D;
    float* yr = out + (long long) row * D;
    float m = -INFINITY;
    for (int i = lane; i < D; i += 32) m = fmaxf(m, xr[i]);
    m = warp_max(m);
    float s = 0.f;
    for (int i = lane; i < D; i += 32) s += expf(xr[i] - m);
    const float inv = 1.f / warp_sum(s);
    for (int i = lane; i < D; i += 32) yr[i] = expf(xr[i] - m) * inv;
}

// Softmax over one tile of attention scores, in place, with SAM's decomposed relative-position bias added first.
// S holds rows [t0, t0 + T) of the scores of every batch·head: S[b][i][j], row stride Nk, batch stride T·Nk.
// One block per row: blockIdx.x = i, blockIdx.y = b. With relH != null, for query qi = t0 + i at grid position
// (y, x) = (qi / qw, qi % qw) and unscaled q, the bias is bh[ky] = Σ_c q[c]·relH[y][ky][c] and
// bw[kx] = Σ_c q[c]·relW[x][kx][c] (float sums in c order, as the reference), added as (s + bh[ky]) + bw[kx] for
// key j = ky·kw + kx. Dynamic shared memory: (d + kh + kw) floats when relH != null, else none.
extern "C" __global__ void __launch_bounds__(128) attn_softmax_f32(float* S, int T, int Nk, const float* __restrict__ q,
        int Nq, int d, int t0, const float* __restrict__ relH, const float* __restrict__ relW, int qw, int kh, int kw) {
    SEGSAM_DYNAMIC_SMEM(float, sm);
    __shared__ float red[32];
    const int i = blockIdx.x, b = blockIdx.y, tid = threadIdx.x, nt = blockDim.x;
    float* row = S + ((long long) b * T + i) * Nk;
    if (relH != nullptr) {
        const int qi = t0 + i, y = qi / qw, xq = qi % qw;
        const float* qr = q + ((long long) b * Nq + qi) * d;
        float* qs = sm;
        float* bh = sm + d;
        float* bw = bh + kh;
        for (int c = tid; c < d; c += nt) qs[c] = qr[c];
        __syncthreads();
        for (int j = tid; j < kh + kw; j += nt) {
            const float* r = j < kh ? relH + ((long long) y * kh + j) * d : relW + ((long long) xq * kw + (j - kh)) * d;
            float acc = 0.f;
            for (int c = 0; c < d; ++c) acc = __fadd_rn(acc, __fmul_rn(qs[c], r[c]));
            if (j < kh) bh[j] = acc;
            else bw[j - kh] = acc;
        }
        __syncthreads();
        for (int j = tid; j < Nk; j += nt) row[j] = __fadd_rn(__fadd_rn(row[j], bh[j / kw]), bw[j % kw]);
    }
    float m = -INFINITY;
    for (int j = tid; j < Nk; j += nt) m = fmaxf(m, row[j]);
    m = block_reduce<MaxOp>(m, red);
    float s = 0.f;
    for (int j = tid; j < Nk; j += nt) s += expf(row[j] - m);
    const float inv = 1.f / block_reduce<SumOp>(s, red);
    for (int j = tid; j < Nk; j += nt) row[j] = expf(row[j] - m) * inv;
}
