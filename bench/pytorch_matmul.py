#!/usr/bin/env python3
"""Time PyTorch's f32 `torch.matmul` on the CPU at the sizes of the `matmul`
criterion bench, for comparison with MicroGrad+'s kernel.

    python3 bench/pytorch_matmul.py [sizes...]

Prints the median over repeated timings (each timing loops long enough to
be well above the clock's resolution) as GFLOP/s = 2·n³ / time.
"""
import os

import torch

from matmul_timing import SIZES, report


def bench(n):
    g = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=g, dtype=torch.float32)
    b = torch.randn(n, n, generator=g, dtype=torch.float32)
    c = torch.empty(n, n, dtype=torch.float32)
    f = lambda: torch.matmul(a, b, out=c)  # noqa: E731  (in place, like sgemm)
    with torch.inference_mode():
        report("torch", n, f)


if __name__ == "__main__":
    print(f"torch {torch.__version__}, threads={torch.get_num_threads()}, "
          f"mkldnn={torch.backends.mkldnn.is_available()}, cpus={os.cpu_count()}")
    for n in SIZES:
        bench(n)
