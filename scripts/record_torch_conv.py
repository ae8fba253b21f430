#!/usr/bin/env python3
"""Record PyTorch reference values for conv2d, max_pool2d, avg_pool2d,
adaptive_avg_pool2d and batch_norm (forward, gradients and, for batch_norm,
the updated running statistics).

Writes crates/micrograd-plus/tests/data/torch_conv.json, which
crates/micrograd-plus/tests/conv_reference.rs compares the engine against.

Usage: python3 scripts/record_torch_conv.py   (torch 2.x, CPU)

Each case draws its data from a torch.Generator seeded with crc32 of its base
name, so cases are independent and the f32 variant uses the f64 data rounded
to f32. Single-threaded, deterministic algorithms.

File format: {"torch_version": "...", "cases": [case, ...]}, one case a line:

case = {
  "name": "<base>_<f32|f64>", "op": op name, "dtype": "f32" | "f64",
  "args": op arguments (see below),
  "inputs": [{"shape", "data", "requires_grad"}],   # in the op's argument order
  "output": {"shape", "data"}, "grad_output": {"shape", "data"},
  "grads": [{"shape", "data"} or null],             # of sum(output * grad_output)
  "running_after": [{"shape", "data"}, ...]         # batch_norm with running stats
}

args per op:
  conv2d:              stride, padding, dilation ([h, w]), groups, bias (bool);
                       inputs x, weight[, bias]
  max_pool2d:          kernel, stride, padding
  avg_pool2d:          kernel, stride, padding, count_include_pad
  adaptive_avg_pool2d: output_size
  batch_norm:          training, momentum, eps, running (bool), affine (bool);
                       inputs x[, running_mean, running_var][, weight, bias]

Self-checks while recording: every f64 case except the max-pool ties passes
torch.autograd.gradcheck; every f32 case agrees with an f64 recomputation on
the same inputs to the tolerance the Rust test uses
(|f32 - f64| <= 1e-5 |f64| + 2e-6 max(1, max |f64|) per tensor).
"""

import json
import os
import zlib

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crates",
                   "micrograd-plus", "tests", "data", "torch_conv.json")
DTYPES = {"f32": torch.float32, "f64": torch.float64}
CASES = []


def flat(t):
    t = t.detach().contiguous()
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


def randn(*shape):
    return lambda g: torch.randn(shape, generator=g, dtype=torch.float64)


def positive(*shape):
    return lambda g: torch.rand(shape, generator=g, dtype=torch.float64) + 0.5


def ints(*shape, high=4):
    """Small integers: many ties inside pooling windows."""
    return lambda g: torch.randint(0, high, shape, generator=g).double()


def close(a, b):
    """The Rust test's f32 bound, with b the f64 recomputation."""
    scale = max(1.0, b.abs().max().item()) if b.numel() else 1.0
    return bool(((a.double() - b).abs() <= 1e-5 * b.abs() + 2e-6 * scale).all())


