#!/usr/bin/env python3
"""A from-the-spec PyTorch reference of SEG-SAM as segsam builds it (docs/design/segsam.md §2), for goldens.

    python3 tools/reference/segsam_reference.py   → model/src/test/resources/golden/segsam_small.safetensors

Builds on sam_reference.py (SAM blocks, seeded weights). The SEG-SAM tensors (t2vse.*, semantic_decoder.*) are
seeded the same way (SplitMix64 per tensor name, init_scale rules), with MLP_fuse's last layer random too so the
fusion path is exercised. The class text embeddings come from this file's own implementation of segsam's hashed
text embedder (words, word bigrams, character trigrams; FNV-1a buckets and signs; 1 + log(count) weights; L2 norm).
"""
import json
import math
import re
import sys
import unicodedata

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, "tools/reference")
import sam_reference as S  # noqa: E402

CLASSES = [
    ("liver", "Largest abdominal organ in the right upper quadrant, homogeneous soft tissue."),
    ("spleen", "Crescent-shaped organ in the left upper quadrant behind the stomach."),
    ("kidney_L", "Bean-shaped retroperitoneal organ beside the spine, bright cortex on contrast CT."),
]
TEXT_DIM = 48


def words(text):
    t = unicodedata.normalize("NFKD", text)
    t = "".join(ch for ch in t if not unicodedata.category(ch).startswith("M")).lower()
    return [w for w in re.split(r"[^\w]+|_", t) if w]


def embed_text(text, dim):
    ws = words(text)
    feats = {}

    def add(k, w):
        c = feats.setdefault(k, [0.0, w])
        c[0] += 1

    for i, w in enumerate(ws):
        add("w:" + w, 2.0)
        if i + 1 < len(ws):
            add("b:" + w + "|" + ws[i + 1], 1.5)
        p = "<" + w + ">"
        for j in range(len(p) - 2):
            add("c:" + p[j:j + 3], 0.5)
    v = [0.0] * dim
    for k in sorted(feats):
        h = S.fnv1a64(k)
        sign = 1.0 if (h >> 63) == 0 else -1.0
        count, weight = feats[k]
        v[h % dim] += sign * weight * (1.0 + math.log(count))
    n = math.sqrt(sum(x * x for x in v))
    return [x / n if n > 0 else 0.0 for x in v]


