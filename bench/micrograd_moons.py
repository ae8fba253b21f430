#!/usr/bin/env python3
"""micrograd's two-moons demo on PyPI `micrograd`, timed.

The baseline for `mgp train moons`: the same model (MLP(2, [16, 16, 1])),
data (100 moon points, noise 0.1), hinge loss + 1e-4 L2, and 100 full-batch
SGD steps with lr = 1.0 - 0.9*k/100, taken verbatim from micrograd's
demo.ipynb. Inputs are plain Python floats (numpy scalars would slow
micrograd down and muddy the comparison), generated here with scikit-learn's
make_moons algorithm so neither numpy nor scikit-learn is needed.

micrograd's graphs hold reference cycles (each node's `_backward` closure
captures the node), so they are only freed by Python's cycle collector. The
demo is timed twice, with the collector disabled throughout:

  * no collection at all (pure engine time; memory grows, about 5 GB), and
  * one gc.collect() after each step (what a long run has to pay).

Usage:
    pip install micrograd
    python3 bench/micrograd_moons.py [--steps 100] [--seed 42] [--mode both|nogc|collect]
"""

import argparse
import gc
import math
import random
import sys
import time

try:
    from micrograd.engine import Value
    from micrograd.nn import MLP
except ImportError:
    sys.exit("micrograd is not installed: pip install micrograd")


def make_moons(n, noise, rng):
    """scikit-learn's make_moons with Python floats; labels are -1/+1."""
    n_out = n // 2
    n_in = n - n_out

    def linspace(k):
        return [math.pi * i / (k - 1) if k > 1 else 0.0 for i in range(k)]

    pts = [(math.cos(t), math.sin(t), -1.0) for t in linspace(n_out)]
    pts += [(1 - math.cos(t), 0.5 - math.sin(t), 1.0) for t in linspace(n_in)]
    rng.shuffle(pts)
    X = [[x + rng.gauss(0, noise), y + rng.gauss(0, noise)] for x, y, _ in pts]
    y = [label for _, _, label in pts]
    return X, y


def loss(model, X, y):
    """micrograd's demo loss: SVM max-margin loss + L2, and accuracy."""
    inputs = [list(map(Value, xrow)) for xrow in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    alpha = 1e-4
    reg_loss = alpha * sum((p * p for p in model.parameters()))
    total_loss = data_loss + reg_loss
    accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(y, scores)]
    return total_loss, sum(accuracy) / len(accuracy)


def train(steps, seed, collect_each_step):
    """Returns (wall seconds, CPU seconds, final loss, final accuracy)."""
    random.seed(seed)  # MLP init uses the global `random`
    X, y = make_moons(100, 0.1, random.Random(seed))
    model = MLP(2, [16, 16, 1])
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        start_cpu = time.process_time()
        for k in range(steps):
            total_loss, acc = loss(model, X, y)
            model.zero_grad()
            total_loss.backward()
            learning_rate = 1.0 - 0.9 * k / steps
            for p in model.parameters():
                p.data -= learning_rate * p.grad
            last_loss = total_loss.data
            if collect_each_step:
                del total_loss
                gc.collect()
        seconds = time.perf_counter() - start
        cpu_seconds = time.process_time() - start_cpu
    finally:
        gc.enable()
    gc.collect()
    return seconds, cpu_seconds, last_loss, acc


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--mode", choices=["both", "nogc", "collect"], default="both")
    args = parser.parse_args()

    modes = {"nogc": [False], "collect": [True], "both": [False, True]}[args.mode]
    for collect in modes:
        seconds, cpu, final_loss, acc = train(args.steps, args.seed, collect)
        label = "gc disabled, gc.collect() every step" if collect else "gc disabled"
        print(
            f"micrograd {args.steps} steps: {seconds:.3f} s ({label}; CPU {cpu:.3f} s); "
            f"final loss {final_loss:.6f}, accuracy {100 * acc:.1f}%",
            flush=True,
        )


if __name__ == "__main__":
    main()
