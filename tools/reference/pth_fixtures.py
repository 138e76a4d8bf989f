#!/usr/bin/env python3
"""PyTorch .pth fixtures for segsam's restricted checkpoint reader (torch.save / torch.load only, no code shared
with segsam).

    python3 tools/reference/pth_fixtures.py write
        writes small checkpoints into io/src/test/resources/pth/ with torch.save, plus pth.expected.json: for every
        file, what torch.load makes of it (names in order, dtype, shape, stride, storage offset and every value as
        torch decodes it), which entries a state-dict reader must skip, which files must be refused, and the pickle
        opcodes and globals each file uses (from pickletools). Nothing here ever torch.loads a hostile file.
    python3 tools/reference/pth_fixtures.py verify FILE
        torch.loads FILE (e.g. java-written.pth, produced by segsam's PthWriter) with weights_only=True, prints every
        tensor, checks the zip layout torch's writer uses (records stored, data 64-byte aligned, version and
        byteorder records) and ends with OK or PROBLEMS; exit status 1 on any problem.
"""
import collections
import json
import math
import os
import pickletools
import re
import struct
import sys
import zipfile

import torch
import torch.nn as nn

DIR = "io/src/test/resources/pth/"
SPEC = os.path.join(os.path.dirname(__file__), "../../docs/design/sam.md")
PWNED = "/tmp/segsam-pth-pwned"  # the hostile fixtures would create this file if anything executed them


# ---------------------------------------------------------------------------------------------------- content

