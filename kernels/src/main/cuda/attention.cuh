// Fused ("flash") attention: O = softmax((q·scale)·kᵀ + bias)·v with the online softmax of Dao et al., FlashAttention
// (2022) / Milakov & Gimelshein (2018): the [Nq, Nk] score matrix never exists; each block owns BQ = 32 query rows and
// walks the keys in tiles of BK = 32, keeping per row the running maximum m, the running sum l of exp(s − m) and the
// unnormalised output O, rescaled by exp(m_old − m_new) whenever the maximum grows; O / l is written at the end.
//
// SAM's decomposed relative-position bias (docs/design/sam.md §5.5, add_decomposed_rel_pos) is built inside the kernel: for the
// block's rows, from the UNSCALED q, bias_h[r][ky] = Σ_c q[r][c]·Rh[y][ky][c] and bias_w[r][kx] = Σ_c q[r][c]·Rw[x][kx][c]
// (float sums in c order, no FMA: bit-equal to the reference) go to shared memory once (BQ·(kh + kw) floats, 16 KiB
// for a 64×64 global block) and are added per score as (s + bias_h[ky]) + bias_w[kx], PyTorch's order, key j = ky·kw + kx.
// Padded window tokens need no special case: they are ordinary (zero-input) tokens, exactly as in the reference.
//
// Operands are addressed through strides, so one kernel serves both the plain op (q [B, N, d], one head per batch
// item) and head-interleaved projections (q [B, N, heads·d], head h at channel offset h·d, no permute copies):
//   batch item z = blockIdx.y, b = z / heads, h = z % heads;  row i of q lives at q + b·sbq + h·shq + i·ldq
// (the same for k, v and out). A batch stride of 0 shares k / v between batch items (many prompts, one embedding).
// Grid (⌈Nq/32⌉, B·heads). Head dim D (= dv) is a template parameter: 16 (mask decoder cross-attention), 32 (its
// self-attention), 64 (SAM-B/L image encoder), 80 (SAM-H); other head dims take materialised score tiles
// (AttentionOps on the Java side: gemm.cuh products and attn_softmax_f32 in norm.cuh).
//
// Two variants, chosen by the GEMM precision (GemmEngine):
//   flash_attn_f32_d*:  128 threads as 16 row pairs × 8 lanes; exact fp32 FMAs.
//   flash_attn_tf32_d*: 64 threads = 2 warps × 16 query rows; both products on tensor cores (mma.m16n8k8 TF32, the
//                       fragment conventions of gemm.cuh); softmax, rescaling and the bias in fp32.
#pragma once
#include "common.cuh"
#include "elementwise.cuh"
#include "gemm.cuh"

#define SEG_FA_BQ 32
#define SEG_FA_BK 32

// The strided operands of one block (see the file comment).
struct FlashOperands {
    const float* q;
    const float* k;
    const float* v;
    float* o;
    int ldq, ldk, ldv, ldo;
};

__device__ __forceinline__ FlashOperands flash_operands(float* out, const float* q, const float* k, const float* v, int heads,
        int ldq, int sbq, int shq, int ldk, int sbk, int shk, int ldv, int sbv, int shv, int ldo, int sbo, int sho) {
    const int z = blockIdx.y, b = z / heads, h = z % heads;
    FlashOperands p;
    p.q = q + (long long) b * sbq + (long long) h * shq;
    p.k = k + (long long) b * sbk + (long long) h * shk;
    p.v = v + (long long) b * sbv + (long long) h * shv;
    p.o = out + (long long) b * sbo + (long long) h * sho;
    p.ldq = ldq;
    p.ldk = ldk;
    p.ldv = ldv;
    p.ldo = ldo;
    return p;
}

// Query rows q0 … q0 + BQ − 1 (zeros past Nq), unscaled, into Qs [BQ][qst].
template <int D>
__device__ __forceinline__ void flash_load_q(float* Qs, int qst, const FlashOperands& p, int q0, int Nq) {
    for (int e = threadIdx.x; e < SEG_FA_BQ * D; e += blockDim.x) {
        const int r = e / D, c = e % D;
        Qs[r * qst + c] = q0 + r < Nq ? p.q[(long long) (q0 + r) * p.ldq + c] : 0.f;
    }
}

