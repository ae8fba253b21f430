#!/usr/bin/env python3
"""Record reference values (forward outputs and gradients) from PyTorch.

Writes crates/micrograd-plus/tests/data/torch_reference.json, which the Rust
test suite compares the engine against (f32 to ~1e-5 relative, f64 to ~1e-10).

Usage (run by hand, from anywhere):
    pip install torch
    python3 scripts/record_torch_reference.py

The output is deterministic for a given torch version: every case draws its
random data from its own torch.Generator seeded from the case's base name
(crc32), so adding or removing a case never changes the data of the others,
and the f32 and f64 variants of a case share the same data (the f32 inputs
are the f64 ones rounded to f32).

File format
-----------
{"torch_version": "...", "cases": [case, ...]}, one case per line, where

case = {
  "name":   unique string ("<base>_<dtype>"),
  "op":     op name (see below),
  "args":   op-specific arguments (ints, floats, lists, null),
  "dtype":  "f32" | "f64",
  "inputs": [{"shape": [...], "data": [flat row-major], "requires_grad": bool}],
  # single-output ops:
  "output":      {"shape": [...], "data": [...]},
  "grad_output": {"shape": [...], "data": [...]},
  # multi-output ops (split, chunk) instead:
  "outputs":      [{"shape", "data"}, ...],
  "grad_outputs": [{"shape", "data"}, ...],
  "grads":  [{"shape", "data"} or null (input without requires_grad)],
}

The gradients are those of sum(output * grad_output) (summed over all outputs
for multi-output ops), i.e. torch.autograd.backward(output, grad_output).
A scalar (0-d) tensor has shape [] and data [x].  f32 values are stored as the
exact double value of the f32 number; Python's repr gives the shortest string
that round-trips, so nothing is lost.

Integer arguments (index lists, gather indices, masks as 0/1 with a shape)
live in "args".  Reductions over all dims use "dims": null.

Self-checks run while recording:
  * every f64 case (except amax/amin ties, not differentiable there) passes
    torch.autograd.gradcheck (finite differences);
  * every f32 case, recomputed in f64 from the same f32 inputs, agrees with
    torch's f32 result to 1e-5 relative + 1e-7 absolute, so the f32 cases are
    well-conditioned (an accurate f32 engine can match them);
  * the written file parses back to exactly the recorded values.
"""

import json
import math
import os
import sys
import zlib

import torch
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_num_threads(1)  # reproducible summation order
torch.use_deterministic_algorithms(True)

DTYPES = {"f32": torch.float32, "f64": torch.float64}
OUT_PATH = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    "..", "crates", "micrograd-plus", "tests", "data", "torch_reference.json",
)

CASES = []
NAMES = set()
F32_DEV = []  # (atol needed beyond rtol 1e-5, max relative deviation, name)

# f32 cases must be well-conditioned: torch's f32 result may deviate from the
# f64 recomputation on the same (f32-valued) inputs by at most
# F32_RTOL * |exact| + F32_ATOL, so an accurate f32 engine can match it.
F32_RTOL, F32_ATOL = 1e-5, 1e-7


# --------------------------------------------------------------------------
# random input helpers: each takes a torch.Generator and returns float64
# --------------------------------------------------------------------------

def randn(*shape):
    return lambda g: torch.randn(shape, generator=g, dtype=torch.float64)


def positive(*shape):
    """|randn| + 0.5: for log, sqrt, pow bases."""
    return lambda g: torch.randn(shape, generator=g, dtype=torch.float64).abs() + 0.5


def nonzero(*shape, margin=0.25):
    """randn pushed at least `margin` away from 0 (divisors)."""
    def f(g):
        x = torch.randn(shape, generator=g, dtype=torch.float64)
        return torch.where(x >= 0, x + margin, x - margin)
    return f


def away(*shape, kinks=(0.0,), margin=0.05, scale=1.0):
    """randn*scale with values within `margin` of any kink moved to >= margin away."""
    def f(g):
        x = torch.randn(shape, generator=g, dtype=torch.float64) * scale
        for k in kinks:
            d = x - k
            close = d.abs() < margin
            x = torch.where(close, k + torch.where(d >= 0, margin, -margin) + d, x)
        return x
    return f


