#!/usr/bin/env python3
"""PyTorch (cuBLAS) baseline for bench/.../GpuGemmBench, on the same GPU: torch.matmul(x, w.T) at SAM's linear shapes,
fp32 (torch.backends.cuda.matmul.allow_tf32 = False) and tf32 (True), timed with CUDA events.

    python3 tools/reference/bench_torch_gemm_gpu.py [--json torch.json] [--repeats 50]

Per shape and precision: the median of `repeats` calls after 10 warm-up calls, each timed by a pair of CUDA events
around one torch.matmul (kernel time; GpuGemmBench times launch + kernel + synchronise on the host, which adds some
microseconds per call to our side). Also prints the host-timed median (call + torch.cuda.synchronize()), comparable
with JMH's numbers.
"""
import argparse
import json
import time

import torch

SHAPES = ["linear:4096x768x2304", "linear:4096x768x3072", "linear:4096x3072x768",
          "linear:4900x768x2304", "linear:4900x768x3072", "linear:4900x3072x768"]

p = argparse.ArgumentParser()
p.add_argument("--json", help="write the results here")
p.add_argument("--repeats", type=int, default=50)
args = p.parse_args()

assert torch.cuda.is_available(), "no CUDA device visible to PyTorch"
dev = torch.device("cuda")
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.get_device_name(0)}, "
      f"cuBLAS {torch.backends.cuda.preferred_blas_library() if hasattr(torch.backends.cuda, 'preferred_blas_library') else '?'}")
g = torch.Generator(device=dev).manual_seed(0)
results = []
for precision in ("fp32", "tf32"):
    torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
    for shape in SHAPES:
        m, k, n = (int(v) for v in shape.split(":")[1].split("x"))
        x = torch.randn(m, k, device=dev, generator=g)
        w = torch.randn(n, k, device=dev, generator=g)
        for _ in range(10):
            torch.matmul(x, w.T)
        torch.cuda.synchronize()
        ev, host = [], []
        for _ in range(args.repeats):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            t0 = time.perf_counter()
            a.record()
            torch.matmul(x, w.T)
            b.record()
            b.synchronize()
            host.append((time.perf_counter() - t0) * 1e3)
            ev.append(a.elapsed_time(b))
        ev.sort()
        host.sort()
        med, hmed = ev[len(ev) // 2], host[len(host) // 2]
        gflops = 2.0 * m * k * n / med / 1e6
        print(f"torch.matmul {precision} {shape:24s} {med:8.3f} ms ({gflops:8.0f} GFLOP/s)   host-timed {hmed:8.3f} ms")
        results.append({"shape": shape, "precision": precision, "median_ms": med, "host_median_ms": hmed, "gflops": gflops})
if args.json:
    with open(args.json, "w") as f:
        json.dump({"torch": torch.__version__, "cuda": torch.version.cuda, "device": torch.cuda.get_device_name(0),
                   "results": results}, f, indent=1)
