// A CPU emulator for segsam's CUDA kernels, used by the tests (EmuGpu) on machines without a GPU.
//
// The kernel sources are compiled unchanged as C++ (g++ -DSEGSAM_EMU); this header supplies the CUDA built-ins they
// use. emu.cpp runs a launch as the real thing would: one OS thread per CUDA thread of a block, blocks one after
// another, __syncthreads as a barrier over the block, warp shuffles and mma.sync as barrier-separated exchanges
// between the 32 threads of a warp. Shared memory is `static` (one block runs at a time). Compiled with
// -ffp-contract=off, so float arithmetic rounds like the GPU's _rn intrinsics.
//
// What it checks: indexing, bounds, tiling, barriers, reductions, warp-level data exchange, fragment layouts as the
// kernels assume them, and argument marshalling (the launch receives the same void** as cuLaunchKernel). What it
// cannot check: timing, memory-model subtleties beyond barriers, and whether the hardware's mma fragment layout is the
// one documented (emu_mma implements the PTX ISA's description).
#pragma once
#include <math.h>
#include <cmath>
#include <cstdint>
#include <cstring>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
#define __shared__ static

struct uint3 { unsigned x, y, z; };
struct dim3 { unsigned x, y, z; };
extern thread_local uint3 threadIdx;
extern thread_local uint3 blockIdx;
extern thread_local dim3 blockDim;
extern thread_local dim3 gridDim;

struct __attribute__((aligned(16))) float4 { float x, y, z, w; };

void* emu_dynamic_smem();
#define SEGSAM_DYNAMIC_SMEM(T, name) T* name = reinterpret_cast<T*>(emu_dynamic_smem())

void __syncthreads();
void __syncwarp(unsigned mask = 0xffffffffu);  // a barrier over the (full) warp
uint64_t emu_shfl_xor(uint64_t bits, int laneMask);

template <class T>
inline T __shfl_xor_sync(unsigned, T v, int laneMask) {
    static_assert(sizeof(T) <= 8, "shuffle of a value wider than 8 bytes");
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    bits = emu_shfl_xor(bits, laneMask);
    T r;
    std::memcpy(&r, &bits, sizeof(T));
    return r;
}

inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dsub_rn(double a, double b) { return a - b; }
inline double __ddiv_rn(double a, double b) { return a / b; }

unsigned emu_to_tf32(float x);
void emu_mma_m16n8k8_tf32(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2]);
