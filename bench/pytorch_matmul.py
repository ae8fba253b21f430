#!/usr/bin/env python3
"""Time PyTorch's f32 `torch.matmul` on the CPU at the sizes of the `matmul`
criterion bench, for comparison with MicroGrad+'s kernel.

    python3 bench/pytorch_matmul.py [sizes...]

Prints the median over repeated timings (each timing loops long enough to
be well above the clock's resolution) as GFLOP/s = 2·n³ / time.
"""
import os
import statistics
import sys
import time

import torch

SIZES = [int(s) for s in sys.argv[1:]] or [64, 256, 1024]
SAMPLES = 15


def gflops(n, seconds):
    return 2.0 * n**3 / seconds / 1e9


def time_once(f, reps):
    t = time.perf_counter()
    for _ in range(reps):
        f()
    return (time.perf_counter() - t) / reps


def bench(n):
    g = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=g, dtype=torch.float32)
    b = torch.randn(n, n, generator=g, dtype=torch.float32)
    c = torch.empty(n, n, dtype=torch.float32)
    f = lambda: torch.matmul(a, b, out=c)  # noqa: E731  (in place, like sgemm)
    with torch.inference_mode():
        per_call = time_once(f, 3)
        reps = max(1, int(0.05 / per_call))
        samples = [time_once(f, reps) for _ in range(SAMPLES)]
    med = statistics.median(samples)
    print(f"torch   f32 n={n:5}: median {gflops(n, med):7.1f} GFLOP/s  best {gflops(n, min(samples)):7.1f}"
          f"  ({med * 1e6:9.1f} us)")


if __name__ == "__main__":
    print(f"torch {torch.__version__}, threads={torch.get_num_threads()}, "
          f"mkldnn={torch.backends.mkldnn.is_available()}, cpus={os.cpu_count()}")
    for n in SIZES:
        bench(n)
