#!/usr/bin/env python3
"""One SEG-SAM training step in PyTorch autograd, timed: the peer of segsam's TrainStepRun / TrainStepBench.

    python3 tools/reference/train_step_torch.py [--steps N] [--warmup W] [--threads T] [--classes K] [--targets P] [--device cuda]

The step (docs/design/segsam.md §4), written from the model's definition with the functions of sam_reference.py and
segsam_reference.py: SAM ViT-B decoder sizes (C = 256, 64×64 cached image embedding f_v, random), K classes, P box
prompts; per step: T2VSE summary once, then per target the prompt encoder (box), T2VSE enhancement, SAM's mask
decoder (M̂_b = token 0) and the semantic-aware decoder (M̂_s, Ĉ_s), the four losses at 256×256
(focal×20 + Dice on M̂_b; CE + multi-class Dice on M̂_s; BCE on Ĉ_s; the cross-mask alignment L_cons), averaged over the
targets, one backward. Trainable: everything segsam trains (prompt encoder but its Gaussian matrix, mask decoder,
semantic decoder, T2VSE but its text embeddings). Prints the median wall and process-CPU milliseconds per step.
--device cuda: the same step on the GPU (weights and inputs moved there after they are made on the CPU with the same
seeds, float tensors made inside the step default to CUDA; each timed step ends with torch.cuda.synchronize()), the
peer of `TrainStepRun` with -Dsegsam.device=cuda on the same card.
"""
import argparse
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, "tools/reference")
import sam_reference as S  # noqa: E402
import segsam_reference as G  # noqa: E402


def focal(x, t, alpha=0.25, gamma=2.0):
    p = torch.sigmoid(x)
    ce = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    pt = p * t + (1 - p) * (1 - t)
    at = alpha * t + (1 - alpha) * (1 - t)
    return (at * (1 - pt) ** gamma * ce).mean()


def dice(x, t):
    p = torch.sigmoid(x)
    return 1 - (2 * (p * t).sum() + 1) / (p.sum() + t.sum() + 1)


def multi_dice(x, y, k):
    p = torch.softmax(x, dim=0).reshape(k, -1)
    onehot = F.one_hot(y, k).T.float()
    present = (onehot.sum(1) > 0) | (F.one_hot(x.reshape(k, -1).argmax(0), k).sum(0) > 0)
    inter = (p * onehot).sum(1)
    d = 1 - (2 * inter + 1) / (p.sum(1) + onehot.sum(1) + 1)
    return d[present].mean()


def step(W, c, fv, pe, boxes, targets, classes, K):
    summary = G.t2vse_summary(W, c, fv, pe)
    n = len(boxes)
    total = 0.0
    presence_t = torch.zeros(K, device=fv.device)
    presence_t[torch.tensor(sorted(set(classes))) - 1] = 1
    for box, t, cls in zip(boxes, targets, classes):
        sparse, dense = S.embed_prompts(W, c, None, None, box, None)
        tp2 = G.enhance(W, sparse, summary)
        masks, _ = S.mask_decoder(W, c, fv, pe, tp2, dense)
        xb = masks[0, 0]
        sem, _, logits = G.semantic_decoder(W, c, fv, pe, tp2, dense, K)
        xs = sem[0]
        y = (t > 0).long() * cls
        l_bin = 20 * focal(xb, t) + dice(xb, t)
        l_sem = F.cross_entropy(xs.reshape(K + 1, -1).T, y.reshape(-1)) + multi_dice(xs, y.reshape(-1), K + 1)
        l_bce = F.binary_cross_entropy_with_logits(logits[0], presence_t)
        a = torch.sigmoid(xb)
        b = 1 - torch.softmax(xs, dim=0)[0]
        inter = (a * b).sum()
        l_cons = 1 - inter / (a.sum() + b.sum() - inter)
        total = total + (l_bin + l_sem + l_bce + l_cons) / n
    total.backward()
    return float(total)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--classes", type=int, default=12)
    ap.add_argument("--targets", type=int, default=5)
    ap.add_argument("--text-dim", type=int, default=256)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    c = S.vit_b()
    K = a.classes
    shapes = [(n, s) for n, s in S.param_shapes(c) if not n.startswith("image_encoder.")]
    shapes += G.segsam_shapes(c, K, a.text_dim)
    W = G.seeded(shapes, 20261205)
    for name, w in W.items():
        trainable = (name.startswith("prompt_encoder.") and "gaussian" not in name) or name.startswith(("mask_decoder.", "semantic_decoder.")) \
            or (name.startswith("t2vse.") and name != "t2vse.text_embeddings")
        w.requires_grad_(trainable)
    g = c["img_size"] // c["patch"]
    L = 4 * g
    fv = torch.randn(1, c["out_chans"], g, g)
    with torch.no_grad():
        pe = S.dense_pe(W, g)
    gen = torch.Generator().manual_seed(1)
    boxes, targets, classes = [], [], []
    for i in range(a.targets):
        x0, y0 = [int(v) for v in torch.randint(0, 600, (2,), generator=gen)]
        boxes.append(torch.tensor([[float(x0), float(y0), float(x0 + 300), float(y0 + 250)]]))
        t = torch.zeros(L, L)
        t[y0 // 4:(y0 + 250) // 4, x0 // 4:(x0 + 300) // 4] = 1
        targets.append(t)
        classes.append(1 + i % K)
    if a.device == "cuda":
        dev = torch.device("cuda")
        W = {n: w.detach().to(dev).requires_grad_(w.requires_grad) for n, w in W.items()}
        fv, pe = fv.to(dev), pe.to(dev)
        boxes = [b.to(dev) for b in boxes]
        targets = [t.to(dev) for t in targets]
        torch.set_default_tensor_type(torch.cuda.FloatTensor)  # float tensors the reference functions make inside the step
    sync = torch.cuda.synchronize if a.device == "cuda" else (lambda: None)
    walls, cpus = [], []
    for i in range(a.warmup + a.steps):
        for w in W.values():
            w.grad = None
        sync()
        t0, c0 = time.perf_counter(), time.process_time()
        loss = step(W, c, fv, pe, boxes, targets, classes, K)
        sync()
        t1, c1 = time.perf_counter(), time.process_time()
        if i >= a.warmup:
            walls.append((t1 - t0) * 1e3)
            cpus.append((c1 - c0) * 1e3)
    print(f"torch {torch.__version__} device={a.device} threads={a.threads} K={K} targets={a.targets} loss={loss:.4f} "
          f"wall_ms_median={statistics.median(walls):.1f} cpu_ms_median={statistics.median(cpus):.1f} "
          f"wall_ms={[round(x, 1) for x in walls]}")


if __name__ == "__main__":
    main()
