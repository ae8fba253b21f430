#!/usr/bin/env python3
"""Time NumPy's f32 matrix product (OpenBLAS sgemm) at the sizes of the
`matmul` criterion bench, for comparison with MicroGrad+'s kernel.

    python3 bench/numpy_matmul.py [sizes...]
    OPENBLAS_CORETYPE=SkylakeX python3 bench/numpy_matmul.py   # OpenBLAS's AVX-512 kernel

OpenBLAS picks its kernel from the CPU unless OPENBLAS_CORETYPE names one;
the development machines set OPENBLAS_CORETYPE=Haswell (AVX2), so the plain
command times the AVX2 kernel there. The script prints which is in effect.

Prints the median over repeated timings (each timing loops long enough to
be well above the clock's resolution) as GFLOP/s = 2·n³ / time.
"""
import os
import statistics
import sys
import time

import numpy as np

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
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    c = np.empty((n, n), dtype=np.float32)
    f = lambda: np.matmul(a, b, out=c)  # noqa: E731  (in place, like sgemm)
    # Warm up (thread pool start, caches), then size the loop to ~50 ms.
    per_call = time_once(f, 3)
    reps = max(1, int(0.05 / per_call))
    samples = [time_once(f, reps) for _ in range(SAMPLES)]
    med = statistics.median(samples)
    print(f"numpy   f32 n={n:5}: median {gflops(n, med):7.1f} GFLOP/s  best {gflops(n, min(samples)):7.1f}"
          f"  ({med * 1e6:9.1f} us)")


if __name__ == "__main__":
    print(f"numpy {np.__version__}, OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(auto)')}, "
          f"cpus={os.cpu_count()}")
    for n in SIZES:
        bench(n)