// The decomposed rel-pos bias of the block's rows (see the file comment), bias [BQ][kh + kw], from the unscaled Qs.
template <int D>
__device__ __forceinline__ void flash_relpos_bias(float* bias, const float* Qs, int qst, int q0, int Nq,
        const float* __restrict__ relH, const float* __restrict__ relW, int qw, int kh, int kw) {
    const int nb = kh + kw;
    for (int e = threadIdx.x; e < SEG_FA_BQ * nb; e += blockDim.x) {
        const int r = e / nb, j = e % nb, qi = q0 + r;
        float acc = 0.f;
        if (qi < Nq) {
            const int y = qi / qw, x = qi % qw;
            const float* t = j < kh ? relH + ((long long) y * kh + j) * D : relW + ((long long) x * kw + (j - kh)) * D;
            const float* qr = Qs + r * qst;
            for (int c = 0; c < D; ++c) acc = __fadd_rn(acc, __fmul_rn(qr[c], t[c]));
        }
        bias[e] = acc;
    }
}

// Score of key `col` for block row r after the bias, or −∞ past the last key (so that exp gives exactly 0).
__device__ __forceinline__ float flash_score(float s, int col, int Nk, const float* bias, int r, int kh, int kw, bool rel) {
    if (col >= Nk) return -INFINITY;
    if (!rel) return s;
    const float* br = bias + r * (kh + kw);
    return __fadd_rn(__fadd_rn(s, br[col / kw]), br[kh + col % kw]);
}

// ------------------------------------------------------------------------------------------------ fp32

