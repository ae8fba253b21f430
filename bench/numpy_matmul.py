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

import numpy as np

from matmul_timing import SIZES, report


def bench(n):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    c = np.empty((n, n), dtype=np.float32)
    f = lambda: np.matmul(a, b, out=c)  # noqa: E731  (in place, like sgemm)
    report("numpy", n, f)


if __name__ == "__main__":
    print(f"numpy {np.__version__}, OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(auto)')}, "
          f"cpus={os.cpu_count()}")
    for n in SIZES:
        bench(n)
