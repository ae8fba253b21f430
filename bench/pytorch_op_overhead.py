"""PyTorch side of `mgp bench op-overhead`: a chain of tiny recorded ops
(alternating multiply and add on a 4-element tensor) followed by backward,
reported per op. Run: pip install torch; python3 bench/pytorch_op_overhead.py
"""
import json
import statistics
import sys
import time

import torch

CHAIN = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
RUNS = 20

torch.set_num_threads(1)
x = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
m = torch.full((4,), 0.999)
a = torch.full((4,), 0.001)


def step():
    y = x
    for i in range(CHAIN):
        y = y * m if i % 2 == 0 else y + a
    y.sum().backward()
    x.grad = None


for _ in range(3):
    step()
samples = []
for _ in range(RUNS):
    t0 = time.perf_counter()
    step()
    samples.append((time.perf_counter() - t0) * 1e3)
median = statistics.median(samples)
print(json.dumps({
    "name": "op-overhead", "impl": f"pytorch {torch.__version__}",
    "median_ms": median, "min_ms": min(samples), "max_ms": max(samples), "runs": RUNS,
    "per_op_us": median * 1e3 / CHAIN, "params": {"chain": CHAIN, "numel": 4},
}))