// Thread (ty, tx) = (tid / 8, tid % 8) owns query rows 2ty and 2ty + 1 of the block: their scores for the tile's keys
// tx + 8j (j < 4) and their outputs in columns tx + 8i (i < D/8). The 8 lanes of a row pair are adjacent in one warp,
// so row maxima and sums are 3 xor-shuffles. Shared memory (dynamic, floats):
//   Qs [32][D+1]  q·scale            (row pad 1: the 4 row pairs a warp reads hit 4 banks)
//   KP [32][D+1]  key tile, then P = exp(s − m) [32][33] (the keys are dead once the scores are in registers)
//   Vs [32][D]    value tile
//   bias [32][kh+kw] when rel-pos is on.
// D = 80 with a 64×64 global grid: (2592 + 2592 + 2560 + 4096)·4 B = 47,360 B, under the 48 KiB a launch gets without
// an opt-in attribute.
template <int D>
__device__ __forceinline__ void flash_attn_f32_body(const FlashOperands& p, int Nq, int Nk, float scale,
        const float* __restrict__ relH, const float* __restrict__ relW, int qw, int kh, int kw) {
    constexpr int BQ = SEG_FA_BQ, BK = SEG_FA_BK, QS = D + 1, KS = D + 1, PS = BK + 1, NC = D / 8;
    constexpr int KP = BK * KS > BQ * PS ? BK * KS : BQ * PS;
    SEGSAM_DYNAMIC_SMEM(float, sm);
    float* Qs = sm;
    float* KP_ = Qs + BQ * QS;
    float* Vs = KP_ + KP;
    float* bias = Vs + BK * D;
    const int tid = threadIdx.x, ty = tid >> 3, tx = tid & 7;
    const int q0 = blockIdx.x * BQ;
    const bool rel = relH != nullptr;

    flash_load_q<D>(Qs, QS, p, q0, Nq);
    __syncthreads();
    if (rel) {
        flash_relpos_bias<D>(bias, Qs, QS, q0, Nq, relH, relW, qw, kh, kw);
        __syncthreads(); // the bias has read the unscaled q
    }
    for (int e = tid; e < BQ * D; e += blockDim.x) Qs[(e / D) * QS + e % D] = __fmul_rn(Qs[(e / D) * QS + e % D], scale);

    float o[2][NC], m[2], l[2];
#pragma unroll
    for (int i = 0; i < 2; ++i) {
        m[i] = -INFINITY;
        l[i] = 0.f;
#pragma unroll
        for (int c = 0; c < NC; ++c) o[i][c] = 0.f;
    }
    for (int k0 = 0; k0 < Nk; k0 += BK) {
        for (int e = tid; e < BK * D; e += blockDim.x) {
            const int r = e / D, c = e % D;
            const bool in = k0 + r < Nk;
            KP_[r * KS + c] = in ? p.k[(long long) (k0 + r) * p.ldk + c] : 0.f;
            Vs[r * D + c] = in ? p.v[(long long) (k0 + r) * p.ldv + c] : 0.f;
        }
        __syncthreads(); // the tile (and, first time round, the scaled q) is complete

        // S = (q·scale)·kᵀ for 2 rows × 4 keys, FMA chains over c
        float s[2][4];
#pragma unroll
        for (int i = 0; i < 2; ++i)
#pragma unroll
            for (int j = 0; j < 4; ++j) s[i][j] = 0.f;
#pragma unroll 8
        for (int c = 0; c < D; ++c) {
            const float a0 = Qs[(2 * ty) * QS + c], a1 = Qs[(2 * ty + 1) * QS + c];
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                const float kv = KP_[(tx + 8 * j) * KS + c];
                s[0][j] = fmaf(a0, kv, s[0][j]);
                s[1][j] = fmaf(a1, kv, s[1][j]);
            }
        }
        // bias, mask, online softmax (row statistics over the 8 lanes of the row pair)
        float alpha[2];
#pragma unroll
        for (int i = 0; i < 2; ++i) {
            float mt = -INFINITY;
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                s[i][j] = flash_score(s[i][j], k0 + tx + 8 * j, Nk, bias, 2 * ty + i, kh, kw, rel);
                mt = fmaxf(mt, s[i][j]);
            }
#pragma unroll
            for (int x = 1; x < 8; x <<= 1) mt = fmaxf(mt, __shfl_xor_sync(SEGSAM_FULL_MASK, mt, x));
            const float mn = fmaxf(m[i], mt); // finite: key k0 is valid
            alpha[i] = expf(m[i] - mn);       // exp(−∞) = 0 on the first tile
            m[i] = mn;
            float ls = 0.f;
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                s[i][j] = expf(s[i][j] - mn);
                ls += s[i][j];
            }
#pragma unroll
            for (int x = 1; x < 8; x <<= 1) ls += __shfl_xor_sync(SEGSAM_FULL_MASK, ls, x);
            l[i] = l[i] * alpha[i] + ls;
#pragma unroll
            for (int c = 0; c < NC; ++c) o[i][c] *= alpha[i];
        }
        __syncthreads(); // every thread is done with the key tile: P may overwrite it
#pragma unroll
        for (int i = 0; i < 2; ++i)
#pragma unroll
            for (int j = 0; j < 4; ++j) KP_[(2 * ty + i) * PS + tx + 8 * j] = s[i][j];
        __syncthreads();
        // O += P·V
#pragma unroll 4
        for (int j = 0; j < BK; ++j) {
            const float p0 = KP_[(2 * ty) * PS + j], p1 = KP_[(2 * ty + 1) * PS + j];
#pragma unroll
            for (int c = 0; c < NC; ++c) {
                const float vv = Vs[j * D + tx + 8 * c];
                o[0][c] = fmaf(p0, vv, o[0][c]);
                o[1][c] = fmaf(p1, vv, o[1][c]);
            }
        }
        __syncthreads(); // P and V are read before the next tile overwrites them
    }
#pragma unroll
    for (int i = 0; i < 2; ++i) {
        const int r = q0 + 2 * ty + i;
        if (r < Nq) {
            const float inv = 1.f / l[i];
#pragma unroll
            for (int c = 0; c < NC; ++c) p.o[(long long) r * p.ldo + tx + 8 * c] = o[i][c] * inv;
        }
    }
}

