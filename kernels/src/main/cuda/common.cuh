// Shared helpers for segsam's CUDA kernels: warp/block reductions, float ops that must not be contracted into FMAs
// (index maths that has to agree bit for bit with the Java reference), the exact GELU.
//
// Conventions for every kernel in this directory (checked by KernelSourceTest in the Java tests):
//   * declared as  extern "C" __global__ void __launch_bounds__(THREADS) name(params)  -- THREADS is the block size
//     the Java launcher uses (dev.segsam.kernels.Kernel); the parameters must match the Java argument record
//     (dev.segsam.kernels.KernelArgs) by name, type and order: const float* <-> In, other pointers <-> Out, int, float;
//   * sizes are int (the Java side refuses tensors of 2^31 elements or more), offsets that multiply two sizes are
//     computed in long long;
//   * no early return before a __syncthreads or a warp shuffle unless the whole block / warp leaves together.
//
// SEGSAM_EMU: the same sources are compiled as plain C++ by the CPU emulator used in the tests
// (kernels/src/test/emu/emu.h), which supplies the CUDA built-ins used here.
#pragma once

#ifndef SEGSAM_EMU
#define SEGSAM_DYNAMIC_SMEM(T, name) extern __shared__ __align__(16) T name[]
#endif

#define SEGSAM_FULL_MASK 0xffffffffu

// Not-a-number test that survives any compiler flag (x != x is true only for NaN).
__device__ __forceinline__ bool seg_isnan(float x) { return x != x; }

struct SumOp {
    template <class T> __device__ static T apply(T a, T b) { return a + b; }
};
struct MaxOp {
    __device__ static float apply(float a, float b) { return fmaxf(a, b); }
};

// Reduction over the 32 lanes of a warp (butterfly: every lane gets the result).
template <class Op, class T>
__device__ __forceinline__ T warp_reduce(T v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = Op::apply(v, __shfl_xor_sync(SEGSAM_FULL_MASK, v, o));
    return v;
}

__device__ __forceinline__ float warp_sum(float v) { return warp_reduce<SumOp>(v); }
__device__ __forceinline__ double warp_sum_d(double v) { return warp_reduce<SumOp>(v); }
__device__ __forceinline__ float warp_max(float v) { return warp_reduce<MaxOp>(v); }

// Reduction over the block; every thread gets the result. `red` holds one slot per warp (blockDim.x / 32 <= 32 warps).
// Starts with a barrier so that `red` can be reused by the next call.
template <class Op>
__device__ __forceinline__ float block_reduce(float v, float* red) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = warp_reduce<Op>(v);
    __syncthreads();
    if (lane == 0) red[warp] = v;
    __syncthreads();
    float t = red[0];
    for (int w = 1; w < warps; ++w) t = Op::apply(t, red[w]);
    return t;
}

// torch.nn.functional.gelu (erf form) as 0.5·x·erfc(−x/√2): no cancellation for negative x, where 1 + erf(..)
// would lose all digits. The argument is rounded once (product in double) to keep erfc's amplification of
// argument errors (2z²·δ) small.
__device__ __forceinline__ float gelu_erf(float x) {
    const float z = (float) (-(double) x * 0.70710678118654752440);
    return 0.5f * x * erfcf(z);
}

// torch.sigmoid without overflow on either side.
__device__ __forceinline__ float sigmoid_f(float x) {
    if (x >= 0.f) return 1.f / (1.f + expf(-x));
    const float e = expf(x);
    return e / (1.f + e);
}

// Epilogue codes shared by the GEMM kernels and bias_act_f32 (mirrored in dev.segsam.kernels.Gemm).
#define SEG_BIAS_NONE 0
#define SEG_BIAS_COL 1   // bias[n]: linear layers
#define SEG_BIAS_ROW 2   // bias[m]: convolutions computed as W·cols
#define SEG_ACT_NONE 0
#define SEG_ACT_RELU 1
#define SEG_ACT_GELU 2

__device__ __forceinline__ float epilogue(float v, int m, int n, const float* bias, int biasMode, int act) {
    if (biasMode == SEG_BIAS_COL) v += bias[n];
    else if (biasMode == SEG_BIAS_ROW) v += bias[m];
    if (act == SEG_ACT_RELU) v = v > 0.f ? v : (seg_isnan(v) ? v : 0.f);
    else if (act == SEG_ACT_GELU) v = gelu_erf(v);
    return v;
}

// align_corners=False source index and weights along one axis, float32 maths exactly as the Java reference
// (CpuBackend.Lerp, PyTorch's UpSample.h): src = max(0, (in/out)·(d + 0.5) − 0.5), i0 = ⌊src⌋, i1 = min(i0 + 1,
// in − 1), l1 = src − i0, l0 = 1 − l1. The _rn intrinsics forbid FMA contraction, which would change the rounding.
__device__ __forceinline__ void lerp_axis(int in, int out, int d, int& i0, int& i1, float& l0, float& l1) {
    const float scale = __fdiv_rn((float) in, (float) out);
    float src = __fsub_rn(__fmul_rn(scale, __fadd_rn((float) d, 0.5f)), 0.5f);
    if (src < 0.f) src = 0.f;
    const int a = (int) src;
    i0 = a;
    i1 = a + (a < in - 1 ? 1 : 0);
    l1 = __fsub_rn(src, (float) a);
    l0 = __fsub_rn(1.f, l1);
}