def const(values, shape=None):
    def f(g):
        t = torch.tensor(values, dtype=torch.float64)
        return t.reshape(shape) if shape is not None else t
    return f


def scaled(maker, s):
    return lambda g: maker(g) * s


# --------------------------------------------------------------------------
# recording
# --------------------------------------------------------------------------

def flat(t):
    t = t.detach().contiguous()
    data = [float(v) for v in t.reshape(-1).tolist()]
    for v in data:
        if not math.isfinite(v):
            raise ValueError("non-finite value recorded")
    return {"shape": list(t.shape), "data": data}


def check_f32_conditioning(name, fn, xs, outs, gouts, grads_rg, multi):
    """Recompute an f32 case in f64 from the same inputs; bound the deviation."""
    x64 = [x.detach().double().requires_grad_(x.requires_grad) for x in xs]
    o64 = fn(*x64)
    o64 = list(o64) if multi else [o64]
    d64 = [x for x in x64 if x.requires_grad]
    g64 = torch.autograd.grad(o64, d64, [go.double() for go in gouts], allow_unused=True)
    need, rel = 0.0, 0.0
    for a, b in list(zip(outs, o64)) + list(zip(grads_rg, g64)):
        if a is None or b is None or a.numel() == 0:
            continue
        err = (a.detach().double() - b.detach()).abs()
        need = max(need, (err - F32_RTOL * b.abs()).max().item())
        rel = max(rel, (err / b.abs().clamp_min(1e-300)).max().item())
    assert need <= F32_ATOL, f"{name}: f32 result ill-conditioned (needs atol {need:.3g})"
    F32_DEV.append((need, rel, name))


def case(base, op, args, makers, fn, requires_grad=None, dtypes=("f32", "f64"),
         gradcheck=True):
    """Record `fn(*inputs)` for each dtype.

    makers: list of callables g -> float64 tensor (one per input).
    requires_grad: list of bools (default: all True).
    fn returns a tensor, or a list/tuple of tensors (multi-output op).
    gradcheck: for the f64 variant, also check torch's analytic gradients
    against finite differences (disable only for non-differentiable points,
    e.g. amax/amin ties).
    """
    if requires_grad is None:
        requires_grad = [True] * len(makers)
    assert len(requires_grad) == len(makers)
    for dt in dtypes:
        name = f"{base}_{dt}"
        assert name not in NAMES, f"duplicate case name {name}"
        NAMES.add(name)
        dtype = DTYPES[dt]
        g = torch.Generator().manual_seed(zlib.crc32(base.encode()))
        xs = []
        for mk, rg in zip(makers, requires_grad):
            x = mk(g).to(dtype).detach().clone()
            x.requires_grad_(rg)
            xs.append(x)
        out = fn(*xs)
        multi = isinstance(out, (list, tuple))
        outs = list(out) if multi else [out]
        for o in outs:
            assert o.dtype == dtype, (name, o.dtype)
        gouts = [torch.randn(o.shape, generator=g, dtype=torch.float64).to(dtype)
                 for o in outs]
        diff = [x for x in xs if x.requires_grad]
        grads_rg = torch.autograd.grad(outs, diff, gouts, allow_unused=True)
        grads, it = [], iter(grads_rg)
        for x in xs:
            if x.requires_grad:
                gr = next(it)
                grads.append(flat(gr if gr is not None else torch.zeros_like(x)))
            else:
                grads.append(None)
        rec = {
            "name": name,
            "op": op,
            "args": args,
            "dtype": dt,
            "inputs": [dict(flat(x), requires_grad=x.requires_grad) for x in xs],
        }
        if multi:
            rec["outputs"] = [flat(o) for o in outs]
            rec["grad_outputs"] = [flat(go) for go in gouts]
        else:
            rec["output"] = flat(outs[0])
            rec["grad_output"] = flat(gouts[0])
        rec["grads"] = grads
        CASES.append(rec)
        if dt == "f32":
            check_f32_conditioning(name, fn, xs, outs, gouts, grads_rg, multi)
        if dt == "f64" and gradcheck:
            ins = [x.detach().clone().requires_grad_(x.requires_grad) for x in xs]
            wrapped = lambda *a: tuple(fn(*a)) if multi else fn(*a)
            assert torch.autograd.gradcheck(wrapped, ins, eps=1e-6, atol=1e-5, rtol=1e-4), name


