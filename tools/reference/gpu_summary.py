#!/usr/bin/env python3
"""The one summary table of scripts/gpu-check.sh: GpuGemmBench (JMH JSON) next to the PyTorch baseline (JSON of
bench_torch_gemm_gpu.py), per SAM shape: our fp32 and tf32 kernels, torch.matmul fp32 and tf32, and the ratios
torch time / our time (the goals: fp32 ≥ 0.70, tf32 ≥ 0.50). Markdown, ready for docs/PERF.md.

    python3 tools/reference/gpu_summary.py jmh.json torch.json
"""
import json
import sys


def flop(shape):
    m, k, n = (int(v) for v in shape.split(":")[1].split("x"))
    return 2.0 * m * k * n


ours = {}
for r in json.load(open(sys.argv[1])):
    ours[(r["params"]["shape"], r["params"]["mode"])] = r["primaryMetric"]["scorePercentiles"]["50.0"]
try:
    torch = json.load(open(sys.argv[2]))
except (IndexError, OSError, ValueError):
    torch = {"results": []}
    print("(no PyTorch results)")
theirs = {(r["shape"], r["precision"]): r["median_ms"] for r in torch["results"]}
if torch.get("device"):
    print(f"PyTorch {torch.get('torch')} (CUDA {torch.get('cuda')}) on {torch.get('device')}; ours: JMH median, host-timed "
          f"with synchronisation; torch: CUDA-event median")


def cell(ms, shape):
    return "—" if ms is None else f"{ms:.3f} ms ({flop(shape) / ms / 1e6:,.0f} GFLOP/s)"


def ratio(t, o):
    return "—" if t is None or o is None else f"{t / o:.2f}"


shapes = sorted({s for s, _ in ours} | {s for s, _ in theirs}, key=lambda s: (int(s.split(":")[1].split("x")[0]), s))
print()
print("| shape M×K→N | ours fp32 | ours tf32 | torch fp32 | torch tf32 | fp32 ratio (≥ 0.70) | tf32 ratio (≥ 0.50) |")
print("|---|---|---|---|---|---|---|")
for s in shapes:
    of, ot = ours.get((s, "FP32")), ours.get((s, "TF32"))
    tf, tt = theirs.get((s, "fp32")), theirs.get((s, "tf32"))
    m, k, n = s.split(":")[1].split("x")
    print(f"| {m}×{k}→{n} | {cell(of, s)} | {cell(ot, s)} | {cell(tf, s)} | {cell(tt, s)} | {ratio(tf, of)} | {ratio(tt, ot)} |")
extra = sorted({m for _, m in ours} - {"FP32", "TF32"})
for mode in extra:
    print(f"\n{mode}: " + ", ".join(f"{s.split(':')[1]} {cell(ours[(s, mode)], s)}" for s in shapes if (s, mode) in ours))
