#!/usr/bin/env python3
"""Golden for segsam's AdamW: torch.optim.AdamW on two small parameters for 5 steps with given gradients.

    python3 tools/reference/adamw_golden.py  → model/src/test/resources/golden/adamw.json
(no clipping and a constant learning rate here: those are tested separately in Java)
"""
import json

import torch

torch.manual_seed(7)
p1 = torch.randn(3, 4).float()
p2 = torch.randn(5).float()
params = [p1.clone().requires_grad_(), p2.clone().requires_grad_()]
opt = torch.optim.AdamW(params, lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)
grads = []
for step in range(5):
    g = [torch.randn(3, 4).float(), torch.randn(5).float()]
    grads.append([x.reshape(-1).tolist() for x in g])
    for p, x in zip(params, g):
        p.grad = x.clone()
    opt.step()
json.dump({"command": "python3 tools/reference/adamw_golden.py", "torch": torch.__version__,
           "init": [p1.reshape(-1).tolist(), p2.reshape(-1).tolist()], "grads": grads,
           "final": [p.detach().reshape(-1).tolist() for p in params]},
          open("model/src/test/resources/golden/adamw.json", "w"))
print("ok")