// ------------------------------------------------------------------------------------------------ TF32 tensor cores

// Warp w owns block rows 16w … 16w + 15; lane (g, t) = (lane / 4, lane % 4) holds, in mma's accumulator layout, rows
// g and g + 8 of the warp's slab: scores S[·][8n + 2t + {0,1}] for the 4 key groups n of a tile, outputs
// O[·][8n + 2t + {0,1}] for the D/8 column groups. q·scale is converted to tf32 A fragments once, into registers.
// Per tile: S = Q·Kᵀ (D/8 k-steps × 4 mma), online softmax in fp32 (row statistics over the 4 lanes t of a row),
// P rounded to tf32 and passed through the warp's shared slab (accumulator layout → A layout), O += P·V
// (4 k-steps × D/8 mma). Shared memory (dynamic, 32-bit words):
//   region 0: first the q staging [32][D+4]; then Ks [32][D+4] (tf32), Vs [32][D+8] (tf32), Ps [2][16][36] (tf32)
//   bias [32][kh+kw] when rel-pos is on
// Row pads make the fragment reads conflict-free: K b-fragments (g·(D+4) + t), V b-fragments (t·(D+8) + g) and P
// a-fragments (g·36 + t) hit 32 distinct banks for D ∈ {16, 32, 64, 80}. D = 80, 64×64 grid: 43,008 B.
template <int D>
__device__ __forceinline__ void flash_attn_tf32_body(const FlashOperands& p, int Nq, int Nk, float scale,
        const float* __restrict__ relH, const float* __restrict__ relW, int qw, int kh, int kw) {
    constexpr int BQ = SEG_FA_BQ, BK = SEG_FA_BK, QS = D + 4, KS = D + 4, VS = D + 8, PS = BK + 4, NT = D / 8;
    constexpr int R0 = BK * KS + BK * VS + 2 * 16 * PS;
    static_assert(R0 >= BQ * QS, "the q staging fits in region 0");
    SEGSAM_DYNAMIC_SMEM(float, sm);
    float* Qs = sm;
    unsigned* Ks = reinterpret_cast<unsigned*>(sm);
    unsigned* Vs = Ks + BK * KS;
    const int tid = threadIdx.x, lane = tid & 31, w = tid >> 5, g = lane >> 2, t = lane & 3;
    unsigned* Ps = Vs + BK * VS + w * 16 * PS;
    float* bias = sm + R0;
    const int q0 = blockIdx.x * BQ;
    const bool rel = relH != nullptr;
    const int r0 = 16 * w + g, r1 = r0 + 8; // this lane's block rows

    flash_load_q<D>(Qs, QS, p, q0, Nq);
    __syncthreads();
    if (rel) flash_relpos_bias<D>(bias, Qs, QS, q0, Nq, relH, relW, qw, kh, kw);
    unsigned qa[NT][4];
#pragma unroll
    for (int kk = 0; kk < NT; ++kk) {
        qa[kk][0] = to_tf32(__fmul_rn(Qs[r0 * QS + 8 * kk + t], scale));
        qa[kk][1] = to_tf32(__fmul_rn(Qs[r1 * QS + 8 * kk + t], scale));
        qa[kk][2] = to_tf32(__fmul_rn(Qs[r0 * QS + 8 * kk + t + 4], scale));
        qa[kk][3] = to_tf32(__fmul_rn(Qs[r1 * QS + 8 * kk + t + 4], scale));
    }
    __syncthreads(); // region 0 becomes the key / value tiles

    float o[NT][4], m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};
#pragma unroll
    for (int n = 0; n < NT; ++n)
