#!/usr/bin/env python3
"""PyTorch reference for milestone 1 (run by hand: pip install torch numpy).

The same recipe as `mgp train mlp-mnist`: MLP 784-128-64-10 with ReLU, Adam
lr 1e-3, cross-entropy, batch 64, shuffled, pixels in [0, 1], 10 epochs on the
repository's MNIST subset (data/mnist), evaluated on the 10k test set.
Prints one JSON line per epoch (same keys as `mgp train mlp-mnist --json`)
and a summary with the median epoch time.

Usage: python3 bench/pytorch_mlp_mnist.py [--seed S] [--epochs N] [--threads T]
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


def load(prefix, shape=(-1, 784)):
    """Images as float32 in [0, 1] reshaped to `shape`, labels as int64."""
    x = torch.tensor(idx(f"{prefix}-images-idx3-ubyte.gz").reshape(shape), dtype=torch.float32) / 255.0
    y = torch.tensor(idx(f"{prefix}-labels-idx1-ubyte.gz"), dtype=torch.int64)
    return x, y


def parse_args(epochs):
    """--seed, --epochs (default `epochs`), --threads; seeds torch."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=epochs)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    return args


def train(name, model, args, shape=(-1, 784)):
    """The milestone recipe (Adam 1e-3, cross-entropy, batch 64, shuffled):
    one JSON line per epoch and a summary, as `mgp train ... --json`."""
    xtr, ytr = load("train-10k", shape)
    xte, yte = load("t10k", shape)
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
    print(json.dumps({"summary": f"pytorch {name}", "torch": torch.__version__, "seed": args.seed,
                      "median_epoch_seconds": statistics.median(times), "final_test_acc": test_acc}))


def main():
    args = parse_args(epochs=10)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 10))
    train("mlp-mnist", model, args)


if __name__ == "__main__":
    main()
