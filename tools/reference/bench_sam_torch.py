#!/usr/bin/env python3
"""PyTorch baseline for SAM ViT-B on the CPU: encode one image, decode + upsample one prompt, and 16 box prompts
in one batched mask-decoder call (SamBench.decodeBoxes16).

    python3 tools/reference/bench_sam_torch.py [--threads N] [--repeats R]

Uses this repository's from-spec SAM implementation (sam_reference.py: the same operations as the official
segment-anything code, written functionally; the official package cannot be installed here: no PyPI), float32,
eager mode, torch.no_grad, seeded ViT-B weights. Prints the median wall time of each stage in ms. Run it beside
the JMH benchmark `SamBench` on the same machine, in the same session.
"""
import argparse
import os
import time

import numpy as np
import torch

import sam_reference as S

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=os.cpu_count())
p.add_argument("--repeats", type=int, default=3)
args = p.parse_args()
torch.set_num_threads(args.threads)

cfg = S.vit_b()
W = S.seeded_weights(cfg, 20261126)
img = S.test_image(450, 600)  # H×W of a 600×450 image
x, rhw = S.preprocess(img, 1024)
pe = S.dense_pe(W, 64)


def median(fn, n):
    fn()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1e3)
    ts.sort()
    return ts[len(ts) // 2]


with torch.no_grad():
    emb = S.image_encoder(W, cfg, x)
    t_enc = median(lambda: S.image_encoder(W, cfg, x), args.repeats)

    def decode():
        boxes = S.apply_coords(np.array([150.0, 100.0, 420.0, 330.0]).reshape(2, 2), (450, 600), rhw).reshape(1, 4)
        sparse, dense = S.embed_prompts(W, cfg, None, None, boxes, None)
        masks, iou = S.mask_decoder(W, cfg, emb, pe, sparse, dense)
        return S.postprocess(masks[:, 0:1], 1024, rhw, (450, 600)) > 0

    t_dec = median(decode, max(5, args.repeats * 3))

    def decode16():  # the 16 boxes of SamBench.boxes(16), one batched mask_decoder call (SAM's predict_torch)
        xy = np.array([[20 + 17 * i, 15 + 11 * i, 300 + 13 * i, 250 + 9 * i] for i in range(16)], dtype=np.float64)
        boxes = S.apply_coords(xy.reshape(16, 2, 2), (450, 600), rhw).reshape(16, 4)
        sparse, dense = S.embed_prompts(W, cfg, None, None, boxes, None)
        masks, iou = S.mask_decoder(W, cfg, emb, pe, sparse, dense)
        return S.postprocess(masks[:, 0:1], 1024, rhw, (450, 600)) > 0

    t_dec16 = median(decode16, max(3, args.repeats))
print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
print(f"encode ViT-B 1024x1024            {t_enc:10.1f} ms")
print(f"decode + upsample, 1 box, 600x450 {t_dec:10.2f} ms")
print(f"decode + upsample, 16 boxes       {t_dec16:10.2f} ms")
