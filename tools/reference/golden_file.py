"""A minimal safetensors writer and reader for the golden files of the reference scripts (numpy arrays in, numpy out).

The format (docs/design/stack.md §5): 8 bytes little-endian header length N, N bytes of JSON header (padded with
spaces to a multiple of 8), then the tensors' little-endian bytes back to back. Header entries are
{"dtype", "shape", "data_offsets": [begin, end]} relative to the data start, plus "__metadata__", a map of strings
to strings. Written by hand (a few lines) because Debian 12 packages no Python safetensors library.
"""
import json
import struct

import numpy as np

DTYPES = {np.dtype("float32"): "F32", np.dtype("float64"): "F64", np.dtype("uint8"): "U8", np.dtype("int64"): "I64",
          np.dtype("int32"): "I32"}
NUMPY = {v: k for k, v in DTYPES.items()}


def write(path, tensors, metadata):
    """tensors: {name: numpy array}; metadata: {str: str}. Tensors are stored in name order, little-endian, C order."""
    for k, v in metadata.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(f"metadata must map strings to strings: {k!r}")
    header, blobs, off = {"__metadata__": metadata}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        if a.dtype not in DTYPES:
            raise TypeError(f"{name}: dtype {a.dtype} not supported")
        raw = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": DTYPES[a.dtype], "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for raw in blobs:
            f.write(raw)
    return 8 + len(h) + off


def read(path):
    """(tensors {name: numpy array}, metadata {str: str}) of a file written by write()."""
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    out = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        dt = NUMPY[e["dtype"]].newbyteorder("<")
        out[name] = np.frombuffer(data[8 + n + b:8 + n + end], dtype=dt).reshape(e["shape"])
    return out, meta
