"""Writes tests/fixtures/optim.safetensors: a few steps of torch.optim.SGD on a tiny model.

Run by hand (PyTorch 2.x and safetensors installed):

    python tests/reference/make_optim_fixture.py

The model is tests/fixtures/optim.resnet written in PyTorch with the same parameter
names. Training is what `resc run` does with its default parameter groups:
- conv and linear weights: SGD, Nesterov momentum 0.9, dampening 0, weight decay 5e-4;
- 1-D parameters (BN gamma/beta, linear bias): the same without weight decay;
- the weighted shortcut's lambda: its own learning rate (0.01 at base 0.1, so it follows
  the schedule), no weight decay, clamped into (-1, 1) after every step (projected SGD);
a multistep schedule by iteration (x0.1 from the 4th step), BN in training mode, mean
cross-entropy. The fixture holds the initial weights (resc names), the batches
(`__x<i>`, `__y<i>`) and, for every parameter and BN running statistic, its value after
the last step (`__after.<name>`) and after the first (`__step1.<name>`).
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "optim.safetensors")
STEPS = 5
BOUND = 1.0 - 1e-6
torch.use_deterministic_algorithms(True)


class Optim(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 4, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.residual = nn.ModuleDict(dict(conv2=nn.Conv2d(4, 4, 3, padding=1, bias=False), bn2=nn.BatchNorm2d(4)))
        self.lam = nn.Parameter(torch.zeros(1))
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        r = self.residual.bn2(self.residual.conv2(x))
        x = F.relu(x + self.lam * r)
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def names(model):
    """resc's name of every parameter and buffer."""
    out = {}
    for key, value in model.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        out["lambda.weight" if key == "lam" else key] = value
    return out


def main():
    gen = torch.Generator().manual_seed(20261122)
    model = Optim()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
        model.lam.fill_(0.0)  # lambda starts at 0
    state = {k: v.detach().clone().contiguous() for k, v in names(model).items()}

    weights = [model.conv1.weight, model.residual.conv2.weight, model.fc.weight]
    plain = [model.bn1.weight, model.bn1.bias, model.residual.bn2.weight, model.residual.bn2.bias, model.fc.bias]
    opt = torch.optim.SGD(
        [
            dict(params=weights, weight_decay=5e-4),
            dict(params=plain, weight_decay=0.0),
            dict(params=[model.lam], lr=0.01, weight_decay=0.0),
        ],
        lr=0.1, momentum=0.9, dampening=0.0, nesterov=True,
    )
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[3], gamma=0.1)
    model.train()
    out = {}
    for i in range(STEPS):
        x = torch.randn(8, 2, 6, 6, generator=gen)
        y = torch.randint(0, 3, (8,), generator=gen)
        out[f"__x{i}"] = x
        out[f"__y{i}"] = y
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
        with torch.no_grad():
            model.lam.clamp_(-BOUND, BOUND)
        sched.step()
        if i == 0:
            out.update({f"__step1.{k}": v.detach().clone().contiguous() for k, v in names(model).items()})
    out.update({f"__after.{k}": v.detach().clone().contiguous() for k, v in names(model).items()})
    save_file({**state, **out}, OUT)
    print(f"optim: {len(state)} tensors, lambda after {STEPS} steps = {model.lam.item():.6f}, "
          f"{os.path.getsize(OUT):,} bytes")


if __name__ == "__main__":
    main()