#pragma unroll
        for (int j = 0; j < 4; ++j) o[n][j] = 0.f;
    for (int k0 = 0; k0 < Nk; k0 += BK) {
        for (int e = tid; e < BK * D; e += blockDim.x) {
            const int r = e / D, c = e % D;
            const bool in = k0 + r < Nk;
            Ks[r * KS + c] = to_tf32(in ? p.k[(long long) (k0 + r) * p.ldk + c] : 0.f);
            Vs[r * VS + c] = to_tf32(in ? p.v[(long long) (k0 + r) * p.ldv + c] : 0.f);
        }
        __syncthreads();
        float s[4][4];
#pragma unroll
        for (int n = 0; n < 4; ++n) {
#pragma unroll
            for (int j = 0; j < 4; ++j) s[n][j] = 0.f;
#pragma unroll
            for (int kk = 0; kk < NT; ++kk) {
                const unsigned b[2] = {Ks[(8 * n + g) * KS + 8 * kk + t], Ks[(8 * n + g) * KS + 8 * kk + t + 4]};
                mma_tf32(s[n], qa[kk], b);
            }
        }
        // s[n][0..1]: row r0, keys 8n + 2t + {0,1}; s[n][2..3]: row r1
        float alpha[2];
#pragma unroll
        for (int i = 0; i < 2; ++i) {
            float mt = -INFINITY;
#pragma unroll
            for (int n = 0; n < 4; ++n)
#pragma unroll
                for (int j = 0; j < 2; ++j) {
                    float& x = s[n][2 * i + j];
                    x = flash_score(x, k0 + 8 * n + 2 * t + j, Nk, bias, i == 0 ? r0 : r1, kh, kw, rel);
                    mt = fmaxf(mt, x);
                }
            mt = fmaxf(mt, __shfl_xor_sync(SEGSAM_FULL_MASK, mt, 1));
            mt = fmaxf(mt, __shfl_xor_sync(SEGSAM_FULL_MASK, mt, 2));
            const float mn = fmaxf(m[i], mt);
            alpha[i] = expf(m[i] - mn);
            m[i] = mn;
            float ls = 0.f;
#pragma unroll
            for (int n = 0; n < 4; ++n)
#pragma unroll
                for (int j = 0; j < 2; ++j) {
                    float& x = s[n][2 * i + j];
                    x = expf(x - mn);
                    ls += x;
                }
            ls += __shfl_xor_sync(SEGSAM_FULL_MASK, ls, 1);
            ls += __shfl_xor_sync(SEGSAM_FULL_MASK, ls, 2);
            l[i] = l[i] * alpha[i] + ls;
        }
#pragma unroll
        for (int n = 0; n < NT; ++n) {
            o[n][0] *= alpha[0];
            o[n][1] *= alpha[0];
            o[n][2] *= alpha[1];
            o[n][3] *= alpha[1];
        }
        // P: accumulator layout → the warp's slab → A fragments
#pragma unroll
        for (int n = 0; n < 4; ++n)
#pragma unroll
            for (int j = 0; j < 2; ++j) {
                Ps[g * PS + 8 * n + 2 * t + j] = to_tf32(s[n][j]);
                Ps[(g + 8) * PS + 8 * n + 2 * t + j] = to_tf32(s[n][2 + j]);
            }
        __syncwarp();
#pragma unroll
        for (int kk = 0; kk < BK / 8; ++kk) {
            const unsigned a[4] = {Ps[g * PS + 8 * kk + t], Ps[(g + 8) * PS + 8 * kk + t], Ps[g * PS + 8 * kk + t + 4],
                                   Ps[(g + 8) * PS + 8 * kk + t + 4]};
#pragma unroll
            for (int n = 0; n < NT; ++n) {
                const unsigned b[2] = {Vs[(8 * kk + t) * VS + 8 * n + g], Vs[(8 * kk + t + 4) * VS + 8 * n + g]};
                mma_tf32(o[n], a, b);
            }
        }
        __syncthreads(); // K, V and P are read before the next tile overwrites them
    }
    const float inv0 = 1.f / l[0], inv1 = 1.f / l[1];
#pragma unroll
    for (int n = 0; n < NT; ++n)
#pragma unroll
        for (int j = 0; j < 2; ++j) {
            const int c = 8 * n + 2 * t + j;
            if (q0 + r0 < Nq) p.o[(long long) (q0 + r0) * p.ldo + c] = o[n][j] * inv0;
            if (q0 + r1 < Nq) p.o[(long long) (q0 + r1) * p.ldo + c] = o[n][2 + j] * inv1;
        }
}

