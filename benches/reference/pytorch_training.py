"""PyTorch eager's CPU training throughput for one model, the counterpart of
`cargo bench --bench training` (called by benches/training_vs_pytorch.sh).

    python benches/reference/pytorch_training.py MODEL BATCH SIZE STEPS THREADS

MODEL is resnet20, wrn-16-4 or resnet50 (torchvision). One warm-up step is not timed;
prints `pytorch MODEL images/s`. The step is SGD (lr 0.1, Nesterov momentum 0.9,
weight decay 5e-4) on cross-entropy, as resc's trainer does.
"""
import os
import sys
import time

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_throughput import resnet20, train_step, wrn  # noqa: E402


def main():
    name, batch, size, steps, threads = sys.argv[1], *map(int, sys.argv[2:6])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = {
        "resnet20": resnet20,
        "wrn-16-4": lambda: wrn(16, 4),
        "resnet50": torchvision.models.resnet50,
    }[name]()
    x = torch.randn(batch, 3, size, size)
    y = torch.arange(batch) % 10
    step = train_step(model, x, y)
    step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    print(f"pytorch {name} {steps * batch / (time.perf_counter() - start):.2f}")


if __name__ == "__main__":
    main()
