// Backward kernels of the autodiff tape (dev.segsam.tensor.Backend's backward ops; reference: BackwardOps in
// core-tensor). Element-wise ones: one thread per element, grid-stride. Row ones: one warp per row, sums in double
// like the reference.
#pragma once
#include "common.cuh"
#include "elementwise.cuh"

// dx = dy·GELU'(x), GELU'(x) = Φ(x) + x·φ(x) for the exact (erf) GELU; Φ as 0.5·erfc(−x/√2) (no cancellation).
extern "C" __global__ void __launch_bounds__(256) gelu_backward_f32(float* __restrict__ dx, const float* __restrict__ x,
        const float* __restrict__ dy, int n) {
    SEG_GRID_STRIDE_LOOP(i, n) {
        const float v = x[i];
        const float cdf = 0.5f * erfcf((float) (-(double) v * 0.70710678118654752440));
        const float pdf = expf(-0.5f * v * v) * 0.39894228040143267794f;
        dx[i] = dy[i] * (cdf + v * pdf);
    }
}

// dx = dy·[x > 0].
extern "C" __global__ void __launch_bounds__(256) relu_backward_f32(float* __restrict__ dx, const float* __restrict__ x,
        const float* __restrict__ dy, int n) {
    SEG_GRID_STRIDE_LOOP(i, n) dx[i] = x[i] > 0.f ? dy[i] : 0.f;
}

// dx = dy·y·(1 − y) from the sigmoid's output y.
extern "C" __global__ void __launch_bounds__(256) sigmoid_backward_f32(float* __restrict__ dx, const float* __restrict__ y,
        const float* __restrict__ dy, int n) {
    SEG_GRID_STRIDE_LOOP(i, n) {
        const float v = y[i];
        dx[i] = dy[i] * v * (1.f - v);
    }
}

// Softmax backward over rows of D, one warp per row: dx = y ⊙ (dy − Σ dy·y), the dot product in double.
extern "C" __global__ void __launch_bounds__(256) softmax_backward_f32(float* __restrict__ dx, const float* __restrict__ y,
        const float* __restrict__ dy, int rows, int D) {
    const int row = (int) (((long long) blockIdx.x * blockDim.x + threadIdx.x) >> 5);
    const int lane = threadIdx.x & 31;
    if (row >= rows) return; // the whole warp leaves together
    const float* yr = y + (long long) row * D;
    const float* gr = dy + (long long) row * D;
    float* xr = dx + (long long) row * D;
    double dot = 0.0;
    for (int i = lane; i < D; i += 32) dot += (double) gr[i] * (double) yr[i];
    dot = warp_sum_d(dot);
    for (int i = lane; i < D; i += 32) xr[i] = (float) ((double) yr[i] * ((double) gr[i] - dot));
}

// Layer-norm backward, dx part, one warp per row of D: x̂ = (x − μ)·r, dx̂ = dy·w (w null: 1),
// dx = r·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)); statistics in double. Writes μ and r per row into stats[2·row]
// for layernorm_backward_wb_f32.
extern "C" __global__ void __launch_bounds__(256) layernorm_backward_dx_f32(float* __restrict__ dx, float* __restrict__ stats,
        const float* __restrict__ x, const float* __restrict__ w, const float* __restrict__ dy, int rows, int D, float eps) {
    const int row = (int) (((long long) blockIdx.x * blockDim.x + threadIdx.x) >> 5);
    const int lane = threadIdx.x & 31;
    if (row >= rows) return;
    const float* xr = x + (long long) row * D;
    const float* gr = dy + (long long) row * D;
    float* out = dx + (long long) row * D;
    double s = 0.0;
    for (int i = lane; i < D; i += 32) s += xr[i];
    const double mean = warp_sum_d(s) / D;
    double v = 0.0;
    for (int i = lane; i < D; i += 32) {
        const double d = xr[i] - mean;
        v += d * d;
    }
    const double r = 1.0 / sqrt(warp_sum_d(v) / D + (double) eps);
    double mg = 0.0, mgx = 0.0;
    for (int i = lane; i < D; i += 32) {
        const double xh = (xr[i] - mean) * r, gh = (double) gr[i] * (w == nullptr ? 1.0 : (double) w[i]);
        mg += gh;
        mgx += gh * xh;
    }
    mg = warp_sum_d(mg) / D;
    mgx = warp_sum_d(mgx) / D;
    for (int i = lane; i < D; i += 32) {
        const double xh = (xr[i] - mean) * r, gh = (double) gr[i] * (w == nullptr ? 1.0 : (double) w[i]);
        out[i] = (float) (r * (gh - mg - xh * mgx));
    }
    if (lane == 0) {
        stats[2 * (long long) row] = (float) mean;
        stats[2 * (long long) row + 1] = (float) r;
    }
}

// Layer-norm backward, weight and bias part: one thread per column c, dw[c] = Σ_rows dy·x̂, db[c] = Σ_rows dy (double),
// x̂ from the per-row μ, r that layernorm_backward_dx_f32 wrote.
extern "C" __global__ void __launch_bounds__(256) layernorm_backward_wb_f32(float* __restrict__ dw, float* __restrict__ db,
        const float* __restrict__ x, const float* __restrict__ dy, const float* __restrict__ stats, int rows, int D) {
    SEG_GRID_STRIDE_LOOP(c, D) {
        double sw = 0.0, sb = 0.0;
        for (int r = 0; r < rows; ++r) {
            const long long at = (long long) r * D + c;
            const double g = dy[at];
            sw += g * (((double) x[at] - stats[2 * r]) * stats[2 * r + 1]);
            sb += g;
        }
        dw[c] = (float) sw;
        db[c] = (float) sb;
    }
}