def record(base, op, args, makers, fn, requires_grad=None, gradcheck=True, running=()):
    """fn(*inputs) -> output. `running`: indices of inputs updated in place."""
    requires_grad = requires_grad or [True] * len(makers)
    results = {}
    for dt, dtype in DTYPES.items():
        g = torch.Generator().manual_seed(zlib.crc32(base.encode()))
        xs = [mk(g).to(dtype).requires_grad_(rg) for mk, rg in zip(makers, requires_grad)]
        inputs = [dict(flat(x), requires_grad=x.requires_grad) for x in xs]
        out = fn(*xs)
        gout = torch.randn(out.shape, generator=g, dtype=torch.float64).to(dtype)
        diff = [x for x in xs if x.requires_grad]
        grads = iter(torch.autograd.grad(out, diff, gout))
        rec = {"name": f"{base}_{dt}", "op": op, "args": args, "dtype": dt,
               "inputs": inputs, "output": flat(out), "grad_output": flat(gout),
               "grads": [flat(next(grads)) if x.requires_grad else None for x in xs]}
        if running:
            rec["running_after"] = [flat(xs[i]) for i in running]
        CASES.append(rec)
        results[dt] = (xs, inputs, out, gout, rec)
    # f32 conditioning: recompute from the f32 inputs in f64.
    _, inputs32, out32, gout32, rec32 = results["f32"]
    x64 = [torch.tensor(i["data"], dtype=torch.float64).reshape(i["shape"])
           .requires_grad_(i["requires_grad"]) for i in inputs32]
    o64 = fn(*x64)
    assert close(out32, o64), f"{base}: f32 output ill-conditioned"
    d64 = [x for x in x64 if x.requires_grad]
    g64 = iter(torch.autograd.grad(o64, d64, gout32.double()))
    for x, gr in zip(x64, rec32["grads"]):
        if x.requires_grad:
            want = next(g64)
            got = torch.tensor(gr["data"], dtype=torch.float64).reshape(gr["shape"])
            assert close(got, want), f"{base}: f32 gradient ill-conditioned"
    for i, r in zip(running, rec32.get("running_after", [])):
        got = torch.tensor(r["data"], dtype=torch.float64)
        assert close(got, x64[i].detach().reshape(-1)), f"{base}: running stats"
    if gradcheck:
        xs = [torch.tensor(i["data"], dtype=torch.float64).reshape(i["shape"])
              .requires_grad_(i["requires_grad"]) for i in results["f64"][1]]
        assert torch.autograd.gradcheck(fn, xs, eps=1e-6, atol=1e-5, rtol=1e-4), base


# ---- conv2d -------------------------------------------------------------

CONV = [
    # base, x, w, bias, stride, padding, dilation, groups, x requires grad
    ("basic", (2, 3, 6, 6), (4, 3, 3, 3), True, (1, 1), (0, 0), (1, 1), 1, True),
    ("pad1", (2, 3, 5, 5), (5, 3, 3, 3), True, (1, 1), (1, 1), (1, 1), 1, True),
    ("stride2_nonsquare", (2, 2, 7, 6), (3, 2, 2, 3), True, (2, 1), (1, 2), (1, 1), 1, True),
    ("dilation2", (1, 2, 7, 7), (2, 2, 3, 3), False, (1, 1), (2, 2), (2, 2), 1, True),
    ("groups2", (2, 4, 5, 5), (6, 2, 3, 3), True, (2, 1), (1, 1), (1, 1), 2, True),
    ("depthwise", (2, 3, 6, 5), (3, 1, 3, 3), False, (1, 1), (1, 1), (1, 1), 3, True),
    ("kernel1x1", (2, 4, 3, 3), (5, 4, 1, 1), True, (1, 1), (0, 0), (1, 1), 1, True),
    ("kernel1x1_stride2_pad1", (2, 3, 4, 5), (2, 3, 1, 1), True, (2, 2), (1, 1), (1, 1), 1, True),
    ("batch3", (3, 2, 6, 6), (4, 2, 3, 3), True, (1, 1), (1, 1), (1, 1), 1, True),
    ("input_no_grad", (4, 3, 6, 6), (4, 3, 3, 3), True, (1, 1), (1, 1), (1, 1), 1, False),
]
for base, xs, ws, bias, s, p, d, gr, xg in CONV:
    makers = [randn(*xs), randn(*ws)] + ([randn(ws[0])] if bias else [])
    record(f"conv2d_{base}", "conv2d",
           {"stride": s, "padding": p, "dilation": d, "groups": gr, "bias": bias},
           makers,
           lambda x, w, b=None, s=s, p=p, d=d, gr=gr: F.conv2d(x, w, b, s, p, d, gr),
           requires_grad=[xg] + [True] * (len(makers) - 1))
record("conv2d_unbatched", "conv2d",
       {"stride": (1, 1), "padding": (1, 1), "dilation": (1, 1), "groups": 1, "bias": True},
       [randn(3, 5, 5), randn(2, 3, 3, 3), randn(2)],
       lambda x, w, b: F.conv2d(x, w, b, 1, 1))

# ---- pooling -------------------------------------------------------------

