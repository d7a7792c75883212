#!/usr/bin/python3
"""PyTorch (CPU) training throughput for Tandem's built-in models, the baseline of
tools/bench_throughput.sh. Same architecture, optimizer, batch, data and thread count.
Graph models (resnet20, mobilenet, vit, encoder[:...], a JSON file) are built with torch.nn
modules from the description `tandem model --model M --json` prints (TANDEM names the binary;
build/bin/tandem). Token models train on uniform random ids with BERT's 15% of positions scored
(the rest ignore_index), as `tandem train --synthetic-tokens` does.

usage: bench_torch.py MODEL BATCH SAMPLES THREADS   -> prints samples/s and peak RSS in MiB
       bench_torch.py accuracy MODEL EPOCHS BATCH LR THREADS [TRAIN_SUBSET]
           -> trains with Tandem's recipe (its initialization; SGD, momentum 0.9, weight decay 5e-4 on the weights of
              convolutions and linear layers only, cosine over every step, the data normalized by
              the training set's mean and deviation) and prints each epoch's test accuracy, as
              `tandem train` does, one line per epoch: "epoch E accuracy A"
"""
import json
import os
import resource
import subprocess
import gzip
import sys
import time

import numpy as np
import torch
from torch import nn

DATA = "/usr/share/datasets/fashion-mnist"


def load(split, count, stats=None):
    """Images in [0, 1] normalized by stats = (mean, std), by their own without; labels."""
    with gzip.open(f"{DATA}/{split}-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)[:count]
    with gzip.open(f"{DATA}/{split}-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)[:count]
    x = torch.from_numpy(images.astype(np.float32) / 255.0)
    mean, std = stats if stats else (x.mean(), x.std())
    return (x - mean) / std, torch.from_numpy(labels.astype(np.int64))


class Graph(nn.Module):
    """A Tandem graph description as torch.nn modules (eval/train modes as PyTorch's)."""

    def __init__(self, spec):
        super().__init__()
        self.spec = spec
        self.nodes, self.mods, shapes = spec["nodes"], nn.ModuleDict(), {"input": list(spec["input"])}
        for n in self.nodes:
            name, op, c = n["name"], n["op"], shapes[n["inputs"][0]]
            key = name.replace(".", "_")
            if op == "conv2d":
                k, s, p, d = n["kernel"], n.get("stride", 1), n.get("pad", 0), n.get("dilation", 1)
                self.mods[key] = nn.Conv2d(c[0], n["out_channels"], k, s, p, d, n.get("groups", 1), n.get("bias", True))
                out = lambda x: (x + 2 * p - d * (k - 1) - 1) // s + 1
                shapes[name] = [n["out_channels"], out(c[1]), out(c[2])]
            elif op == "batchnorm":
                self.mods[key] = nn.BatchNorm2d(c[0], eps=n.get("eps", 1e-5), momentum=n.get("momentum", 0.1))
                shapes[name] = c
            elif op == "linear":
                per_token = n.get("flatten", True) is False
                self.mods[key] = nn.Linear(c[-1] if per_token else int(np.prod(c)), n["out"], bias=n.get("bias", True))
                shapes[name] = c[:-1] + [n["out"]] if per_token else [n["out"]]
            elif op == "tokens":
                shapes[name] = [c[1] * c[2], c[0]]
            elif op == "class_token":
                self.register_parameter(key, nn.Parameter(torch.zeros(1, 1, c[1])))
                shapes[name] = [c[0] + 1, c[1]]
            elif op == "position_embedding":
                self.register_parameter(key, nn.Parameter(torch.zeros(1, n.get("positions", c[0]), c[1])))
                shapes[name] = c
            elif op == "embedding":
                self.mods[key] = nn.Embedding(n["vocab"], n["out"])
                shapes[name] = c + [n["out"]]
            elif op == "layernorm":
                self.mods[key] = nn.LayerNorm(c[-1], eps=n.get("eps", 1e-5))
                shapes[name] = c
            elif op == "attention":
                self.mods[key] = nn.MultiheadAttention(c[1], n["heads"], batch_first=True)
                shapes[name] = c
            elif op == "gelu":
                self.mods[key] = nn.GELU(approximate=n.get("approximate", "none"))
                shapes[name] = c
            elif op == "slice":
                shapes[name] = c[:n["axis"]] + [n["length"]] + c[n["axis"] + 1:]
            elif op == "maxpool2d":
                self.mods[key] = nn.MaxPool2d(n["kernel"], n["stride"])
                shapes[name] = [c[0], (c[1] - n["kernel"]) // n["stride"] + 1, (c[2] - n["kernel"]) // n["stride"] + 1]
            elif op == "global_avgpool":
                shapes[name] = [c[0]]
            else:
                shapes[name] = c

    def forward(self, x):
        v = {"input": x}
        for n in self.nodes:
            name, op, a = n["name"], n["op"], v[n["inputs"][0]]
            key = name.replace(".", "_")
            if op == "relu":
                y = torch.relu(a)
            elif op == "add":
                y = a + v[n["inputs"][1]]
            elif op == "global_avgpool":
                y = a.mean(dim=(2, 3))
            elif op == "linear":
                y = self.mods[key](a if n.get("flatten", True) is False else a.flatten(1))
            elif op == "tokens":
                y = a.flatten(2).transpose(1, 2)
            elif op == "class_token":
                y = torch.cat([getattr(self, key).expand(a.shape[0], -1, -1), a], dim=1)
            elif op == "position_embedding":
                y = a + getattr(self, key)[:, :a.shape[1]]
            elif op == "attention":
                y = self.mods[key](a, a, a, need_weights=False)[0]
            elif op == "tanh":
                y = torch.tanh(a)
            elif op == "sigmoid":
                y = torch.sigmoid(a)
            elif op == "slice":
                y = a.narrow(n["axis"] + 1, n["start"], n["length"])
            elif op == "flatten":
                y = a.flatten(1)
            else:
                y = self.mods[key](a)
            v[name] = y
        return v[self.nodes[-1]["name"]]


def model(name):
    if name not in ("mlp", "cnn"):
        tandem = os.environ.get("TANDEM", "build/bin/tandem")
        return Graph(json.loads(subprocess.check_output([tandem, "model", "--model", name, "--json"])))
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                             nn.Linear(128, 10))
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(1568, 128), nn.ReLU(), nn.Linear(128, 10))


def accuracy(name, epochs, batch, lr, threads, subset):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    raw, _ = load("train", subset, (0.0, 1.0))
    stats = (raw.mean(), raw.std())  # the training set's, for both splits (as `tandem train`)
    x, y = load("train", subset, stats)
    tx, ty = load("t10k", 10000, stats)
    net = model(name)
    for m in net.modules():  # Tandem's initialization: He-uniform weights (±√(6/fan_in)), zero biases
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    decay = [p for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear)) for p in [m.weight]]
    rest = [p for p in net.parameters() if all(p is not d for d in decay)]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": 5e-4}, {"params": rest, "weight_decay": 0.0}], lr=lr,
                          momentum=0.9)
    steps_per_epoch = len(x) // batch
    total = steps_per_epoch * epochs
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 0.5 * (1 + np.cos(np.pi * t / max(1, total))))
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(len(x))
        for i in range(steps_per_epoch):
            idx = order[i * batch:(i + 1) * batch]
            opt.zero_grad(set_to_none=True)
            loss_fn(net(x[idx]), y[idx]).backward()
            opt.step()
            sched.step()
        net.eval()
        with torch.no_grad():
            correct = sum((net(tx[i:i + 1000]).argmax(1) == ty[i:i + 1000]).sum().item() for i in range(0, len(tx), 1000))
        print(f"epoch {epoch + 1} accuracy {correct / len(tx):.4f}", flush=True)


