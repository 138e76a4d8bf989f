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

// The adjoint of broadcasting (Backend.sumTo): g summed down to out. The launcher merges g's dimensions into up to 4
// kept ones (sizes k0..k3, g strides ks0..ks3; k3 innermost, unused = size 1) — their row-major index is out's — and up
// to 4 summed ones (r0..r3 of nRed = r0·r1·r2·r3 elements, g strides rs0..rs3). One warp per output element, lanes
// over the summed elements, sums in double like the reference.
extern "C" __global__ void __launch_bounds__(256) sum_to_f32(float* __restrict__ out, const float* __restrict__ g, int nOut,
        int k0, int k1, int k2, int k3, int ks0, int ks1, int ks2, int ks3, int nRed, int r0, int r1, int r2, int r3,
        int rs0, int rs1, int rs2, int rs3) {
    const int o = (int) (((long long) blockIdx.x * blockDim.x + threadIdx.x) >> 5);
    const int lane = threadIdx.x & 31;
    if (o >= nOut) return; // the whole warp leaves together
    int rest = o;
    const int c3 = rest % k3;
    rest /= k3;
    const int c2 = rest % k2;
    rest /= k2;
    const int c1 = rest % k1;
    const int c0 = rest / k1;
    (void) k0;
    const long long base = (long long) c0 * ks0 + (long long) c1 * ks1 + (long long) c2 * ks2 + (long long) c3 * ks3;
    double s = 0.0;
    for (int r = lane; r < nRed; r += 32) {
        int q = r;
        const int e3 = q % r3;
        q /= r3;
        const int e2 = q % r2;
        q /= r2;
        const int e1 = q % r1;
        const int e0 = q / r1;
        s += g[base + (long long) e0 * rs0 + (long long) e1 * rs1 + (long long) e2 * rs2 + (long long) e3 * rs3];
    }
    s = warp_sum_d(s);
    if (lane == 0) out[o] = (float) s;
}

// The adjoint of im2col (Backend.col2im, F.fold): cols [B, C·kh·kw, Ho·Wo] → x [B, C, H, W], gathered: one thread per
// element of x adds the columns that read it, kernel offsets (i, j) in ascending order, in float — the order in which
// the reference scatter-adds them, so the result is bit-equal.
extern "C" __global__ void __launch_bounds__(256) col2im_f32(float* __restrict__ x, const float* __restrict__ cols, int B, int C,
        int H, int W, int kh, int kw, int sh, int sw, int ph, int pw, int Ho, int Wo) {
    const unsigned n = (unsigned) B * C * H * W;
    const long long L = (long long) Ho * Wo;
    SEG_GRID_STRIDE_LOOP(e, n) {
        const int xx = (int) (e % (unsigned) W);
        const unsigned r = e / (unsigned) W;
        const int y = (int) (r % (unsigned) H);
        const unsigned bc = r / (unsigned) H; // b·C + c
        const float* base = cols + (long long) bc * kh * kw * L;
        float acc = 0.f;
        for (int i = 0; i < kh; ++i) {
            const int ty = y + ph - i;
            if (ty < 0 || ty % sh != 0 || ty / sh >= Ho) continue;
            const int oy = ty / sh;
            for (int j = 0; j < kw; ++j) {
                const int tx = xx + pw - j;
                if (tx < 0 || tx % sw != 0 || tx / sw >= Wo) continue;
                acc = __fadd_rn(acc, base[(long long) (i * kw + j) * L + (long long) oy * Wo + tx / sw]);
            }
        }
        x[e] = acc;
    }
}

