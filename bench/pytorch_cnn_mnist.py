#!/usr/bin/env python3
"""PyTorch reference for milestone 2 (run by hand: pip install torch numpy).

The same recipe as `mgp train cnn-mnist`: Conv2d(1,16,3)-ReLU-MaxPool2d(2)-
Conv2d(16,32,3)-ReLU-MaxPool2d(2)-Flatten-Linear(800,128)-ReLU-Linear(128,10),
Adam lr 1e-3, cross-entropy, batch 64, shuffled, pixels in [0, 1] as
(N, 1, 28, 28), 3 epochs on the repository's MNIST subset (data/mnist),
evaluated on the 10k test set. Prints one JSON line per epoch (same keys as
`mgp train cnn-mnist --json`) and a summary with the median epoch time.

For its best times run it with glibc's allocator tuned:
    MALLOC_MMAP_THRESHOLD_=10000000000 MALLOC_TRIM_THRESHOLD_=10000000000 \
        python3 bench/pytorch_cnn_mnist.py

Usage: python3 bench/pytorch_cnn_mnist.py [--seed S] [--epochs N] [--threads T]
"""
import argparse
import gzip
import json
import os
import statistics
import time

import numpy as np
import torch

ROOT = os.path.join(os.path.dirname(__file__), "..", "data", "mnist")


def idx(name):
    with gzip.open(os.path.join(ROOT, name), "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(prefix):
    x = torch.tensor(idx(f"{prefix}-images-idx3-ubyte.gz").reshape(-1, 1, 28, 28), dtype=torch.float32) / 255.0
    y = torch.tensor(idx(f"{prefix}-labels-idx1-ubyte.gz"), dtype=torch.int64)
    return x, y


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    xtr, ytr = load("train-10k")
    xte, yte = load("t10k")
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(800, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    times = []
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = torch.randperm(len(xtr))
        start = time.perf_counter()
        total, correct, loss_sum = 0, 0, 0.0
        for i in range(0, len(xtr), 64):
            idx_ = perm[i:i + 64]
            xb, yb = xtr[idx_], ytr[idx_]
            opt.zero_grad()
            out = model(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(yb)
            correct += (out.argmax(1) == yb).sum().item()
            total += len(yb)
        seconds = time.perf_counter() - start
        times.append(seconds)
        model.eval()
        with torch.no_grad():
            out = model(xte)
            test_loss = loss_fn(out, yte).item()
            test_acc = (out.argmax(1) == yte).float().mean().item()
        print(json.dumps({"epoch": epoch, "train_loss": loss_sum / total, "train_acc": correct / total,
                          "test_loss": test_loss, "test_acc": test_acc, "epoch_seconds": seconds,
                          "samples_per_second": total / seconds}))
    print(json.dumps({"summary": "pytorch cnn-mnist", "torch": torch.__version__, "seed": args.seed,
                      "median_epoch_seconds": statistics.median(times), "final_test_acc": test_acc}))


if __name__ == "__main__":
    main()
