#!/usr/bin/env python3
"""PyTorch baseline for the JMH CPU benchmarks (bench/.../CpuReferenceBench, SgemmBench, CpuOpsBench), same shapes,
same machine.

    python3 tools/reference/bench_torch_ops.py [--threads N] [--only sgemm|ops|cases] [--shape op:dims] [--repeats R]

--only cases: every CpuOpsBench case (same names and shapes), as scripts/perf-table.sh uses it.

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
p.add_argument("--only", choices=("sgemm", "ops", "cases"),
               help="only the SgemmBench shapes, only the CpuReferenceBench ones, or only the CpuOpsBench cases")
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


def ops_cases():
    """The cases of bench/.../CpuOpsBench (same names and shapes): every CPU op at a SAM ViT-B shape, in PyTorch."""
    import math
    import sys
    import torch.nn.functional as F
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import sam_reference as S  # window partition, rel-pos and encoder attention as SAM computes them

    r = lambda *shape: torch.randn(*shape, generator=g)
    x768, w2304, b2304 = r(4096, 768), r(2304, 768), r(2304)
    k256, w128, b128 = r(1, 4096, 256), r(128, 256), r(128)
    x7, w2048, b2048 = r(7, 256), r(2048, 256), r(2048)
    h4, u32 = r(4, 32), r(32, 65536)
    img, pw, b768, c768 = r(1, 3, 1024, 1024), r(768, 3, 16, 16), r(768), r(768)
    f256, nw, tw0, b64, c64 = r(1, 256, 64, 64), r(256, 256, 3, 3), r(256, 64, 2, 2), r(64), r(64)
    f64, tw1, b32 = r(1, 64, 128, 128), r(64, 32, 2, 2), r(32)
    t, u, x3072, s56 = r(1, 64, 64, 768), r(1, 64, 64, 768), r(4096, 3072), r(56, 4096)
    b256, l256, w25 = r(256), r(1, 4096, 256), r(25, 14, 14, 768)
    m256, m768 = r(1, 1, 256, 256), r(1, 1, 768, 1024)
    q7, r7, k128, v128 = r(1, 7, 128), r(1, 7, 128), r(1, 4096, 128), r(1, 4096, 128)

    def rel_attention(batch, side):
        n, d = side * side, 64
        q, k, v = r(batch, n, d), r(batch, n, d), r(batch, n, d)
        rh, rw = S.get_rel_pos(side, side, r(2 * side - 1, d)), S.get_rel_pos(side, side, r(2 * side - 1, d))

        def attn():
            a = (q * 0.125) @ k.transpose(-2, -1)
            rq = q.reshape(batch, side, side, d)
            hh, ww = torch.einsum("bhwc,hkc->bhwk", rq, rh), torch.einsum("bhwc,wkc->bhwk", rq, rw)
            a = (a.view(batch, side, side, side, side) + hh[:, :, :, :, None] + ww[:, :, :, None, :]).view(batch, n, n)
            return a.softmax(dim=-1) @ v
        return attn

    def mha(q, k, v, heads):
        def split(x):
            b, n, c = x.shape
            return x.reshape(b, n, heads, c // heads).transpose(1, 2)
        qh, kh, vh = split(q), split(k), split(v)
        a = torch.softmax((qh @ kh.permute(0, 1, 3, 2)) / math.sqrt(qh.shape[-1]), dim=-1)
        o = a @ vh
        return o.transpose(1, 2).reshape(q.shape[0], q.shape[1], -1)

    W = {"qkv.weight": r(2304, 768) / math.sqrt(768), "qkv.bias": r(2304), "proj.weight": r(768, 768) / math.sqrt(768),
         "proj.bias": r(768), "rel_pos_h": r(127, 64), "rel_pos_w": r(127, 64)}
    Ww = dict(W, rel_pos_h=r(27, 64), rel_pos_w=r(27, 64))

    def windowed():
        win, pad = S.window_partition(t, 14)
        return S.window_unpartition(S.encoder_attention(Ww, "", win, 12), 14, pad, (64, 64))

    cases = {
        "linear.qkv": lambda: F.linear(x768, w2304, b2304),
        "linear.decoderKv": lambda: F.linear(k256, w128, b128),
        "linear.decoderMlp": lambda: F.linear(x7, w2048, b2048),
        "matmul.masks": lambda: h4 @ u32,
        "conv2d.patchEmbed": lambda: F.conv2d(img, pw, b768, stride=16),
        "conv2d.neck3x3": lambda: F.conv2d(f256, nw, None, padding=1),
        "convTranspose2d.up0": lambda: F.conv_transpose2d(f256, tw0, b64, stride=2),
        "convTranspose2d.up1": lambda: F.conv_transpose2d(f64, tw1, b32, stride=2),
        "layerNorm.encoder": lambda: F.layer_norm(t, (768,), b768, c768, 1e-6),
        "layerNorm2d.up": lambda: S.layer_norm2d(f64, b64, c64),
        "gelu.mlp": lambda: F.gelu(x3072),
        "softmax.rows": lambda: torch.softmax(s56, dim=-1),
        "add.residual": lambda: t + u,
        "add.bias": lambda: k256 + b256,
        "permute.nchw": lambda: t.permute(0, 3, 1, 2).contiguous(),
        "permute.heads": lambda: k256.reshape(1, 4096, 8, 32).permute(0, 2, 1, 3).contiguous(),
        "slice.tokens": lambda: k256[:, :, 64:192].contiguous(),
        "concat.tokens": lambda: torch.cat([k256, l256], 2),
        "windowPartition.vitB": lambda: S.window_partition(t, 14)[0],
        "windowUnpartition.vitB": lambda: S.window_unpartition(w25, 14, (70, 70), (64, 64)),
        "interpolateBilinear.up": lambda: F.interpolate(m256, (1024, 1024), mode="bilinear", align_corners=False),
        "interpolateBilinear.down": lambda: F.interpolate(m768, (450, 600), mode="bilinear", align_corners=False),
        "attention.global1head": rel_attention(1, 64),
        "attention.windowed1head": rel_attention(25, 14),
        "multiHeadAttention.t2i": lambda: mha(q7, k128, v128, 8),
        "multiHeadAttention.i2t": lambda: mha(k128, q7, r7, 8),
        "encoderAttention.global": lambda: S.encoder_attention(W, "", t, 12),
        "encoderAttention.windowed": windowed,
    }
    with torch.no_grad():
        for name, fn in cases.items():
            bench(f"CpuOpsBench op={name}", fn)


if args.only == "cases":
    ops_cases()
    raise SystemExit(report_blas())
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
