// Element-wise kernels: unary maps, broadcasting binary ops, the stand-alone GEMM epilogue. One thread per element in
// a grid-stride loop. Counters are 32-bit unsigned: the Java side keeps every tensor below 2^31 elements and the grid
// below 2^24 threads, so i + stride never wraps, and 32-bit division is inline code (64-bit division is a called
// subroutine whose calling convention made ptxas spill registers).
#pragma once
#include "common.cuh"

#define SEG_GRID_STRIDE_LOOP(i, n) \
    for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < (unsigned) (n); i += gridDim.x * blockDim.x)

// torch.relu: NaN stays NaN, −0 becomes +0 (as the Java reference).
extern "C" __global__ void __launch_bounds__(256) relu_f32(float* __restrict__ out, const float* __restrict__ x, int n) {
    SEG_GRID_STRIDE_LOOP(i, n) {
        const float v = x[i];
        out[i] = v > 0.f ? v : (seg_isnan(v) ? v : 0.f);
    }
}

// torch.nn.functional.gelu, exact erf form.
extern "C" __global__ void __launch_bounds__(256) gelu_f32(float* __restrict__ out, const float* __restrict__ x, int n) {
    SEG_GRID_STRIDE_LOOP(i, n) out[i] = gelu_erf(x[i]);
}

// torch.sigmoid.
extern "C" __global__ void __launch_bounds__(256) sigmoid_f32(float* __restrict__ out, const float* __restrict__ x, int n) {
    SEG_GRID_STRIDE_LOOP(i, n) out[i] = sigmoid_f(x[i]);
}

// x · s (one IEEE multiplication: bit-exact with the Java reference).
extern "C" __global__ void __launch_bounds__(256) scale_f32(float* __restrict__ out, const float* __restrict__ x, float s, int n) {
    SEG_GRID_STRIDE_LOOP(i, n) out[i] = __fmul_rn(x[i], s);
}

#define SEG_OP_ADD 0
#define SEG_OP_SUB 1
#define SEG_OP_MUL 2
#define SEG_OP_DIV 3

// out = a (op) b under NumPy broadcasting. The Java side collapses the broadcast shape to at most 4 dimensions
// (adjacent dimensions merge when both inputs are contiguous across them) and pads at the front with size-1
// dimensions; sa*/sb* are the element strides of a and b per output dimension, 0 where an input is broadcast.
// `rank` is the number of real (trailing) dimensions, so size-1 padding costs no divisions.
extern "C" __global__ void __launch_bounds__(256) binary_f32(float* __restrict__ out, const float* __restrict__ a,
        const float* __restrict__ b, int n, int op, int rank, int d0, int d1, int d2, int d3,
        int sa0, int sa1, int sa2, int sa3, int sb0, int sb1, int sb2, int sb3) {
    const int dims[4] = {d0, d1, d2, d3}, sa[4] = {sa0, sa1, sa2, sa3}, sb[4] = {sb0, sb1, sb2, sb3};
    SEG_GRID_STRIDE_LOOP(i, n) {
        unsigned rem = i;
        long long oa = 0, ob = 0;
#pragma unroll
        for (int d = 3; d >= 0; --d) {
            if (d >= 4 - rank) {
                const unsigned idx = rem % (unsigned) dims[d];
                rem /= (unsigned) dims[d];
                oa += (long long) idx * sa[d];
                ob += (long long) idx * sb[d];
            }
        }
        const float x = a[oa], y = b[ob];
        float r;
        switch (op) {
            case SEG_OP_ADD: r = __fadd_rn(x, y); break;
            case SEG_OP_SUB: r = __fsub_rn(x, y); break;
            case SEG_OP_MUL: r = __fmul_rn(x, y); break;
            default: r = __fdiv_rn(x, y); break;
        }
        out[i] = r;
    }
}

// GEMM epilogue as a separate pass (used after cuBLAS, which has no fused bias/GELU here):
// C[z][m][n] = act(C[z][m][n] + bias), over `batch` matrices of M×N with row stride ldc and batch stride strideC.
extern "C" __global__ void __launch_bounds__(256) bias_act_f32(float* __restrict__ C, int batch, int M, int N, int ldc,
        int strideC, const float* __restrict__ bias, int biasMode, int act) {
    const unsigned total = (unsigned) batch * M * N;
    SEG_GRID_STRIDE_LOOP(i, total) {
        const int n = (int) (i % (unsigned) N);
        const unsigned r = i / (unsigned) N;
        const int m = (int) (r % (unsigned) M);
        const unsigned z = r / (unsigned) M;
        float* p = C + (long long) z * strideC + (long long) m * ldc + n;
        *p = epilogue(*p, m, n, bias, biasMode, act);
    }
}
