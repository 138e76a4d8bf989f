#!/usr/bin/env python3
"""Tiny image files written by Pillow, with the pixel values Pillow decodes from them, for segsam's image reader.

Run once (Debian 12: apt-get install python3-pil python3-numpy):

    /usr/bin/python3 tools/reference/image_fixtures.py

It writes io/src/test/resources/images/*.{png,jpg,tif} and expected.json (the command, library versions, and per
file: the layout Pillow reports (and for PNGs the IHDR bit depth and colour type), the raw sample values, and the 8-bit RGB image a SAM user gets from
``np.array(Image.open(f).convert("RGB"))``; for 16-bit files the raw values and the min-max mapping to 8 bits that
segsam documents, round((v - min) * 255 / (max - min)) with halves rounded up, computed here in exact integers).
ImageFilesTest reads the files with segsam's reader and compares.
"""
import base64
import json
import os
import platform

import numpy as np
import PIL
from PIL import Image, features

DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "io", "src", "test", "resources", "images")


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a, dtype=np.uint8).tobytes()).decode("ascii")


def minmax8(v):
    v = v.astype(np.int64)
    lo, hi = int(v.min()), int(v.max())
    if hi == lo:
        return np.zeros_like(v).astype(np.uint8)
    r = hi - lo
    return ((2 * (v - lo) * 255 + r) // (2 * r)).astype(np.uint8)


def main():
    os.makedirs(DIR, exist_ok=True)
    rng = np.random.RandomState(20261128)
    files = {}

    # 16-bit grey PNG (Pillow mode I;16), a range well inside 0..65535
    g16 = (rng.randint(1000, 40000, size=(5, 7))).astype(np.uint16)
    g16[0, 0], g16[4, 6] = 1000, 40000
    Image.fromarray(g16, mode="I;16").save(os.path.join(DIR, "grey16.png"))
    # 16-bit grey PNG that is constant (maps to 0)
    Image.fromarray(np.full((2, 3), 777, dtype=np.uint16), mode="I;16").save(os.path.join(DIR, "grey16-constant.png"))

    # palette PNG (mode P, 8-bit indices into a 5-colour palette)
    pal = Image.new("P", (6, 4))
    colours = [(255, 0, 0), (0, 128, 0), (10, 20, 30), (200, 200, 200), (1, 2, 250)]
    pal.putpalette([c for rgb in colours for c in rgb])
    pal.putdata([int(i) for i in rng.randint(0, len(colours), size=24)])
    pal.save(os.path.join(DIR, "palette.png"))

    # RGBA PNG with varying alpha (segsam drops alpha, as Pillow's convert("RGB") does)
    rgba = rng.randint(0, 256, size=(3, 5, 4)).astype(np.uint8)
    rgba[..., 3] = np.array([0, 64, 128, 200, 255])[None, :]
    Image.fromarray(rgba, mode="RGBA").save(os.path.join(DIR, "rgba.png"))

    # grey + alpha PNG
    la = rng.randint(0, 256, size=(4, 3, 2)).astype(np.uint8)
    Image.fromarray(la, mode="LA").save(os.path.join(DIR, "grey-alpha.png"))

    # 1-bit PNG (mode 1)
    bits = (rng.randint(0, 2, size=(3, 9)) * 255).astype(np.uint8)
    Image.fromarray(bits, mode="L").convert("1").save(os.path.join(DIR, "bilevel.png"))

    # a small JPEG photo-like gradient (to measure JPEG decoder differences against libjpeg)
    y, x = np.mgrid[0:16, 0:16]
    photo = np.stack([x * 15, y * 15, (x + y) * 7], -1).astype(np.uint8)
    Image.fromarray(photo, mode="RGB").save(os.path.join(DIR, "photo.jpg"), quality=90)

    # unsupported kinds: CMYK JPEG and a 32-bit float TIFF
    Image.fromarray(rng.randint(0, 256, size=(4, 4, 4)).astype(np.uint8), mode="CMYK").save(os.path.join(DIR, "cmyk.jpg"))
    Image.fromarray(rng.uniform(-1, 1, size=(3, 3)).astype(np.float32), mode="F").save(os.path.join(DIR, "float32.tif"))

    for name in ["grey16.png", "grey16-constant.png", "palette.png", "rgba.png", "grey-alpha.png", "bilevel.png", "photo.jpg"]:
        im = Image.open(os.path.join(DIR, name))
        entry = {"pillow_mode": im.mode, "width": im.size[0], "height": im.size[1]}
        if name.endswith(".png"):
            with open(os.path.join(DIR, name), "rb") as fh:
                ihdr = fh.read(26)
            entry["png_bit_depth"], entry["png_colour_type"] = ihdr[24], ihdr[25]
        if im.mode in ("I", "I;16"):  # Pillow opens 16-bit grey PNGs as mode I
            raw = np.array(im).astype(np.int64)
            entry["raw"] = [int(v) for v in raw.reshape(-1)]
            grey = minmax8(raw)
            entry["rgb"] = b64(np.repeat(grey[:, :, None], 3, axis=-1))
        else:
            entry["rgb"] = b64(np.array(im.convert("RGB")))
        files[name] = entry

    doc = {"command": "/usr/bin/python3 tools/reference/image_fixtures.py",
           "versions": {"python": platform.python_version(), "numpy": np.__version__, "pillow": PIL.__version__,
                        "libjpeg": features.version("jpg")},
           "files": files}
    with open(os.path.join(DIR, "expected.json"), "w") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")
    print("wrote", os.path.normpath(DIR))


if __name__ == "__main__":
    main()
