#!/usr/bin/env python3
"""Goldens for SEG-SAM's losses (docs/design/segsam.md §4): values and gradients from PyTorch autograd.

    python3 tools/reference/losses_golden.py   → model/src/test/resources/golden/losses.json

Written from the spec, independently of segsam's Java code: focal (torchvision's sigmoid_focal_loss formula, mean,
α 0.25, γ 2), binary soft Dice (smoothing 1), cross-entropy (F.cross_entropy), multi-class soft Dice over the
channels present in the target or the prediction, BCE with logits, and L_cons (1 − soft IoU between σ(M̂_b) and
1 − softmax(M̂_s)[0], with 1e-6 added to the union).
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(20261126)
OUT = os.path.join("model", "src", "test", "resources", "golden", "losses.json")


def focal(x, t, alpha=0.25, gamma=2.0):
    p = torch.sigmoid(x)
    ce = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    pt = p * t + (1 - p) * (1 - t)
    loss = ce * (1 - pt) ** gamma
    at = alpha * t + (1 - alpha) * (1 - t)
    return (at * loss).mean()


def dice(x, t):
    p = torch.sigmoid(x)
    return 1 - (2 * (p * t).sum() + 1) / (p.sum() + t.sum() + 1)


def multi_dice(x, y, k):
    p = torch.softmax(x, dim=0)
    pred = p.argmax(dim=0)
    used = [c for c in range(k) if (y == c).any() or (pred == c).any()]
    total = 0
    for c in used:
        t = (y == c).double()
        total = total + 1 - (2 * (p[c] * t).sum() + 1) / (p[c].sum() + t.sum() + 1)
    return total / len(used)


def consistency(b, s):
    a = torch.sigmoid(b)
    f = 1 - torch.softmax(s, dim=0)[0]
    inter = (a * f).sum()
    return 1 - inter / (a.sum() + f.sum() - inter + 1e-6)


def leaf(*shape, scale=3.0):
    return (torch.randn(*shape, dtype=torch.float64) * scale).float().double().requires_grad_()


cases = []


def case(name, fn, inputs, extra):
    loss = fn()
    grads = torch.autograd.grad(loss, inputs)
    cases.append({"name": name, "value": loss.item(), "inputs": [i.detach().float().reshape(-1).tolist() for i in inputs],
                  "grads": [g.reshape(-1).tolist() for g in grads], **extra})


n, k = 60, 4
x = leaf(n)
t = (torch.rand(n) > 0.6).double()
case("focal", lambda: focal(x, t), [x], {"target": t.tolist()})
case("dice", lambda: dice(x, t), [x], {"target": t.tolist()})
xs = leaf(k, n)
y = torch.randint(0, k - 1, (n,))  # channel k-1 absent from the target: it counts only if predicted
case("cross_entropy", lambda: F.cross_entropy(xs.t(), y), [xs], {"labels": y.tolist(), "k": k})
case("multi_dice", lambda: multi_dice(xs, y, k), [xs], {"labels": y.tolist(), "k": k})
c = leaf(5)
pres = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0], dtype=torch.float64)
case("bce", lambda: F.binary_cross_entropy_with_logits(c, pres), [c], {"target": pres.tolist()})
xb = leaf(n)
case("consistency", lambda: consistency(xb, xs), [xb, xs], {"k": k})

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump({"command": "python3 tools/reference/losses_golden.py", "torch": torch.__version__, "cases": cases}, f)
print("wrote", OUT, len(cases), "cases")