// ------------------------------------------------------------------------------------------------ entry points
// One per head dim and version; parameters (all versions): out, q, k, v, Nq, Nk, heads, then (row stride, batch
// stride, head stride) of q, k, v and out, scale, relH [qh][kh][D] and relW [qw][kw][D] (null: no rel-pos), qw, kh, kw.

#define SEG_FA_OPERANDS flash_operands(out, q, k, v, heads, ldq, sbq, shq, ldk, sbk, shk, ldv, sbv, shv, ldo, sbo, sho)

extern "C" __global__ void __launch_bounds__(128) flash_attn_f32_d16(float* out, const float* q, const float* k, const float* v,
        int Nq, int Nk, int heads, int ldq, int sbq, int shq, int ldk, int sbk, int shk, int ldv, int sbv, int shv, int ldo, int sbo,
        int sho, float scale, const float* relH, const float* relW, int qw, int kh, int kw) {
    flash_attn_f32_body<16>(SEG_FA_OPERANDS, Nq, Nk, scale, relH, relW, qw, kh, kw);
}
extern "C" __global__ void __launch_bounds__(128) flash_attn_f32_d32(float* out, const float* q, const float* k, const float* v,
        int Nq, int Nk, int heads, int ldq, int sbq, int shq, int ldk, int sbk, int shk, int ldv, int sbv, int shv, int ldo, int sbo,
        int sho, float scale, const float* relH, const float* relW, int qw, int kh, int kw) {
    flash_attn_f32_body<32>(SEG_FA_OPERANDS, Nq, Nk, scale, relH, relW, qw, kh, kw);
}
extern "C" __global__ void __launch_bounds__(128) flash_attn_f32_d64(float* out, const float* q, const float* k, const float* v,
        int Nq, int Nk, int heads, int ldq, int sbq, int shq, int ldk, int sbk, int shk, int ldv, int sbv, int shv, int ldo, int sbo,
        int sho, float scale, const float* relH, const float* relW, int qw, int kh, int kw) {
    flash_attn_f32_body<64>(SEG_FA_OPERANDS, Nq, Nk, scale, relH, relW, qw, kh, kw);
}
extern "C" __global__ void __launch_bounds__(128) flash_attn_f32_d80(float* out, const float* q, const float* k, const float* v,
        int Nq, int Nk, int heads, int ldq, int sbq, int shq, int ldk, int sbk, int shk, int ldv, int sbv, int shv, int ldo, int sbo,
        int sho, float scale, const float* relH, const float* relW, int qw, int kh, int kw) {
    flash_attn_f32_body<80>(SEG_FA_OPERANDS, Nq, Nk, scale, relH, relW, qw, kh, kw);
}
extern "C" __global__ void __launch_bounds__(64) flash_attn_tf32_d16(float* out, const float* q, const float* k, const float* v,
        int Nq, int Nk, int heads, int ldq, int sbq, int shq, int ldk, int sbk, int shk, int ldv, int sbv, int shv, int ldo, int sbo,
        int sho, float scale, const float* relH, const float* relW, int qw, int kh, int kw) {
    flash_attn_tf32_body<16>(SEG_FA_OPERANDS, Nq, Nk, scale, relH, relW, qw, kh, kw);
}
extern "C" __global__ void __launch_bounds__(64) flash_attn_tf32_d32(float* out, const float* q, const float* k, const float* v,
        int Nq, int Nk, int heads, int ldq, int sbq, int shq, int ldk, int sbk, int shk, int ldv, int sbv, int shv, int ldo, int sbo,
        int sho, float scale, const float* relH, const float* relW, int qw, int kh, int kw) {
    flash_attn_tf32_body<32>(SEG_FA_OPERANDS, Nq, Nk, scale, relH, relW, qw, kh, kw);
}
extern "C" __global__ void __launch_bounds__(64) flash_attn_tf32_d64(float* out, const float* q, const float* k, const float* v,
        int Nq, int Nk, int heads, int ldq, int sbq, int shq, int ldk, int sbk, int shk, int ldv, int sbv, int shv, int ldo, int sbo,
        int sho, float scale, const float* relH, const float* relW, int qw, int kh, int kw) {
    flash_attn_tf32_body<64>(SEG_FA_OPERANDS, Nq, Nk, scale, relH, relW, qw, kh, kw);
}
extern "C" __global__ void __launch_bounds__(64) flash_attn_tf32_d80(float* out, const float* q, const float* k, const float* v,
        int Nq, int Nk, int heads, int ldq, int sbq, int shq, int ldk, int sbk, int shk, int ldv, int sbv, int shv, int ldo, int sbo,
        int sho, float scale, const float* relH, const float* relW, int qw, int kh, int kw) {
    flash_attn_tf32_body<80>(SEG_FA_OPERANDS, Nq, Nk, scale, relH, relW, qw, kh, kw);
}

