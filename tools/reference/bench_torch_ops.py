#!/usr/bin/env python3
"""PyTorch baseline for the JMH CPU benchmarks (bench/.../CpuReferenceBench), same shapes, same machine.

    python3 tools/reference/bench_torch_ops.py [--threads N] [--only sgemm|ops] [--shape op:dims] [--repeats R]

Prints the median time per call in ms (float32, eager PyTorch, torch.set_num_threads(N), default: all cores).
The attention rows reproduce SAM's image-encoder attention for one head: (q*scale) @ k^T, the decomposed
relative-position bias added as SAM does, softmax, @ v.
"""
import argparse
import os
import time

import torch

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=os.cpu_count())
p.add_argument("--repeats", type=int, default=5)
p.add_argument("--only", choices=("sgemm", "ops"), help="only the SgemmBench shapes, or only the CpuReferenceBench ones")
p.add_argument("--shape", help="with --only sgemm: just this SgemmBench shape, e.g. mm:1024x1024x1024")
args = p.parse_args()
torch.set_num_threads(args.threads)
g = torch.Generator().manual_seed(0)


def bench(name, fn, flop=None):
    fn()  # warm-up
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    med = times[len(times) // 2]
    rate = f"  {flop / med / 1e6:7.1f} GFLOP/s  (min {times[0]:.2f}, max {times[-1]:.2f} ms)" if flop else ""
    print(f"{name:40s} {med:10.2f} ms{rate}")


def report_blas():
    # Debian's torch calls whatever libblas.so.3 the alternatives system selects: the reference BLAS (slow) unless
    # libopenblas0-pthread is installed. Report the library actually mapped into this process.
    blas = sorted({line.split()[-1] for line in open("/proc/self/maps") if "blas" in line.lower() and ".so" in line})
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, BLAS libraries loaded: {blas}")



def sgemm_shapes():
    """The shapes of bench/.../SgemmBench (same op:dims names), with the GFLOP/s each time means."""
    shapes = ["mm:256x256x256", "mm:1024x1024x1024", "mm:2048x2048x2048",
              "linear:4096x768x2304", "linear:4096x768x3072", "linear:4096x3072x768",
              "linear:4900x768x2304", "linear:4900x768x3072", "linear:4900x3072x768",
              "bmmT:300x196x64x196", "bmm:300x196x196x64"]
    for shape in [args.shape] if args.shape else shapes:
        op, dims = shape.split(":")
        d = [int(x) for x in dims.split("x")]
        batch, m, k, n = d if len(d) == 4 else [1] + d
        flop = 2.0 * batch * m * k * n
        if op == "linear":
            x, w, bias = torch.randn(m, k, generator=g), torch.randn(n, k, generator=g), torch.randn(n, generator=g)
            fn = lambda: torch.nn.functional.linear(x, w, bias)
        elif op == "bmmT":
            q, kk = torch.randn(batch, m, k, generator=g), torch.randn(batch, n, k, generator=g)
            fn = lambda: q @ kk.transpose(-2, -1)
        else:
            a, b = torch.randn(batch, m, k, generator=g).squeeze(0), torch.randn(batch, k, n, generator=g).squeeze(0)
            fn = lambda: a @ b
        bench(f"SgemmBench shape={shape}", fn, flop)


if args.only != "ops":
    sgemm_shapes()
if args.only == "sgemm":
    raise SystemExit(report_blas())

for n in (256, 1024):
    a, b = torch.randn(n, n, generator=g), torch.randn(n, n, generator=g)
    bench(f"matmulSquare n={n}", lambda: a @ b)

for shape in ("768x2304", "768x3072", "3072x768"):
    i, o = map(int, shape.split("x"))
    x, w, bias = torch.randn(4096, i, generator=g), torch.randn(o, i, generator=g), torch.randn(o, generator=g)
    bench(f"linearVitB shape={shape}", lambda: torch.nn.functional.linear(x, w, bias))


def rel_table(side, d):
    t = torch.randn(2 * side - 1, d, generator=g)
    idx = (torch.arange(side)[:, None] - torch.arange(side)[None, :] + side - 1)
    return t[idx]


for kind, side, batch in (("global", 64, 1), ("windowed", 14, 25)):
    n, d = side * side, 64
    q, k, v = (torch.randn(batch, n, d, generator=g) for _ in range(3))
    rh, rw = rel_table(side, d), rel_table(side, d)

    def attn():
        a = (q * 0.125) @ k.transpose(-2, -1)
        r = q.reshape(batch, side, side, d)
        h = torch.einsum("bhwc,hkc->bhwk", r, rh)
        w_ = torch.einsum("bhwc,wkc->bhwk", r, rw)
        a = (a.view(batch, side, side, side, side) + h[:, :, :, :, None] + w_[:, :, :, None, :]).view(batch, n, n)
        return a.softmax(dim=-1) @ v

    bench(f"attentionVitB kind={kind}", attn)

report_blas()
