// GEMM: C[z] = act(alpha · op(A[z]) · op(B[z]) + bias) for z < gridDim.z (the batch).
//
// Operand layouts (row-major, leading dimensions lda/ldb/ldc, batch strides sA/sB/sC in elements, 0 = shared):
//   A is M × K:  element (m, k) at A[m·lda + k]            ("n")   or, transposed, A[k·lda + m]  ("t")
//   B is K × N:  element (k, n) at B[k·ldb + n]            ("n")   or, transposed, B[n·ldb + k]  ("t")
//   C is M × N:  C[m·ldc + n]
// Kernel names spell the A and B layouts: *_nn = matmul, *_nt = linear (x·Wᵀ) and q·kᵀ, *_tn = Wᵀ·x
// (conv_transpose2d). Bias: SEG_BIAS_COL adds bias[n], SEG_BIAS_ROW bias[m]; act: none / ReLU / GELU (erf).
// Every shape works: tiles are loaded with bounds checks (zeros outside), stores are masked.
//
// Engines (GemmEngine on the Java side; docs/kernels-cuda.md has each one's lab record and verdict):
//   gemm_per_output_f32  one thread per output, fp32 FMA chain over k: the simplest kernel, the lab's baseline.
//   sgemm{128,64}_*      fp32 tiles: 256 threads, BM×BN×8 shared-memory tiles, double-buffered with a register prefetch
//                        of the next tile, each thread an 8×8 (or 4×4) register block read as float4 from shared
//                        memory. Exact fp32 (FMA, K summed in order per output).
//   tf32gemm_*           tensor cores, mma.sync.m16n8k8 TF32 (inputs rounded to 10-bit mantissas with cvt.rna, fp32
//                        accumulation), 128×128×16 tiles, 8 warps of 64×32, double-buffered like the fp32 tiles.
#pragma once
#include "common.cuh"

// ------------------------------------------------------------------------------------------------ one thread per output

extern "C" __global__ void __launch_bounds__(256) gemm_per_output_f32(int M, int N, int K, const float* __restrict__ A, int lda,
        int sA, int ta, const float* __restrict__ B, int ldb, int sB, int tb, float* __restrict__ C, int ldc, int sC,
        float alpha, const float* __restrict__ bias, int biasMode, int act) {
    const int n = blockIdx.x * 16 + (threadIdx.x & 15);
    const int m = blockIdx.y * 16 + (threadIdx.x >> 4);
    if (m >= M || n >= N) return;
    const long long z = blockIdx.z;
    A += z * sA;
    B += z * sB;
    C += z * sC;
    float acc = 0.f;
#pragma unroll 1
    for (int k = 0; k < K; ++k) {
        const float a = ta ? A[(long long) k * lda + m] : A[(long long) m * lda + k];
        const float b = tb ? B[(long long) n * ldb + k] : B[(long long) k * ldb + n];
        acc = fmaf(a, b, acc);
    }
    C[(long long) m * ldc + n] = epilogue(alpha * acc, m, n, bias, biasMode, act);
}

// ------------------------------------------------------------------------------------------------ tile loads (fp32 and tf32 tiles)

// Which element of a BM×BK tile of A / BK×BN tile of B the 256 threads load: element e (= tid + l·256 for a thread's
// l-th load) is chosen so that consecutive threads read consecutive addresses of the operand's contiguous dimension
// (k for an "n" A and a "t" B, else m or n). `load` fetches a thread's share of the tile at k0 into registers, zeros
// outside the matrices; the kernels store them to shared memory in their own layout.
template <int BM, int BN, int BK, bool TA, bool TB>
struct TileMap {
    static constexpr int NT = 256, LA = BM * BK / NT, LB = BN * BK / NT;
    __device__ static int a_m(int e) { return TA ? e % BM : e / BK; }
    __device__ static int a_k(int e) { return TA ? e / BM : e % BK; }
    __device__ static int b_n(int e) { return TB ? e / BK : e % BN; }
    __device__ static int b_k(int e) { return TB ? e % BK : e / BN; }

