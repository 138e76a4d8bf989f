#!/usr/bin/env python3
"""Golden values for segsam's image preprocessing (SAM and MedSAM), computed with the Python libraries themselves.

Run once (Debian 12: apt-get install python3-pil python3-skimage python3-torch python3-numpy):

    /usr/bin/python3 tools/reference/preprocess_golden.py

It writes model/src/test/resources/golden/preprocess.safetensors, recording the command and the library versions.
The Java tests (PreprocessGoldenTest) regenerate the same input images from the tiny generators below and compare.

What is reproduced, written from docs/design/sam.md (§4, §13), independently of the Java code:

* SAM (segment_anything SamPredictor.set_image): ResizeLongestSide.get_preprocess_shape, then the resize that
  torchvision's PIL path performs, i.e. Pillow ``Image.resize((neww, newh), BILINEAR)`` (torchvision itself is not
  installed here; for PIL input its ``resize`` is exactly that call), then ``Sam.preprocess`` in torch: float32
  ``(x - pixel_mean) / pixel_std`` and ``F.pad`` with zeros on the right and bottom. apply_coords / apply_boxes
  as in utils/transforms.py (float64 numpy maths, then torch.float).
* MedSAM (MedSAM_Inference.py): ``skimage.transform.resize(img, (S, S), order=3, preserve_range=True,
  anti_aliasing=True).astype(np.uint8)``, then ``(x - min) / np.clip(max - min, 1e-8, None)``, ``torch.tensor(...)
  .float()``; boxes ``box / [W, H, W, H] * S``.

Input images are never stored: both sides generate them from a 64-bit LCG (``lcg_bytes``) or from an integer-only
"phantom" formula (``phantom``). The file is safetensors: its ``__metadata__`` holds, per section (pillow, sam,
sam_shapes, sam_coords, skimage, medsam, libm_exp), the list of cases as JSON — inputs, parameters, SHA-256 hashes,
samples, coordinates — and wherever a case keeps a full output, the name of the tensor holding it: uint8 images
(U8 [h, w, 3]), float32 tensors (F32) and float64 resize results (F64), stored in full when small. Large outputs are
kept as SHA-256 plus a few samples; MedSAM's uint8 images, which the test needs to measure a difference, are stored
as gzip streams (U8 [n], ``u8_gz``, with their shape beside them) because two of them are 1024² phantoms that
compress to a quarter.
"""
import gzip
import hashlib
import json
import math
import os
import platform
import subprocess
import sys

import numpy as np
import PIL
import scipy
import skimage
import torch
import torch.nn.functional as F
from PIL import Image
from skimage import transform

import golden_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "model", "src", "test", "resources",
                   "golden", "preprocess.safetensors")

MASK64 = (1 << 64) - 1
LCG_A = 6364136223846793005
LCG_C = 1442695040888963407


def lcg_bytes(n, seed):
    """n bytes: s <- s*A + C (mod 2^64), byte = top 8 bits of s."""
    s = seed & MASK64
    out = bytearray(n)
    for i in range(n):
        s = (s * LCG_A + LCG_C) & MASK64
        out[i] = s >> 56
    return out


def noise(w, h, seed):
    """uint8 [h, w, 3] of LCG bytes, row-major, channels interleaved."""
    return np.frombuffer(bytes(lcg_bytes(w * h * 3, seed)), dtype=np.uint8).reshape(h, w, 3).copy()