// ------------------------------------------------------------------------------------------------ mask postprocessing

// SAM's postprocess_masks in one pass (docs/design/sam.md §8.1), x [planes][H][W] low-res logits → out [planes][outH][outW]:
//   m = F.interpolate(x, (S, S), bilinear, align_corners=False)[..., :ch, :cw]
//   m = F.interpolate(m, (outH, outW), bilinear, align_corners=False);  threshold != 0: m = (m > 0) as 1 / 0
// Each output pixel blends 4 pixels of the cropped S×S image, each of which is recomputed from 4 low-res pixels with
// the same float operations, in the same order, as interp_bilinear_f32 (lerp_axis, _rn intrinsics): the result is
// bit-equal to the two-stage sequence, without the S×S intermediate (4 MB per mask at S = 1024).
__device__ __forceinline__ float mask_stage1(const float* p, int H, int W, int S, int yy, int xx) {
    int y0, y1, x0, x1;
    float h0, h1, w0, w1;
    lerp_axis(H, S, yy, y0, y1, h0, h1);
    lerp_axis(W, S, xx, x0, x1, w0, w1);
    const float v00 = p[(long long) y0 * W + x0], v01 = p[(long long) y0 * W + x1];
    const float v10 = p[(long long) y1 * W + x0], v11 = p[(long long) y1 * W + x1];
    const float top = __fadd_rn(__fmul_rn(w0, v00), __fmul_rn(w1, v01));
    const float bot = __fadd_rn(__fmul_rn(w0, v10), __fmul_rn(w1, v11));
    return __fadd_rn(__fmul_rn(h0, top), __fmul_rn(h1, bot));
}

extern "C" __global__ void __launch_bounds__(256) mask_postprocess_f32(float* __restrict__ out, const float* __restrict__ x,
        int planes, int H, int W, int S, int ch, int cw, int outH, int outW, int threshold) {
    const unsigned n = (unsigned) planes * outH * outW;
    SEG_GRID_STRIDE_LOOP(e, n) {
        const int ox = (int) (e % (unsigned) outW);
        const unsigned r = e / (unsigned) outW;
        const int oy = (int) (r % (unsigned) outH);
        const long long plane = r / (unsigned) outH;
        int y0, y1, x0, x1;
        float h0, h1, w0, w1;
        lerp_axis(ch, outH, oy, y0, y1, h0, h1);
        lerp_axis(cw, outW, ox, x0, x1, w0, w1);
        const float* p = x + plane * H * W;
        const float v00 = mask_stage1(p, H, W, S, y0, x0), v01 = mask_stage1(p, H, W, S, y0, x1);
        const float v10 = mask_stage1(p, H, W, S, y1, x0), v11 = mask_stage1(p, H, W, S, y1, x1);
        const float top = __fadd_rn(__fmul_rn(w0, v00), __fmul_rn(w1, v01));
        const float bot = __fadd_rn(__fmul_rn(w0, v10), __fmul_rn(w1, v11));
        const float v = __fadd_rn(__fmul_rn(h0, top), __fmul_rn(h1, bot));
        out[e] = threshold ? (v > 0.f ? 1.f : 0.f) : v;
    }
}
