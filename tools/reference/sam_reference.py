#!/usr/bin/env python3
"""A from-the-spec PyTorch reference of SAM's inference path (docs/design/sam.md), used to produce goldens.

    python3 tools/reference/sam_reference.py small   → model/src/test/resources/golden/sam_small.safetensors
    python3 tools/reference/sam_reference.py vitb    → model/src/test/resources/golden/sam_vitb_e2e.safetensors

Written functionally over a dict of weights keyed by SAM's official state-dict names, independently of segsam's Java
code. Weights are not committed: both sides regenerate them from a seed with the same tiny PRNG (SplitMix64 per
tensor, seeded by FNV-1a of the tensor name; see `seeded_weights`), the rules for scales are in `init_scale`.
SAM zero-initialises pos_embed and rel_pos: here they are random, so bugs there stay visible.

Goldens are float32 safetensors written by this script's own minimal writer; every file's __metadata__ records
the command, the config, the seed and the library versions.
"""
import json
import math
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

torch.set_num_threads(2)
GOLDEN = "model/src/test/resources/golden/"
M64 = (1 << 64) - 1
PIXEL_MEAN = [123.675, 116.28, 103.53]
PIXEL_STD = [58.395, 57.12, 57.375]

# ---------------------------------------------------------------- configs


def vit_b():
    return dict(img_size=1024, patch=16, embed_dim=768, depth=12, heads=12, global_idx=[2, 5, 8, 11], window=14,
                mlp_ratio=4, out_chans=256, dec_mlp=2048, dec_heads=8, iou_hidden=256, mask_in_chans=16,
                num_multimask=3, downsample=2)


def small():
    # grid 8×8 with window 5: pads to 10×10 (4 windows), like ViT-B's 64 → 70; blocks 1 and 3 are global
    return dict(img_size=128, patch=16, embed_dim=64, depth=4, heads=4, global_idx=[1, 3], window=5,
                mlp_ratio=4, out_chans=32, dec_mlp=64, dec_heads=8, iou_hidden=32, mask_in_chans=16,
                num_multimask=3, downsample=2)


