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
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from pytorch_mlp_mnist import parse_args, train  # noqa: E402  (shared loader and loop)


def main():
    args = parse_args(epochs=3)
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(800, 128), nn.ReLU(), nn.Linear(128, 10))
    train("cnn-mnist", model, args, shape=(-1, 1, 28, 28))


if __name__ == "__main__":
    main()
