#!/usr/bin/env python3
"""The summary tables of scripts/gpu-check.sh, Markdown, ready for docs/PERF.md:

  * GEMM: GpuGemmBench (JMH JSON) next to the PyTorch baseline (JSON of bench_torch_gemm_gpu.py), per SAM shape: our
    fp32 and tf32 kernels, torch.matmul fp32 and tf32, and the ratios torch time / our time (goals: fp32 ≥ 0.70,
    tf32 ≥ 0.50);
  * issue 6 (when the JMH JSON has them): GpuAttentionBench (flash vs tiled, fp32 / tf32) and GpuDecodeBench next to
    bench_torch_attention_gpu.py's SDPA / SAM-decoder numbers.

    python3 tools/reference/gpu_summary.py jmh.json torch.json [torch_attention.json]
"""
import json
import sys


def flop(shape):
    m, k, n = (int(v) for v in shape.split(":")[1].split("x"))
    return 2.0 * m * k * n


ours = {}
jmh = json.load(open(sys.argv[1]))
for r in jmh:
    if "GpuGemmBench" in r["benchmark"]:
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


# ---------------------------------------------------------------- issue 6: attention, decoder, mask upsampling
def median(r):
    return r["primaryMetric"]["scorePercentiles"]["50.0"]


attn = {(r["params"]["shape"], r["params"]["mode"], r["params"]["impl"]): median(r) for r in jmh if "GpuAttentionBench" in r["benchmark"]}
dec = {(r["benchmark"].rsplit(".", 1)[1], r["params"]["mode"], r["params"]["impl"]): median(r) for r in jmh if "GpuDecodeBench" in r["benchmark"]}
try:
    ta = {r["name"]: r for r in json.load(open(sys.argv[3]))["results"]}
except (IndexError, OSError, ValueError):
    ta = {}


def ms(v):
    return "—" if v is None else f"{v:.3f} ms"


def tms(name):
    r = ta.get(name)
    return "—" if r is None else (f"failed ({r['error'][:40]})" if "error" in r else f"{r['median_ms']:.3f} ms")


def attn_flop(shape):
    b, n, d = (int(v) for v in shape.split(":")[1].split("x"))
    return 4.0 * b * n * n * d


if attn:
    print("\nIssue 6, encoder attention with rel-pos (ours: JMH median incl. launch + sync; torch: CUDA-event median)\n")
    print("| shape | flash fp32 | flash tf32 | tiled v1 fp32 | tiled v1 tf32 | torch SAM fp32 | torch SDPA math fp32 | torch SDPA eff bf16 | torch flash bf16 (no bias) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for shape in sorted({s for s, _, _ in attn}):
        f32, t32 = attn.get((shape, "FP32", "flash")), attn.get((shape, "TF32", "flash"))
        tf, tt = attn.get((shape, "FP32", "tiled")), attn.get((shape, "TF32", "tiled"))
        tfl = lambda v: "—" if v is None else f"{v:.3f} ms ({attn_flop(shape) / v / 1e9:.1f} TFLOP/s)"
        print(f"| {shape} | {tfl(f32)} | {tfl(t32)} | {tfl(tf)} | {tfl(tt)} | {tms(f'attention {shape} sam-fp32')} | "
              f"{tms(f'attention {shape} sdpa-math-fp32')} | {tms(f'attention {shape} sdpa-eff-bf16')} | "
              f"{tms(f'attention {shape} sdpa-flash-bf16 (no bias)')} |")
if dec:
    print("\nIssue 6, prompt side on one ViT-B embedding, 1500×2000 output (ours: Predictor.predict incl. mask download)\n")
    print("| what | ours fp32 flash | ours fp32 tiled | ours tf32 flash | ours tf32 tiled | torch fp32 |")
    print("|---|---|---|---|---|---|")
    rows = (("decode1", "decode+upsample 1 box", "decode+upsample 1 box fp32"),
            ("decode16", "decode+upsample 16 boxes", "decode+upsample 16 boxes (batched) fp32"),
            ("upsample", "postprocess_masks 3×256² → 1500×2000 (flash = fused kernel, tiled = two stages)",
             "postprocess_masks 3x256² → 1500x2000"))
    for key, label, tname in rows:
        print(f"| {label} | {ms(dec.get((key, 'FP32', 'flash')))} | {ms(dec.get((key, 'FP32', 'tiled')))} | "
              f"{ms(dec.get((key, 'TF32', 'flash')))} | {ms(dec.get((key, 'TF32', 'tiled')))} | {tms(tname)} |")