POOL = [
    ("k2s2", (2, 3, 6, 6), (2, 2), (2, 2), (0, 0)),
    ("k3s1p1", (2, 2, 5, 5), (3, 3), (1, 1), (1, 1)),
    ("k3x2_s2x1_p1", (1, 2, 7, 6), (3, 2), (2, 1), (1, 1)),
    ("unbatched_k3s2p1", (3, 5, 5), (3, 3), (2, 2), (1, 1)),
]
for base, shape, k, s, p in POOL:
    args = {"kernel": k, "stride": s, "padding": p}
    record(f"max_pool2d_{base}", "max_pool2d", args, [randn(*shape)],
           lambda x, k=k, s=s, p=p: F.max_pool2d(x, k, s, p))
    for inc in (True, False):
        record(f"avg_pool2d_{base}_{'inc' if inc else 'exc'}", "avg_pool2d",
               dict(args, count_include_pad=inc), [randn(*shape)],
               lambda x, k=k, s=s, p=p, inc=inc: F.avg_pool2d(x, k, s, p, count_include_pad=inc))
# Ties: the gradient goes to the first maximum in row-major order.
for base, k, s, p in [("ties_k2s1", (2, 2), (1, 1), (0, 0)), ("ties_k3s2p1", (3, 3), (2, 2), (1, 1))]:
    record(f"max_pool2d_{base}", "max_pool2d", {"kernel": k, "stride": s, "padding": p},
           [ints(2, 2, 6, 7)], lambda x, k=k, s=s, p=p: F.max_pool2d(x, k, s, p),
           gradcheck=False)
for base, shape, size in [("7x5_to_3x2", (2, 3, 7, 5), (3, 2)), ("4x4_to_2x2", (1, 2, 4, 4), (2, 2)),
                          ("3x3_to_5x4", (1, 2, 3, 3), (5, 4)), ("global", (2, 3, 5, 5), (1, 1)),
                          ("unbatched", (3, 6, 5), (4, 3))]:
    record(f"adaptive_avg_pool2d_{base}", "adaptive_avg_pool2d", {"output_size": size},
           [randn(*shape)], lambda x, size=size: F.adaptive_avg_pool2d(x, size))

# ---- batch_norm ------------------------------------------------------------

BN = [
    # base, shape, training, momentum, running, affine
    ("2d_train_affine", (8, 4), True, 0.1, True, True),
    ("3d_train_plain", (4, 3, 5), True, 0.2, True, False),
    ("4d_train_affine", (3, 3, 3, 4), True, 0.1, True, True),
    ("4d_train_no_running", (3, 2, 3, 5), True, 0.1, False, True),
    ("4d_eval_affine", (3, 3, 3, 4), False, 0.1, True, True),
    ("2d_eval_plain", (6, 5), False, 0.1, True, False),
]
for base, shape, training, mom, running, affine in BN:
    c = shape[1]
    makers, rg = [randn(*shape)], [True]
    if running:
        makers += [randn(c), positive(c)]
        rg += [False, False]
    if affine:
        makers += [positive(c), randn(c)]
        rg += [True, True]

    def fn(x, *rest, training=training, mom=mom, running=running, affine=affine):
        rm, rv = (rest[0], rest[1]) if running else (None, None)
        w, b = (rest[-2], rest[-1]) if affine else (None, None)
        return F.batch_norm(x, rm, rv, w, b, training=training, momentum=mom, eps=1e-5)

    record(f"batch_norm_{base}", "batch_norm",
           {"training": training, "momentum": mom, "eps": 1e-5, "running": running,
            "affine": affine},
           makers, fn, requires_grad=rg, gradcheck=True,
           running=(1, 2) if running and training else ())


def main():
    lines = [json.dumps(c, separators=(",", ":"), allow_nan=False) for c in CASES]
    with open(OUT, "w") as f:
        f.write('{"torch_version":' + json.dumps(torch.__version__) + ',"cases":[\n')
        f.write(",\n".join(lines))
        f.write("\n]}\n")
    back = json.load(open(OUT))
    assert back["cases"] == json.loads(json.dumps(CASES)), "round trip"
    ops = {}
    for c in CASES:
        ops[c["op"]] = ops.get(c["op"], 0) + 1
    print(f"torch {torch.__version__}: {len(CASES)} cases {ops} -> {os.path.relpath(OUT)}")


main()