# --------------------------------------------------------------------------
# binary ops with broadcasting
# --------------------------------------------------------------------------

BROADCAST_SHAPES = [
    ("same", (2, 3), (2, 3)),
    ("row", (2, 3), (3,)),
    ("3d", (2, 1, 4), (3, 1)),
    ("scalar_lhs", (), (2, 3)),
    ("scalar_rhs", (2, 3), ()),
]

BINARY = {
    "add": (torch.add, randn, randn),
    "sub": (torch.sub, randn, randn),
    "mul": (torch.mul, randn, randn),
    "div": (torch.div, randn, nonzero),
    "pow": (torch.pow, positive, randn),
    "maximum": (torch.maximum, randn, randn),
    "minimum": (torch.minimum, randn, randn),
}

for op, (fn, mk_a, mk_b) in BINARY.items():
    for tag, sa, sb in BROADCAST_SHAPES:
        case(f"{op}_{tag}", op, {}, [mk_a(*sa), mk_b(*sb)], fn)
# inputs without requires_grad -> null grads
case("mul_lhs_nograd", "mul", {}, [randn(2, 3), randn(3)], torch.mul,
     requires_grad=[False, True])
case("div_rhs_nograd", "div", {}, [randn(2, 3), nonzero(2, 3)], torch.div,
     requires_grad=[True, False])
case("pow_base_nograd", "pow", {}, [positive(3, 1), randn(2, 1, 4)], torch.pow,
     requires_grad=[False, True])

# pow_scalar
for e, mk, shape, tag in [
    (2, randn, (2, 3), "2"),
    (3, randn, (3, 4), "3"),
    (0.5, positive, (2, 3), "0p5"),
    (-1.5, positive, (2, 3), "m1p5"),
    (2, randn, (), "2_scalar"),
    (3, positive, (2, 2, 3), "3_3d"),
]:
    case(f"pow_scalar_{tag}", "pow_scalar", {"exponent": e}, [mk(*shape)],
         lambda x, e=e: torch.pow(x, e))

# --------------------------------------------------------------------------
# unary ops
# --------------------------------------------------------------------------

UNARY_SHAPES = [("1d", (5,)), ("2d", (2, 3)), ("3d", (2, 3, 4)), ("scalar", ())]

UNARY = {
    "neg": (torch.neg, randn),
    "exp": (torch.exp, randn),
    "log": (torch.log, positive),
    "sqrt": (torch.sqrt, positive),
    "abs": (torch.abs, lambda *s: away(*s)),
    "sin": (torch.sin, lambda *s: scaled(randn(*s), 2.0)),
    "cos": (torch.cos, lambda *s: scaled(randn(*s), 2.0)),
    "relu": (torch.relu, lambda *s: away(*s)),
    "sigmoid": (torch.sigmoid, lambda *s: scaled(randn(*s), 2.0)),
    "tanh": (torch.tanh, randn),
    "silu": (F.silu, lambda *s: scaled(randn(*s), 2.0)),
    "softplus": (F.softplus, lambda *s: scaled(randn(*s), 2.0)),
}
for op, (fn, mk) in UNARY.items():
    for tag, shape in UNARY_SHAPES:
        case(f"{op}_{tag}", op, {}, [mk(*shape)], fn)

for alpha, atag in [(0.01, "0p01"), (0.2, "0p2")]:
    for tag, shape in UNARY_SHAPES[:3]:
        case(f"leaky_relu_{atag}_{tag}", "leaky_relu", {"alpha": alpha},
             [away(*shape)], lambda x, a=alpha: F.leaky_relu(x, negative_slope=a))

for approx in ["none", "tanh"]:
    for tag, shape in UNARY_SHAPES:
        case(f"gelu_{approx}_{tag}", "gelu", {"approximate": approx},
             # scale 1: for x << -3 the f32 gradient suffers cancellation
             # (1 + tanh/erf ~ 0), which no f32 engine reproduces to 1e-5
             [randn(*shape)], lambda x, a=approx: F.gelu(x, approximate=a))

for tag, shape in UNARY_SHAPES:
    case(f"elu_{tag}", "elu", {"alpha": 1.0}, [away(*shape, scale=1.5)],
         lambda x: F.elu(x, alpha=1.0))