    __device__ static void load(float (&ra)[LA], float (&rb)[LB], const float* __restrict__ A, int lda,
            const float* __restrict__ B, int ldb, int M, int N, int K, int m0, int n0, int k0) {
#pragma unroll
        for (int l = 0; l < LA; ++l) {
            const int e = threadIdx.x + l * NT, gm = m0 + a_m(e), gk = k0 + a_k(e);
            ra[l] = (gm < M && gk < K) ? (TA ? A[(long long) gk * lda + gm] : A[(long long) gm * lda + gk]) : 0.f;
        }
#pragma unroll
        for (int l = 0; l < LB; ++l) {
            const int e = threadIdx.x + l * NT, gk = k0 + b_k(e), gn = n0 + b_n(e);
            rb[l] = (gk < K && gn < N) ? (TB ? B[(long long) gn * ldb + gk] : B[(long long) gk * ldb + gn]) : 0.f;
        }
    }
};

// ------------------------------------------------------------------------------------------------ fp32 tiles

// Thread (tx, ty) = (tid % 16, tid / 16) owns rows ty·4 + {0..3} (+ 64 when BM = 128) and columns tx·4 + {0..3}
// (+ 64 when BN = 128) of the block tile, so its operands are 16-byte runs in shared memory. Shared tiles are stored
// k-major (As[k][m], Bs[k][n]), rows padded by 4 floats: the transposing stores of "n" A / "t" B then hit 32
// different banks per warp, and float4 reads stay 16-byte aligned.
template <int BM, int BN, bool TA, bool TB>
__device__ __forceinline__ void sgemm_tile(int M, int N, int K, const float* __restrict__ A, int lda, int sA,
        const float* __restrict__ B, int ldb, int sB, float* __restrict__ C, int ldc, int sC, float alpha,
        const float* __restrict__ bias, int biasMode, int act) {
    constexpr int BK = 8;
    constexpr int RM = BM / 64, RN = BN / 64;  // 4-row / 4-column groups per thread
    constexpr int TM = 4 * RM, TN = 4 * RN;
    using Map = TileMap<BM, BN, BK, TA, TB>;
    __shared__ __align__(16) float As[2][BK][BM + 4];
    __shared__ __align__(16) float Bs[2][BK][BN + 4];

    const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    const long long z = blockIdx.z;
    A += z * sA;
    B += z * sB;
    C += z * sC;

    float ra[Map::LA], rb[Map::LB];
    auto load = [&](int k0) { Map::load(ra, rb, A, lda, B, ldb, M, N, K, m0, n0, k0); };
    auto store = [&](int buf) {
#pragma unroll
        for (int l = 0; l < Map::LA; ++l) {
            const int e = tid + l * Map::NT;
            As[buf][Map::a_k(e)][Map::a_m(e)] = ra[l];
        }
#pragma unroll
        for (int l = 0; l < Map::LB; ++l) {
            const int e = tid + l * Map::NT;
            Bs[buf][Map::b_k(e)][Map::b_n(e)] = rb[l];
        }
    };

    float acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] = 0.f;

    // double-buffered main loop: tile kt is computed from buffer kt & 1 while tile kt + 1 travels global → registers
    // (loads issued before the math) → the other buffer; one barrier per tile. (Written out in both kernels: as a
    // shared helper taking lambdas, ptxas allocated registers differently and spilled 4 bytes in sgemm128_nn on sm_90.)
    const int tiles = (K + BK - 1) / BK;
    if (tiles > 0) {
        load(0);
        store(0);
    }
    __syncthreads();
    for (int kt = 0; kt < tiles; ++kt) {
        const int cur = kt & 1;
        if (kt + 1 < tiles) load((kt + 1) * BK);
#pragma unroll
        for (int k = 0; k < BK; ++k) {
            float a[TM], b[TN];
#pragma unroll
            for (int g = 0; g < RM; ++g) {
                const float4 v = *reinterpret_cast<const float4*>(&As[cur][k][g * 64 + ty * 4]);
                a[g * 4 + 0] = v.x; a[g * 4 + 1] = v.y; a[g * 4 + 2] = v.z; a[g * 4 + 3] = v.w;
            }
#pragma unroll
            for (int g = 0; g < RN; ++g) {
                const float4 v = *reinterpret_cast<const float4*>(&Bs[cur][k][g * 64 + tx * 4]);
                b[g * 4 + 0] = v.x; b[g * 4 + 1] = v.y; b[g * 4 + 2] = v.z; b[g * 4 + 3] = v.w;
            }
#pragma unroll
            for (int i = 0; i < TM; ++i)
#pragma unroll
                for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        if (kt + 1 < tiles) store(cur ^ 1);
        __syncthreads();
    }

    const bool plain = biasMode == SEG_BIAS_NONE && act == SEG_ACT_NONE;  // uniform; keeps the common store lean
#pragma unroll
    for (int i = 0; i < TM; ++i) {
        const int gm = m0 + (i / 4) * 64 + ty * 4 + (i % 4);
        if (gm >= M) continue;
#pragma unroll
        for (int j = 0; j < TN; ++j) {
            const int gn = n0 + (j / 4) * 64 + tx * 4 + (j % 4);
            if (gn < N) {
                const float v = alpha * acc[i][j];
                C[(long long) gm * ldc + gn] = plain ? v : epilogue(v, gm, gn, bias, biasMode, act);
            }
        }
    }
}