def param_shapes(c):
    """SAM's state-dict names and shapes, in state_dict() order (docs/design/sam.md §12 / Appendix A)."""
    D, g, p, C = c["embed_dim"], c["img_size"] // c["patch"], c["patch"], c["out_chans"]
    hd = D // c["heads"]
    out = [("image_encoder.pos_embed", [1, g, g, D]),
           ("image_encoder.patch_embed.proj.weight", [D, 3, p, p]), ("image_encoder.patch_embed.proj.bias", [D])]
    for i in range(c["depth"]):
        b = f"image_encoder.blocks.{i}."
        L = 2 * g - 1 if i in c["global_idx"] else 2 * c["window"] - 1
        H = D * c["mlp_ratio"]
        out += [(b + "norm1.weight", [D]), (b + "norm1.bias", [D]), (b + "attn.rel_pos_h", [L, hd]),
                (b + "attn.rel_pos_w", [L, hd]), (b + "attn.qkv.weight", [3 * D, D]), (b + "attn.qkv.bias", [3 * D]),
                (b + "attn.proj.weight", [D, D]), (b + "attn.proj.bias", [D]), (b + "norm2.weight", [D]),
                (b + "norm2.bias", [D]), (b + "mlp.lin1.weight", [H, D]), (b + "mlp.lin1.bias", [H]),
                (b + "mlp.lin2.weight", [D, H]), (b + "mlp.lin2.bias", [D])]
    out += [("image_encoder.neck.0.weight", [C, D, 1, 1]), ("image_encoder.neck.1.weight", [C]),
            ("image_encoder.neck.1.bias", [C]), ("image_encoder.neck.2.weight", [C, C, 3, 3]),
            ("image_encoder.neck.3.weight", [C]), ("image_encoder.neck.3.bias", [C])]
    m = c["mask_in_chans"]
    out += [("prompt_encoder.pe_layer.positional_encoding_gaussian_matrix", [2, C // 2])]
    out += [(f"prompt_encoder.point_embeddings.{i}.weight", [1, C]) for i in range(4)]
    out += [("prompt_encoder.not_a_point_embed.weight", [1, C]),
            ("prompt_encoder.mask_downscaling.0.weight", [m // 4, 1, 2, 2]), ("prompt_encoder.mask_downscaling.0.bias", [m // 4]),
            ("prompt_encoder.mask_downscaling.1.weight", [m // 4]), ("prompt_encoder.mask_downscaling.1.bias", [m // 4]),
            ("prompt_encoder.mask_downscaling.3.weight", [m, m // 4, 2, 2]), ("prompt_encoder.mask_downscaling.3.bias", [m]),
            ("prompt_encoder.mask_downscaling.4.weight", [m]), ("prompt_encoder.mask_downscaling.4.bias", [m]),
            ("prompt_encoder.mask_downscaling.6.weight", [C, m, 1, 1]), ("prompt_encoder.mask_downscaling.6.bias", [C]),
            ("prompt_encoder.no_mask_embed.weight", [1, C])]
    ci = C // c["downsample"]

    def attn(pre, inner):
        return [(pre + "q_proj.weight", [inner, C]), (pre + "q_proj.bias", [inner]), (pre + "k_proj.weight", [inner, C]),
                (pre + "k_proj.bias", [inner]), (pre + "v_proj.weight", [inner, C]), (pre + "v_proj.bias", [inner]),
                (pre + "out_proj.weight", [C, inner]), (pre + "out_proj.bias", [C])]

    def norm(pre):
        return [(pre + "weight", [C]), (pre + "bias", [C])]

    for i in range(2):
        t = f"mask_decoder.transformer.layers.{i}."
        out += attn(t + "self_attn.", C) + norm(t + "norm1.") + attn(t + "cross_attn_token_to_image.", ci) + norm(t + "norm2.")
        out += [(t + "mlp.lin1.weight", [c["dec_mlp"], C]), (t + "mlp.lin1.bias", [c["dec_mlp"]]),
                (t + "mlp.lin2.weight", [C, c["dec_mlp"]]), (t + "mlp.lin2.bias", [C])]
        out += norm(t + "norm3.") + norm(t + "norm4.") + attn(t + "cross_attn_image_to_token.", ci)
    out += attn("mask_decoder.transformer.final_attn_token_to_image.", ci) + norm("mask_decoder.transformer.norm_final_attn.")
    nm = c["num_multimask"] + 1
    out += [("mask_decoder.iou_token.weight", [1, C]), ("mask_decoder.mask_tokens.weight", [nm, C]),
            ("mask_decoder.output_upscaling.0.weight", [C, C // 4, 2, 2]), ("mask_decoder.output_upscaling.0.bias", [C // 4]),
            ("mask_decoder.output_upscaling.1.weight", [C // 4]), ("mask_decoder.output_upscaling.1.bias", [C // 4]),
            ("mask_decoder.output_upscaling.3.weight", [C // 4, C // 8, 2, 2]), ("mask_decoder.output_upscaling.3.bias", [C // 8])]
    for i in range(nm):
        h = f"mask_decoder.output_hypernetworks_mlps.{i}.layers."
        out += [(h + "0.weight", [C, C]), (h + "0.bias", [C]), (h + "1.weight", [C, C]), (h + "1.bias", [C]),
                (h + "2.weight", [C // 8, C]), (h + "2.bias", [C // 8])]
    h, ih = "mask_decoder.iou_prediction_head.layers.", c["iou_hidden"]
    out += [(h + "0.weight", [ih, C]), (h + "0.bias", [ih]), (h + "1.weight", [ih, ih]), (h + "1.bias", [ih]),
            (h + "2.weight", [nm, ih]), (h + "2.bias", [nm])]
    return out


# ---------------------------------------------------------------- seeded weights (mirrored in Java: SeededWeights)


def fnv1a64(s):
    h = 0xCBF29CE484222325
    for b in s.encode("utf-8"):
        h = ((h ^ b) * 0x100000001B3) & M64
    return h


def uniform01(seed, n):
    """n floats in [0,1) with 24 random bits each: SplitMix64 outputs z_i for state seed + i·γ (i = 1..n)."""
    with np.errstate(over="ignore"):
        s = np.uint64(seed) + (np.arange(1, n + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15))
        z = (s ^ (s >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(40)).astype(np.float32) * np.float32(2.0 ** -24)


def init_scale(name, shape):
    """(scale, offset): value = (2u − 1)·scale + offset, all in float32."""
    if name.endswith(("pos_embed", "rel_pos_h", "rel_pos_w")):
        return 0.5, 0.0
    if "positional_encoding_gaussian_matrix" in name or name.endswith(("point_embeddings.0.weight", "point_embeddings.1.weight",
                                                                      "point_embeddings.2.weight", "point_embeddings.3.weight",
                                                                      "not_a_point_embed.weight", "no_mask_embed.weight",
                                                                      "iou_token.weight", "mask_tokens.weight")):
        return 1.0, 0.0
    if len(shape) == 1:
        return (0.2, 1.0) if name.endswith(".weight") else (0.1, 0.0)  # every 1-D weight in SAM is a norm's
    return 1.0 / math.sqrt(int(np.prod(shape[1:]))), 0.0


def seeded_weights(cfg, seed):
    W = {}
    for name, shape in param_shapes(cfg):
        n = int(np.prod(shape))
        scale, offset = init_scale(name, shape)
        u = uniform01(fnv1a64(name) ^ seed, n)
        v = (np.float32(2) * u - np.float32(1)) * np.float32(scale)
        if offset != 0.0:
            v = v + np.float32(offset)
        W[name] = torch.from_numpy(v.astype(np.float32).reshape(shape))
    return W


# ---------------------------------------------------------------- image encoder (docs/design/sam.md §5)


def layer_norm2d(x, w, b, eps=1e-6):
    u = x.mean(1, keepdim=True)
    s = (x - u).pow(2).mean(1, keepdim=True)
    return w[:, None, None] * ((x - u) / torch.sqrt(s + eps)) + b[:, None, None]


def window_partition(x, ws):
    B, H, W, C = x.shape
    ph, pw = (ws - H % ws) % ws, (ws - W % ws) % ws
    if ph or pw:
        x = F.pad(x, (0, 0, 0, pw, 0, ph))
    Hp, Wp = H + ph, W + pw
    x = x.view(B, Hp // ws, ws, Wp // ws, ws, C).permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, ws, ws, C)
    return x, (Hp, Wp)


def window_unpartition(win, ws, pad_hw, hw):
    Hp, Wp = pad_hw
    H, W = hw
    B = win.shape[0] // (Hp * Wp // ws // ws)
    x = win.view(B, Hp // ws, Wp // ws, ws, ws, -1).permute(0, 1, 3, 2, 4, 5).contiguous().view(B, Hp, Wp, -1)
    return x[:, :H, :W, :].contiguous()


def get_rel_pos(q_size, k_size, rel_pos):
    max_dist = int(2 * max(q_size, k_size) - 1)
    if rel_pos.shape[0] != max_dist:
        r = F.interpolate(rel_pos.reshape(1, rel_pos.shape[0], -1).permute(0, 2, 1), size=max_dist, mode="linear")
        rel_pos = r.reshape(-1, max_dist).permute(1, 0)
    qc = torch.arange(q_size)[:, None] * max(k_size / q_size, 1.0)
    kc = torch.arange(k_size)[None, :] * max(q_size / k_size, 1.0)
    rel = (qc - kc) + (k_size - 1) * max(q_size / k_size, 1.0)
    return rel_pos[rel.long()]


def encoder_attention(W, pre, x, heads):
    B, H, Wd, _ = x.shape
    qkv = F.linear(x, W[pre + "qkv.weight"], W[pre + "qkv.bias"]).reshape(B, H * Wd, 3, heads, -1).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.reshape(3, B * heads, H * Wd, -1).unbind(0)
    hd = q.shape[-1]
    attn = (q * hd ** -0.5) @ k.transpose(-2, -1)
    Rh, Rw = get_rel_pos(H, H, W[pre + "rel_pos_h"]), get_rel_pos(Wd, Wd, W[pre + "rel_pos_w"])
    r_q = q.reshape(B * heads, H, Wd, hd)
    rel_h = torch.einsum("bhwc,hkc->bhwk", r_q, Rh)
    rel_w = torch.einsum("bhwc,wkc->bhwk", r_q, Rw)
    attn = (attn.view(B * heads, H, Wd, H, Wd) + rel_h[:, :, :, :, None] + rel_w[:, :, :, None, :]).view(B * heads, H * Wd, H * Wd)
    attn = attn.softmax(dim=-1)
    x = (attn @ v).view(B, heads, H, Wd, -1).permute(0, 2, 3, 1, 4).reshape(B, H, Wd, -1)
    return F.linear(x, W[pre + "proj.weight"], W[pre + "proj.bias"])


def encoder_block(W, pre, x, cfg, window):
    D = cfg["embed_dim"]
    shortcut = x
    x = F.layer_norm(x, (D,), W[pre + "norm1.weight"], W[pre + "norm1.bias"], 1e-6)
    if window > 0:
        H, Wd = x.shape[1], x.shape[2]
        x, pad_hw = window_partition(x, window)
    x = encoder_attention(W, pre + "attn.", x, cfg["heads"])
    if window > 0:
        x = window_unpartition(x, window, pad_hw, (H, Wd))
    x = shortcut + x
    y = F.layer_norm(x, (D,), W[pre + "norm2.weight"], W[pre + "norm2.bias"], 1e-6)
    y = F.linear(F.gelu(F.linear(y, W[pre + "mlp.lin1.weight"], W[pre + "mlp.lin1.bias"])), W[pre + "mlp.lin2.weight"], W[pre + "mlp.lin2.bias"])
    return x + y


def image_encoder(W, cfg, img, record=None):
    e = "image_encoder."
    x = F.conv2d(img, W[e + "patch_embed.proj.weight"], W[e + "patch_embed.proj.bias"], stride=cfg["patch"])
    x = x.permute(0, 2, 3, 1) + W[e + "pos_embed"]
    if record is not None:
        record["patch_embed"] = x
    for i in range(cfg["depth"]):
        x = encoder_block(W, f"{e}blocks.{i}.", x, cfg, 0 if i in cfg["global_idx"] else cfg["window"])
        if record is not None:
            record[f"block{i}"] = x
    x = x.permute(0, 3, 1, 2)
    x = layer_norm2d(F.conv2d(x, W[e + "neck.0.weight"]), W[e + "neck.1.weight"], W[e + "neck.1.bias"])
    x = layer_norm2d(F.conv2d(x, W[e + "neck.2.weight"], padding=1), W[e + "neck.3.weight"], W[e + "neck.3.bias"])
    return x


# ---------------------------------------------------------------- prompt encoder (docs/design/sam.md §6)


def pe_encoding(W, coords):
    c = 2 * coords - 1
    c = c @ W["prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"]
    c = 2 * np.pi * c
    return torch.cat([torch.sin(c), torch.cos(c)], dim=-1)


def dense_pe(W, g):
    grid = torch.ones((g, g), dtype=torch.float32)
    y = (grid.cumsum(dim=0) - 0.5) / g
    x = (grid.cumsum(dim=1) - 0.5) / g
    return pe_encoding(W, torch.stack([x, y], dim=-1)).permute(2, 0, 1).unsqueeze(0)


def embed_prompts(W, cfg, points, labels, boxes, mask):
    S, g, C = cfg["img_size"], cfg["img_size"] // cfg["patch"], cfg["out_chans"]
    p = "prompt_encoder."
    parts = []
    B = 1
    if points is not None:
        pts = points + 0.5
        lab = labels
        if boxes is None:
            pts = torch.cat([pts, torch.zeros((pts.shape[0], 1, 2))], dim=1)
            lab = torch.cat([lab, -torch.ones((lab.shape[0], 1))], dim=1)
        c = pts.clone()
        c[:, :, 0] = c[:, :, 0] / S
        c[:, :, 1] = c[:, :, 1] / S
        pe = pe_encoding(W, c)
        pe[lab == -1] = 0.0
        pe[lab == -1] += W[p + "not_a_point_embed.weight"]
        pe[lab == 0] += W[p + "point_embeddings.0.weight"]
        pe[lab == 1] += W[p + "point_embeddings.1.weight"]
        parts.append(pe)
    if boxes is not None:
        c = (boxes + 0.5).reshape(-1, 2, 2).clone()
        c[:, :, 0] = c[:, :, 0] / S
        c[:, :, 1] = c[:, :, 1] / S
        pe = pe_encoding(W, c)
        pe[:, 0, :] += W[p + "point_embeddings.2.weight"]
        pe[:, 1, :] += W[p + "point_embeddings.3.weight"]
        parts.append(pe)
    sparse = torch.cat(parts, dim=1) if parts else torch.empty((B, 0, C))
    if mask is not None:
        m = "prompt_encoder.mask_downscaling."
        x = F.conv2d(mask, W[m + "0.weight"], W[m + "0.bias"], stride=2)
        x = F.gelu(layer_norm2d(x, W[m + "1.weight"], W[m + "1.bias"]))
        x = F.conv2d(x, W[m + "3.weight"], W[m + "3.bias"], stride=2)
        x = F.gelu(layer_norm2d(x, W[m + "4.weight"], W[m + "4.bias"]))
        dense = F.conv2d(x, W[m + "6.weight"], W[m + "6.bias"])
    else:
        dense = W[p + "no_mask_embed.weight"].reshape(1, -1, 1, 1).expand(B, -1, g, g)
    return sparse, dense


# ---------------------------------------------------------------- mask decoder (docs/design/sam.md §7)


def dec_attention(W, pre, q, k, v, heads):
    q = F.linear(q, W[pre + "q_proj.weight"], W[pre + "q_proj.bias"])
    k = F.linear(k, W[pre + "k_proj.weight"], W[pre + "k_proj.bias"])
    v = F.linear(v, W[pre + "v_proj.weight"], W[pre + "v_proj.bias"])

    def split(x):
        b, n, c = x.shape
        return x.reshape(b, n, heads, c // heads).transpose(1, 2)

    q, k, v = split(q), split(k), split(v)
    c_per_head = q.shape[-1]
    attn = q @ k.permute(0, 1, 3, 2)
    attn = attn / math.sqrt(c_per_head)
    attn = torch.softmax(attn, dim=-1)
    out = attn @ v
    b, h, n, c = out.shape
    out = out.transpose(1, 2).reshape(b, n, h * c)
    return F.linear(out, W[pre + "out_proj.weight"], W[pre + "out_proj.bias"])


def ln(W, pre, x, eps=1e-5):
    return F.layer_norm(x, (x.shape[-1],), W[pre + "weight"], W[pre + "bias"], eps)


def two_way_block(W, pre, queries, keys, query_pe, key_pe, heads, skip_first_layer_pe):
    if skip_first_layer_pe:
        queries = dec_attention(W, pre + "self_attn.", queries, queries, queries, heads)
    else:
        q = queries + query_pe
        queries = queries + dec_attention(W, pre + "self_attn.", q, q, queries, heads)
    queries = ln(W, pre + "norm1.", queries)
    q, k = queries + query_pe, keys + key_pe
    queries = ln(W, pre + "norm2.", queries + dec_attention(W, pre + "cross_attn_token_to_image.", q, k, keys, heads))
    mlp = F.linear(F.relu(F.linear(queries, W[pre + "mlp.lin1.weight"], W[pre + "mlp.lin1.bias"])), W[pre + "mlp.lin2.weight"], W[pre + "mlp.lin2.bias"])
    queries = ln(W, pre + "norm3.", queries + mlp)
    q, k = queries + query_pe, keys + key_pe
    keys = ln(W, pre + "norm4.", keys + dec_attention(W, pre + "cross_attn_image_to_token.", k, q, queries, heads))
    return queries, keys


def two_way_transformer(W, cfg, image_embedding, image_pe, point_embedding):
    keys = image_embedding.flatten(2).permute(0, 2, 1)
    key_pe = image_pe.flatten(2).permute(0, 2, 1)
    queries = point_embedding
    t = "mask_decoder.transformer."
    for i in range(2):
        queries, keys = two_way_block(W, f"{t}layers.{i}.", queries, keys, point_embedding, key_pe, cfg["dec_heads"], i == 0)
    q, k = queries + point_embedding, keys + key_pe
    queries = queries + dec_attention(W, t + "final_attn_token_to_image.", q, k, keys, cfg["dec_heads"])
    return ln(W, t + "norm_final_attn.", queries), keys


def mlp3(W, pre, x):
    x = F.relu(F.linear(x, W[pre + "0.weight"], W[pre + "0.bias"]))
    x = F.relu(F.linear(x, W[pre + "1.weight"], W[pre + "1.bias"]))
    return F.linear(x, W[pre + "2.weight"], W[pre + "2.bias"])


def mask_decoder(W, cfg, image_embedding, pe, sparse, dense):
    d = "mask_decoder."
    nm = cfg["num_multimask"] + 1
    out_tok = torch.cat([W[d + "iou_token.weight"], W[d + "mask_tokens.weight"]], dim=0)
    B = sparse.shape[0]
    tokens = torch.cat([out_tok.unsqueeze(0).expand(B, -1, -1), sparse], dim=1)
    src = torch.repeat_interleave(image_embedding, B, dim=0) + dense
    pos = torch.repeat_interleave(pe, B, dim=0)
    b, c, h, w = src.shape
    hs, src = two_way_transformer(W, cfg, src, pos, tokens)
    iou_out, mask_out = hs[:, 0, :], hs[:, 1:1 + nm, :]
    src = src.transpose(1, 2).reshape(b, c, h, w)
    u = "mask_decoder.output_upscaling."
    x = F.conv_transpose2d(src, W[u + "0.weight"], W[u + "0.bias"], stride=2)
    x = F.gelu(layer_norm2d(x, W[u + "1.weight"], W[u + "1.bias"]))
    up = F.gelu(F.conv_transpose2d(x, W[u + "3.weight"], W[u + "3.bias"], stride=2))
    hyper = torch.stack([mlp3(W, f"{d}output_hypernetworks_mlps.{i}.layers.", mask_out[:, i, :]) for i in range(nm)], dim=1)
    b, c, h, w = up.shape
    masks = (hyper @ up.reshape(b, c, h * w)).reshape(b, -1, h, w)
    iou = mlp3(W, d + "iou_prediction_head.layers.", iou_out)
    return masks, iou


# ---------------------------------------------------------------- pre/post-processing (docs/design/sam.md §4, §8)


def preprocess_shape(h, w, long_side):
    scale = long_side * 1.0 / max(h, w)
    return int(h * scale + 0.5), int(w * scale + 0.5)


def preprocess(img_u8, S):
    h, w = img_u8.shape[:2]
    nh, nw = preprocess_shape(h, w, S)
    resized = np.array(Image.fromarray(img_u8).resize((nw, nh), Image.BILINEAR))
    x = torch.as_tensor(resized).permute(2, 0, 1).contiguous()[None, :, :, :]
    x = (x - torch.tensor(PIXEL_MEAN).view(-1, 1, 1)) / torch.tensor(PIXEL_STD).view(-1, 1, 1)
    x = F.pad(x, (0, S - nw, 0, S - nh))
    return x, (nh, nw)


def apply_coords(xy, old_hw, new_hw):
    c = np.array(xy, dtype=np.float64).copy()
    c[..., 0] = c[..., 0] * (new_hw[1] / old_hw[1])
    c[..., 1] = c[..., 1] * (new_hw[0] / old_hw[0])
    return torch.as_tensor(c, dtype=torch.float32)


def postprocess(low_res, S, resized_hw, orig_hw):
    m = F.interpolate(low_res, (S, S), mode="bilinear", align_corners=False)
    m = m[..., :resized_hw[0], :resized_hw[1]]
    return F.interpolate(m, orig_hw, mode="bilinear", align_corners=False)


def test_image(h, w):
    """A deterministic uint8 RGB image: smooth gradients, a disc and a rectangle, plus hashed noise."""
    y, x = np.mgrid[0:h, 0:w]
    r = (x * 255 // max(w - 1, 1)).astype(np.int64)
    g = (y * 255 // max(h - 1, 1)).astype(np.int64)
    disc = (x - w * 0.4) ** 2 + (y - h * 0.55) ** 2 < (min(h, w) * 0.25) ** 2
    rect = (x > w * 0.65) & (x < w * 0.9) & (y > h * 0.15) & (y < h * 0.45)
    b = np.where(disc, 220, np.where(rect, 30, 120)).astype(np.int64)
    noise = ((x * 7919 + y * 104729) * 2654435761 >> 13) % 23
    img = np.stack([(r + noise) % 256, (g + 2 * noise) % 256, (b + noise) % 256], axis=-1)
    return img.astype(np.uint8)


# ---------------------------------------------------------------- golden writer (own minimal safetensors writer)


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    blobs, off = [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().to(torch.float32)
        b = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    print(f"wrote {path}: {len(tensors)} tensors, {8 + len(h) + off} bytes")


def run_prompts(W, cfg, emb, prompts, orig_hw, resized_hw, out, prefix, full_size=True):
    S = cfg["img_size"]
    pe = dense_pe(W, S // cfg["patch"])
    out["dense_pe"] = pe
    for i, pr in enumerate(prompts):
        pts = labels = boxes = mask = None
        if "points" in pr:
            pts = apply_coords([[p[0], p[1]] for p in pr["points"]], orig_hw, resized_hw)[None]
            labels = torch.tensor([[float(p[2]) for p in pr["points"]]])
        if "box" in pr:
            boxes = apply_coords(np.array(pr["box"], dtype=np.float64).reshape(2, 2), orig_hw, resized_hw).reshape(1, 4)
        if "mask_seed" in pr:
            g4 = 4 * (S // cfg["patch"])
            mask = torch.from_numpy((np.float32(2) * uniform01(pr["mask_seed"], g4 * g4) - np.float32(1)).reshape(1, 1, g4, g4) * np.float32(8))
            out[f"{prefix}{i}.mask_input"] = mask
        sparse, dense = embed_prompts(W, cfg, pts, labels, boxes, mask)
        masks, iou = mask_decoder(W, cfg, emb, pe, sparse, dense)
        out[f"{prefix}{i}.sparse"] = sparse
        out[f"{prefix}{i}.dense"] = dense
        out[f"{prefix}{i}.iou_all"] = iou
        sl = slice(1, None) if pr["multimask"] else slice(0, 1)
        out[f"{prefix}{i}.low_res"] = masks[:, sl]
        if full_size:
            out[f"{prefix}{i}.mask_logits"] = postprocess(masks[:, sl], S, resized_hw, orig_hw)


def main(which):
    seed = 20261126
    cfg = small() if which == "small" else vit_b()
    W = seeded_weights(cfg, seed)
    h, w = (40, 50) if which == "small" else (150, 200)
    img = test_image(h, w)
    x, resized_hw = preprocess(img, cfg["img_size"])
    out = {"image_u8": torch.from_numpy(img.astype(np.float32)), "input": x}
    rec = {} if which == "small" else None
    with torch.no_grad():
        emb = image_encoder(W, cfg, x, rec)
        out["image_embedding"] = emb
        if rec:
            out.update(rec)
        prompts = [
            {"points": [[20.0, 18.0, 1]], "multimask": True},
            {"points": [[10.5, 30.0, 1], [40.0, 5.0, 0]], "multimask": False},
            {"box": [5.0, 4.0, 44.0, 33.0], "multimask": True},
            {"box": [12.0, 10.0, 30.0, 35.0], "points": [[20.0, 20.0, 1]], "multimask": False},
            {"points": [[33.0, 12.0, 1]], "mask_seed": 99, "multimask": True},
        ] if which == "small" else [
            {"box": [30.0, 20.0, 160.0, 120.0], "multimask": True},
            {"points": [[80.0, 82.0, 1], [170.0, 40.0, 0]], "multimask": False},
            {"box": [120.0, 15.0, 185.0, 75.0], "points": [[150.0, 45.0, 1]], "mask_seed": 7, "multimask": False},
        ]
        run_prompts(W, cfg, emb, prompts, (h, w), resized_hw, out, "prompt")
    if which == "vitb":  # keep the committed file small: drop what the small config already covers
        for k in [k for k in out if k.endswith((".sparse", ".dense", "dense_pe")) or k == "input"]:
            del out[k]
    meta = {"command": f"python3 tools/reference/sam_reference.py {which}", "config": json.dumps(cfg), "seed": str(seed),
            "prompts": json.dumps(prompts), "image_hw": json.dumps([h, w]), "resized_hw": json.dumps(list(resized_hw)),
            "torch": torch.__version__, "numpy": np.__version__, "pillow": Image.__version__}
    write_safetensors(GOLDEN + f"sam_{which}.safetensors" if which == "small" else GOLDEN + "sam_vitb_e2e.safetensors", out, meta)


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in ("small", "vitb"):
        print(__doc__)
        sys.exit(2)
    main(sys.argv[1])
