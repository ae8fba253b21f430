#!/usr/bin/env python3
"""PyTorch side of `mgp bench conv` and of the `conv` criterion bench: conv2d,
max_pool2d and batch_norm forward + backward on the CPU, f32.

    python3 bench/pytorch_conv.py [--quick | --big]

Each case builds its inputs once, then times `forward; backward(fixed random
upstream gradient)` with the gradients cleared between runs. One JSON object
per case is printed in the same shape as `mgp bench conv --json`.

PyTorch's CPU allocator returns big blocks to the OS after every step unless
glibc is told otherwise; to compare against its best figure run it as

    MALLOC_MMAP_THRESHOLD_=10000000000 MALLOC_TRIM_THRESHOLD_=10000000000 \
        python3 bench/pytorch_conv.py
"""
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F

RUNS = 30
QUICK = "--quick" in sys.argv  # only the conv case
BIG = "--big" in sys.argv  # only the CIFAR-10 network's layers


def timed(step, runs):
    for _ in range(3):
        step()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        step()
        samples.append((time.perf_counter() - t0) * 1e3)
    return samples


def emit(name, samples, params):
    print(json.dumps({
        "name": name, "impl": f"pytorch {torch.__version__}",
        "median_ms": statistics.median(samples), "min_ms": min(samples),
        "max_ms": max(samples), "runs": len(samples), "params": params,
    }), flush=True)


def conv(batch, cin, cout, size, kernel=3, padding=1, input_grad=True, runs=RUNS):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, cin, size, size, generator=g).requires_grad_(input_grad)
    w = (torch.randn(cout, cin, kernel, kernel, generator=g) * 0.1).requires_grad_(True)
    b = torch.randn(cout, generator=g).requires_grad_(True)
    gy = torch.randn(batch, cout, size + 2 * padding - kernel + 1,
                     size + 2 * padding - kernel + 1, generator=g)

    def step():
        y = F.conv2d(x, w, b, padding=padding)
        y.backward(gy)
        x.grad = w.grad = b.grad = None

    emit("conv", timed(step, runs), {
        "batch": batch, "in_channels": cin, "out_channels": cout, "image": size,
        "kernel": kernel, "padding": padding, "input_grad": input_grad,
        "dtype": "float32"})


def max_pool(batch, channels, size, runs=RUNS):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, channels, size, size, generator=g).requires_grad_(True)
    gy = torch.randn(batch, channels, size // 2, size // 2, generator=g)

    def step():
        F.max_pool2d(x, 2, 2).backward(gy)
        x.grad = None

    emit("max-pool", timed(step, runs), {
        "batch": batch, "channels": channels, "image": size, "kernel": 2,
        "stride": 2, "dtype": "float32"})


def batch_norm(batch, channels, size, runs=RUNS):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, channels, size, size, generator=g).requires_grad_(True)
    w = torch.ones(channels).requires_grad_(True)
    b = torch.zeros(channels).requires_grad_(True)
    rm, rv = torch.zeros(channels), torch.ones(channels)
    gy = torch.randn(batch, channels, size, size, generator=g)

    def step():
        F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.1, eps=1e-5).backward(gy)
        x.grad = w.grad = b.grad = None

    emit("batch-norm", timed(step, runs), {
        "batch": batch, "channels": channels, "image": size, "training": True,
        "dtype": "float32"})


if __name__ == "__main__":
    print(f"# torch {torch.__version__}, threads={torch.get_num_threads()}", file=sys.stderr)
    if not BIG:
        conv(32, 3, 64, 32, input_grad=True)
        conv(32, 3, 64, 32, input_grad=False)
    if not QUICK:
        conv(128, 32, 32, 32, runs=10)
        conv(128, 64, 64, 16, runs=10)
        max_pool(128, 32, 32)
        max_pool(128, 64, 16)
        batch_norm(128, 32, 32)
        batch_norm(128, 64, 16)