def segsam_shapes(c, K, dt):
    C, M, ci = c["out_chans"], c["dec_mlp"], c["out_chans"] // c["downsample"]
    out = [("t2vse.text_embeddings", [K, dt]), ("t2vse.text_proj.weight", [C, dt]), ("t2vse.text_proj.bias", [C]),
           ("t2vse.text_token.weight", [1, C])]
    for s in "qkv":
        out += [(f"t2vse.cross_attn.{s}_proj.weight", [ci, C]), (f"t2vse.cross_attn.{s}_proj.bias", [ci])]
    out += [("t2vse.cross_attn.out_proj.weight", [C, ci]), ("t2vse.cross_attn.out_proj.bias", [C]),
            ("t2vse.norm1.weight", [C]), ("t2vse.norm1.bias", [C]), ("t2vse.mlp.lin1.weight", [M, C]), ("t2vse.mlp.lin1.bias", [M]),
            ("t2vse.mlp.lin2.weight", [C, M]), ("t2vse.mlp.lin2.bias", [C]), ("t2vse.norm2.weight", [C]), ("t2vse.norm2.bias", [C]),
            ("t2vse.fuse.layers.0.weight", [C, 2 * C]), ("t2vse.fuse.layers.0.bias", [C]),
            ("t2vse.fuse.layers.1.weight", [C, C]), ("t2vse.fuse.layers.1.bias", [C]),
            ("semantic_decoder.so_token.weight", [1, C]), ("semantic_decoder.co_tokens.weight", [K, C])]
    for name, shape in S.param_shapes(c):
        if name.startswith(("mask_decoder.transformer.", "mask_decoder.output_upscaling.")):
            out.append(("semantic_decoder." + name[len("mask_decoder."):], shape))
    d = "semantic_decoder."
    out += [(d + "co_head.layers.0.weight", [C, C]), (d + "co_head.layers.0.bias", [C]), (d + "co_head.layers.1.weight", [1, C]),
            (d + "co_head.layers.1.bias", [1]), (d + "prior_mlp.layers.0.weight", [C, K]), (d + "prior_mlp.layers.0.bias", [C]),
            (d + "prior_mlp.layers.1.weight", [C, C]), (d + "prior_mlp.layers.1.bias", [C]),
            (d + "so_hypernetwork.layers.0.weight", [C, C]), (d + "so_hypernetwork.layers.0.bias", [C]),
            (d + "so_hypernetwork.layers.1.weight", [C, C]), (d + "so_hypernetwork.layers.1.bias", [C]),
            (d + "so_hypernetwork.layers.2.weight", [(K + 1) * (C // 8), C]), (d + "so_hypernetwork.layers.2.bias", [(K + 1) * (C // 8)])]
    return out


def seeded(shapes, seed):
    W = {}
    for name, shape in shapes:
        n = int(np.prod(shape))
        scale, offset = S.init_scale(name, shape)
        u = S.uniform01(S.fnv1a64(name) ^ seed, n)
        v = (np.float32(2) * u - np.float32(1)) * np.float32(scale)
        if offset != 0.0:
            v = v + np.float32(offset)
        W[name] = torch.from_numpy(v.astype(np.float32).reshape(shape))
    return W


def mlp(W, pre, x, n):
    for i in range(n):
        x = F.linear(x, W[f"{pre}.layers.{i}.weight"], W[f"{pre}.layers.{i}.bias"])
        if i < n - 1:
            x = F.relu(x)
    return x


def t2vse_summary(W, c, fv, pe):
    C = c["out_chans"]
    ft = F.linear(W["t2vse.text_embeddings"], W["t2vse.text_proj.weight"], W["t2vse.text_proj.bias"])
    s = torch.cat([W["t2vse.text_token.weight"], ft], dim=0)[None]
    v = fv.flatten(2).permute(0, 2, 1)
    k = v + pe.flatten(2).permute(0, 2, 1)
    s = S.ln(W, "t2vse.norm1.", s + S.dec_attention(W, "t2vse.cross_attn.", s, k, v, c["dec_heads"]))
    m = F.linear(F.relu(F.linear(s, W["t2vse.mlp.lin1.weight"], W["t2vse.mlp.lin1.bias"])), W["t2vse.mlp.lin2.weight"], W["t2vse.mlp.lin2.bias"])
    s = S.ln(W, "t2vse.norm2.", s + m)
    return s[:, 0, :]


def enhance(W, tp, summary):
    cat = torch.cat([tp, summary[:, None, :].expand(-1, tp.shape[1], -1)], dim=-1)
    return tp + mlp(W, "t2vse.fuse", cat, 2)


def semantic_decoder(W, c, fv, pe, prompts, dense, K):
    C, d = c["out_chans"], "semantic_decoder."
    tokens = torch.cat([W[d + "so_token.weight"], W[d + "co_tokens.weight"]], dim=0)[None]
    tokens = torch.cat([tokens, prompts], dim=1)
    src = fv + dense
    # the semantic decoder's transformer: SAM's function with its weights renamed
    W2 = {("mask_decoder." + k[len(d):]): v for k, v in W.items() if k.startswith(d)}
    hs, keys = S.two_way_transformer(W2, c, src, pe, tokens)
    so, co = hs[:, 0, :], hs[:, 1:1 + K, :]
    logits = mlp(W, d + "co_head", co, 2)[..., 0]
    presence = torch.sigmoid(logits)
    so2 = so + mlp(W, d + "prior_mlp", presence, 2)
    b, _, h, w = src.shape
    x = keys.transpose(1, 2).reshape(b, C, h, w)
    u = d + "output_upscaling."
    x = F.gelu(S.layer_norm2d(F.conv_transpose2d(x, W[u + "0.weight"], W[u + "0.bias"], stride=2), W[u + "1.weight"], W[u + "1.bias"]))
    up = F.gelu(F.conv_transpose2d(x, W[u + "3.weight"], W[u + "3.bias"], stride=2))
    hyper = mlp(W, d + "so_hypernetwork", so2, 3).reshape(b, K + 1, C // 8)
    masks = (hyper @ up.reshape(b, C // 8, -1)).reshape(b, K + 1, up.shape[2], up.shape[3])
    return masks, presence, logits


def main():
    seed = 20261126
    c = S.small()
    K = len(CLASSES)
    W = S.seeded_weights(c, seed)
    W.update(seeded(segsam_shapes(c, K, TEXT_DIM), seed))
    W["t2vse.text_embeddings"] = torch.tensor([embed_text(n + ". " + d, TEXT_DIM) for n, d in CLASSES], dtype=torch.float32)
    h, w = 40, 50
    img = S.test_image(h, w)
    x, rhw = S.preprocess(img, c["img_size"])
    out = {"input": x, "text_embeddings": W["t2vse.text_embeddings"]}
    prompts = [{"points": [[20.0, 18.0, 1]], "multimask": True},
               {"box": [12.0, 10.0, 30.0, 35.0], "points": [[20.0, 20.0, 1]], "multimask": False},
               {"points": [[33.0, 12.0, 1]], "mask_seed": 99, "multimask": False}]
    with torch.no_grad():
        fv = S.image_encoder(W, c, x)
        pe = S.dense_pe(W, c["img_size"] // c["patch"])
        summary = t2vse_summary(W, c, fv, pe)
        out["image_embedding"] = fv
        out["text_summary"] = summary
        for i, pr in enumerate(prompts):
            pts = labels = boxes = mask = None
            if "points" in pr:
                pts = S.apply_coords([[p[0], p[1]] for p in pr["points"]], (h, w), rhw)[None]
                labels = torch.tensor([[float(p[2]) for p in pr["points"]]])
            if "box" in pr:
                boxes = S.apply_coords(np.array(pr["box"], dtype=np.float64).reshape(2, 2), (h, w), rhw).reshape(1, 4)
            if "mask_seed" in pr:
                g4 = 4 * (c["img_size"] // c["patch"])
                mask = torch.from_numpy((np.float32(2) * S.uniform01(pr["mask_seed"], g4 * g4) - np.float32(1)).reshape(1, 1, g4, g4) * np.float32(8))
                out[f"prompt{i}.mask_input"] = mask
            sparse, dense = S.embed_prompts(W, c, pts, labels, boxes, mask)
            tp2 = enhance(W, sparse, summary)
            masks, iou = S.mask_decoder(W, c, fv, pe, tp2, dense)
            sl = slice(1, None) if pr["multimask"] else slice(0, 1)
            sem, presence, logits = semantic_decoder(W, c, fv, pe, tp2, dense, K)
            out[f"prompt{i}.enhanced"] = tp2
            out[f"prompt{i}.low_res"] = masks[:, sl]
            out[f"prompt{i}.iou"] = iou[:, sl]
            out[f"prompt{i}.semantic_low_res"] = sem
            out[f"prompt{i}.class_logits"] = logits
            out[f"prompt{i}.class_presence"] = presence
            out[f"prompt{i}.semantic_logits"] = S.postprocess(sem, c["img_size"], rhw, (h, w))
    meta = {"command": "python3 tools/reference/segsam_reference.py", "config": json.dumps(c), "seed": str(seed),
            "classes": json.dumps([{"name": n, "description": d} for n, d in CLASSES]), "text_dim": str(TEXT_DIM),
            "prompts": json.dumps(prompts), "image_hw": json.dumps([h, w]), "resized_hw": json.dumps(list(rhw)),
            "torch": torch.__version__}
    S.write_safetensors(S.GOLDEN + "segsam_small.safetensors", out, meta)


if __name__ == "__main__":
    main()