def main():
    if sys.argv[1] == "accuracy":
        a = sys.argv[2:]
        return accuracy(a[0], int(a[1]), int(a[2]), float(a[3]), int(a[4]), int(a[5]) if len(a) > 5 else 60000)
    name, batch, samples, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    net = model(name)
    spec = getattr(net, "spec", None)
    if spec and "vocab" in spec:  # token ids; labels on 15% of the positions
        t = spec["input"][0]
        x = torch.randint(0, spec["vocab"] - 1, (samples, t))
        y = torch.where(torch.rand(samples, t) < 0.15, x, torch.full_like(x, -100))
    else:
        x, y = load("train", samples)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    loss_fn = nn.CrossEntropyLoss()
    steps = samples // batch
    order = torch.randperm(samples)

    def step(i):
        idx = order[i * batch:(i + 1) * batch]
        opt.zero_grad(set_to_none=True)
        out = net(x[idx])
        loss = loss_fn(out.reshape(-1, out.shape[-1]), y[idx].reshape(-1))
        loss.backward()
        opt.step()

    for i in range(min(5, steps)):  # warm-up
        step(i)
    start = time.perf_counter()
    for i in range(steps):
        step(i)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{steps * batch / (time.perf_counter() - start):.1f} {rss:.0f}")


if __name__ == "__main__":
    main()