extern "C" __global__ void __launch_bounds__(256, 2) sgemm128_nn(int M, int N, int K, const float* __restrict__ A, int lda, int sA, const float* __restrict__ B, int ldb, int sB,
        float* __restrict__ C, int ldc, int sC, float alpha, const float* __restrict__ bias, int biasMode, int act) {
    sgemm_tile<128, 128, false, false>(M, N, K, A, lda, sA, B, ldb, sB, C, ldc, sC, alpha, bias, biasMode, act);
}
extern "C" __global__ void __launch_bounds__(256, 2) sgemm128_nt(int M, int N, int K, const float* __restrict__ A, int lda, int sA, const float* __restrict__ B, int ldb, int sB,
        float* __restrict__ C, int ldc, int sC, float alpha, const float* __restrict__ bias, int biasMode, int act) {
    sgemm_tile<128, 128, false, true>(M, N, K, A, lda, sA, B, ldb, sB, C, ldc, sC, alpha, bias, biasMode, act);
}
extern "C" __global__ void __launch_bounds__(256, 2) sgemm128_tn(int M, int N, int K, const float* __restrict__ A, int lda, int sA, const float* __restrict__ B, int ldb, int sB,
        float* __restrict__ C, int ldc, int sC, float alpha, const float* __restrict__ bias, int biasMode, int act) {
    sgemm_tile<128, 128, true, false>(M, N, K, A, lda, sA, B, ldb, sB, C, ldc, sC, alpha, bias, biasMode, act);
}
extern "C" __global__ void __launch_bounds__(256) sgemm64_nn(int M, int N, int K, const float* __restrict__ A, int lda, int sA, const float* __restrict__ B, int ldb, int sB,
        float* __restrict__ C, int ldc, int sC, float alpha, const float* __restrict__ bias, int biasMode, int act) {
    sgemm_tile<64, 64, false, false>(M, N, K, A, lda, sA, B, ldb, sB, C, ldc, sC, alpha, bias, biasMode, act);
}
extern "C" __global__ void __launch_bounds__(256) sgemm64_nt(int M, int N, int K, const float* __restrict__ A, int lda, int sA, const float* __restrict__ B, int ldb, int sB,
        float* __restrict__ C, int ldc, int sC, float alpha, const float* __restrict__ bias, int biasMode, int act) {
    sgemm_tile<64, 64, false, true>(M, N, K, A, lda, sA, B, ldb, sB, C, ldc, sC, alpha, bias, biasMode, act);
}
extern "C" __global__ void __launch_bounds__(256) sgemm64_tn(int M, int N, int K, const float* __restrict__ A, int lda, int sA, const float* __restrict__ B, int ldb, int sB,
        float* __restrict__ C, int ldc, int sC, float alpha, const float* __restrict__ bias, int biasMode, int act) {
    sgemm_tile<64, 64, true, false>(M, N, K, A, lda, sA, B, ldb, sB, C, ldc, sC, alpha, bias, biasMode, act);
}

// ------------------------------------------------------------------------------------------------ TF32 tensor cores

