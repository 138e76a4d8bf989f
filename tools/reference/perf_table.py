#!/usr/bin/env python3
"""Side-by-side table for docs/PERF.md: segsam (JMH JSON) against PyTorch (the text output of the baseline scripts).

    python3 tools/reference/perf_table.py DIR

DIR is what scripts/perf-table.sh writes: sam.json, ops-fast.json, ops-reference.json (optional), sgemm.json (JMH,
-rf json) and torch-sam.txt, torch-ops.txt, torch-sgemm.txt (stdout of bench_sam_torch.py, bench_torch_ops.py --only
cases, bench_torch_ops.py --only sgemm), and ort-1.json, ort-2.json, ... (OrtBench rounds, optional). Prints Markdown
tables: segsam vs ONNX Runtime vs PyTorch (when OrtBench ran), the goals against PyTorch end to end, and every op.
"""
import glob
import json
import os
import re
import sys

d = sys.argv[1]


def jmh(name):
    path = os.path.join(d, name)
    if not os.path.exists(path):
        return {}
    out = {}
    for e in json.load(open(path)):
        key = e["benchmark"].rsplit(".", 1)[1]
        params = e.get("params", {})
        if "side" in params:
            key = (key, params["side"])
        elif "op" in params:
            key = params["op"]
        elif "shape" in params:
            key = params["shape"]
        m = e["primaryMetric"]
        out[key] = (m["score"], m["scoreError"])
    return out


def torch_lines(name, pattern):
    path = os.path.join(d, name)
    out = {}
    if os.path.exists(path):
        for line in open(path):
            m = re.match(pattern, line)
            if m:
                out[m.group(1).strip()] = float(m.group(2))
    return out


sam, fast, ref, sgemm = jmh("sam.json"), jmh("ops-fast.json"), jmh("ops-reference.json"), jmh("sgemm.json")
tsam = torch_lines("torch-sam.txt", r"(.+?)\s+([0-9.]+) ms")
tops = torch_lines("torch-ops.txt", r"CpuOpsBench op=(\S+)\s+([0-9.]+) ms")
tsg = torch_lines("torch-sgemm.txt", r"SgemmBench shape=(\S+)\s+([0-9.]+) ms")


def fmt(ms):
    return "–" if ms is None else (f"{ms:.0f} ms" if ms >= 100 else f"{ms:.1f} ms" if ms >= 10 else f"{ms:.2f} ms")


def cell(x):
    if x is None:
        return "–"
    if not isinstance(x[1], (int, float)) or x[1] != x[1]:  # one iteration: JMH reports no error ("NaN")
        return fmt(x[0])
    return f"{fmt(x[0])} ± {x[1]:.2g}".replace(" ms ±", " ±") + " ms"



# ---- segsam vs ONNX Runtime (OrtBench, several rounds in one run; each round runs both sides stage by stage)
rounds = [jmh(os.path.basename(p)) for p in sorted(glob.glob(os.path.join(d, "ort-*.json")))]
rounds = [r for r in rounds if r]
if rounds:
    print(f"segsam vs ONNX Runtime Java (OrtBench, {len(rounds)} round(s); per side the best round's JMH mean; "
          "ratio = segsam / ORT time within each round: best, median)")
    print()
    print("| stage | segsam fast | ONNX Runtime | PyTorch eager | segsam / ORT: best round (median) | segsam / PyTorch | goal vs ORT | met in this run |")
    print("|---|---|---|---|---|---|---|---|")
    stages = [("encode", "ViT-B encode, one 600×450 image", "encode ViT-B 1024x1024", 1.0, "≤ 1.0×"),
              ("decode", "decode + upsample, 1 box → 600×450", "decode + upsample, 1 box, 600x450", 0.8, "≤ 0.8×"),
              ("decodeBoxes16", "16 boxes, decode + upsample", "decode + upsample, 16 boxes", 1.0, "prompts/s > ORT's")]
    for key, name, tkey, goal, goal_text in stages:
        seg = [r[(key, "segsam")][0] for r in rounds if (key, "segsam") in r]
        ort = [r[(key, "ort")][0] for r in rounds if (key, "ort") in r]
        ratios = sorted(r[(key, "segsam")][0] / r[(key, "ort")][0] for r in rounds if (key, "segsam") in r and (key, "ort") in r)
        t = tsam.get(tkey)
        if not seg:
            continue
        best_s, best_o = min(seg), (min(ort) if ort else None)
        rat = f"{ratios[0]:.2f} ({ratios[len(ratios) // 2]:.2f})" if ratios else "–"
        if key == "decodeBoxes16" and best_o:
            rat += f"; {16000 / best_s:.1f} vs {16000 / best_o:.1f} prompts/s"
        med = ratios[len(ratios) // 2] if ratios else None
        ok = med is not None and (med < goal if key == "decodeBoxes16" else med <= goal)
        met = "–" if med is None else ("yes" if ok else f"no ({med / goal:.2f}× the goal)")
        print(f"| {name} | {fmt(best_s)} | {fmt(best_o)} | {fmt(t)} | {rat} | {f'{best_s / t:.2f}' if t else '–'} | {goal_text} | {met} |")
    print()

rows = [
    ("ViT-B encode, one 600×450 image", sam.get("encode"), tsam.get("encode ViT-B 1024x1024"), 0.5, "≤ 0.5×"),
    ("decode + upsample, 1 box → 600×450", sam.get("decode"), tsam.get("decode + upsample, 1 box, 600x450"), 0.25, "≤ 0.25×"),
    ("16 boxes, batched decode + upsample", sam.get("decodeBoxes16"), tsam.get("decode + upsample, 16 boxes"), None, "(report prompts/s)"),
    ("SGEMM 1024³ (mm)", sgemm.get("mm:1024x1024x1024"), tsg.get("mm:1024x1024x1024"), 1.25, "≥ 0.8× OpenBLAS speed"),
]
if not (sam or sgemm):  # ONLY=ort: no SamBench/SGEMM run
    sys.exit(0)
print("| benchmark | segsam fast (JMH mean ± 99.9 %) | PyTorch + OpenBLAS (median) | segsam / PyTorch time | goal | met |")
print("|---|---|---|---|---|---|")
for name, s, t, goal, goal_text in rows:
    ratio = s[0] / t if s and t else None
    met = "–" if ratio is None or goal is None else ("yes" if ratio <= goal else f"no ({ratio / goal:.2f}× the goal)")
    extra = ""
    if name.startswith("16 boxes") and s and t:
        extra = f" ({16000 / s[0]:.1f} vs {16000 / t:.1f} prompts/s)"
    print(f"| {name} | {cell(s)} | {fmt(t)} | {'–' if ratio is None else f'{ratio:.2f}'}{extra} | {goal_text} | {met} |")

print()
print("| op (SAM ViT-B shape) | segsam reference | segsam fast | PyTorch | fast / PyTorch | reference / fast |")
print("|---|---|---|---|---|---|")
for op in sorted(set(fast) | set(ref), key=lambda k: list(fast).index(k) if k in fast else 999):
    f, r, t = fast.get(op), ref.get(op), tops.get(op)
    ratio = f"{f[0] / t:.2f}" if f and t else "–"
    speed = f"{r[0] / f[0]:.1f}×" if f and r else "–"
    print(f"| `{op}` | {cell(r)} | {cell(f)} | {fmt(t)} | {ratio} | {speed} |")
