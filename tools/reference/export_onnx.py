#!/usr/bin/env python3
"""Export SAM ViT-B (official layout, seeded weights) to ONNX: the peer that segsam's benchmarks run beside it.

    python3 tools/reference/export_onnx.py [OUT_DIR]        # OUT_DIR defaults to target/onnx (git-ignored)

Writes, from the same seeded weights that segsam's benchmarks generate (SeededWeights, seed 20261126):

  sam_vitb_encoder.onnx   input  "image"            [1, 3, 1024, 1024] float32, preprocessed (normalised, padded)
                          output "image_embeddings" [1, 256, 64, 64]
  sam_vitb_decoder.onnx   prompt encoder + mask decoder + upsampling to the original image size, single-mask output
                          (SAM's multimask_output=False: mask token 0), the layout of SAM's own ONNX decoder export:
                          inputs  "image_embeddings" [1, 256, 64, 64], "point_coords" [B, N, 2] (in the 1024-resized
                                  frame), "point_labels" [B, N] (1 fg, 0 bg, 2/3 box corners, -1 padding),
                                  "orig_im_size" [2] float (H, W)
                          outputs "masks" [B, 1, H, W] logits, "iou_predictions" [B, 1], "low_res_masks" [B, 1, 256, 256]
                          No mask-input path (segsam's benchmarked decode has none either; SAM's export adds one that
                          always runs the mask-downscaling convolutions).

Built from sam_reference.py's functions (this repository's from-spec SAM), traced by torch.onnx.export at opset 17.
Before writing, the traced decoder is checked against sam_reference.mask_decoder + postprocess in PyTorch. The files
are large (~375 MB of weights): never commit them. Used by bench/OrtBench, bench/OrtRun and scripts/perf-table.sh.
"""
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sam_reference as S  # noqa: E402

SEED = 20261126


def _ln(W, pre, x, eps=1e-5):
    """sam_reference.ln with the normalised size taken from the weight (an int), so the tracer keeps it static."""
    return F.layer_norm(x, (int(W[pre + "weight"].shape[0]),), W[pre + "weight"], W[pre + "bias"], eps)


S.ln = _ln


class Encoder(torch.nn.Module):
    def __init__(self, W, cfg):
        super().__init__()
        self.W, self.cfg = W, cfg

    def forward(self, image):
        return S.image_encoder(self.W, self.cfg, image)