# clamp: bounds exactly representable in f32, inputs kept 0.05 away from them
for lo, hi, tag in [(-0.5, 0.75, "both"), (-0.25, None, "min_only"),
                    (None, 0.5, "max_only"), (-1.0, 1.0, "both_wide")]:
    kinks = tuple(b for b in (lo, hi) if b is not None)
    for stag, shape in [("2d", (3, 4)), ("3d", (2, 3, 4))]:
        case(f"clamp_{tag}_{stag}", "clamp", {"min": lo, "max": hi},
             [away(*shape, kinks=kinks)],
             lambda x, lo=lo, hi=hi: torch.clamp(x, min=lo, max=hi))

# --------------------------------------------------------------------------
# reductions
# --------------------------------------------------------------------------

RED_DIMS = [[0], [1], [2], [-1], [0, 2], None]


def _all_dims(x, dims):
    return tuple(range(x.dim())) if dims is None else tuple(dims)


RED = {
    "sum": lambda x, d, k: x.sum() if d is None and not k else x.sum(dim=_all_dims(x, d), keepdim=k),
    "mean": lambda x, d, k: x.mean() if d is None and not k else x.mean(dim=_all_dims(x, d), keepdim=k),
    "amax": lambda x, d, k: torch.amax(x, dim=_all_dims(x, d), keepdim=k),
    "amin": lambda x, d, k: torch.amin(x, dim=_all_dims(x, d), keepdim=k),
    "logsumexp": lambda x, d, k: torch.logsumexp(x, dim=_all_dims(x, d), keepdim=k),
}


def dims_tag(d):
    return "all" if d is None else "d" + "_".join(str(v).replace("-", "m") for v in d)


for op, fn in RED.items():
    for d in RED_DIMS:
        for k in (False, True):
            case(f"{op}_3d_{dims_tag(d)}_{'keep' if k else 'nokeep'}", op,
                 {"dims": d, "keepdim": k}, [randn(2, 3, 4)],
                 lambda x, fn=fn, d=d, k=k: fn(x, d, k))
    # 1-D and 2-D inputs
    case(f"{op}_1d_all", op, {"dims": None, "keepdim": False}, [randn(5)],
         lambda x, fn=fn: fn(x, None, False))
    case(f"{op}_2d_d1_nokeep", op, {"dims": [1], "keepdim": False}, [randn(3, 4)],
         lambda x, fn=fn: fn(x, [1], False))
    case(f"{op}_2d_d0_1_keep", op, {"dims": [0, 1], "keepdim": True}, [randn(3, 4)],
         lambda x, fn=fn: fn(x, [0, 1], True))

# ties: torch.amax / amin split the gradient evenly among the tied elements
TIE_DATA = [[[1, 3, 3, 0], [2, 3, -1, 3], [3, 0, 1, 2]],
            [[-2, -2, 1, 1], [0, -2, 1, -1], [1, 1, -2, 0]]]
for op in ("amax", "amin"):
    fn = RED[op]
    for d, k in [([1], False), ([2], True), ([0, 2], False), (None, False), ([0], True)]:
        case(f"{op}_ties_{dims_tag(d)}_{'keep' if k else 'nokeep'}", op,
             {"dims": d, "keepdim": k}, [const(TIE_DATA)],
             lambda x, fn=fn, d=d, k=k: fn(x, d, k), gradcheck=False)

# numerical stability: large offsets (naive exp would overflow / underflow).
# f64 only: in f32 the result (~1e4, ulp ~1e-3) carries a ~1e-4 relative error
# into the gradient exp(x - lse), so no f32 engine can match torch to 1e-5.
case("logsumexp_large_pos_1e4", "logsumexp", {"dims": [-1], "keepdim": False},
     [lambda g: 1e4 + 2.0 * torch.randn((3, 4), generator=g, dtype=torch.float64)],
     lambda x: torch.logsumexp(x, dim=(-1,), keepdim=False), dtypes=("f64",))
case("logsumexp_large_neg_1e4", "logsumexp", {"dims": None, "keepdim": False},
     [lambda g: -1e4 + 2.0 * torch.randn((2, 3), generator=g, dtype=torch.float64)],
     lambda x: torch.logsumexp(x, dim=(0, 1), keepdim=False), dtypes=("f64",))

