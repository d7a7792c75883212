#!/usr/bin/python3
"""PyTorch (CPU) training throughput for Tandem's built-in models, the baseline of
tools/bench_throughput.sh. Same architecture, optimizer, batch, data and thread count.

usage: bench_torch.py MODEL BATCH SAMPLES THREADS   -> prints samples/s (one number)
"""
import gzip
import sys
import time

import numpy as np
import torch
from torch import nn

DATA = "/usr/share/datasets/fashion-mnist"


def load(split, count):
    with gzip.open(f"{DATA}/{split}-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)[:count]
    with gzip.open(f"{DATA}/{split}-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)[:count]
    x = torch.from_numpy(images.astype(np.float32) / 255.0)
    x = (x - x.mean()) / x.std()
    return x, torch.from_numpy(labels.astype(np.int64))


def model(name):
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                             nn.Linear(128, 10))
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(1568, 128), nn.ReLU(), nn.Linear(128, 10))


def main():
    name, batch, samples, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    x, y = load("train", samples)
    net = model(name)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    loss_fn = nn.CrossEntropyLoss()
    steps = samples // batch
    order = torch.randperm(samples)

    def step(i):
        idx = order[i * batch:(i + 1) * batch]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x[idx]), y[idx])
        loss.backward()
        opt.step()

    for i in range(min(5, steps)):  # warm-up
        step(i)
    start = time.perf_counter()
    for i in range(steps):
        step(i)
    print(f"{steps * batch / (time.perf_counter() - start):.1f}")


if __name__ == "__main__":
    main()