def phantom(w, h, seed):
    """A grey CT-like test image (integer maths only), uint8 [h, w]: dark background, an elliptic body with LCG
    texture, and two bright discs."""
    tex = np.frombuffer(bytes(lcg_bytes(w * h, seed)), dtype=np.uint8).reshape(h, w).astype(np.int64)
    y, x = np.mgrid[0:h, 0:w].astype(np.int64)
    cx, cy = w // 2, h // 2
    rx, ry = max(1, w * 2 // 5), max(1, h * 2 // 5)
    body = (x - cx) ** 2 * ry * ry + (y - cy) ** 2 * rx * rx <= rx * rx * ry * ry
    m = max(1, min(w, h))
    d1 = (x - (cx - w // 8)) ** 2 + (y - cy) ** 2 <= (m // 8) ** 2
    d2 = (x - (cx + w // 6)) ** 2 + (y - (cy - h // 10)) ** 2 <= (m // 12) ** 2
    v = np.zeros((h, w), dtype=np.int64)
    v[body] = 70 + tex[body] % 17 - 8
    v[d1] = 130 + tex[d1] % 9 - 4
    v[d2] = 210 + tex[d2] % 9 - 4
    return np.clip(v, 0, 255).astype(np.uint8)


def phantom_rgb(w, h, seed):
    g = phantom(w, h, seed)
    return np.repeat(g[:, :, None], 3, axis=-1)


def make(spec):
    kind, w, h, seed = spec["kind"], spec["w"], spec["h"], spec["seed"]
    return noise(w, h, seed) if kind == "noise" else phantom_rgb(w, h, seed)


TENSORS = {}  # the full outputs, by tensor name; the cases refer to them by name


def keep(name, array):
    """Stores ``array`` as tensor ``name`` of the golden file and returns the name (what the case records)."""
    if name in TENSORS:
        raise ValueError("duplicate tensor " + name)
    TENSORS[name] = np.ascontiguousarray(array)
    return name


def keep_gz(name, raw):
    """Stores the gzip stream of ``raw`` (bytes) as a U8 tensor ``name``."""
    return keep(name, np.frombuffer(gzip.compress(raw, compresslevel=9, mtime=0), dtype=np.uint8))


def sha(raw):
    return hashlib.sha256(raw).hexdigest()


def samples(arr, n=64, seed=7):
    flat = arr.reshape(-1)
    rng = np.random.RandomState(seed)
    idx = np.sort(rng.choice(flat.size, size=min(n, flat.size), replace=False))
    return {"index": [int(i) for i in idx], "value": [float(flat[i]) if flat.dtype.kind == "f" else int(flat[i]) for i in idx]}


# ----------------------------------------------------------------------------------------------- SAM (segment_anything)

def get_preprocess_shape(oldh, oldw, long_side_length):
    scale = long_side_length * 1.0 / max(oldh, oldw)
    newh, neww = oldh * scale, oldw * scale
    neww = int(neww + 0.5)
    newh = int(newh + 0.5)
    return (newh, neww)


def pil_resize(arr, neww, newh):
    return np.array(Image.fromarray(arr, mode="RGB").resize((neww, newh), Image.Resampling.BILINEAR))


PIXEL_MEAN = torch.Tensor([123.675, 116.28, 103.53]).view(-1, 1, 1)
PIXEL_STD = torch.Tensor([58.395, 57.12, 57.375]).view(-1, 1, 1)


def sam_preprocess(arr, size):
    newh, neww = get_preprocess_shape(arr.shape[0], arr.shape[1], size)
    resized = pil_resize(arr, neww, newh)
    x = torch.as_tensor(resized).permute(2, 0, 1).contiguous()[None, :, :, :]
    x = (x - PIXEL_MEAN) / PIXEL_STD
    h, w = x.shape[-2:]
    x = F.pad(x, (0, size - w, 0, size - h))
    return resized, x.contiguous().numpy().astype("<f4")


def apply_coords(coords, original_size, target_length):
    old_h, old_w = original_size
    new_h, new_w = get_preprocess_shape(original_size[0], original_size[1], target_length)
    coords = np.array(coords, dtype=float).copy()
    coords[..., 0] = coords[..., 0] * (new_w / old_w)
    coords[..., 1] = coords[..., 1] * (new_h / old_h)
    return torch.as_tensor(coords, dtype=torch.float).numpy()


def apply_boxes(boxes, original_size, target_length):
    b = apply_coords(np.array(boxes, dtype=float).reshape(-1, 2, 2), original_size, target_length)
    return b.reshape(-1, 4)


# ----------------------------------------------------------------------------------------------------------- MedSAM

def skimage_resize(arr, oh, ow):
    return transform.resize(arr, (oh, ow), order=3, preserve_range=True, anti_aliasing=True)


def medsam_preprocess(arr, size):
    img = skimage_resize(arr, size, size).astype(np.uint8)
    norm = (img - img.min()) / np.clip(img.max() - img.min(), a_min=1e-8, a_max=None)
    t = torch.tensor(norm).float().permute(2, 0, 1).unsqueeze(0)
    return img, t.contiguous().numpy().astype("<f4")


def medsam_boxes(boxes, H, W, size):
    box_np = np.array(boxes)
    box = box_np / np.array([W, H, W, H]) * size
    return torch.as_tensor(box, dtype=torch.float).numpy()


SKIMAGE_CASES = [
    ({"kind": "noise", "w": 37, "h": 23, "seed": 1}, (64, 64)),
    ({"kind": "noise", "w": 37, "h": 23, "seed": 1}, (40, 50)),
    ({"kind": "noise", "w": 23, "h": 37, "seed": 9}, (40, 50)),
    ({"kind": "noise", "w": 300, "h": 300, "seed": 2}, (64, 64)),
    ({"kind": "noise", "w": 100, "h": 30, "seed": 10}, (50, 60)),
    ({"kind": "noise", "w": 5, "h": 2, "seed": 11}, (1, 1)),
    ({"kind": "noise", "w": 7, "h": 1, "seed": 12}, (5, 3)),
    ({"kind": "noise", "w": 40, "h": 1, "seed": 13}, (1, 8)),
    ({"kind": "phantom", "w": 96, "h": 80, "seed": 14}, (64, 64)),
    ({"kind": "noise", "w": 771, "h": 512, "seed": 4}, (96, 96)),
    ({"kind": "noise", "w": 260, "h": 150, "seed": 15}, (20, 13)),
    ({"kind": "noise", "w": 2000, "h": 90, "seed": 17}, (64, 64)),
]

MEDSAM_CASES = [
    ({"kind": "noise", "w": 37, "h": 23, "seed": 1}, 64, [[3, 2, 30, 20]]),
    ({"kind": "phantom", "w": 512, "h": 512, "seed": 6}, 1024, [[95, 255, 190, 350], [0, 0, 512, 512]]),
    ({"kind": "phantom", "w": 1500, "h": 1100, "seed": 16}, 1024, [[100, 200, 1400, 1000]]),
    ({"kind": "noise", "w": 1500, "h": 1100, "seed": 5}, 128, [[1, 2, 3, 4]]),
    ({"kind": "noise", "w": 300, "h": 300, "seed": 2}, 1024, [[10, 20, 30, 40]]),
]

NO_AVX512 = "AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL"


def exp_flavour():
    """'simd' when numpy.exp (float64) takes a SIMD path that differs from libm (AVX-512 builds), else 'libm'."""
    probe = np.full(64, -2.0)
    return "libm" if float(np.exp(probe)[0]) == math.exp(-2.0) else "simd"


def skimage_cases(full):
    out = []
    for i, (src, (oh, ow)) in enumerate(SKIMAGE_CASES):
        r = skimage_resize(make(src), oh, ow)
        case = {"input": src, "out_h": oh, "out_w": ow, "f64_sha256": sha(r.astype("<f8").tobytes()),
                "u8_sha256": sha(r.astype(np.uint8).tobytes())}
        if full:
            case["u8"] = keep(f"skimage.{i}.u8", r.astype(np.uint8))
            if oh * ow <= 3000:
                case["f64"] = keep(f"skimage.{i}.f64", r.astype(np.float64))
        out.append(case)
    return out


def medsam_cases(full):
    out = []
    for i, (src, size, boxes) in enumerate(MEDSAM_CASES):
        arr = make(src)
        img, x = medsam_preprocess(arr, size)
        H, W = arr.shape[:2]
        case = {"input": src, "size": size, "u8_sha256": sha(img.tobytes()), "tensor_sha256": sha(x.tobytes())}
        if full:
            case["tensor_samples"] = samples(x)
            case["boxes"] = boxes
            case["boxes_out"] = [[float(v) for v in b] for b in medsam_boxes(boxes, H, W, size)]
            grey = bool((img[..., 0] == img[..., 1]).all() and (img[..., 0] == img[..., 2]).all())
            case["u8_channels_equal"] = grey
            # the uint8 image itself, so that a test can measure a difference rather than only see a hash mismatch
            # (left out for the large noise image, which does not compress)
            if grey or img.size <= 65536:
                kept = img[..., 0] if grey else img
                case["u8_gz"] = keep_gz(f"medsam.{i}.u8_gz", kept.tobytes())
                case["u8_gz_shape"] = list(kept.shape)
        out.append(case)
    return out


def main():
    if "--libm-exp-child" in sys.argv:
        print(json.dumps({"numpy_exp": exp_flavour(), "skimage": skimage_cases(full=False),
                          "medsam": medsam_cases(full=False)}))
        return
    doc = {
        "generator": "tools/reference/preprocess_golden.py",
        "command": "/usr/bin/python3 tools/reference/preprocess_golden.py",
        "versions": {"python": platform.python_version(), "numpy": np.__version__, "pillow": PIL.__version__,
                     "scipy": scipy.__version__, "skimage": skimage.__version__, "torch": torch.__version__,
                     "machine": platform.machine()},
        "generators": {"lcg": {"a": LCG_A, "c": LCG_C, "byte": "top 8 bits of the state after each step"}},
    }

    # ---- Pillow resize, full outputs
    pillow = []
    img37 = {"kind": "noise", "w": 37, "h": 23, "seed": 1}
    img300 = {"kind": "noise", "w": 300, "h": 300, "seed": 2}
    for i, (src, (w, h)) in enumerate([(img37, (64, 40)), (img37, (20, 11)), (img37, (37, 50)), (img37, (80, 23)),
                                       (img37, (100, 9)), (img37, (37, 23)), (img37, (1, 1)), (img37, (5, 200)),
                                       (img37, (36, 22)), (img300, (64, 64)), (img300, (299, 173)),
                                       (img300, (1024, 7))]):
        out = pil_resize(make(src), w, h)
        case = {"input": src, "w": w, "h": h, "sha256": sha(out.tobytes())}
        if out.size <= 16384:
            case["rgb"] = keep(f"pillow.{i}.rgb", out)
        pillow.append(case)
    doc["pillow"] = pillow

    # ---- SAM preprocessing
    sam = []
    for i, (src, size) in enumerate([(img37, 64), ({"kind": "noise", "w": 77, "h": 130, "seed": 3}, 64),
                                     (img37, 1024), (img300, 1024),
                                     ({"kind": "noise", "w": 771, "h": 512, "seed": 4}, 1024),
                                     ({"kind": "noise", "w": 1500, "h": 1100, "seed": 5}, 1024),
                                     ({"kind": "phantom", "w": 512, "h": 512, "seed": 6}, 1024),
                                     ({"kind": "phantom", "w": 1100, "h": 1500, "seed": 8}, 256)]):
        resized, x = sam_preprocess(make(src), size)
        case = {"input": src, "size": size, "resized_h": int(resized.shape[0]), "resized_w": int(resized.shape[1]),
                "resized_sha256": sha(resized.tobytes()), "tensor_sha256": sha(x.tobytes()),
                "tensor_samples": samples(x)}
        if size <= 64:
            case["resized_rgb"] = keep(f"sam.{i}.resized_rgb", resized)
            case["tensor"] = keep(f"sam.{i}.tensor", x.astype(np.float32))
        sam.append(case)
    doc["sam"] = sam

    # ---- SAM shapes and coordinates
    rng = np.random.RandomState(20261127)
    shapes = [[1, 1, 1024], [23, 37, 1024], [1100, 1500, 1024], [512, 771, 1024], [683, 1024, 1024],
              [3, 2047, 1024], [2047, 3, 1024], [1365, 2048, 1024], [480, 640, 256], [333, 999, 1024]]
    for _ in range(60):
        shapes.append([int(rng.randint(1, 5000)), int(rng.randint(1, 5000)), int(rng.choice([256, 1024]))])
    doc["sam_shapes"] = [{"old_h": h, "old_w": w, "long_side": s, "new": list(get_preprocess_shape(h, w, s))}
                         for h, w, s in shapes]
    coords = []
    for h, w, s in shapes[:20]:
        pts = [[0.0, 0.0], [w - 1.0, h - 1.0], [w / 3.0, h / 7.0], [10.3, 2.7], [w * 0.5, h * 0.5]]
        pts += [[float(rng.uniform(0, w)), float(rng.uniform(0, h))] for _ in range(5)]
        boxes = [[0.0, 0.0, float(w), float(h)], [w / 4.0, h / 3.0, w * 0.9, h * 0.75]]
        coords.append({"old_h": h, "old_w": w, "long_side": s, "points": pts,
                       "points_out": [[float(v) for v in p] for p in apply_coords(pts, (h, w), s)],
                       "boxes": boxes,
                       "boxes_out": [[float(v) for v in b] for b in apply_boxes(boxes, (h, w), s)]})
    doc["sam_coords"] = coords

    # ---- skimage resize and MedSAM, with numpy as installed (AVX-512 exp on this machine) ...
    doc["numpy_exp"] = exp_flavour()
    doc["skimage"] = skimage_cases(full=True)
    doc["medsam"] = medsam_cases(full=True)
    # ... and again with numpy's AVX-512 code paths disabled, so numpy.exp is libm's (as on CPUs without AVX-512)
    if exp_flavour() == "libm":
        doc["libm_exp"] = {"numpy_exp": "libm", "same_as_default": True}
    else:
        env = dict(os.environ, NPY_DISABLE_CPU_FEATURES=NO_AVX512)
        child = subprocess.run([sys.executable, os.path.abspath(__file__), "--libm-exp-child"], env=env,
                               check=True, capture_output=True, text=True)
        doc["libm_exp"] = json.loads(child.stdout)
        doc["libm_exp"]["environment"] = "NPY_DISABLE_CPU_FEATURES=\"" + NO_AVX512 + "\""

    # metadata: one entry per section, each a JSON value (strings stay plain strings)
    meta = {k: v if isinstance(v, str) else json.dumps(v, separators=(",", ":")) for k, v in doc.items()}
    meta["layout"] = ("per section a JSON list of cases; a case field naming a tensor (rgb, resized_rgb, tensor, u8, "
                      "f64, u8_gz) holds that output in full; u8_gz tensors are gzip streams of uint8 images of shape "
                      "u8_gz_shape")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    size = golden_file.write(OUT, TENSORS, meta)
    print("wrote", os.path.normpath(OUT), size, "bytes,", len(TENSORS), "tensors")


if __name__ == "__main__":
    main()
