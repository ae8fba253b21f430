#!/usr/bin/env python3
"""The README's instruction-set table: each workload run by `mgp` and by
PyTorch side by side, once with both capped to AVX2 and once with AVX-512,
in alternating order, several rounds (the host drifts, so a ratio is only
meaningful within one back-to-back pair).

Capping: `MGP_ISA=avx2|avx512` for us; for PyTorch its own three switches,
`ATEN_CPU_CAPABILITY` (ATen's kernels), `MKL_ENABLE_INSTRUCTIONS` (its matrix
products) and `ONEDNN_MAX_CPU_ISA` (its convolutions). On an AVX-512 machine
the AVX2 column is therefore both libraries' AVX2 code on this CPU, which is
not the same as an AVX2-only CPU (clock, cache and port layout differ).

Usage (from the repository root, after `cargo build --release -p mgp`):
    python3 bench/isa_table.py --rounds 3 [--python /path/to/python-with-torch]
        [--only matmul-64,gpt]
Prints one JSON line per measurement, then the markdown table.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MGP = str(ROOT / "target" / "release" / "mgp")
# glibc keeps freed buffers for both sides (mgp does it itself at start-up).
MALLOC = {"MALLOC_MMAP_THRESHOLD_": "10000000000", "MALLOC_TRIM_THRESHOLD_": "10000000000"}
TORCH_CAP = {
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
             "ONEDNN_MAX_CPU_ISA": "AVX2"},
    "avx512": {"ATEN_CPU_CAPABILITY": "avx512", "MKL_ENABLE_INSTRUCTIONS": "AVX512",
               "ONEDNN_MAX_CPU_ISA": "AVX512_CORE"},
}


def last_json(text):
    return json.loads(text.strip().splitlines()[-1])


def epochs_median(text):
    """Median epoch time of a --json training run, first epoch left out (warm-up)."""
    times = [json.loads(l)["epoch_seconds"] for l in text.splitlines()
             if l.startswith("{") and "epoch_seconds" in l]
    return statistics.median(times[1:] or times)


def matmul_gflops(size):
    def ours(out):
        return last_json(out)["gflops"]

    def torch(out):
        line = [l for l in out.splitlines() if f"n={size:5d}:" in l][-1]
        return float(line.split("median")[1].split()[0])
    return ours, torch


# name: (unit, higher is better, our command, torch command, our parser, torch parser)
def workloads(py):
    w = {}
    for size in (64, 256, 1024):
        o, t = matmul_gflops(size)
        w[f"matmul-{size}"] = ("GFLOP/s", True, [MGP, "bench", "matmul", "--size", str(size), "--json"],
                               [py, "bench/pytorch_matmul.py", str(size)], o, t)
    w["mlp-epoch"] = ("s", False, [MGP, "train", "mlp-mnist", "--epochs", "3", "--json", "--doctor", "off",
                                   "--out", "/tmp/isa_table_run", "--force"],
                      [py, "bench/pytorch_mlp_mnist.py", "--epochs", "3", "--threads", "2"],
                      epochs_median, lambda out: last_json(out)["median_epoch_seconds"])
    w["cnn-epoch"] = ("s", False, [MGP, "train", "cnn-mnist", "--epochs", "3", "--json", "--doctor", "off",
                                   "--out", "/tmp/isa_table_run", "--force"],
                      [py, "bench/pytorch_cnn_mnist.py", "--epochs", "3", "--threads", "2"],
                      epochs_median, lambda out: last_json(out)["median_epoch_seconds"])
    w["conv"] = ("ms", False, [MGP, "bench", "conv", "--json"], [py, "bench/pytorch_conv.py", "--quick"],
                 lambda out: last_json(out)["median_ms"],
                 lambda out: [json.loads(l) for l in out.splitlines() if l.startswith("{")][0]["median_ms"])
    w["gpt-step"] = ("ms", False, [MGP, "bench", "gpt", "--json"], [py, "bench/pytorch_gpt.py", "--threads", "2"],
                     lambda out: last_json(out)["median_ms"], lambda out: last_json(out)["median_ms"])
    w["cifar-step"] = ("ms", False, [MGP, "bench", "cifar10", "--json"],
                       [py, "bench/pytorch_cifar10.py", "--threads", "2"],
                       lambda out: last_json(out)["median_ms"], lambda out: last_json(out)["median_ms"])
    w["op-overhead"] = ("µs/op", False, [MGP, "bench", "op-overhead", "--json"],
                        [py, "bench/pytorch_op_overhead.py"],
                        lambda out: last_json(out)["per_op_us"], lambda out: last_json(out)["per_op_us"])
    return w


def run(cmd, env):
    r = subprocess.run(cmd, cwd=ROOT, env={**os.environ, **MALLOC, **env},
                       capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{r.stderr[-2000:]}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--python", default=sys.executable, help="a Python with torch installed")
    ap.add_argument("--only", help="comma-separated workload names")
    ap.add_argument("--isa", default="avx2,avx512", help="comma-separated: avx2, avx512")
    args = ap.parse_args()
    all_w = workloads(args.python)
    names = args.only.split(",") if args.only else list(all_w)
    isas = args.isa.split(",")
    pairs = {(n, i): [] for n in names for i in isas}
    for rnd in range(args.rounds):
        for isa in isas:
            for name in names:
                unit, _, ours_cmd, torch_cmd, ours_p, torch_p = all_w[name]
                sides = [("ours", ours_cmd, {"MGP_ISA": isa}, ours_p),
                         ("torch", torch_cmd, TORCH_CAP[isa], torch_p)]
                if rnd % 2:
                    sides.reverse()
                got = {}
                for side, cmd, env, parse in sides:
                    got[side] = parse(run(cmd, env))
                    print(json.dumps({"round": rnd, "isa": isa, "workload": name, "side": side,
                                      "value": got[side], "unit": unit}), flush=True)
                pairs[(name, isa)].append((got["ours"], got["torch"]))
    print()
    print("| workload | " + " | ".join(f"{i}: MicroGrad+ | {i}: PyTorch | {i}: ratio" for i in isas) + " |")
    print("|---|" + "---|---|---|" * len(isas))
    for name in names:
        unit, higher, *_ = all_w[name]
        cells = []
        for isa in isas:
            ps = pairs[(name, isa)]
            ours = [p[0] for p in ps]
            torch = [p[1] for p in ps]
            # A ratio below 1 always means we are faster: time ratio, or
            # PyTorch's rate over ours.
            ratios = [t / o if higher else o / t for o, t in ps]
            fmt = (lambda v: f"{v:.3g}")
            cells += [f"{fmt(statistics.median(ours))} {unit} ({fmt(min(ours))}-{fmt(max(ours))})",
                      f"{fmt(statistics.median(torch))} ({fmt(min(torch))}-{fmt(max(torch))})",
                      f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})"]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
