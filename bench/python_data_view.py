"""Two properties of the package from Python:

1. Reading `.data` costs the same (microseconds) at every size: it is a view of the
   engine's buffer, not a copy. For 1e3 .. 1e7 float32 elements: median time of one
   `t.data` access, and checks that the array is a view (two reads share memory, a write
   through it is seen by the tensor's next op).
2. Memory stays flat while training in Python: a small MLP (32-64-10, Adam, cross-entropy,
   batches of 64) trained for --steps steps; RSS printed every 1,000 steps. Then the same
   with a Python-defined op in the chain (the course lab's own Dropout, built with the
   `_children`/`_op` constructor and a `_backward` closure that refers to its output, i.e.
   a reference cycle through the engine's Tensor that only the garbage collector frees).

  --impl ours (default) | course (--course-dir; the course's .data is a plain attribute)
Prints JSON lines.
"""
import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _pyimpl import host, load_impl, rss_mb  # noqa: E402


def data_access(mgp, reads):
    T = mgp.Tensor
    for n in (10**3, 10**4, 10**5, 10**6, 10**7):
        t = T(np.zeros(n, dtype=np.float32), requires_grad=True)
        times = []
        for _ in range(reads):
            t0 = time.perf_counter()
            d = t.data
            times.append(time.perf_counter() - t0)
            del d
        a, b = t.data, t.data
        view = bool(np.shares_memory(a, b))
        a[0] = 7.0                      # write through the array ...
        seen = float((t * 1.0).data[0])  # ... and read it back through an op
        print(json.dumps({
            "bench": "python_data_view", "part": "data_access", "elements": n,
            "us_median": round(statistics.median(times) * 1e6, 3), "us_min": round(min(times) * 1e6, 3),
            "is_view": view, "write_seen_by_next_op": seen == 7.0,
        }), flush=True)
        del t, a, b
        gc.collect()


def py_dropout(mgp, x, p=0.2):
    """The course lab 1.7.2 Dropout op, written in Python on the Tensor protocol."""
    mask = (np.random.rand(*x.shape) > p).astype(np.float32)
    scale = 1.0 / (1.0 - p)
    out = mgp.Tensor(x.data * mask * scale, requires_grad=x.requires_grad, _children=(x,), _op="dropout")

    def _backward():
        if x.requires_grad:
            x.grad += mask * scale * out.grad
    out._backward = _backward
    return out


def training_memory(mgp, steps, every, custom_op=False):
    T = mgp.Tensor
    mgp.utils.set_seed(0)
    model = mgp.Sequential(mgp.Linear(32, 64), mgp.ReLU(), mgp.Linear(64, 10))
    loss_fn = mgp.CrossEntropyLoss()
    opt = mgp.Adam(model.parameters(), lr=1e-3)
    X = np.random.randn(1024, 32).astype(np.float32)
    y = np.random.randint(0, 10, 1024).astype(np.int32)
    t0 = time.perf_counter()
    start_rss = rss_mb()
    part = "training_rss_custom_op" if custom_op else "training_rss"
    print(json.dumps({"bench": "python_data_view", "part": part, "step": 0,
                      "rss_mib": round(start_rss, 2)}), flush=True)
    for step in range(1, steps + 1):
        i = (step * 64) % 1024
        xb = T(X[i:i + 64], requires_grad=True)
        yb = T(y[i:i + 64])
        if custom_op:
            h = model[1](model[0](xb))
            loss = loss_fn(model[2](py_dropout(mgp, h)), yb)
        else:
            loss = loss_fn(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % every == 0:
            print(json.dumps({"bench": "python_data_view", "part": part, "step": step,
                              "rss_mib": round(rss_mb(), 2), "loss": round(loss.item(), 5),
                              "elapsed_s": round(time.perf_counter() - t0, 2)}), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--impl", choices=["ours", "course"], default="ours")
    ap.add_argument("--course-dir")
    ap.add_argument("--reads", type=int, default=2000)
    ap.add_argument("--steps", type=int, default=10000)
    ap.add_argument("--every", type=int, default=1000)
    args = ap.parse_args()
    mgp = load_impl(args.impl, args.course_dir)
    print(json.dumps({"bench": "python_data_view", "impl": args.impl,
                      "package": str(Path(mgp.__file__).parent), **host()}), flush=True)
    data_access(mgp, args.reads)
    training_memory(mgp, args.steps, args.every)
    training_memory(mgp, args.steps, args.every, custom_op=True)


if __name__ == "__main__":
    main()
