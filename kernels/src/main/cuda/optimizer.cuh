// The optimiser's kernels (dev.segsam.tensor.Backend's adamw and sumSquares; reference: OptimizerOps in core-tensor):
// model/train's AdamW runs on them so that parameters, moments and gradients stay on the device.
#pragma once
#include "common.cuh"
#include "elementwise.cuh"

// Σ x² over x[0..n) in double, by one block: written as the float pair out[0] = (float) s, out[1] = (float) (s − out[0])
// (≈ 48 significant bits; the host adds them back in double). One launch per tensor, each into its own pair.
extern "C" __global__ void __launch_bounds__(256) sum_squares_f32(float* __restrict__ out, const float* __restrict__ x, int n) {
    __shared__ double red[8];
    double s = 0.0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) s += (double) x[i] * (double) x[i];
    s = warp_sum_d(s);
    if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = s;
    __syncthreads();
    if (threadIdx.x == 0) {
        double t = 0.0;
        for (int w = 0; w < (int) (blockDim.x >> 5); ++w) t += red[w];
        const float hi = (float) t;
        out[0] = hi;
        out[1] = (float) (t - (double) hi);
    }
}

// One AdamW step in place (torch.optim.AdamW's order), in double like the reference; the _rn intrinsics keep nvcc from
// contracting products and sums into FMAs, so every value rounds as in OptimizerOps.adamw:
//   g ← grad·gradScale (grad null: 0);  θ ← θ·(1 − lr·wd);  m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g² (stored as float)
//   θ ← θ − lr·(m / bias1) / (√(v / bias2) + ε)
extern "C" __global__ void __launch_bounds__(256) adamw_f32(float* __restrict__ p, float* __restrict__ m, float* __restrict__ v,
        const float* __restrict__ grad, int n, double lr, double weightDecay, double beta1, double beta2, double eps,
        double gradScale, double bias1, double bias2) {
    const double decay = __dsub_rn(1.0, __dmul_rn(lr, weightDecay));
    SEG_GRID_STRIDE_LOOP(i, n) {
        const double g = grad == nullptr ? 0.0 : __dmul_rn((double) grad[i], gradScale);
        double th = __dmul_rn((double) p[i], decay);
        const float mi = (float) __dadd_rn(__dmul_rn(beta1, (double) m[i]), __dmul_rn(__dsub_rn(1.0, beta1), g));
        const float vi = (float) __dadd_rn(__dmul_rn(beta2, (double) v[i]), __dmul_rn(__dmul_rn(__dsub_rn(1.0, beta2), g), g));
        m[i] = mi;
        v[i] = vi;
        th = __dsub_rn(th, __ddiv_rn(__dmul_rn(lr, __ddiv_rn((double) mi, bias1)), __dadd_rn(sqrt(__ddiv_rn((double) vi, bias2)), eps)));
        p[i] = (float) th;
    }
}