// The adjoint of interp_bilinear_f32 (align_corners=False): dy [planes, outH, outW] → dx [planes, H, W], gathered: one
// thread per element of dx visits the output pixels whose interpolation reads it (a band of rows and columns around
// its position, each checked with the forward's own index maths, lerp_axis), in the reference's order (output row,
// column, then corners 00, 01, 10, 11), products and sums rounded as the reference does: bit-equal.
extern "C" __global__ void __launch_bounds__(256) interp_bilinear_backward_f32(float* __restrict__ dx, const float* __restrict__ dy,
        int planes, int H, int W, int outH, int outW) {
    const unsigned n = (unsigned) planes * H * W;
    const double fy = (double) outH / H, fx = (double) outW / W;
    SEG_GRID_STRIDE_LOOP(e, n) {
        const int x = (int) (e % (unsigned) W);
        const unsigned r = e / (unsigned) W;
        const int y = (int) (r % (unsigned) H);
        const unsigned p = r / (unsigned) H;
        // output rows whose source row lies in [y − 1, y + 1), widened by one on each side
        int oyLo = (int) floor((y - 0.5) * fy - 0.5) - 1, oyHi = (int) ceil((y + 1.5) * fy - 0.5) + 1;
        int oxLo = (int) floor((x - 0.5) * fx - 0.5) - 1, oxHi = (int) ceil((x + 1.5) * fx - 0.5) + 1;
        oyLo = oyLo < 0 ? 0 : oyLo;
        oxLo = oxLo < 0 ? 0 : oxLo;
        oyHi = oyHi > outH - 1 ? outH - 1 : oyHi;
        oxHi = oxHi > outW - 1 ? outW - 1 : oxHi;
        const float* g = dy + (long long) p * outH * outW;
        float acc = 0.f;
        for (int oy = oyLo; oy <= oyHi; ++oy) {
            int y0, y1;
            float ly0, ly1;
            lerp_axis(H, outH, oy, y0, y1, ly0, ly1);
            if (y0 != y && y1 != y) continue;
            for (int ox = oxLo; ox <= oxHi; ++ox) {
                int x0, x1;
                float lx0, lx1;
                lerp_axis(W, outW, ox, x0, x1, lx0, lx1);
                if (x0 != x && x1 != x) continue;
                const float v = g[(long long) oy * outW + ox];
                if (y0 == y && x0 == x) acc = __fadd_rn(acc, __fmul_rn(__fmul_rn(v, ly0), lx0));
                if (y0 == y && x1 == x) acc = __fadd_rn(acc, __fmul_rn(__fmul_rn(v, ly0), lx1));
                if (y1 == y && x0 == x) acc = __fadd_rn(acc, __fmul_rn(__fmul_rn(v, ly1), lx0));
                if (y1 == y && x1 == x) acc = __fadd_rn(acc, __fmul_rn(__fmul_rn(v, ly1), lx1));
            }
        }
        dx[e] = acc;
    }
}

// The adjoint of relpos_gather_f32 for an unresized table of L rows: dy [qn, kn, d] → dt [L, d]. One thread per table
// element (row, c) adds dy over the (i, j) that the forward's index maths maps to that row, i then j ascending, in
// float: the reference's scatter order, bit-equal.
extern "C" __global__ void __launch_bounds__(256) relpos_gather_backward_f32(float* __restrict__ dt, const float* __restrict__ dy,
        int L, int qn, int kn, int d, float qScale, float kScale, float shift) {
    const unsigned n = (unsigned) L * d;
    SEG_GRID_STRIDE_LOOP(e, n) {
        const int c = (int) (e % (unsigned) d);
        const int row = (int) (e / (unsigned) d);
        float acc = 0.f;
        for (int i = 0; i < qn; ++i) {
            for (int j = 0; j < kn; ++j) {
                int idx = (int) __fadd_rn(__fsub_rn(__fmul_rn((float) i, qScale), __fmul_rn((float) j, kScale)), shift);
                idx = idx < 0 ? 0 : (idx >= L ? L - 1 : idx);
                if (idx == row) acc = __fadd_rn(acc, dy[((long long) i * kn + j) * d + c]);
            }
        }
        dt[e] = acc;
    }
}
