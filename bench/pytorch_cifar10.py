#!/usr/bin/env python3
"""PyTorch side of `mgp bench cifar10` (run by hand: pip install torch numpy).

Training steps of the milestone-4 network, the same recipe as
`mgp train cnn-cifar10`: Conv(3,32,3,p1)-BN-ReLU-Conv(32,32,3,p1)-BN-ReLU-
MaxPool2-Conv(32,64,3,p1)-BN-ReLU-Conv(64,64,3,p1)-BN-ReLU-MaxPool2-Flatten-
Linear(4096,256)-ReLU-Dropout(0.5)-Linear(256,10), cross-entropy, SGD with
Nesterov momentum 0.9 and weight decay 5e-4, a one-cycle lr stepped every
batch, batches of 128 random-pixel images (the work does not depend on the
values) cropped from a 4-pixel padding, flipped and normalised per batch.

PyTorch has no background loader here (torchvision is not installed): the
augmentation runs vectorised on the batch in the step, and is part of the
timed step (about 1 ms of ~100). The median step is extrapolated to
CIFAR-10's 50,000 training images and printed as JSON in the shape of
`mgp bench cifar10 --json`.

For its best times run it with glibc's allocator tuned:
    MALLOC_MMAP_THRESHOLD_=10000000000 MALLOC_TRIM_THRESHOLD_=10000000000 \\
        python3 bench/pytorch_cifar10.py

Usage: python3 bench/pytorch_cifar10.py [--batch 128] [--runs 20] [--threads T]
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn


def network():
    def block(i, o):
        return [nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU()]

    return nn.Sequential(
        *block(3, 32), *block(32, 32), nn.MaxPool2d(2),
        *block(32, 64), *block(64, 64), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(4096, 256), nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, 10))


def augment(pixels, mean, std, gen):
    """uint8 (B, 3, 32, 32) -> normalised float crops of the 4-padded image, half flipped."""
    b = pixels.shape[0]
    x = pixels.float() / 255.0
    x = nn.functional.pad(x, (4, 4, 4, 4))
    tops = torch.randint(0, 9, (b,), generator=gen)
    lefts = torch.randint(0, 9, (b,), generator=gen)
    rows = (tops[:, None] + torch.arange(32)).view(b, 1, 32, 1).expand(b, 3, 32, 40)
    cols = (lefts[:, None] + torch.arange(32)).view(b, 1, 1, 32).expand(b, 3, 32, 32)
    x = x.gather(2, rows).gather(3, cols)
    flip = torch.rand(b, generator=gen) < 0.5
    x[flip] = x[flip].flip(3)
    return (x - mean) / std


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    warmup = min(max(args.runs, 1), 3)
    steps = warmup + args.runs
    pixels = torch.randint(0, 256, (steps * args.batch, 3, 32, 32), dtype=torch.uint8, generator=gen)
    labels = torch.randint(0, 10, (steps * args.batch,), generator=gen)
    scaled = pixels.float() / 255.0
    mean = scaled.mean((0, 2, 3))[None, :, None, None]
    std = scaled.std((0, 2, 3))[None, :, None, None]
    del scaled
    model = network()
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=steps + 1, cycle_momentum=False)
    loss_fn = nn.CrossEntropyLoss()
    perm = torch.randperm(len(labels), generator=gen)
    samples = []
    for s in range(steps):
        t0 = time.perf_counter()
        idx = perm[s * args.batch:(s + 1) * args.batch]
        x = augment(pixels[idx], mean, std, gen)
        opt.zero_grad()
        loss = loss_fn(model(x), labels[idx])
        loss.backward()
        opt.step()
        sched.step()
        loss.item()
        if s >= warmup:
            samples.append((time.perf_counter() - t0) * 1e3)
    samples.sort()
    median = statistics.median(samples)
    print(json.dumps({
        "name": "cifar10", "median_ms": median, "min_ms": samples[0], "max_ms": samples[-1],
        "runs": len(samples),
        "params": {"batch": args.batch, "epoch_seconds": median * 1e-3 * 50_000 / args.batch,
                   "augmentation": "crop 32 pad 4, flip, normalize (in the step)",
                   "optimizer": "sgd nesterov momentum 0.9 wd 5e-4", "dtype": "float32",
                   "torch": torch.__version__, "threads": torch.get_num_threads()},
    }))


if __name__ == "__main__":
    main()