class Tiny(nn.Module):
    """A small module so that state_dict() carries the usual _metadata attribute and parameter/buffer order."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(11)
        self.lin = nn.Linear(3, 2)
        with torch.no_grad():
            self.lin.weight.copy_(torch.randn(2, 3, generator=g))
            self.lin.bias.copy_(torch.tensor([0.5, -0.25]))
        self.norm = nn.BatchNorm1d(2)  # running_mean, running_var, and an int64 0-d num_batches_tracked
        base = torch.randn(4, 5, generator=g)  # one storage, viewed five ways below
        self.register_buffer("shared_whole", base)            # contiguous, offset 0
        self.register_buffer("shared_row", base[2])           # contiguous, storage offset 10
        self.register_buffer("t_view", base.t())              # transposed: stride (1, 5)
        self.register_buffer("slice", base[1:3, 2:])          # storage offset 7, stride (5, 1)
        self.register_buffer("expanded", torch.tensor([7.0]).expand(2, 3))  # stride (0, 0)
        self.register_buffer("special", torch.tensor([0.0, -0.0, math.inf, -math.inf, math.nan, 1e-45, 3.4028235e38]))
        self.register_buffer("f16", torch.tensor([1.5, -2.25, 65504.0, 6.1e-5, -0.0, math.inf]).to(torch.float16))
        self.register_buffer("f16_t", torch.arange(6, dtype=torch.float16).reshape(2, 3).t())
        self.register_buffer("bf16", torch.tensor([[3.140625, -1.0], [1e30, -2.5e-20]]).to(torch.bfloat16))
        self.register_buffer("f64", torch.tensor([1.0 / 3.0, -2.0], dtype=torch.float64))
        self.register_buffer("ids", torch.tensor([0, -1, 2 ** 40, -(2 ** 62)], dtype=torch.int64))
        self.register_buffer("ids_t", torch.tensor([[1, 2, 3], [4, 5, 6]], dtype=torch.int64).t())
        self.register_buffer("i32", torch.tensor([7, -8, 2 ** 31 - 1, -(2 ** 31)], dtype=torch.int32))
        self.register_buffer("i16", torch.tensor([-32768, 32767], dtype=torch.int16))
        self.register_buffer("i8", torch.tensor([-128, 127], dtype=torch.int8))
        self.register_buffer("u8", torch.tensor([0, 255, 128], dtype=torch.uint8))
        self.register_buffer("mask", torch.tensor([True, False, True]))
        self.register_buffer("scalar", torch.tensor(2.5))
        self.register_buffer("empty", torch.zeros(0, 3))


def plain_state_dict():
    sd = Tiny().state_dict()  # an OrderedDict with _metadata
    # state_dict() detaches parameters; a real nn.Parameter is pickled through torch._utils._rebuild_parameter
    sd["param"] = nn.Parameter(torch.tensor([[1.0, 2.0]]))
    return sd


def trained(model):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.ones(4, 3)).sum().backward()
    opt.step()
    return opt


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(5)
        self.lin = nn.Linear(3, 2)

    def forward(self, x):
        return self.lin(x)


class Evil:
    """Pickles as a call of os.system (posix.system on Linux): torch.load would run the command."""

    def __reduce__(self):
        return os.system, ("echo pwned > " + PWNED,)


class EvilEval:
    """Pickles as a call of builtins.eval (__builtin__.eval at protocol 2)."""

    def __reduce__(self):
        return eval, ("__import__('os').system('echo pwned > " + PWNED + "')",)


def sam_vit_b_shapes():
    """The 314 (name, shape) pairs of sam_vit_b in state_dict() order, from docs/design/sam.md Appendix A."""
    text = open(SPEC).read()
    block = text[text.index("## Appendix A"):]
    block = block[block.index("```") + 3:]
    block = block[:block.index("```")]
    out = []
    for line in block.strip().splitlines():
        m = re.fullmatch(r"(\S+) \[([0-9, ]+)\]", line.strip())
        out.append((m.group(1), [int(x) for x in m.group(2).split(",")]))
    return out


def sam_shaped_state_dict():
    """sam_vit_b's names and shapes, every tensor a stride-0 view of one 1-element storage (so the file is tiny),
    with a _metadata attribute like a real state_dict(): the pickle has the structure and opcodes of the real file."""
    one = torch.tensor([0.5])
    sd = collections.OrderedDict((n, one.expand(*s)) for n, s in sam_vit_b_shapes())
    meta = collections.OrderedDict([("", {"version": 1})])
    for n in sd:
        parts = n.split(".")[:-1]
        for i in range(1, len(parts) + 1):
            meta.setdefault(".".join(parts[:i]), {"version": 1})
    sd._metadata = meta
    return sd


# ---------------------------------------------------------------------------------------------------- helpers

def dtype_name(t):
    return str(t.dtype).replace("torch.", "")


def values(t):
    if t.dtype.is_floating_point:
        out = t.to(torch.float64).reshape(-1).tolist()
        return [v if math.isfinite(v) else str(v) for v in out]
    return t.reshape(-1).tolist()


def describe(t):
    return {"dtype": dtype_name(t), "shape": list(t.shape), "stride": list(t.stride()),
            "storage_offset": t.storage_offset(), "values": values(t)}


def pickle_of(path):
    with zipfile.ZipFile(path) as z:
        name = next(n for n in z.namelist() if re.fullmatch(r"[^/]+/data\.pkl", n))
        return z.read(name)


def opcodes_and_globals(path):
    ops, globs = set(), set()
    for op, arg, _ in pickletools.genops(pickle_of(path)):
        ops.add(op.name)
        if op.name == "GLOBAL":
            globs.add(arg.replace(" ", "."))
    return sorted(ops), sorted(globs)


def tensors_of(sd):
    return {k: describe(v) for k, v in sd.items() if isinstance(v, torch.Tensor)}


# ---------------------------------------------------------------------------------------------------- write

def write():
    os.makedirs(DIR, exist_ok=True)
    files = {}

    def save(name, obj, **kw):
        torch.save(obj, DIR + name, **kw)

    sd = plain_state_dict()
    save("plain.pth", sd)
    files["plain.pth"] = {"state_dict_key": None, "names": list(sd.keys()), "tensors": tensors_of(sd),
                          "has_metadata_attribute": hasattr(sd, "_metadata")}

    save("protocol4.pth", sd, pickle_protocol=4)
    files["protocol4.pth"] = {"same_as": "plain.pth", "pickle_protocol": 4}

    # MedSAM-style training checkpoint: DataParallel names ("module." prefix, kept as is), the optimizer's
    # state_dict() (plain data), and assorted scalars; plus two non-tensor values inside the state dict.
    model = nn.DataParallel(Small())
    opt = trained(model)
    msd = model.state_dict()
    msd["note"] = "hello"
    msd["count"] = 7
    nested = {"model": msd, "epoch": 3, "best": -5, "seen": 2 ** 40, "lr": 1e-4, "name": "medsam",
              "optimizer": opt.state_dict()}
    save("nested.pth", nested)
    files["nested.pth"] = {"state_dict_key": "model", "names": [k for k, v in msd.items() if isinstance(v, torch.Tensor)],
                           "tensors": tensors_of(msd), "skipped_in_state_dict": ["note", "count"],
                           "skipped_top_level": ["epoch", "best", "seen", "lr", "name", "optimizer"]}

    # SAM-Med2D-style: {"model": state_dict, "optimizer": <the optimizer object itself>}
    small = Small()
    opt = trained(small)
    osd = small.state_dict()
    save("nested_object.pth", {"model": osd, "optimizer": opt})
    files["nested_object.pth"] = {"state_dict_key": "model", "names": list(osd.keys()), "tensors": tensors_of(osd),
                                  "skipped_top_level": ["optimizer"]}

    # a module object as a value of the state dict: torch.load would build (run) torch.nn code for it
    save("module_in_state_dict.pth", collections.OrderedDict(w=torch.ones(2), head=nn.Linear(2, 2)))
    files["module_in_state_dict.pth"] = {"refused": "torch.nn.modules.linear.Linear"}

    save("hostile_system.pth", Evil())
    files["hostile_system.pth"] = {"refused": "posix.system", "side_effect": PWNED}
    save("hostile_eval.pth", collections.OrderedDict(w=torch.ones(2), x=EvilEval()))
    files["hostile_eval.pth"] = {"refused": "__builtin__.eval", "side_effect": PWNED}
    save("hostile_hidden.pth", {"model": collections.OrderedDict(w=torch.ones(2)), "optimizer": Evil()})
    files["hostile_hidden.pth"] = {"refused": "posix.system", "side_effect": PWNED}

    save("legacy.pth", sd, _use_new_zipfile_serialization=False)
    files["legacy.pth"] = {"legacy": True}

    data = open(DIR + "plain.pth", "rb").read()
    cut = len(data) * 3 // 5
    open(DIR + "truncated.pth", "wb").write(data[:cut])
    files["truncated.pth"] = {"truncated_from": "plain.pth", "bytes": cut}

    sam = sam_shaped_state_dict()
    save("sam_vit_b_shaped.pth", sam)
    files["sam_vit_b_shaped.pth"] = {"state_dict_key": None, "names": list(sam.keys()),
                                     "shapes": [list(v.shape) for v in sam.values()],
                                     "numel": sum(v.numel() for v in sam.values()), "fill": 0.5}

    for name, entry in files.items():
        if name.endswith(".pth") and "legacy" not in entry and "truncated_from" not in entry:
            entry["opcodes"], entry["globals"] = opcodes_and_globals(DIR + name)
            with zipfile.ZipFile(DIR + name) as z:
                entry["records"] = sorted(z.namelist())[:12]
                entry["byteorder_record"] = any(n.endswith("/byteorder") for n in z.namelist())

    # what torch.load itself makes of the safe files (so the expectations above are torch's decoding, not ours)
    for name in ("plain.pth", "protocol4.pth", "nested.pth", "nested_object.pth", "legacy.pth"):
        loaded = torch.load(DIR + name)
        sd_loaded = loaded["model"] if "model" in loaded else loaded
        ref = files["plain.pth"] if name in ("protocol4.pth", "legacy.pth") else files[name]
        assert tensors_of(sd_loaded) == ref["tensors"], name

    out = {"command": "python3 tools/reference/pth_fixtures.py write", "torch": torch.__version__,
           "python": sys.version.split()[0], "files": files}
    with open(DIR + "pth.expected.json", "w") as f:
        json.dump(out, f, indent=1)
    print("wrote", ", ".join(sorted(files)), "and pth.expected.json into", DIR)


# ---------------------------------------------------------------------------------------------------- verify

def verify(path):
    problems = []
    raw = open(path, "rb").read()
    if raw[:4] != b"PK\x03\x04":
        problems.append("does not start with PK\\x03\\x04")
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        tops = {n.split("/")[0] for n in names}
        print("records", names)
        if tops != {"archive"}:
            problems.append(f"top folders {sorted(tops)}, expected ['archive']")
        for info in z.infolist():
            if info.compress_type != zipfile.ZIP_STORED:
                problems.append(f"{info.filename} is compressed")
            name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26:info.header_offset + 30])
            start = info.header_offset + 30 + name_len + extra_len
            if "/data/" in info.filename and start % 64:
                problems.append(f"{info.filename}: data starts at {start}, not 64-byte aligned")
        if z.read("archive/version").strip() != b"3":
            problems.append(f"version record {z.read('archive/version')!r}")
        if z.read("archive/byteorder") != b"little":
            problems.append(f"byteorder record {z.read('archive/byteorder')!r}")
    ops, globs = opcodes_and_globals(path)
    print("opcodes", " ".join(ops))
    print("globals", " ".join(globs))
    sd = torch.load(path, weights_only=True)
    print("type", type(sd).__name__)
    for name, t in sd.items():
        print(f"{name} {dtype_name(t)} {list(t.shape)} stride={list(t.stride())} {values(t)}")
    print("OK" if not problems else "PROBLEMS:\n  " + "\n  ".join(problems))
    return 0 if not problems else 1


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "write":
        write()
    elif len(sys.argv) == 3 and sys.argv[1] == "verify":
        sys.exit(verify(sys.argv[2]))
    else:
        print(__doc__)
        sys.exit(2)
