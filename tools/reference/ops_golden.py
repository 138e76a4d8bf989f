#!/usr/bin/env python3
"""Golden values for segsam's CPU reference ops, computed with PyTorch.

Run once (needs python3-torch; Debian: apt-get install python3-torch):

    python3 tools/reference/ops_golden.py

It writes core-tensor/src/test/resources/golden/ops.safetensors: for each case its seeded random inputs and
PyTorch's output as tensors named "<op>/<case>/<input>" and "<op>/<case>/output" (float32; argmax's output int64),
and in the metadata (readable with any safetensors tool, or `head -c 20000` of the file) the case list in order —
op, case name, parameters (JSON), input names — plus the command and library versions that produced them. The Java
test (OpsGoldenTest, through Golden) feeds the same inputs to every backend and compares.

    python3 tools/reference/ops_golden.py --outputs-from OLD.json

keeps the outputs of an ops.json written by the earlier JSON version of this script (after checking its cases and
inputs are identical to the ones generated here): that is how the committed ops.safetensors was made, so its values
are bit-identical to the former ops.json. Recomputed outputs differ from them by a few ulps in GEMM-like cases
(BLAS kernels vary by machine), well inside OpsGoldenTest's tolerances.

The SAM-specific helpers below (window partition, relative-position lookup and bias, LayerNorm2d, the random
Fourier encoding) are written from docs/design/sam.md, in plain PyTorch, independently of the Java code.
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

import golden_file

torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "core-tensor", "src", "test", "resources", "golden", "ops.safetensors")
rng = np.random.RandomState(20261126)


def rand(*shape, lo=-1.0, hi=1.0):
    return torch.from_numpy(rng.uniform(lo, hi, size=shape).astype(np.float32))


def enc(t):
    """A tensor as the numpy array stored in the golden file: int64 for integer results, else float32."""
    t = t.detach().contiguous()
    if t.dtype in (torch.int64, torch.int32):
        return t.to(torch.int64).numpy()
    return t.to(torch.float32).numpy()


cases = []
tensors = {}


# ops that only move values must reproduce them bit for bit
EXACT_OPS = {"permute", "concat", "slice", "window_partition", "window_unpartition", "relu", "argmax"}


def case(op, name, inputs, output, **params):
    params.setdefault("exact", op in EXACT_OPS)
    if any(c["op"] == op and c["name"] == name for c in cases):
        raise ValueError(f"duplicate case {op}/{name}")
    names = [k for k, v in inputs.items() if v is not None]
    for k in names:
        tensors[f"{op}/{name}/{k}"] = enc(inputs[k])
    tensors[f"{op}/{name}/output"] = enc(output)
    cases.append({"op": op, "name": name, "params": params, "inputs": names})


# ---------------------------------------------------------------- SAM helpers, from the spec

def window_partition(x, ws):
    b, h, w, c = x.shape
    ph, pw = (ws - h % ws) % ws, (ws - w % ws) % ws
    x = F.pad(x, (0, 0, 0, pw, 0, ph))  # zeros at the bottom and right
    hp, wp = h + ph, w + pw
    x = x.view(b, hp // ws, ws, wp // ws, ws, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, ws, ws, c), hp, wp


def window_unpartition(win, ws, hp, wp, h, w):
    b = win.shape[0] // ((hp // ws) * (wp // ws))
    x = win.view(b, hp // ws, wp // ws, ws, ws, -1).permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, -1)
    return x[:, :h, :w, :].contiguous()


def get_rel_pos(q_size, k_size, table):
    max_dist = 2 * max(q_size, k_size) - 1
    if table.shape[0] != max_dist:
        table = F.interpolate(table.reshape(1, table.shape[0], -1).permute(0, 2, 1), size=max_dist, mode="linear")
        table = table.reshape(-1, max_dist).permute(1, 0)
    qc = torch.arange(q_size)[:, None] * max(k_size / q_size, 1.0)
    kc = torch.arange(k_size)[None, :] * max(q_size / k_size, 1.0)
    rel = (qc - kc) + (k_size - 1) * max(q_size / k_size, 1.0)
    return table[rel.long()]


def attention_ref(q, k, v, scale, rel=None):
    attn = (q * scale) @ k.transpose(-2, -1)
    if rel is not None:
        rh, rw, qh, qw, kh, kw = rel
        b, _, dim = q.shape
        r_q = q.reshape(b, qh, qw, dim)
        rel_h = torch.einsum("bhwc,hkc->bhwk", r_q, rh)
        rel_w = torch.einsum("bhwc,wkc->bhwk", r_q, rw)
        attn = (attn.view(b, qh, qw, kh, kw) + rel_h[:, :, :, :, None] + rel_w[:, :, :, None, :]).view(b, qh * qw, kh * kw)
    return attn.softmax(dim=-1) @ v


def layer_norm2d(x, w, b, eps):
    u = x.mean(1, keepdim=True)
    s = (x - u).pow(2).mean(1, keepdim=True)
    x = (x - u) / torch.sqrt(s + eps)
    return w[:, None, None] * x + b[:, None, None]


def fourier_pe(coords, g):
    c = 2 * coords - 1
    c = c @ g
    c = 2 * np.pi * c
    return torch.cat([torch.sin(c), torch.cos(c)], dim=-1)


# ---------------------------------------------------------------- cases

a, b = rand(5, 7), rand(7, 3)
case("matmul", "2d", {"a": a, "b": b}, a @ b)
a, b = rand(2, 3, 4, 5), rand(2, 3, 5, 6)
case("matmul", "batched", {"a": a, "b": b}, a @ b)
a, b = rand(2, 1, 4, 5), rand(3, 5, 2)
case("matmul", "broadcast_batch", {"a": a, "b": b}, a @ b)
a, b = rand(33, 70), rand(70, 45)
case("matmul", "odd_sizes", {"a": a, "b": b}, a @ b)

x, w, bb = rand(2, 3, 8), rand(5, 8), rand(5)
case("linear", "bias", {"x": x, "w": w, "bias": bb}, F.linear(x, w, bb))
x, w = rand(7, 16), rand(9, 16)
case("linear", "no_bias", {"x": x, "w": w}, F.linear(x, w))

x, w, bb = rand(1, 3, 32, 48), rand(8, 3, 16, 16, lo=-0.1, hi=0.1), rand(8)
case("conv2d", "patch16_stride16", {"x": x, "w": w, "bias": bb}, F.conv2d(x, w, bb, stride=16), stride=[16, 16], padding=[0, 0])
x, w = rand(2, 6, 5, 7), rand(4, 6, 1, 1)
case("conv2d", "1x1_no_bias", {"x": x, "w": w}, F.conv2d(x, w), stride=[1, 1], padding=[0, 0])
x, w = rand(1, 5, 6, 7), rand(4, 5, 3, 3)
case("conv2d", "3x3_pad1", {"x": x, "w": w}, F.conv2d(x, w, padding=1), stride=[1, 1], padding=[1, 1])
x, w, bb = rand(2, 1, 8, 6), rand(4, 1, 2, 2), rand(4)
case("conv2d", "2x2_stride2", {"x": x, "w": w, "bias": bb}, F.conv2d(x, w, bb, stride=2), stride=[2, 2], padding=[0, 0])

x = rand(2, 2, 5, 6)
case("im2col", "3x3_pad1", {"x": x}, F.unfold(x, (3, 3), padding=1, stride=1), kernel=[3, 3], stride=[1, 1], padding=[1, 1])
case("im2col", "2x3_stride2", {"x": x}, F.unfold(x, (2, 3), padding=0, stride=2), kernel=[2, 3], stride=[2, 2], padding=[0, 0])

x, w, bb = rand(2, 6, 4, 5), rand(6, 3, 2, 2), rand(3)
case("conv_transpose2d", "2x2_stride2", {"x": x, "w": w, "bias": bb}, F.conv_transpose2d(x, w, bb, stride=2), stride=2)
x, w = rand(1, 2, 3, 3), rand(2, 3, 3, 3)
case("conv_transpose2d", "3x3_stride2_overlap", {"x": x, "w": w}, F.conv_transpose2d(x, w, stride=2), stride=2)

x, w, bb = rand(3, 4, 10), rand(10), rand(10)
case("layer_norm", "affine_eps1e-6", {"x": x, "w": w, "bias": bb}, F.layer_norm(x, (10,), w, bb, 1e-6), eps=1e-6)
x = rand(5, 32) * 3 + 100
# Values near 100 have a float32 ulp of 7.6e-6, so PyTorch's float32 statistics are off by ~1 ulp of the input
# (3e-6 after normalisation). The golden for this case is the float64 result, rounded once: the exact answer.
case("layer_norm", "offset_no_affine_eps1e-5_float64", {"x": x},
     F.layer_norm(x.double(), (32,), None, None, 1e-5).float(), eps=1e-5)

x, w, bb = rand(2, 6, 3, 4), rand(6), rand(6)
case("layer_norm2d", "sam", {"x": x, "w": w, "bias": bb}, layer_norm2d(x, w, bb, 1e-6), eps=1e-6)

x = torch.cat([torch.linspace(-10, 10, 801), torch.tensor([0.0, -1e-3, 1e-3, -5.5, 7.25, -30.0, 30.0])])
case("gelu", "erf", {"x": x}, F.gelu(x))
case("relu", "grid", {"x": x}, torch.relu(x))
x = torch.linspace(-30, 30, 601)
case("sigmoid", "grid", {"x": x}, torch.sigmoid(x))

x = rand(4, 7) * 50
case("softmax", "large_logits", {"x": x}, torch.softmax(x, dim=-1))
x = rand(2, 3, 130)
case("softmax", "rank3", {"x": x}, torch.softmax(x, dim=-1))

for op, fn in (("add", torch.add), ("sub", torch.sub), ("mul", torch.mul)):
    a, b = rand(2, 3, 4), rand(4)
    case(op, "trailing", {"a": a, "b": b}, fn(a, b))
    a, b = rand(2, 1, 4), rand(3, 1)
    case(op, "both_sides", {"a": a, "b": b}, fn(a, b))
a, b = rand(2, 3, 4), rand(3, 1, lo=0.5, hi=2.0)
case("div", "broadcast", {"a": a, "b": b}, a / b)
a, b = rand(1), rand(2, 2)
case("add", "scalar_like", {"a": a, "b": b}, a + b)
x = rand(3, 5)
case("scale", "by_0.125", {"x": x}, x * 0.125, s=0.125)

x = rand(2, 3, 4, 5)
case("permute", "0231", {"x": x}, x.permute(0, 2, 3, 1), dims=[0, 2, 3, 1])
case("permute", "3102", {"x": x}, x.permute(3, 1, 0, 2), dims=[3, 1, 0, 2])

a, b, c = rand(2, 3, 4), rand(2, 1, 4), rand(2, 2, 4)
case("concat", "dim1", {"t0": a, "t1": b, "t2": c}, torch.cat([a, b, c], dim=1), dim=1)
a, b = rand(2, 3), rand(2, 5)
case("concat", "dim-1", {"t0": a, "t1": b}, torch.cat([a, b], dim=-1), dim=-1)
x = rand(3, 5, 4)
case("slice", "dim1", {"x": x}, x.narrow(1, 1, 3), dim=1, start=1, length=3)

x = rand(2, 9, 11, 3)
win, hp, wp = window_partition(x, 4)
case("window_partition", "padded", {"x": x}, win, ws=4, hp=hp, wp=wp)
x = rand(1, 16, 18, 4)
win, hp, wp = window_partition(x, 7)
case("window_partition", "sam_like", {"x": x}, win, ws=7, hp=hp, wp=wp)
win = rand(2 * 3 * 3, 4, 4, 3)
case("window_unpartition", "crop", {"windows": win}, window_unpartition(win, 4, 12, 12, 9, 11), ws=4, hp=12, wp=12, h=9, w=11)

x = rand(1, 2, 5, 7)
case("interpolate_bilinear", "up_odd", {"x": x}, F.interpolate(x, (12, 9), mode="bilinear", align_corners=False), size=[12, 9])
x = rand(1, 1, 16, 16)
case("interpolate_bilinear", "down", {"x": x}, F.interpolate(x, (5, 7), mode="bilinear", align_corners=False), size=[5, 7])
x = rand(2, 1, 8, 8)
case("interpolate_bilinear", "x4", {"x": x}, F.interpolate(x, (32, 32), mode="bilinear", align_corners=False), size=[32, 32])

t = rand(27, 4)
case("rel_pos_lookup", "square14", {"table": t}, get_rel_pos(14, 14, t), q=14, k=14, exact=True)
t = rand(5, 3)
case("rel_pos_lookup", "resized", {"table": t}, get_rel_pos(6, 6, t), q=6, k=6)
t = rand(15, 3)
case("rel_pos_lookup", "q4_k8", {"table": t}, get_rel_pos(4, 8, t), q=4, k=8, exact=True)

q, k, v = rand(3, 12, 8), rand(3, 12, 8), rand(3, 12, 8)
case("attention", "plain", {"q": q, "k": k, "v": v}, attention_ref(q, k, v, 8 ** -0.5), scale=8 ** -0.5)
q, k, v = rand(2, 5, 16), rand(2, 70, 16), rand(2, 70, 6)
case("attention", "cross_70_keys", {"q": q, "k": k, "v": v}, attention_ref(q, k, v, 0.25), scale=0.25)
qh, qw, d = 3, 4, 8
q, k, v = rand(2, qh * qw, d) * 2, rand(2, qh * qw, d) * 2, rand(2, qh * qw, d)
rh, rw = get_rel_pos(qh, qh, rand(2 * qh - 1, d)), get_rel_pos(qw, qw, rand(2 * qw - 1, d))
case("attention", "rel_pos", {"q": q, "k": k, "v": v, "relH": rh, "relW": rw},
     attention_ref(q, k, v, 0.125, (rh, rw, qh, qw, qh, qw)), scale=0.125, qh=qh, qw=qw, kh=qh, kw=qw)
qh, qw, d = 9, 10, 16  # more rows than one 64-query tile
q, k, v = rand(1, qh * qw, d) * 2, rand(1, qh * qw, d) * 2, rand(1, qh * qw, d)
rh, rw = get_rel_pos(qh, qh, rand(2 * qh - 1, d)), get_rel_pos(qw, qw, rand(2 * qw - 1, d))
case("attention", "rel_pos_two_tiles", {"q": q, "k": k, "v": v, "relH": rh, "relW": rw},
     attention_ref(q, k, v, 0.25, (rh, rw, qh, qw, qh, qw)), scale=0.25, qh=qh, qw=qw, kh=qh, kw=qw)

coords, g = rand(3, 5, 2, lo=0.0, hi=1.0), rand(2, 6) * 3
case("fourier_pe", "random", {"coords": coords, "gaussian": g}, fourier_pe(coords, g))

x = torch.tensor([[1.0, 3.0, 3.0, 2.0], [-1.0, -1.0, -2.0, -5.0], [0.0, 0.0, 0.0, 0.0]])
case("argmax", "ties", {"x": x}, torch.argmax(x, dim=-1))
x = rand(5, 9)
case("argmax", "random", {"x": x}, torch.argmax(x, dim=-1))

meta = {
    "generator": "tools/reference/ops_golden.py",
    "command": "python3 tools/reference/ops_golden.py",
    "torch": torch.__version__,
    "numpy": np.__version__,
    "python": sys.version.split()[0],
    "layout": "tensors <op>/<case>/<input> and <op>/<case>/output; cases: the case list in order, with parameters",
    "cases": json.dumps(cases, separators=(",", ":")),
}


def outputs_from_json(path):
    """--outputs-from OLD.json: keep the PyTorch outputs of an older ops.json (the JSON format this file replaced),
    after checking that its cases, parameters and inputs are exactly the ones computed above. GEMM-like outputs
    depend on the machine's BLAS kernels by a few ulps; this keeps committed values stable across a format change."""
    with open(path) as f:
        old = json.load(f)
    if [(c["op"], c["name"]) for c in old["cases"]] != [(c["op"], c["name"]) for c in cases]:
        sys.exit(f"{path}: not the same case list")
    for c, o in zip(cases, old["cases"]):
        key = f"{c['op']}/{c['name']}/"
        if o["params"] != c["params"] or sorted(o["inputs"]) != sorted(c["inputs"]):
            sys.exit(f"{path}: {key} has other parameters or inputs")
        for k in c["inputs"]:
            ref = np.array(o["inputs"][k]["data"], dtype=np.float32).reshape(o["inputs"][k]["shape"])
            if not np.array_equal(ref.view(np.uint32), tensors[key + k].view(np.uint32)):
                sys.exit(f"{path}: input {key + k} differs from the one generated here")
        out = o["output"]
        tensors[key + "output"] = (np.array(out["ints"], dtype=np.int64) if "ints" in out
                                   else np.array(out["data"], dtype=np.float32)).reshape(out["shape"])
    meta["outputs"] = (f"PyTorch outputs kept from {os.path.basename(path)} (torch {old['torch']}, numpy {old['numpy']},"
                       f" python {old['python']}); inputs and parameters regenerated here and checked identical")


if "--outputs-from" in sys.argv:
    outputs_from_json(sys.argv[sys.argv.index("--outputs-from") + 1])
os.makedirs(os.path.dirname(OUT), exist_ok=True)
size = golden_file.write(OUT, tensors, meta)
print(f"wrote {len(cases)} cases to {os.path.normpath(OUT)} ({size} bytes)")
