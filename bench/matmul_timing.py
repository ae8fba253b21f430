"""Shared timing for the matmul comparison scripts (numpy_matmul.py,
pytorch_matmul.py): the same sizes, loop sizing, sample count and report
line, so the two libraries are measured exactly alike."""
import statistics
import sys
import time

SIZES = [int(s) for s in sys.argv[1:]] or [64, 256, 1024]
SAMPLES = 15


def gflops(n, seconds):
    return 2.0 * n**3 / seconds / 1e9


def time_once(f, reps):
    t = time.perf_counter()
    for _ in range(reps):
        f()
    return (time.perf_counter() - t) / reps


def report(label, n, f):
    """Warm up (thread pool start, caches), size the loop to ~50 ms, take
    SAMPLES timings and print the median and best as GFLOP/s."""
    per_call = time_once(f, 3)
    reps = max(1, int(0.05 / per_call))
    samples = [time_once(f, reps) for _ in range(SAMPLES)]
    med = statistics.median(samples)
    print(f"{label:<7} f32 n={n:5}: median {gflops(n, med):7.1f} GFLOP/s  best {gflops(n, min(samples)):7.1f}"
          f"  ({med * 1e6:9.1f} us)")