# var / std
for op, tfn in (("var", torch.var), ("std", torch.std)):
    for i, d in enumerate(RED_DIMS):
        for c in (0, 1):
            k = (i + c) % 2 == 1
            case(f"{op}_3d_{dims_tag(d)}_c{c}_{'keep' if k else 'nokeep'}", op,
                 {"dims": d, "keepdim": k, "correction": c}, [randn(2, 3, 4)],
                 lambda x, tfn=tfn, d=d, k=k, c=c: tfn(x, dim=d, keepdim=k, correction=c))
    case(f"{op}_1d_all_c1", op, {"dims": None, "keepdim": False, "correction": 1},
         [randn(5)], lambda x, tfn=tfn: tfn(x, dim=None, correction=1))
    case(f"{op}_2d_d1_c0_keep", op, {"dims": [1], "keepdim": True, "correction": 0},
         [randn(3, 4)], lambda x, tfn=tfn: tfn(x, dim=[1], keepdim=True, correction=0))

# --------------------------------------------------------------------------
# softmax / log_softmax
# --------------------------------------------------------------------------

BOTH = ("f32", "f64")

for op, tfn in (("softmax", torch.softmax), ("log_softmax", torch.log_softmax)):
    for tag, mk, dim, dts in [
        ("1d", randn(5), 0, BOTH),
        ("2d_d1", randn(2, 3), 1, BOTH),
        ("2d_d0", randn(2, 3), 0, BOTH),
        ("2d_dm1", randn(3, 4), -1, BOTH),
        ("3d_d1", randn(2, 3, 4), 1, BOTH),
        ("3d_dm1", randn(2, 3, 4), -1, BOTH),
        ("3d_dm3", randn(2, 3, 4), -3, BOTH),
        # stability: large offsets (naive exp overflows / underflows) ...
        ("large_pos_1e4", lambda g: 1e4 + 2.0 * torch.randn((3, 4), generator=g,
                                                            dtype=torch.float64), -1, BOTH),
        ("large_neg_1e4", lambda g: -1e4 + 2.0 * torch.randn((2, 5), generator=g,
                                                             dtype=torch.float64), 1, BOTH),
        # ... and a 1e4 spread (saturated: outputs exactly 0 / 1)
        ("large_spread_1e4", scaled(randn(3, 4), 1e4), -1, BOTH),
    ]:
        case(f"{op}_{tag}", op, {"dim": dim}, [mk],
             lambda x, tfn=tfn, dim=dim: tfn(x, dim=dim), dtypes=dts)

# --------------------------------------------------------------------------
# matmul
# --------------------------------------------------------------------------

for tag, sa, sb in [
    ("1d_1d", (4,), (4,)),
    ("2d_1d", (3, 4), (4,)),
    ("1d_2d", (3,), (3, 4)),
    ("2d_2d", (2, 3), (3, 4)),
    ("2d_2d_b", (4, 5), (5, 3)),
    ("3d_2d", (2, 3, 4), (4, 5)),
    ("2d_3d", (3, 4), (2, 4, 2)),
    ("3d_3d", (2, 3, 4), (2, 4, 2)),
    ("4d_3d_bcast", (2, 1, 3, 4), (3, 4, 2)),
    ("3d_1d", (2, 3, 4), (4,)),
]:
    case(f"matmul_{tag}", "matmul", {}, [randn(*sa), randn(*sb)], torch.matmul)
case("matmul_2d_2d_rhs_nograd", "matmul", {}, [randn(2, 3), randn(3, 4)], torch.matmul,
     requires_grad=[True, False])

# --------------------------------------------------------------------------
# shape ops
# --------------------------------------------------------------------------

for tag, shape, new in [
    ("3d_to_2d", (2, 3, 4), [6, 4]),
    ("3d_infer", (2, 3, 4), [4, -1]),
    ("3d_to_1d", (2, 3, 4), [24]),
    ("2d_to_3d", (4, 6), [2, 3, 4]),
    ("2d_to_3d_infer", (4, 6), [2, -1, 3]),
    ("to_scalar", (1, 1), []),
    ("scalar_to_2d", (), [1, 1]),
]:
    case(f"reshape_{tag}", "reshape", {"shape": new}, [randn(*shape)],
         lambda x, new=new: x.reshape(new))

