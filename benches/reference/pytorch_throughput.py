"""PyTorch's CPU throughput for the models resc's benchmarks measure, on this machine.

    python benches/reference/pytorch_throughput.py [--threads N] [--seconds S] [--device cuda]

Prints images/s for
- training steps (forward + backward + SGD step, batch 128, 3x32x32): ResNet-20 (option A)
  and WRN-16-4, the figures `cargo bench --bench executor` / `resc run` are compared with;
- evaluation forward: ResNet-50 (torchvision, batch 8, 3x224x224) and WRN-16-8 (batch 128),
  the figures of `cargo bench --bench inference`.
The networks are written here as their papers and reference code define them (the same
parameter counts as the zoo: ResNet-20 269,722; WRN-16-4 2,748,890; WRN-16-8 10,961,370;
ResNet-50 25,557,032). Requires torch and torchvision.
"""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


class CifarBasic(nn.Module):
    """He et al. 2015's CIFAR block with the option-A (zero-padding) shortcut."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.pad = cout - cin

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        s = x
        if self.pad:
            s = F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad // 2, self.pad // 2))
        return F.relu(y + s)


def resnet20():
    layers = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    cin = 16
    for width in (16, 32, 64):
        for i in range(3):
            layers.append(CifarBasic(cin, width, 2 if (i == 0 and width != 16) else 1))
            cin = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
    return nn.Sequential(*layers)


class WideBasic(nn.Module):
    """szagoruyko/wide-residual-networks' pre-activation block."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.bn0 = nn.BatchNorm2d(cin)
        self.conv0 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv1 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.short = nn.Conv2d(cin, cout, 1, stride, 0, bias=False) if cin != cout else None

    def forward(self, x):
        o1 = F.relu(self.bn0(x))
        y = self.conv1(F.relu(self.bn1(self.conv0(o1))))
        return y + (self.short(o1) if self.short is not None else x)


def wrn(depth, k):
    n = (depth - 4) // 6
    layers = [nn.Conv2d(3, 16, 3, 1, 1, bias=False)]
    cin = 16
    for g, width in enumerate((16 * k, 32 * k, 64 * k)):
        for i in range(n):
            layers.append(WideBasic(cin, width, 2 if (i == 0 and g > 0) else 1))
            cin = width
    layers += [nn.BatchNorm2d(cin), nn.ReLU(), nn.AvgPool2d(8), nn.Flatten(), nn.Linear(cin, 10)]
    return nn.Sequential(*layers)


DEVICE = torch.device("cpu")


def sync():
    """Waits for the device's queued work (a GPU runs asynchronously)."""
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()


def rate(step, batch, seconds):
    for _ in range(3 if DEVICE.type == "cuda" else 1):
        step()  # warm-up (on a GPU: cuDNN's algorithm search, the allocator)
    sync()
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or done < 3:
        step()
        done += 1
    sync()
    return done * batch / (time.perf_counter() - start)


def train_step(model, x, y):
    """One training step on (x, y) as resc's trainer does it: cross-entropy, SGD with lr
    0.1, Nesterov momentum 0.9, weight decay 5e-4."""
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    model.train()

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    return step


def train_rate(model, batch, seconds):
    model.to(DEVICE)
    x = torch.randn(batch, 3, 32, 32, device=DEVICE)
    y = torch.randint(0, 10, (batch,), device=DEVICE)
    return rate(train_step(model, x, y), batch, seconds)


def eval_rate(model, shape, batch, seconds):
    model.to(DEVICE)
    x = torch.randn(batch, *shape, device=DEVICE)
    model.eval()

    def step():
        with torch.no_grad():
            model(x)

    return rate(step, batch, seconds)


def params(model):
    return sum(p.numel() for p in model.parameters())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--device", default="cpu", help="cpu, or cuda for an NVIDIA GPU")
    args = parser.parse_args()
    global DEVICE
    DEVICE = torch.device(args.device)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    where = torch.cuda.get_device_name() if DEVICE.type == "cuda" else f"{args.threads} threads"
    print(f"PyTorch {torch.__version__}, {where}")
    for name, model in [("resnet20", resnet20()), ("wrn-16-4", wrn(16, 4))]:
        print(f"train  {name:10} batch 128  {params(model):>11,} params  "
              f"{train_rate(model, 128, args.seconds):8.1f} images/s")
    for name, model, shape, batch in [
        ("resnet50", torchvision.models.resnet50(), (3, 224, 224), 8),
        ("wrn-16-8", wrn(16, 8), (3, 32, 32), 128),
    ]:
        print(f"eval   {name:10} batch {batch:<4} {params(model):>11,} params  "
              f"{eval_rate(model, shape, batch, args.seconds):8.1f} images/s")


if __name__ == "__main__":
    main()
