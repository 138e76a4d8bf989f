#!/usr/bin/env python3
"""An independent safetensors writer and reader (struct + json + numpy/torch, no code shared with segsam).

    python3 tools/reference/safetensors_fixture.py write
        writes io/src/test/resources/safetensors/reference.safetensors and reference.expected.json
        (every tensor's dtype, shape and values as numbers, decoded here by numpy/torch)
    python3 tools/reference/safetensors_fixture.py verify FILE
        reads FILE (e.g. the file segsam's writer produced, java-written.safetensors) with this script's own parser,
        checks the layout rules of the format and prints every tensor; exit status 1 on any violation.
"""
import json
import struct
import sys

import numpy as np
import torch

DIR = "io/src/test/resources/safetensors/"
NP = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32, "I16": np.int16,
      "I8": np.int8, "U8": np.uint8, "U16": np.uint16, "U32": np.uint32, "U64": np.uint64, "BOOL": np.bool_}
SIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "U16": 2,
        "U32": 4, "U64": 8, "BOOL": 1}


def tensors():
    g = torch.Generator().manual_seed(7)
    return {
        "weight.f32": ("F32", torch.randn(3, 4, generator=g)),
        "special.f32": ("F32", torch.tensor([0.0, -0.0, float("inf"), float("-inf"), 1e-45, 3.4028235e38])),
        "half.f16": ("F16", torch.tensor([1.5, -2.25, 65504.0, 6.1e-5, 0.0, -1.0]).to(torch.float16)),
        "brain.bf16": ("BF16", torch.tensor([[3.140625, -1.0], [1e30, -2.5e-20]]).to(torch.bfloat16)),
        "double.f64": ("F64", torch.tensor([1.0 / 3.0, -2.0], dtype=torch.float64)),
        "ids.i64": ("I64", torch.tensor([0, -1, 2 ** 40, -(2 ** 62)], dtype=torch.int64)),
        "ids.i32": ("I32", torch.tensor([[7, -8], [2 ** 31 - 1, -(2 ** 31)]], dtype=torch.int32)),
        "small.i16": ("I16", torch.tensor([-32768, 32767, 5], dtype=torch.int16)),
        "small.i8": ("I8", torch.tensor([-128, 127], dtype=torch.int8)),
        "bytes.u8": ("U8", torch.tensor([0, 255, 128], dtype=torch.uint8)),
        "mask.bool": ("BOOL", torch.tensor([True, False, True])),
        "scalar.f32": ("F32", torch.tensor(2.5)),
        "empty.f32": ("F32", torch.zeros(0, 3)),
    }


def raw(dtype, t):
    if dtype == "BF16":
        return t.contiguous().view(torch.int16).numpy().astype("<i2").tobytes()
    return t.contiguous().numpy().astype(np.dtype(NP[dtype]).newbyteorder("<")).tobytes()


def write():
    # deliberately NOT the reference writer's order (that one sorts by alignment): a reader must not care
    items = sorted(tensors().items(), key=lambda kv: kv[0])
    header, blobs, off = {"__metadata__": {"format": "pt", "written_by": "tools/reference/safetensors_fixture.py"}}, [], 0
    for name, (dtype, t) in items:
        b = raw(dtype, t)
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(DIR + "reference.safetensors", "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    expected = {"command": "python3 tools/reference/safetensors_fixture.py write", "torch": torch.__version__, "tensors": {}}
    for name, (dtype, t) in items:
        vals = t.to(torch.float64).reshape(-1).tolist() if dtype.startswith(("F", "B")) and dtype != "BOOL" else t.reshape(-1).tolist()
        vals = [v if not isinstance(v, float) or np.isfinite(v) else str(v) for v in vals]
        expected["tensors"][name] = {"dtype": dtype, "shape": list(t.shape), "values": vals}
    with open(DIR + "reference.expected.json", "w") as f:
        json.dump(expected, f, indent=1)
    print("wrote", DIR + "reference.safetensors", "and reference.expected.json")


def verify(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    problems = []
    if (8 + n) % 8:
        problems.append(f"header not padded to 8 bytes: N = {n}")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    spans = []
    for name, info in header.items():
        b, e = info["data_offsets"]
        spans.append((b, e, name))
        dtype = info["dtype"]
        count = int(np.prod(info["shape"])) if info["shape"] else 1
        if e - b != count * SIZE[dtype]:
            problems.append(f"{name}: span {e - b} != {count} x {SIZE[dtype]}")
        if b % SIZE[dtype]:
            problems.append(f"{name}: data not aligned to its {SIZE[dtype]}-byte dtype")
        buf = data[8 + n + b:8 + n + e]
        if dtype == "BF16":
            vals = torch.from_numpy(np.frombuffer(buf, "<i2").copy()).view(torch.bfloat16).float().tolist()
        else:
            vals = np.frombuffer(buf, np.dtype(NP[dtype]).newbyteorder("<")).tolist()
        print(f"{name} {dtype} {info['shape']} {vals}")
    spans.sort()
    pos = 0
    for b, e, name in spans:
        if b != pos:
            problems.append(f"{name}: begins at {b}, expected {pos} (hole or overlap)")
        pos = e
    if 8 + n + pos != len(data):
        problems.append(f"file size {len(data)} != 8 + {n} + {pos}")
    print("metadata", json.dumps(meta, sort_keys=True))
    print("OK" if not problems else "PROBLEMS:\n  " + "\n  ".join(problems))
    return 0 if not problems else 1


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "write":
        write()
    elif len(sys.argv) == 3 and sys.argv[1] == "verify":
        sys.exit(verify(sys.argv[2]))
    else:
        print(__doc__)
        sys.exit(2)