class Decoder(torch.nn.Module):
    """Prompt encoder (points/boxes, no mask input) + mask decoder + postprocessing of mask token 0."""

    def __init__(self, W, cfg):
        super().__init__()
        self.W, self.cfg = W, cfg
        self.size = cfg["img_size"]
        self.dense_pe = S.dense_pe(W, cfg["img_size"] // cfg["patch"])

    def sparse(self, coords, labels):
        p = "prompt_encoder."
        c = (coords + 0.5) / self.size
        pe = S.pe_encoding(self.W, c)                       # [B, N, C]
        lab = labels.unsqueeze(-1)
        pe = pe * (lab != -1).to(pe.dtype) + self.W[p + "not_a_point_embed.weight"] * (lab == -1).to(pe.dtype)
        for i in range(4):
            pe = pe + self.W[f"{p}point_embeddings.{i}.weight"] * (lab == i).to(pe.dtype)
        return pe

    def forward(self, image_embeddings, point_coords, point_labels, orig_im_size):
        W, cfg = self.W, self.cfg
        d = "mask_decoder."
        sparse = self.sparse(point_coords, point_labels)
        B = sparse.shape[0]
        out_tok = torch.cat([W[d + "iou_token.weight"], W[d + "mask_tokens.weight"]], dim=0)
        tokens = torch.cat([out_tok.unsqueeze(0).expand(B, -1, -1), sparse], dim=1)
        dense = W["prompt_encoder.no_mask_embed.weight"].reshape(1, -1, 1, 1)
        src = image_embeddings.expand(B, -1, -1, -1) + dense
        pos = self.dense_pe.expand(B, -1, -1, -1)
        b, c, h, w = src.shape
        hs, src = S.two_way_transformer(W, cfg, src, pos, tokens)
        src = src.transpose(1, 2).reshape(b, c, h, w)
        u = d + "output_upscaling."
        x = F.conv_transpose2d(src, W[u + "0.weight"], W[u + "0.bias"], stride=2)
        x = F.gelu(S.layer_norm2d(x, W[u + "1.weight"], W[u + "1.bias"]))
        up = F.gelu(F.conv_transpose2d(x, W[u + "3.weight"], W[u + "3.bias"], stride=2))
        hyper = S.mlp3(W, f"{d}output_hypernetworks_mlps.0.layers.", hs[:, 1, :]).unsqueeze(1)   # mask token 0 only
        b, c, h, w = up.shape
        low = (hyper @ up.reshape(b, c, h * w)).reshape(b, 1, h, w)
        iou = S.mlp3(W, d + "iou_prediction_head.layers.", hs[:, 0, :])[:, 0:1]
        masks = F.interpolate(low, (self.size, self.size), mode="bilinear", align_corners=False)
        scale = self.size / torch.max(orig_im_size)
        resized = torch.floor(orig_im_size * scale + 0.5).to(torch.int64)   # the longest-side resize, rounded
        masks = masks[..., :resized[0], :resized[1]]
        hw = orig_im_size.to(torch.int64)
        masks = F.interpolate(masks, size=(hw[0], hw[1]), mode="bilinear", align_corners=False)
        return masks, iou, low


def check_decoder(dec, W, cfg, emb):
    """The traced wrapper against sam_reference's own decoder on 3 boxes (batched) and one point + padding."""
    hw = (450, 600)
    rhw = S.preprocess_shape(*hw, cfg["img_size"])
    pe = S.dense_pe(W, cfg["img_size"] // cfg["patch"])
    xy = np.array([[20 + 17 * i, 15 + 11 * i, 300 + 13 * i, 250 + 9 * i] for i in range(3)], dtype=np.float64)
    boxes = S.apply_coords(xy.reshape(3, 2, 2), hw, rhw).reshape(3, 4)
    sparse, dense = S.embed_prompts(W, cfg, None, None, boxes, None)
    masks, iou = S.mask_decoder(W, cfg, emb, pe, sparse, dense)
    want = S.postprocess(masks[:, 0:1], cfg["img_size"], rhw, hw)
    got, got_iou, _ = dec(emb, boxes.reshape(3, 2, 2), torch.tensor([[2.0, 3.0]] * 3), torch.tensor(hw, dtype=torch.float32))
    pts = S.apply_coords([[80.0, 82.0]], hw, rhw)[None]
    sp1, de1 = S.embed_prompts(W, cfg, pts, torch.tensor([[1.0]]), None, None)
    m1, _ = S.mask_decoder(W, cfg, emb, pe, sp1, de1)
    want1 = S.postprocess(m1[:, 0:1], cfg["img_size"], rhw, hw)
    got1, _, _ = dec(emb, torch.cat([pts, torch.zeros(1, 1, 2)], dim=1), torch.tensor([[1.0, -1.0]]), torch.tensor(hw, dtype=torch.float32))
    for name, a, b in [("boxes", got, want), ("iou", got_iou, iou[:, 0:1]), ("point", got1, want1)]:
        rel = float((a - b).norm() / b.norm())
        print(f"check {name}: shape {tuple(a.shape)}, rel L2 vs sam_reference {rel:.2e}")
        if a.shape != b.shape or rel > 1e-5:
            raise SystemExit(f"export_onnx: the decoder wrapper disagrees with sam_reference ({name})")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "target/onnx"
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(os.cpu_count())
    cfg = S.vit_b()
    W = S.seeded_weights(cfg, SEED)
    x, _ = S.preprocess(S.test_image(450, 600), cfg["img_size"])
    enc, dec = Encoder(W, cfg).eval(), Decoder(W, cfg).eval()
    with torch.no_grad():
        t0 = time.time()
        emb = enc(x)
        print(f"encoder forward in PyTorch: {time.time() - t0:.1f} s")
        check_decoder(dec, W, cfg, emb)
        path = os.path.join(out, "sam_vitb_decoder.onnx")
        boxes = torch.tensor([[[150.0, 100.0], [420.0, 330.0]]]) * (1024 / 600)
        torch.onnx.export(dec, (emb, boxes, torch.tensor([[2.0, 3.0]]), torch.tensor([450.0, 600.0])), path,
                          opset_version=17, do_constant_folding=True,
                          input_names=["image_embeddings", "point_coords", "point_labels", "orig_im_size"],
                          output_names=["masks", "iou_predictions", "low_res_masks"],
                          dynamic_axes={"point_coords": {0: "batch", 1: "points"}, "point_labels": {0: "batch", 1: "points"},
                                        "masks": {0: "batch", 2: "height", 3: "width"}, "iou_predictions": {0: "batch"},
                                        "low_res_masks": {0: "batch"}})
        print(f"wrote {path}: {os.path.getsize(path) / 1e6:.1f} MB")
        path = os.path.join(out, "sam_vitb_encoder.onnx")
        torch.onnx.export(enc, (x,), path, opset_version=17, do_constant_folding=True,
                          input_names=["image"], output_names=["image_embeddings"])
        print(f"wrote {path}: {os.path.getsize(path) / 1e6:.1f} MB")
    with open(os.path.join(out, "README.txt"), "w") as f:
        f.write(f"Generated by: python3 tools/reference/export_onnx.py {out}\n"
                f"torch {torch.__version__}, opset 17, seeded SAM ViT-B weights (seed {SEED}). Do not commit.\n")


if __name__ == "__main__":
    main()
