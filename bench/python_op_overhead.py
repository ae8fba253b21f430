"""Per-op overhead from Python: a chain of CHAIN tiny recorded ops (alternating `* m`
and `+ a` on a 4-element tensor that requires grad), then sum().backward(); the time of
one chain (forward + backward) divided by CHAIN, median over REPEATS chains.

  --impl ours    the micrograd_plus package on the Rust engine
  --impl course  the course's NumPy package from --course-dir (identity __hash__ added at run time)
  --impl torch   PyTorch (one thread, as bench/pytorch_op_overhead.py)

Prints one JSON object: us_per_op (median), min/max over repeats, and the forward-only
median for reference.
"""
import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _pyimpl import host, load_impl  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--impl", choices=["ours", "course", "torch"], required=True)
    ap.add_argument("--course-dir")
    ap.add_argument("--chain", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=300)
    args = ap.parse_args()
    chain = args.chain

    if args.impl == "torch":
        import torch
        torch.set_num_threads(1)
        x = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
        m = torch.full((4,), 0.999)
        a = torch.full((4,), 0.001)

        def reset():
            x.grad = None
        extra = {"torch": torch.__version__}
    else:
        mgp = load_impl(args.impl, args.course_dir)
        import numpy as np
        T = mgp.Tensor
        x = T([1.0, 2.0, 3.0, 4.0], requires_grad=True)
        m = T(np.full(4, 0.999, dtype=np.float32))
        a = T(np.full(4, 0.001, dtype=np.float32))

        def reset():
            x.zero_grad()
        extra = {"package": str(Path(mgp.__file__).parent)}

    def forward():
        y = x
        for i in range(chain):
            y = y * m if i % 2 == 0 else y + a
        return y

    def step():
        forward().sum().backward()
        reset()

    for _ in range(10):
        step()
    full, fwd = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        step()
        full.append(time.perf_counter() - t0)
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        y = forward()
        fwd.append(time.perf_counter() - t0)
        del y
    per = [t / chain * 1e6 for t in full]
    print(json.dumps({
        "bench": "python_op_overhead", "impl": args.impl, "chain": chain, "repeats": args.repeats,
        "us_per_op": round(statistics.median(per), 3),
        "us_per_op_min": round(min(per), 3), "us_per_op_max": round(max(per), 3),
        "us_per_op_forward_only": round(statistics.median(fwd) / chain * 1e6, 3),
        **extra, **host(),
    }), flush=True)


if __name__ == "__main__":
    main()