for tag, shape, dims in [
    ("2d", (2, 3), [1, 0]),
    ("3d_a", (2, 3, 4), [2, 0, 1]),
    ("3d_b", (2, 3, 4), [1, 0, 2]),
    ("3d_neg", (2, 3, 4), [-1, 0, 1]),
    ("4d", (2, 3, 2, 2), [3, 1, 0, 2]),
]:
    case(f"permute_{tag}", "permute", {"dims": dims}, [randn(*shape)],
         lambda x, dims=dims: x.permute(dims))

for tag, shape, d0, d1 in [
    ("2d", (2, 3), 0, 1),
    ("3d_02", (2, 3, 4), 0, 2),
    ("3d_neg", (2, 3, 4), -1, -2),
    ("3d_same", (2, 3, 4), 1, 1),
]:
    case(f"transpose_{tag}", "transpose", {"dim0": d0, "dim1": d1}, [randn(*shape)],
         lambda x, d0=d0, d1=d1: x.transpose(d0, d1))

for tag, shape, d in [
    ("all", (2, 1, 3, 1), None),
    ("d1", (2, 1, 3, 1), 1),
    ("dm1", (2, 1, 3, 1), -1),
    ("noop_d0", (2, 1, 3, 1), 0),  # torch: squeezing a non-size-1 dim is a no-op
    ("to_scalar", (1, 1), None),
]:
    case(f"squeeze_{tag}", "squeeze", {"dim": d}, [randn(*shape)],
         lambda x, d=d: x.squeeze() if d is None else x.squeeze(d))

for tag, shape, d in [("d0", (2, 3), 0), ("d2", (2, 3), 2), ("dm1", (2, 3), -1),
                      ("d1", (2, 3), 1), ("scalar", (), 0)]:
    case(f"unsqueeze_{tag}", "unsqueeze", {"dim": d}, [randn(*shape)],
         lambda x, d=d: x.unsqueeze(d))

for tag, shape, s, e in [("all", (2, 3, 4), 0, -1), ("12", (2, 3, 4), 1, 2),
                         ("01", (2, 3, 4), 0, 1), ("4d_12", (2, 3, 2, 2), 1, 2),
                         ("same", (2, 3, 4), 1, 1)]:
    case(f"flatten_{tag}", "flatten", {"start_dim": s, "end_dim": e}, [randn(*shape)],
         lambda x, s=s, e=e: torch.flatten(x, s, e))

for tag, shape, new in [
    ("col_to_3d", (3, 1), [2, 3, 4]),
    ("row", (1, 3), [4, 3]),
    ("infer", (3, 1), [2, -1, 4]),
    ("1d_to_2d", (3,), [2, 3]),
    ("scalar", (), [2, 3]),
]:
    case(f"expand_{tag}", "expand", {"shape": new}, [randn(*shape)],
         lambda x, new=new: x.expand(new))

for tag, shapes, d in [
    ("d1", [(2, 3), (2, 2), (2, 1)], 1),
    ("d0", [(1, 3), (2, 3)], 0),
    ("3d_dm1", [(2, 3, 2), (2, 3, 1), (2, 3, 3)], -1),
    ("3d_d1", [(2, 1, 2), (2, 3, 2)], 1),
    ("1d", [(2,), (3,), (1,)], 0),
]:
    case(f"cat_{tag}", "cat", {"dim": d}, [randn(*s) for s in shapes],
         lambda *xs, d=d: torch.cat(xs, dim=d))
case("cat_d0_one_nograd", "cat", {"dim": 0}, [randn(2, 3), randn(1, 3)],
     lambda *xs: torch.cat(xs, dim=0), requires_grad=[False, True])

for tag, shape, n, d in [("d0", (2, 3), 3, 0), ("d1", (2, 3), 3, 1),
                         ("d2", (2, 3), 2, 2), ("dm1", (2, 3), 2, -1),
                         ("1d", (4,), 2, 0)]:
    case(f"stack_{tag}", "stack", {"dim": d}, [randn(*shape) for _ in range(n)],
         lambda *xs, d=d: torch.stack(xs, dim=d))