// fp32 → tf32 (round to nearest, ties away from zero; the low 13 mantissa bits become zero).
__device__ __forceinline__ unsigned to_tf32(float x) {
#ifdef SEGSAM_EMU
    return emu_to_tf32(x);
#else
    unsigned r;
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
    return r;
#endif
}

// d += a·b for one 16×8×8 tile held by the warp (PTX ISA, "Matrix Fragments for mma.m16n8k8", .tf32):
// g = lane / 4, t = lane % 4;  a0 = A[g][t], a1 = A[g+8][t], a2 = A[g][t+4], a3 = A[g+8][t+4];
// b0 = B[t][g], b1 = B[t+4][g];  d0 = D[g][2t], d1 = D[g][2t+1], d2 = D[g+8][2t], d3 = D[g+8][2t+1].
__device__ __forceinline__ void mma_tf32(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {
#ifdef SEGSAM_EMU
    emu_mma_m16n8k8_tf32(d, a, b);
#else
    asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}

// Block tile 128×128, K step 16, 8 warps as 2 (M) × 4 (N), each warp 64×32 = 4×4 mma tiles of 16×8.
// Shared memory keeps each operand in its global layout, holding tf32 bit patterns (converted once, at the store):
//   A "n": As[m][k], row 16 + 4    A "t": As[k][m], row 128 + 8
//   B "t": Bs[n][k], row 16 + 4    B "n": Bs[k][n], row 128 + 8
// With these paddings the fragment reads of a warp (8 rows g × 4 columns t) fall into 32 distinct banks:
// (20·g + t) mod 32 and (136·t + g) mod 32 = 8·t + g are both permutations of 0..31.
template <bool TA, bool TB>
__device__ __forceinline__ void tf32gemm_tile(int M, int N, int K, const float* __restrict__ A, int lda, int sA,
        const float* __restrict__ B, int ldb, int sB, float* __restrict__ C, int ldc, int sC, float alpha,
        const float* __restrict__ bias, int biasMode, int act) {
    constexpr int BM = 128, BN = 128, BK = 16;
    constexpr int PK = BK + 4, PMN = BM + 8;
    constexpr int A_ELEMS = TA ? BK * PMN : BM * PK;
    constexpr int B_ELEMS = TB ? BN * PK : BK * PMN;
    using Map = TileMap<BM, BN, BK, TA, TB>;
    __shared__ __align__(16) unsigned As[2][A_ELEMS];
    __shared__ __align__(16) unsigned Bs[2][B_ELEMS];

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int g = lane >> 2, t = lane & 3;
    const int wm = (warp >> 2) * 64, wn = (warp & 3) * 32;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    const long long z = blockIdx.z;
    A += z * sA;
    B += z * sB;
    C += z * sC;

#define SEG_SA(m, k) (TA ? (k) * PMN + (m) : (m) * PK + (k))
#define SEG_SB(k, n) (TB ? (n) * PK + (k) : (k) * PMN + (n))

    float ra[Map::LA], rb[Map::LB];
    auto load = [&](int k0) { Map::load(ra, rb, A, lda, B, ldb, M, N, K, m0, n0, k0); };
    auto store = [&](int buf) {
#pragma unroll
        for (int l = 0; l < Map::LA; ++l) {
            const int e = tid + l * Map::NT;
            As[buf][SEG_SA(Map::a_m(e), Map::a_k(e))] = to_tf32(ra[l]);
        }
#pragma unroll
        for (int l = 0; l < Map::LB; ++l) {
            const int e = tid + l * Map::NT;
            Bs[buf][SEG_SB(Map::b_k(e), Map::b_n(e))] = to_tf32(rb[l]);
        }
    };

    float acc[4][4][4];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j)
#pragma unroll
            for (int q = 0; q < 4; ++q) acc[i][j][q] = 0.f;

    // double-buffered main loop: tile kt is computed from buffer kt & 1 while tile kt + 1 travels global → registers
    // (loads issued before the math) → the other buffer; one barrier per tile. (Written out in both kernels: as a
    // shared helper taking lambdas, ptxas allocated registers differently and spilled 4 bytes in sgemm128_nn on sm_90.)
    const int tiles = (K + BK - 1) / BK;
    if (tiles > 0) {
        load(0);
        store(0);
    }
    __syncthreads();
    for (int kt = 0; kt < tiles; ++kt) {
        const int cur = kt & 1;
        if (kt + 1 < tiles) load((kt + 1) * BK);
        const unsigned* as = As[cur];
        const unsigned* bs = Bs[cur];
#pragma unroll
        for (int kk = 0; kk < BK; kk += 8) {
            unsigned af[4][4], bf[4][2];
#pragma unroll
            for (int mi = 0; mi < 4; ++mi) {
                const int r = wm + mi * 16 + g;
                af[mi][0] = as[SEG_SA(r, kk + t)];
                af[mi][1] = as[SEG_SA(r + 8, kk + t)];
                af[mi][2] = as[SEG_SA(r, kk + t + 4)];
                af[mi][3] = as[SEG_SA(r + 8, kk + t + 4)];
            }
#pragma unroll
            for (int ni = 0; ni < 4; ++ni) {
                const int c = wn + ni * 8 + g;
                bf[ni][0] = bs[SEG_SB(kk + t, c)];
                bf[ni][1] = bs[SEG_SB(kk + t + 4, c)];
            }
#pragma unroll
            for (int mi = 0; mi < 4; ++mi)
#pragma unroll
                for (int ni = 0; ni < 4; ++ni) mma_tf32(acc[mi][ni], af[mi], bf[ni]);
        }
        if (kt + 1 < tiles) store(cur ^ 1);
        __syncthreads();
    }
#undef SEG_SA
#undef SEG_SB

    const bool plain = biasMode == SEG_BIAS_NONE && act == SEG_ACT_NONE;
#pragma unroll
    for (int mi = 0; mi < 4; ++mi)
#pragma unroll
        for (int ni = 0; ni < 4; ++ni)
#pragma unroll
            for (int q = 0; q < 4; ++q) {
                const int gm = m0 + wm + mi * 16 + g + (q >> 1) * 8;
                const int gn = n0 + wn + ni * 8 + t * 2 + (q & 1);
                if (gm < M && gn < N) {
                    const float v = alpha * acc[mi][ni][q];
                    C[(long long) gm * ldc + gn] = plain ? v : epilogue(v, gm, gn, bias, biasMode, act);
                }
            }
}

