// Runtime of the CUDA emulator (see emu.h): launches, barriers, warp exchanges, guarded allocations.
#include "emu.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <barrier>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

thread_local uint3 threadIdx;
thread_local uint3 blockIdx;
thread_local dim3 blockDim;
thread_local dim3 gridDim;

namespace {

using Barrier = std::barrier<>;

struct Warp {
    std::unique_ptr<Barrier> bar;
    uint64_t slot[32];
    unsigned a[32][4];
    unsigned b[32][2];
    float c[32][4];
};

struct Launch {
    unsigned nthreads = 0;
    std::unique_ptr<Barrier> block;   // __syncthreads; exited threads drop out
    std::vector<Warp> warps;          // shuffles and mma; exited threads drop out
    std::vector<unsigned char> smem;  // dynamic shared memory
    void reset() {                    // fresh barriers for the next block (all threads are parked at the block end)
        block = std::make_unique<Barrier>(nthreads);
        for (size_t w = 0; w < warps.size(); ++w) {
            unsigned n = std::min<unsigned>(32, nthreads - (unsigned) w * 32);
            warps[w].bar = std::make_unique<Barrier>(n);
        }
    }
};

Launch* g_launch = nullptr;
std::mutex g_one_launch;
thread_local unsigned t_tid;

struct Reset {
    void operator()() noexcept { g_launch->reset(); }
};

Warp& my_warp() { return g_launch->warps[t_tid / 32]; }

}  // namespace

void* emu_dynamic_smem() { return g_launch->smem.data(); }

void __syncthreads() { g_launch->block->arrive_and_wait(); }

void __syncwarp(unsigned) { my_warp().bar->arrive_and_wait(); }

uint64_t emu_shfl_xor(uint64_t bits, int laneMask) {
    Warp& w = my_warp();
    const unsigned lane = t_tid % 32;
    w.slot[lane] = bits;
    w.bar->arrive_and_wait();
    const uint64_t r = w.slot[(lane ^ (unsigned) laneMask) % 32];
    w.bar->arrive_and_wait();
    return r;
}

unsigned emu_to_tf32(float x) {
    uint32_t u;
    std::memcpy(&u, &x, 4);
    if ((u & 0x7f800000u) == 0x7f800000u) return u;  // Inf and NaN unchanged
    return (u + 0x1000u) & 0xffffe000u;              // round half away from zero to 10 mantissa bits
}

// PTX ISA, mma.m16n8k8 .tf32: g = lane / 4, t = lane % 4;
// A[g][t] = a0, A[g+8][t] = a1, A[g][t+4] = a2, A[g+8][t+4] = a3 of lane 4g + t; B[t][g] = b0, B[t+4][g] = b1 of lane
// 4g + t; D[g][2t + j] = d_j, D[g+8][2t + j] = d_{2+j}.
void emu_mma_m16n8k8_tf32(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {
    Warp& w = my_warp();
    const unsigned lane = t_tid % 32;
    std::memcpy(w.a[lane], a, sizeof a);
    std::memcpy(w.b[lane], b, sizeof b);
    w.bar->arrive_and_wait();
    const unsigned g = lane / 4, t = lane % 4;
    auto A = [&](unsigned row, unsigned k) {
        const unsigned bits = w.a[(row % 8) * 4 + k % 4][(row >= 8 ? 1 : 0) + (k >= 4 ? 2 : 0)];
        float f;
        std::memcpy(&f, &bits, 4);
        return f;
    };
    auto B = [&](unsigned k, unsigned col) {
        const unsigned bits = w.b[col * 4 + k % 4][k >= 4 ? 1 : 0];
        float f;
        std::memcpy(&f, &bits, 4);
        return f;
    };
    for (int q = 0; q < 4; ++q) {
        const unsigned row = g + (q >> 1) * 8, col = 2 * t + (q & 1);
        float s = d[q];
        for (unsigned k = 0; k < 8; ++k) s += A(row, k) * B(k, col);  // tf32 products are exact in fp32
        d[q] = s;
    }
    w.bar->arrive_and_wait();
}

extern "C" {

// Device memory: each allocation ends right before a PROT_NONE page, so reading or writing past the end of a tensor
// (the emulator's pool allocates every tensor exactly) faults at once. Contents start as NaN (0xff bytes).
void* emu_malloc(size_t bytes) {
    const size_t page = (size_t) sysconf(_SC_PAGESIZE);
    const size_t data = (bytes + 15) & ~(size_t) 15;
    const size_t span = (data + page - 1) / page * page + page;
    void* base = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) return nullptr;
    char* guard = (char*) base + span - page;
    mprotect(guard, page, PROT_NONE);
    char* p = guard - data;
    std::memset(p, 0xff, data);
    return p;
}

void emu_free(void* p, size_t bytes) {
    const size_t page = (size_t) sysconf(_SC_PAGESIZE);
    const size_t data = (bytes + 15) & ~(size_t) 15;
    const size_t span = (data + page - 1) / page * page + page;
    char* base = (char*) p + data + page - span;
    munmap(base, span);
}

// Runs kernel `fn` (a thunk unpacking args like cuLaunchKernel's kernelParams) over the grid. Returns 0, or a
// nonzero code for an unsupported configuration.
int emu_launch(void (*fn)(void**), unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
               unsigned smem, void** args) {
    const unsigned n = bx * by * bz;
    if (n == 0 || n > 1024 || gx == 0 || gy == 0 || gz == 0) return 1;
    std::lock_guard<std::mutex> one(g_one_launch);
    Launch launch;
    launch.nthreads = n;
    launch.warps = std::vector<Warp>((n + 31) / 32);
    launch.smem.assign(smem + 16, 0xff);
    launch.reset();
    g_launch = &launch;
    std::barrier<Reset> blockEnd(n, Reset{});
    std::vector<std::thread> threads;
    threads.reserve(n);
    for (unsigned tid = 0; tid < n; ++tid) {
        threads.emplace_back([&, tid] {
            t_tid = tid;
            threadIdx = {tid % bx, (tid / bx) % by, tid / (bx * by)};
            blockDim = {bx, by, bz};
            gridDim = {gx, gy, gz};
            for (unsigned z = 0; z < gz; ++z)
                for (unsigned y = 0; y < gy; ++y)
                    for (unsigned x = 0; x < gx; ++x) {
                        blockIdx = {x, y, z};
                        fn(args);
                        // this thread has exited the kernel: barriers of this block no longer wait for it
                        launch.block->arrive_and_drop();
                        launch.warps[tid / 32].bar->arrive_and_drop();
                        blockEnd.arrive_and_wait();  // the completion step installs fresh barriers
                    }
        });
    }
    for (auto& t : threads) t.join();
    g_launch = nullptr;
    return 0;
}

}  // extern "C"