for tag, shape, d, s, l in [("d0", (5, 3), 0, 1, 3), ("d1", (3, 5), 1, 2, 2),
                            ("dm1", (2, 3, 4), -1, 0, 3), ("3d_d1", (2, 3, 4), 1, 1, 1)]:
    case(f"narrow_{tag}", "narrow", {"dim": d, "start": s, "length": l}, [randn(*shape)],
         lambda x, d=d, s=s, l=l: x.narrow(d, s, l))


def slice_along(x, d, s, e, st):
    idx = [slice(None)] * x.dim()
    idx[d] = slice(s, e, st)
    return x[tuple(idx)]


for tag, shape, d, s, e, st in [
    ("d0_step2", (5, 4), 0, 1, 5, 2),
    ("d1_step3", (5, 4), 1, 0, 4, 3),
    ("dm1_step1", (2, 3, 5), -1, 1, 4, 1),
    ("3d_d1_step2", (2, 5, 3), 1, 0, 5, 2),
    ("1d_step2", (5,), 0, 0, 5, 2),
]:
    case(f"slice_{tag}", "slice", {"dim": d, "start": s, "end": e, "step": st},
         [randn(*shape)], lambda x, d=d, s=s, e=e, st=st: slice_along(x, d, s, e, st))

for tag, shape, d, index in [
    ("d0", (4, 3), 0, [2, 0, 3]),
    ("d1_repeat", (3, 4), 1, [1, 1, 3, 0, 1]),
    ("dm1", (2, 3, 4), -1, [3, 0]),
    ("3d_d1", (2, 3, 4), 1, [2, 2, 0]),
    ("1d", (5,), 0, [4, 0, 4]),
]:
    case(f"index_select_{tag}", "index_select", {"dim": d, "index": index},
         [randn(*shape)],
         lambda x, d=d, index=index: torch.index_select(x, d, torch.tensor(index)))

for tag, shape, d, ishape, idata in [
    ("d1", (3, 4), 1, [3, 2], [0, 3, 1, 1, 2, 0]),
    ("d0", (3, 4), 0, [2, 4], [2, 0, 1, 2, 0, 0, 1, 2]),
    ("d1_smaller", (3, 4), 1, [2, 3], [3, 3, 0, 1, 2, 1]),
    ("3d_dm1", (2, 3, 4), -1, [2, 3, 2], [0, 3, 1, 1, 2, 2, 3, 0, 0, 0, 1, 3]),
    ("3d_d1", (2, 3, 2), 1, [2, 2, 2], [2, 0, 1, 1, 0, 0, 2, 2]),
]:
    case(f"gather_{tag}", "gather", {"dim": d, "index": {"shape": ishape, "data": idata}},
         [randn(*shape)],
         lambda x, d=d, ishape=ishape, idata=idata:
             torch.gather(x, d, torch.tensor(idata).reshape(ishape)))

for tag, shape, pad, v in [
    ("1d_last", (2, 3), [1, 2], 0.0),
    ("2d_last2", (2, 3), [1, 0, 2, 1], -1.5),
    ("3d_all", (2, 2, 3), [0, 1, 1, 0, 2, 0], 0.5),
    ("1d_input", (4,), [2, 1], 0.0),
]:
    case(f"pad_{tag}", "pad", {"pad": pad, "value": v}, [randn(*shape)],
         lambda x, pad=pad, v=v: F.pad(x, pad, mode="constant", value=v))

for tag, shape, d, ss in [("d0_uneven", (5, 3), 0, 2), ("d1_even", (2, 6), 1, 3),
                          ("dm1", (2, 3, 4), -1, 3), ("bigger_than_dim", (2, 3), 0, 4)]:
    case(f"split_{tag}", "split", {"dim": d, "split_size": ss}, [randn(*shape)],
         lambda x, d=d, ss=ss: list(torch.split(x, ss, dim=d)))

for tag, shape, d, n in [("d0_uneven", (5, 3), 0, 3), ("d1_even", (2, 6), 1, 3),
                         # torch.chunk: chunk size ceil(6/4)=2, so only 3 chunks
                         ("d1_fewer_chunks", (2, 6), 1, 4),
                         ("dm1", (2, 3, 4), -1, 2)]:
    case(f"chunk_{tag}", "chunk", {"dim": d, "chunks": n}, [randn(*shape)],
         lambda x, d=d, n=n: list(torch.chunk(x, n, dim=d)))