// ptxas wants 164 registers for the nn variant on sm_80 and spills at the 128 that two blocks per SM allow
// (28 bytes); sm_90 fits in 125. So sm_80 gets one block per SM for nn, everything else two.
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
#define SEG_TF32_NN_MIN_BLOCKS 1
#else
#define SEG_TF32_NN_MIN_BLOCKS 2
#endif
extern "C" __global__ void __launch_bounds__(256, SEG_TF32_NN_MIN_BLOCKS) tf32gemm_nn(int M, int N, int K, const float* __restrict__ A, int lda, int sA, const float* __restrict__ B, int ldb, int sB,
        float* __restrict__ C, int ldc, int sC, float alpha, const float* __restrict__ bias, int biasMode, int act) {
    tf32gemm_tile<false, false>(M, N, K, A, lda, sA, B, ldb, sB, C, ldc, sC, alpha, bias, biasMode, act);
}
extern "C" __global__ void __launch_bounds__(256, 2) tf32gemm_nt(int M, int N, int K, const float* __restrict__ A, int lda, int sA, const float* __restrict__ B, int ldb, int sB,
        float* __restrict__ C, int ldc, int sC, float alpha, const float* __restrict__ bias, int biasMode, int act) {
    tf32gemm_tile<false, true>(M, N, K, A, lda, sA, B, ldb, sB, C, ldc, sC, alpha, bias, biasMode, act);
}
extern "C" __global__ void __launch_bounds__(256, 2) tf32gemm_tn(int M, int N, int K, const float* __restrict__ A, int lda, int sA, const float* __restrict__ B, int ldb, int sB,
        float* __restrict__ C, int ldc, int sC, float alpha, const float* __restrict__ bias, int biasMode, int act) {
    tf32gemm_tile<true, false>(M, N, K, A, lda, sA, B, ldb, sB, C, ldc, sC, alpha, bias, biasMode, act);
}
