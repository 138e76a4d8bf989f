#!/usr/bin/env python3
"""PyTorch baseline for issue 6 (CUDA backend II) on the same GPU as GpuAttentionBench / GpuDecodeBench:

  1. SAM ViT-B image-encoder attention with the decomposed rel-pos bias built as SAM's add_decomposed_rel_pos does
     (einsum of the unscaled q with the rel-pos tables, broadcast to [B, N, N]):
       global  12 heads × 4096 tokens × 64 (64×64 grid)      window  25 windows × 12 heads × 196 tokens × 64 (14×14)
     variants: "sam-fp32"   SAM's own code: (q·scale)·kᵀ + bias, softmax, ·v, fp32 (TF32 off)
               "sdpa-math-fp32"  F.scaled_dot_product_attention(attn_mask=bias), math backend, fp32
               "sdpa-eff-bf16"   the same in bf16 on the memory-efficient backend (takes a bias)
               "sdpa-flash-bf16" bf16 flash backend WITHOUT the bias (flash takes no additive mask: a lower bound)
  2. SAM's prompt side on one embedding (sam_reference.py: prompt encoder + mask decoder + postprocess_masks to
     1500×2000 + threshold), seeded ViT-B weights, 1 box and 16 boxes (batched the SAM way: repeat_interleave of the
     embedding), fp32.
  3. postprocess_masks alone: [1, 3, 256, 256] → 1024² → crop 768×1024 → 1500×2000 (GpuDecodeBench.upsample).

    python3 tools/reference/bench_torch_attention_gpu.py [--json torch_attention.json] [--repeats 20]

Each number: median of `repeats` calls after 3 warm-ups, CUDA-event timed (kernel time), plus the host-timed median
(call + synchronize: comparable with JMH). A variant that fails (memory, unsupported backend) is reported, not fatal.
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

p = argparse.ArgumentParser()
p.add_argument("--json", help="write the results here")
p.add_argument("--repeats", type=int, default=20)
args = p.parse_args()

assert torch.cuda.is_available(), "no CUDA device visible to PyTorch"
dev = torch.device("cuda")
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.get_device_name(0)}")
results = []


def timed(name, fn, repeats=None):
    repeats = repeats or args.repeats
    try:
        with torch.no_grad():
            for _ in range(3):
                fn()
            torch.cuda.synchronize()
            ev, host = [], []
            for _ in range(repeats):
                a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                t0 = time.perf_counter()
                a.record()
                fn()
                b.record()
                b.synchronize()
                host.append((time.perf_counter() - t0) * 1e3)
                ev.append(a.elapsed_time(b))
        ev.sort()
        host.sort()
        r = {"name": name, "median_ms": ev[len(ev) // 2], "host_median_ms": host[len(host) // 2]}
        print(f"{name:40s} {r['median_ms']:9.3f} ms   host-timed {r['host_median_ms']:9.3f} ms")
    except Exception as e:  # noqa: BLE001 - report and go on
        r = {"name": name, "error": f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"}
        print(f"{name:40s} FAILED {r['error']}")
    results.append(r)
    torch.cuda.empty_cache()


# ---------------------------------------------------------------- 1. encoder attention with rel-pos
def sdpa_backend(kind):
    from torch.nn.attention import SDPBackend, sdpa_kernel
    return sdpa_kernel({"math": SDPBackend.MATH, "eff": SDPBackend.EFFICIENT_ATTENTION, "flash": SDPBackend.FLASH_ATTENTION}[kind])


def rel_bias(q, rh, rw, side):
    """SAM add_decomposed_rel_pos's bias: rel_h[b, y, x, ky] + rel_w[b, y, x, kx] → [B, N, N] (unscaled q)."""
    B, N, d = q.shape
    r = q.reshape(B, side, side, d)
    bh = torch.einsum("bhwc,hkc->bhwk", r, rh)
    bw = torch.einsum("bhwc,wkc->bhwk", r, rw)
    return (bh[:, :, :, :, None] + bw[:, :, :, None, :]).reshape(B, N, N)


g = torch.Generator(device=dev).manual_seed(0)
for shape, B, side in (("global:12x4096x64", 12, 64), ("window:300x196x64", 300, 14)):
    N, d = side * side, 64
    q, k, v = (torch.randn(B, N, d, device=dev, generator=g) for _ in range(3))
    rh, rw = (torch.randn(side, side, d, device=dev, generator=g) for _ in range(2))

    def sam_fp32():
        a = (q * 0.125) @ k.transpose(-2, -1)
        a = a + rel_bias(q, rh, rw, side)
        return a.softmax(dim=-1) @ v

    def sdpa(kind, dtype, with_bias):
        qq, kk, vv = q.to(dtype), k.to(dtype), v.to(dtype)
        rhh, rww = rh.to(dtype), rw.to(dtype)

        def run():
            mask = rel_bias(qq, rhh, rww, side).unsqueeze(1) if with_bias else None
            with sdpa_backend(kind):
                return F.scaled_dot_product_attention(qq.unsqueeze(1), kk.unsqueeze(1), vv.unsqueeze(1), attn_mask=mask, scale=0.125)
        return run

    timed(f"attention {shape} sam-fp32", sam_fp32)
    timed(f"attention {shape} sdpa-math-fp32", sdpa("math", torch.float32, True))
    timed(f"attention {shape} sdpa-eff-bf16", sdpa("eff", torch.bfloat16, True))
    timed(f"attention {shape} sdpa-flash-bf16 (no bias)", sdpa("flash", torch.bfloat16, False))
    del q, k, v, rh, rw

# ---------------------------------------------------------------- 2. + 3. decoder and postprocessing
import sam_reference as S  # noqa: E402  (needs numpy and PIL, like the goldens)

cfg = S.vit_b()
W_cpu = S.seeded_weights(cfg, 20261126)
W = {n: t.to(dev) for n, t in W_cpu.items()}
pe = S.dense_pe(W_cpu, 64).to(dev)
emb = torch.randn(1, 256, 64, 64, device=dev, generator=g)
orig, resized = (1500, 2000), (768, 1024)


def boxes(n):
    b = torch.tensor([[40.0 * i, 30.0 * i, 800 + 40.0 * i, 600 + 30.0 * i] for i in range(n)], device=dev)
    return b * (1024 / 2000)


def decode(n):
    bx = boxes(n)

    def run():
        sparse, dense = S.embed_prompts(W, cfg, None, None, bx, None)
        masks, iou = S.mask_decoder(W, cfg, emb, pe, sparse, dense)
        return S.postprocess(masks[:, 0:1], 1024, resized, orig) > 0
    return run


timed("decode+upsample 1 box fp32", decode(1))
timed("decode+upsample 16 boxes (batched) fp32", decode(16), max(5, args.repeats // 2))
low = torch.randn(1, 3, 256, 256, device=dev, generator=g)
timed("postprocess_masks 3x256² → 1500x2000", lambda: S.postprocess(low, 1024, resized, orig))

if args.json:
    with open(args.json, "w") as f:
        json.dump({"torch": torch.__version__, "cuda": torch.version.cuda, "device": torch.cuda.get_device_name(0),
                   "results": results}, f, indent=1)