# --------------------------------------------------------------------------
# where / masked_fill
# --------------------------------------------------------------------------

for tag, mshape, mdata, sa, sb, rg in [
    ("same", [2, 3], [1, 0, 1, 0, 0, 1], (2, 3), (2, 3), [True, True]),
    ("bcast_b_row", [2, 3], [0, 1, 1, 1, 0, 0], (2, 3), (3,), [True, True]),
    ("bcast_mask", [2, 1], [1, 0], (2, 3), (), [True, True]),
    ("bcast_all", [3, 1], [0, 1, 1], (1, 4), (3, 4), [True, True]),
    ("b_nograd", [2, 3], [1, 1, 0, 0, 1, 0], (2, 3), (2, 3), [True, False]),
]:
    case(f"where_{tag}", "where", {"mask": {"shape": mshape, "data": mdata}},
         [randn(*sa), randn(*sb)],
         lambda a, b, ms=mshape, md=mdata:
             torch.where(torch.tensor(md, dtype=torch.bool).reshape(ms), a, b),
         requires_grad=rg)

for tag, shape, mshape, mdata, v in [
    ("same", (2, 3), [2, 3], [1, 0, 0, 1, 1, 0], 0.0),
    ("bcast_row", (2, 3), [3], [0, 1, 0], -2.5),
    ("3d", (2, 3, 2), [3, 1], [1, 0, 1], 3.0),
]:
    case(f"masked_fill_{tag}", "masked_fill",
         {"mask": {"shape": mshape, "data": mdata}, "value": v}, [randn(*shape)],
         lambda x, ms=mshape, md=mdata, v=v:
             x.masked_fill(torch.tensor(md, dtype=torch.bool).reshape(ms), v))

# --------------------------------------------------------------------------
# composite: a tensor used several times (gradient accumulation)
# --------------------------------------------------------------------------

case("reuse_sq_exp", "reuse",
     {"formula": "(x*x).sum(dim=-1) + (x.exp()*x).mean()"},
     [randn(2, 3)], lambda x: (x * x).sum(dim=-1) + (x.exp() * x).mean())
case("reuse_two_inputs", "reuse",
     {"formula": "(a*b + a.tanh()*a - b/(a*a+1)).sum(dim=0)"},
     [randn(3, 4), randn(4)], lambda a, b: (a * b + a.tanh() * a - b / (a * a + 1)).sum(dim=0))
case("reuse_matmul_chain", "reuse",
     {"formula": "(a @ a.transpose(0,1)).relu().sum(dim=1) * a.sum(dim=1)"},
     [randn(3, 4)], lambda a: (a @ a.transpose(0, 1)).relu().sum(dim=1) * a.sum(dim=1))

# --------------------------------------------------------------------------
# write
# --------------------------------------------------------------------------


def main():
    out_path = os.path.normpath(OUT_PATH)
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    # one case per line: small, greppable and diff-friendly
    lines = [json.dumps(c, separators=(",", ":"), allow_nan=False) for c in CASES]
    with open(out_path, "w") as f:
        f.write('{"torch_version":' + json.dumps(torch.__version__) + ',"cases":[\n')
        f.write(",\n".join(lines))
        f.write("\n]}\n")
    # sanity: the file parses back to exactly what was recorded
    with open(out_path) as f:
        back = json.load(f)
    assert back["cases"] == CASES
    ops = {}
    for c in CASES:
        ops[c["op"]] = ops.get(c["op"], 0) + 1
    print(f"torch {torch.__version__}: wrote {len(CASES)} cases "
          f"({os.path.getsize(out_path)} bytes) to {out_path}", file=sys.stderr)
    for op, n in ops.items():
        print(f"  {op}: {n}", file=sys.stderr)
    worst = max(F32_DEV)
    print(f"f32 vs f64 recomputation: worst atol needed beyond rtol {F32_RTOL}: "
          f"{worst[0]:.3g} ({worst[2]}); worst pure relative deviation "
          f"{max(F32_DEV, key=lambda e: e[1])[1]:.3g}", file=sys.stderr)


if __name__ == "__main__":
    main()
