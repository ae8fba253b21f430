#!/usr/bin/env python3
"""Record reference values (losses and their gradients) from PyTorch.

Writes crates/micrograd-plus/tests/data/torch_losses.json, which
crates/micrograd-plus/tests/loss_reference.rs compares the engine's losses
against (f32 to ~1e-5 relative, f64 to ~1e-10).

Usage (run by hand, from anywhere):
    pip install torch
    python3 scripts/record_torch_losses.py

Deterministic for a given torch version: every case draws its data from its
own torch.Generator seeded from the case's base name (crc32), so adding or
removing a case never changes the others, and the f32 and f64 variants of a
case share their data (the f32 inputs are the f64 ones rounded to f32).

File format
-----------
{"torch_version": "...", "cases": [case, ...]}, one case per line, where

case = {
  "name":   unique string ("<base>_<dtype>"),
  "loss":   "mse" | "l1" | "huber" | "smooth_l1" | "cross_entropy" | "nll"
            | "bce" | "bce_with_logits" | "kl_div" | "margin_ranking"
            | "cosine_embedding" | "triplet_margin" | "soft_margin"
            | "multilabel_soft_margin" | "poisson_nll" | "gaussian_nll",
  "args":   {"reduction": "mean" | "sum" | "none" | "batchmean", plus the
             loss's options: "delta", "beta", "label_smoothing",
             "ignore_index", "log_target", "margin", "p", "eps", "swap",
             "log_input", "full", "var" (gaussian_nll's variance given as
             a float; "p" may be the string "inf"), and for cross_entropy/nll
             "target": "indices" | "probabilities"; an option left out
             takes PyTorch's default},
  "dtype":  "f32" | "f64",
  "inputs": [{"role": "input" | "target" | "weight" | "pos_weight" | "input1"
              | "input2" | "anchor" | "positive" | "negative" | "var",
              "shape": [...], "data": [flat row-major], "requires_grad": bool}],
  "output":      {"shape": [...], "data": [...]},
  "grad_output": {"shape": [...], "data": [...]},   # null when nothing requires grad
  "grads":  [{"shape", "data"} or null (input without requires_grad)],
}

or, for an error case (inputs PyTorch rejects, so the engine must too),
{"name", "loss", "args", "dtype", "inputs", "error": PyTorch's message},
with no output or gradients.

The gradients are those of sum(output * grad_output).  Class-index targets
are stored as floats holding whole numbers (the engine has no integer dtype)
and converted with .long() for torch.  "weight" and "pos_weight" are the
losses' constructor tensors, never differentiated.

Self-checks run while recording:
  * every f64 case with a differentiable input passes
    torch.autograd.gradcheck (finite differences), except the few marked
    where PyTorch's gradient is by design not the derivative (a variance
    clamped in place under no_grad);
  * every f32 case, recomputed in f64 from the same f32 inputs, agrees with
    torch's f32 result to 1e-5 relative + 1e-7 absolute (well-conditioned);
  * the written file parses back to exactly the recorded values.
"""

import json
import math
import os
import sys
import zlib

import torch
import torch.nn.functional as F

torch.set_num_threads(1)  # reproducible summation order
torch.use_deterministic_algorithms(True)

DTYPES = {"f32": torch.float32, "f64": torch.float64}
OUT_PATH = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    "..", "crates", "micrograd-plus", "tests", "data", "torch_losses.json",
)
F32_RTOL, F32_ATOL = 1e-5, 1e-7

CASES = []
NAMES = set()
F32_DEV = []


# --------------------------------------------------------------------------
# the losses, as torch computes them
# --------------------------------------------------------------------------

def torch_loss(loss, args, t):
    """The torch loss `loss` with `args`, on the role -> tensor dict `t`."""
    if "input" not in t:
        return torch_pair_loss(loss, args, t)
    x, y = t["input"], t["target"]
    kw = {"reduction": args["reduction"]}
    if loss == "mse":
        return F.mse_loss(x, y, **kw)
    if loss == "l1":
        return F.l1_loss(x, y, **kw)
    if loss == "huber":
        return F.huber_loss(x, y, delta=args["delta"], **kw)
    if loss == "smooth_l1":
        return F.smooth_l1_loss(x, y, beta=args["beta"], **kw)
    if loss in ("cross_entropy", "nll"):
        if args["target"] == "indices":
            y = y.long()
        if "weight" in t:
            kw["weight"] = t["weight"]
        if "ignore_index" in args:
            kw["ignore_index"] = args["ignore_index"]
        if loss == "nll":
            return F.nll_loss(x, y, **kw)
        if "label_smoothing" in args:
            kw["label_smoothing"] = args["label_smoothing"]
        return F.cross_entropy(x, y, **kw)
    if loss == "bce":
        if "weight" in t:
            kw["weight"] = t["weight"]
        return F.binary_cross_entropy(x, y, **kw)
    if loss == "bce_with_logits":
        for k in ("weight", "pos_weight"):
            if k in t:
                kw[k] = t[k]
        return F.binary_cross_entropy_with_logits(x, y, **kw)
    if loss == "kl_div":
        return F.kl_div(x, y, log_target=args.get("log_target", False), **kw)
    if loss == "soft_margin":
        return F.soft_margin_loss(x, y, **kw)
    if loss == "multilabel_soft_margin":
        return F.multilabel_soft_margin_loss(x, y, weight=t.get("weight"), **kw)
    if loss == "poisson_nll":
        opts = {k: args[k] for k in ("log_input", "full", "eps") if k in args}
        return F.poisson_nll_loss(x, y, **opts, **kw)
    if loss == "gaussian_nll":
        opts = {k: args[k] for k in ("full", "eps") if k in args}
        return F.gaussian_nll_loss(x, y, t["var"] if "var" in t else args["var"], **opts, **kw)
    raise ValueError(f"unknown loss {loss}")


def torch_pair_loss(loss, args, t):
    """The losses of two or three inputs other than (input, target)."""
    kw = {"reduction": args["reduction"]}
    kw.update({k: args[k] for k in ("margin", "eps", "swap") if k in args})
    if "p" in args:
        kw["p"] = float(args["p"])  # "inf" is written as a string (JSON has no infinity)
    if loss == "margin_ranking":
        return F.margin_ranking_loss(t["input1"], t["input2"], t["target"], **kw)
    if loss == "cosine_embedding":
        return F.cosine_embedding_loss(t["input1"], t["input2"], t["target"], **kw)
    if loss == "triplet_margin":
        return F.triplet_margin_loss(t["anchor"], t["positive"], t["negative"], **kw)
    raise ValueError(f"unknown loss {loss}")


# --------------------------------------------------------------------------
# data: each maker takes a torch.Generator and returns a float64 tensor
# --------------------------------------------------------------------------

def randn(*shape, scale=1.0, shift=0.0):
    return lambda g: torch.randn(shape, generator=g, dtype=torch.float64) * scale + shift


def rand(*shape, lo=0.0, hi=1.0):
    return lambda g: lo + (hi - lo) * torch.rand(shape, generator=g, dtype=torch.float64)


def const(values):
    return lambda g: torch.tensor(values, dtype=torch.float64)


def away(x, kinks, margin=0.05):
    """Moves values within `margin` of any kink to `margin` away from it."""
    for k in kinks:
        d = x - k
        close = d.abs() < margin
        x = torch.where(close, k + torch.where(d >= 0, margin, -margin) + d, x)
    return x


def classes(shape, n_classes, ignore=None, n_ignored=0):
    """Class indices as floats; `n_ignored` random positions set to `ignore`."""
    def f(g):
        t = torch.randint(0, n_classes, shape, generator=g).double()
        if n_ignored:
            flat = t.reshape(-1)
            pos = torch.randperm(flat.numel(), generator=g)[:n_ignored]
            flat[pos] = float(ignore)
            t = flat.reshape(shape)
        return t
    return f


def softmax_of(*shape, dim, log=False, scale=1.0):
    def f(g):
        z = torch.randn(shape, generator=g, dtype=torch.float64) * scale
        return torch.log_softmax(z, dim) if log else torch.softmax(z, dim)
    return f


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


def case(base, loss, args, inputs, dtypes=("f32", "f64"), check_grad=True):
    """Records `loss` with `args` for each dtype.

    inputs: list of (role, maker, requires_grad); makers run in order on the
    case's generator (a maker may also be a function of the tensors made so
    far: pass ("target", lambda g, made: ..., rg) and it receives them).
    check_grad=False skips the finite-difference self-check (for the cases
    where PyTorch's gradient is, by design, not the derivative).
    """
    for dt in dtypes:
        name = f"{base}_{dt}"
        assert name not in NAMES, f"duplicate case name {name}"
        NAMES.add(name)
        dtype = DTYPES[dt]
        g = torch.Generator().manual_seed(zlib.crc32(base.encode()))
        made = {}
        for role, mk, _ in inputs:
            made[role] = mk(g) if mk.__code__.co_argcount == 1 else mk(g, made)
        ts = {}
        for role, _, rg in inputs:
            ts[role] = made[role].to(dtype).detach().clone().requires_grad_(rg)
        roles = [r for r, _, _ in inputs]
        fn = lambda *xs: torch_loss(loss, args, dict(zip(roles, xs)))
        xs = [ts[r] for r in roles]
        out = fn(*xs)
        assert out.dtype == dtype, (name, out.dtype)
        diff = [x for x in xs if x.requires_grad]
        rec = {
            "name": name,
            "loss": loss,
            "args": args,
            "dtype": dt,
            "inputs": [dict(flat(x), role=r, requires_grad=x.requires_grad)
                       for r, x in zip(roles, xs)],
            "output": flat(out),
        }
        grads_rg = []
        if diff:
            gout = torch.randn(out.shape, generator=g, dtype=torch.float64).to(dtype)
            grads_rg = torch.autograd.grad([out], diff, [gout])
            it = iter(grads_rg)
            rec["grad_output"] = flat(gout)
            rec["grads"] = [flat(next(it)) if x.requires_grad else None for x in xs]
        else:
            gout = None
            rec["grad_output"] = None
            rec["grads"] = [None for _ in xs]
        CASES.append(rec)
        if dt == "f32":
            check_f32_conditioning(name, fn, xs, out, gout, grads_rg)
        if dt == "f64" and diff and check_grad:
            ins = [x.detach().clone().requires_grad_(x.requires_grad) for x in xs]
            assert torch.autograd.gradcheck(fn, ins, eps=1e-6, atol=1e-5, rtol=1e-4), name


def error_case(base, loss, args, inputs):
    """Records inputs that PyTorch rejects (in f32): the engine must refuse them too."""
    name = f"{base}_f32"
    assert name not in NAMES, f"duplicate case name {name}"
    NAMES.add(name)
    g = torch.Generator().manual_seed(zlib.crc32(base.encode()))
    ts = {role: mk(g).float() for role, mk in inputs}
    try:
        torch_loss(loss, args, ts)
    except (RuntimeError, ValueError, IndexError) as e:
        message = str(e).splitlines()[0][:200]
    else:
        raise AssertionError(f"{name}: PyTorch accepted the inputs")
    CASES.append({
        "name": name, "loss": loss, "args": args, "dtype": "f32",
        "inputs": [dict(flat(ts[r]), role=r, requires_grad=False) for r, _ in inputs],
        "error": message,
    })


def check_f32_conditioning(name, fn, xs, out, gout, grads_rg):
    """Recompute an f32 case in f64 from the same inputs; bound the deviation."""
    x64 = [x.detach().double().requires_grad_(x.requires_grad) for x in xs]
    o64 = fn(*x64)
    pairs = [(out, o64)]
    if gout is not None:
        d64 = [x for x in x64 if x.requires_grad]
        g64 = torch.autograd.grad([o64], d64, [gout.double()])
        pairs += list(zip(grads_rg, g64))
    need, rel = 0.0, 0.0
    for a, b in pairs:
        if a.numel() == 0:
            continue
        err = (a.detach().double() - b.detach()).abs()
        need = max(need, (err - F32_RTOL * b.abs()).max().item())
        rel = max(rel, (err / b.abs().clamp_min(1e-300)).max().item())
    assert need <= F32_ATOL, f"{name}: f32 result ill-conditioned (needs atol {need:.3g})"
    F32_DEV.append((need, rel, name))


REDUCTIONS = ["mean", "sum", "none"]

# --------------------------------------------------------------------------
# regression losses: target = input - d, with d kept away from the kinks
# --------------------------------------------------------------------------


def offset_target(kinks, scale):
    return lambda g, made: made["input"] - away(
        torch.randn(made["input"].shape, generator=g, dtype=torch.float64) * scale, kinks)


REGRESSION = [
    ("mse", {}, (), 1.0),
    ("l1", {}, (0.0,), 1.0),
    ("huber", {"delta": 1.0}, (-1.0, 0.0, 1.0), 1.5),
    ("huber", {"delta": 0.5}, (-0.5, 0.0, 0.5), 0.75),
    ("huber", {"delta": 2.0}, (-2.0, 0.0, 2.0), 3.0),
    ("smooth_l1", {"beta": 1.0}, (-1.0, 0.0, 1.0), 1.5),
    ("smooth_l1", {"beta": 0.5}, (-0.5, 0.0, 0.5), 0.75),
    ("smooth_l1", {"beta": 0.0}, (0.0,), 1.0),
]
for loss, opts, kinks, scale in REGRESSION:
    tag = loss + "".join(f"_{k}{str(v).replace('.', 'p')}" for k, v in opts.items())
    for red in REDUCTIONS:
        case(f"{tag}_2d_{red}", loss, dict(opts, reduction=red),
             [("input", randn(3, 4, scale=2.0), True),
              ("target", offset_target(kinks, scale), True)])
    case(f"{tag}_3d_mean", loss, dict(opts, reduction="mean"),
         [("input", randn(2, 3, 4), True), ("target", offset_target(kinks, scale), True)])
    case(f"{tag}_0d_none", loss, dict(opts, reduction="none"),
         [("input", randn(), True), ("target", offset_target(kinks, scale), True)])

# --------------------------------------------------------------------------
# cross-entropy and NLL
# --------------------------------------------------------------------------


def ce(base, args, x, target, weight=None, loss="cross_entropy", dtypes=("f32", "f64")):
    ins = [("input", x, True), ("target", target, args["target"] == "probabilities")]
    if weight is not None:
        ins.append(("weight", weight, False))
    case(base, loss, args, ins, dtypes=dtypes)


W5 = rand(5, lo=0.2, hi=2.0)
for red in REDUCTIONS:
    idx = {"target": "indices", "reduction": red}
    prob = {"target": "probabilities", "reduction": red}
    ce(f"ce_idx_{red}", idx, randn(6, 5, scale=2.0), classes((6,), 5))
    ce(f"ce_idx_smooth0p1_{red}", dict(idx, label_smoothing=0.1),
       randn(6, 5, scale=2.0), classes((6,), 5))
    ce(f"ce_idx_ignore_{red}", idx, randn(6, 5), classes((6,), 5, ignore=-100, n_ignored=2))
    ce(f"ce_idx_weight_{red}", idx, randn(6, 5), classes((6,), 5), weight=W5)
    ce(f"ce_idx_weight_smooth0p2_ignore_{red}",
       dict(idx, label_smoothing=0.2, ignore_index=3),
       randn(6, 5), classes((6,), 5, ignore=3, n_ignored=2), weight=W5)
    ce(f"ce_prob_{red}", prob, randn(6, 5, scale=2.0), softmax_of(6, 5, dim=1))
    ce(f"ce_prob_smooth0p2_weight_{red}", dict(prob, label_smoothing=0.2),
       randn(6, 5), softmax_of(6, 5, dim=1), weight=W5)
    ce(f"ce_3d_idx_{red}", idx, randn(2, 4, 3), classes((2, 3), 4))
    ce(f"ce_4d_idx_{red}", idx, randn(2, 3, 2, 2), classes((2, 2, 2), 3))
ce("ce_idx_smooth0p3_mean", {"target": "indices", "reduction": "mean", "label_smoothing": 0.3},
   randn(6, 5), classes((6,), 5))
ce("ce_idx_smooth0p2_ignore_mean",
   {"target": "indices", "reduction": "mean", "label_smoothing": 0.2},
   randn(6, 5), classes((6,), 5, ignore=-100, n_ignored=3))
ce("ce_idx_ignore_class2_mean", {"target": "indices", "reduction": "mean", "ignore_index": 2},
   randn(8, 4), classes((8,), 4, ignore=2, n_ignored=3))
ce("ce_idx_weight_ignore_mean", {"target": "indices", "reduction": "mean"},
   randn(6, 5), classes((6,), 5, ignore=-100, n_ignored=2), weight=W5)
ce("ce_prob_smooth0p1_mean", {"target": "probabilities", "reduction": "mean",
                              "label_smoothing": 0.1},
   randn(6, 5), softmax_of(6, 5, dim=1))
ce("ce_prob_weight_sum", {"target": "probabilities", "reduction": "sum"},
   randn(6, 5), softmax_of(6, 5, dim=1), weight=W5)
ce("ce_3d_idx_weight_smooth0p1_ignore_mean",
   {"target": "indices", "reduction": "mean", "label_smoothing": 0.1},
   randn(2, 4, 3), classes((2, 3), 4, ignore=-100, n_ignored=1), weight=rand(4, lo=0.5, hi=1.5))
ce("ce_3d_prob_mean", {"target": "probabilities", "reduction": "mean"},
   randn(2, 4, 3), softmax_of(2, 4, 3, dim=1))
ce("ce_4d_prob_weight_smooth0p1_none",
   {"target": "probabilities", "reduction": "none", "label_smoothing": 0.1},
   randn(2, 3, 2, 2), softmax_of(2, 3, 2, 2, dim=1), weight=rand(3, lo=0.5, hi=1.5))
ce("ce_1d_idx_mean", {"target": "indices", "reduction": "mean"}, randn(5), classes((), 5))
ce("ce_1d_idx_none", {"target": "indices", "reduction": "none"}, randn(5), classes((), 5))
ce("ce_1d_prob_mean", {"target": "probabilities", "reduction": "mean"},
   randn(5), softmax_of(5, dim=0))
# the MNIST shape
ce("ce_idx_64x10_mean", {"target": "indices", "reduction": "mean"},
   randn(64, 10, scale=3.0), classes((64,), 10))
# logits of magnitude 1e4: log_softmax must not overflow
ce("ce_large_1e4_idx_mean", {"target": "indices", "reduction": "mean"},
   randn(4, 5, scale=1e4), classes((4,), 5))
ce("ce_large_shift_1e4_idx_none", {"target": "indices", "reduction": "none"},
   randn(4, 5, shift=1e4), classes((4,), 5), dtypes=("f64",))
ce("ce_large_1e4_prob_smooth0p1_mean",
   {"target": "probabilities", "reduction": "mean", "label_smoothing": 0.1},
   randn(4, 5, scale=1e4), softmax_of(4, 5, dim=1), dtypes=("f64",))

LOGP = lambda *s: softmax_of(*s, dim=1, log=True)
for red in REDUCTIONS:
    idx = {"target": "indices", "reduction": red}
    ce(f"nll_{red}", idx, LOGP(6, 5), classes((6,), 5), loss="nll")
    ce(f"nll_weight_{red}", idx, LOGP(6, 5), classes((6,), 5), weight=W5, loss="nll")
    ce(f"nll_weight_ignore_{red}", idx, LOGP(6, 5),
       classes((6,), 5, ignore=-100, n_ignored=2), weight=W5, loss="nll")
    ce(f"nll_3d_{red}", idx, LOGP(2, 4, 3), classes((2, 3), 4), loss="nll")
ce("nll_ignore_mean", {"target": "indices", "reduction": "mean"}, LOGP(6, 5),
   classes((6,), 5, ignore=-100, n_ignored=2), loss="nll")
ce("nll_ignore_class1_sum", {"target": "indices", "reduction": "sum", "ignore_index": 1},
   LOGP(6, 5), classes((6,), 5, ignore=1, n_ignored=2), loss="nll")
ce("nll_4d_weight_mean", {"target": "indices", "reduction": "mean"}, LOGP(2, 3, 2, 2),
   classes((2, 2, 2), 3), weight=rand(3, lo=0.5, hi=1.5), loss="nll")
ce("nll_1d_mean", {"target": "indices", "reduction": "mean"},
   lambda g: torch.log_softmax(torch.randn(5, generator=g, dtype=torch.float64), 0),
   classes((), 5), loss="nll")

# --------------------------------------------------------------------------
# binary cross-entropy
# --------------------------------------------------------------------------

PROBS = lambda *s: (lambda g: torch.sigmoid(torch.randn(s, generator=g, dtype=torch.float64) * 2))
for red in REDUCTIONS:
    case(f"bce_soft_{red}", "bce", {"reduction": red},
         [("input", PROBS(3, 4), True), ("target", rand(3, 4), True)])
    case(f"bce_binary_weight_{red}", "bce", {"reduction": red},
         [("input", PROBS(3, 4), True),
          ("target", lambda g: torch.randint(0, 2, (3, 4), generator=g).double(), False),
          ("weight", rand(4, lo=0.5, hi=2.0), False)])
case("bce_3d_mean", "bce", {"reduction": "mean"},
     [("input", PROBS(2, 3, 4), True), ("target", rand(2, 3, 4), False)])
# log clamped at -100 where the input is exactly 0 or 1 (forward only: at
# those points torch's backward caps its denominator at 1e-12, ours is the
# derivative of the clamped forward)
case("bce_clamp_none", "bce", {"reduction": "none"},
     [("input", const([0.0, 1.0, 0.0, 1.0, 0.5, 1e-50]), False),
      ("target", const([1.0, 0.0, 0.0, 1.0, 0.25, 1.0]), False)], dtypes=("f64",))
case("bce_clamp_f32_none", "bce", {"reduction": "none"},
     [("input", const([0.0, 1.0, 0.0, 1.0, 0.5]), False),
      ("target", const([1.0, 0.0, 0.3, 0.7, 0.25]), False)], dtypes=("f32",))

for red in REDUCTIONS:
    case(f"bcel_{red}", "bce_with_logits", {"reduction": red},
         [("input", randn(3, 4, scale=3.0), True), ("target", rand(3, 4), True)])
    case(f"bcel_pos_weight_{red}", "bce_with_logits", {"reduction": red},
         [("input", randn(3, 4, scale=3.0), True), ("target", rand(3, 4), True),
          ("pos_weight", rand(4, lo=0.5, hi=3.0), False)])
    case(f"bcel_weight_pos_weight_{red}", "bce_with_logits", {"reduction": red},
         [("input", randn(3, 4, scale=3.0), True), ("target", rand(3, 4), True),
          ("weight", rand(3, 1, lo=0.5, hi=2.0), False),
          ("pos_weight", rand(4, lo=0.5, hi=3.0), False)])
case("bcel_3d_pos_weight_mean", "bce_with_logits", {"reduction": "mean"},
     [("input", randn(2, 3, 4, scale=3.0), True), ("target", rand(2, 3, 4), False),
      ("pos_weight", rand(4, lo=0.5, hi=3.0), False)])
# exactly zero logits (a zero-initialised output layer): gradient sigmoid(0) - y
case("bcel_zero_logits_none", "bce_with_logits", {"reduction": "none"},
     [("input", const([0.0, 0.0, 0.0, 0.0]), True), ("target", const([0.0, 1.0, 0.25, 0.5]), True)])
case("bcel_zero_logits_pos_weight_sum", "bce_with_logits", {"reduction": "sum"},
     [("input", const([[0.0, 0.0], [0.0, 0.0]]), True),
      ("target", const([[0.0, 1.0], [0.25, 0.5]]), False),
      ("pos_weight", const([2.0, 0.5]), False)])
case("bcel_large_1e4_none", "bce_with_logits", {"reduction": "none"},
     [("input", randn(2, 4, scale=1e4), True), ("target", rand(2, 4), True),
      ("pos_weight", rand(4, lo=0.5, hi=3.0), False)])

# --------------------------------------------------------------------------
# KL divergence
# --------------------------------------------------------------------------

for red in REDUCTIONS + ["batchmean"]:
    case(f"kl_{red}", "kl_div", {"reduction": red},
         [("input", softmax_of(4, 5, dim=1, log=True), True),
          ("target", softmax_of(4, 5, dim=1), True)])
    case(f"kl_log_target_{red}", "kl_div", {"reduction": red, "log_target": True},
         [("input", softmax_of(4, 5, dim=1, log=True), True),
          ("target", softmax_of(4, 5, dim=1, log=True), True)])
case("kl_3d_batchmean", "kl_div", {"reduction": "batchmean"},
     [("input", softmax_of(2, 3, 4, dim=1, log=True), True),
      ("target", softmax_of(2, 3, 4, dim=1), True)])
case("kl_zero_target_sum", "kl_div", {"reduction": "sum"},
     [("input", softmax_of(2, 3, dim=1, log=True), True),
      ("target", const([[0.0, 0.25, 0.75], [0.5, 0.5, 0.0]]), False)])
case("kl_1d_batchmean", "kl_div", {"reduction": "batchmean"},
     [("input", softmax_of(5, dim=0, log=True), True), ("target", softmax_of(5, dim=0), True)])


# --------------------------------------------------------------------------
# ranking and embedding losses (issue 14)
# --------------------------------------------------------------------------


def signs(*shape):
    """Labels of +1 and -1."""
    return lambda g: torch.randint(0, 2, shape, generator=g).double() * 2 - 1


def rank_second(margin, scale=1.0):
    """input2 = input1 - d with d kept away from the hinge's kinks at +-margin."""
    return lambda g, made: made["input1"] - away(
        torch.randn(made["input1"].shape, generator=g, dtype=torch.float64) * scale,
        (margin, -margin))


for red in REDUCTIONS:
    case(f"margin_ranking_{red}", "margin_ranking", {"reduction": red},
         [("input1", randn(6), True), ("input2", rank_second(0.0), True),
          ("target", signs(6), True)])
    case(f"margin_ranking_margin0p5_2d_{red}", "margin_ranking", {"reduction": red, "margin": 0.5},
         [("input1", randn(3, 4), True), ("input2", rank_second(0.5), True),
          ("target", signs(3, 4), False)])
    case(f"cosine_embedding_{red}", "cosine_embedding", {"reduction": red},
         [("input1", randn(5, 4), True), ("input2", randn(5, 4), True),
          ("target", const([1.0, -1.0, 1.0, -1.0, -1.0]), False)])
    case(f"cosine_embedding_margin0p3_{red}", "cosine_embedding", {"reduction": red, "margin": 0.3},
         [("input1", randn(6, 3), True), ("input2", randn(6, 3), True),
          ("target", const([1.0, -1.0, -1.0, 0.0, -1.0, 2.0]), False)])
    case(f"triplet_{red}", "triplet_margin", {"reduction": red},
         [("anchor", randn(5, 4), True), ("positive", randn(5, 4, scale=0.7), True),
          ("negative", randn(5, 4), True)])
    case(f"triplet_p1_swap_margin0p5_{red}", "triplet_margin",
         {"reduction": red, "p": 1.0, "swap": True, "margin": 0.5},
         [("anchor", randn(5, 4), True), ("positive", randn(5, 4, scale=0.7), True),
          ("negative", randn(5, 4), True)])
margin_ranking_bcast = [("input1", randn(3, 1), True), ("input2", randn(1, 4), True),
                        ("target", signs(3, 4), True)]
case("margin_ranking_broadcast_margin0p2_none", "margin_ranking",
     {"reduction": "none", "margin": 0.2}, margin_ranking_bcast)
case("margin_ranking_0d_sum", "margin_ranking", {"reduction": "sum", "margin": 1.0},
     [("input1", const(0.25), True), ("input2", const(0.5), True), ("target", const(1.0), True)])
case("cosine_embedding_1d_similar_none", "cosine_embedding", {"reduction": "none"},
     [("input1", randn(4), True), ("input2", randn(4), True), ("target", const(1.0), False)])
case("cosine_embedding_1d_dissimilar_mean", "cosine_embedding", {"reduction": "mean", "margin": -0.5},
     [("input1", randn(4), True), ("input2", randn(4), True), ("target", const(-1.0), False)])
case("cosine_embedding_broadcast_sum", "cosine_embedding", {"reduction": "sum"},
     [("input1", randn(4, 3), True), ("input2", randn(1, 3), True), ("target", signs(4), False)])
case("cosine_embedding_target_1_broadcast_none", "cosine_embedding", {"reduction": "none"},
     [("input1", randn(3, 5), True), ("input2", randn(3, 5), True), ("target", const([-1.0]), False)])
case("triplet_p3_eps0p1_sum", "triplet_margin", {"reduction": "sum", "p": 3.0, "eps": 0.1},
     [("anchor", randn(4, 3), True), ("positive", randn(4, 3, scale=0.5), True),
      ("negative", randn(4, 3), True)])
case("triplet_1d_mean", "triplet_margin", {"reduction": "mean", "margin": 2.0},
     [("anchor", randn(6), True), ("positive", randn(6), True), ("negative", randn(6), True)])
case("triplet_3d_swap_none", "triplet_margin", {"reduction": "none", "swap": True, "margin": 1.5},
     [("anchor", randn(2, 3, 4), True), ("positive", randn(2, 3, 4), True),
      ("negative", randn(2, 3, 4), True)])
case("triplet_broadcast_positive_none", "triplet_margin", {"reduction": "none", "margin": 3.0},
     [("anchor", randn(4, 3), True), ("positive", randn(1, 3), True), ("negative", randn(4, 3), True)])
case("triplet_pinf_mean", "triplet_margin", {"reduction": "mean", "p": "inf", "margin": 2.0},
     [("anchor", randn(4, 3), True), ("positive", randn(4, 3), True), ("negative", randn(4, 3), True)],
     dtypes=("f64",))

# --------------------------------------------------------------------------
# soft margin and multi-label soft margin
# --------------------------------------------------------------------------

for red in REDUCTIONS:
    case(f"soft_margin_{red}", "soft_margin", {"reduction": red},
         [("input", randn(3, 4, scale=2.0), True), ("target", signs(3, 4), False)])
    case(f"soft_margin_soft_target_{red}", "soft_margin", {"reduction": red},
         [("input", randn(3, 4, scale=2.0), True), ("target", randn(3, 4), False)])
    case(f"multilabel_{red}", "multilabel_soft_margin", {"reduction": red},
         [("input", randn(4, 5, scale=2.0), True),
          ("target", lambda g: torch.randint(0, 2, (4, 5), generator=g).double(), False)])
    case(f"multilabel_weight_{red}", "multilabel_soft_margin", {"reduction": red},
         [("input", randn(4, 5, scale=2.0), True), ("target", rand(4, 5), True),
          ("weight", rand(5, lo=0.2, hi=2.0), False)])
case("soft_margin_target_broadcast_sum", "soft_margin", {"reduction": "sum"},
     [("input", randn(3, 4), True), ("target", signs(4), False)])
case("soft_margin_large_30_none", "soft_margin", {"reduction": "none"},
     [("input", randn(2, 4, scale=30.0), True), ("target", signs(2, 4), False)], dtypes=("f64",))
case("soft_margin_0d_none", "soft_margin", {"reduction": "none"},
     [("input", randn(), True), ("target", const(-1.0), False)])
case("multilabel_1d_mean", "multilabel_soft_margin", {"reduction": "mean"},
     [("input", randn(5), True), ("target", rand(5), True)])
case("multilabel_3d_none", "multilabel_soft_margin", {"reduction": "none"},
     [("input", randn(2, 3, 4), True), ("target", rand(2, 3, 4), False)])
case("multilabel_weight_per_sample_sum", "multilabel_soft_margin", {"reduction": "sum"},
     [("input", randn(3, 4), True), ("target", rand(3, 4), False),
      ("weight", rand(3, 1, lo=0.2, hi=2.0), False)])

# --------------------------------------------------------------------------
# Poisson and Gaussian negative log-likelihood
# --------------------------------------------------------------------------


def counts(*shape, rate=3.0):
    return lambda g: torch.poisson(torch.full(shape, rate, dtype=torch.float64), generator=g)


def soft_counts(*shape):
    """Non-integer counts in [0, 6] kept away from 1, where the Stirling term switches on."""
    return lambda g: away(6 * torch.rand(shape, generator=g, dtype=torch.float64), (1.0,), 0.1)


for red in REDUCTIONS:
    case(f"poisson_{red}", "poisson_nll", {"reduction": red},
         [("input", randn(3, 4), True), ("target", counts(3, 4), True)])
    case(f"poisson_full_{red}", "poisson_nll", {"reduction": red, "full": True},
         [("input", randn(3, 4), True), ("target", counts(3, 4), False)])
    case(f"poisson_rate_{red}", "poisson_nll", {"reduction": red, "log_input": False},
         [("input", rand(3, 4, lo=0.1, hi=4.0), True), ("target", counts(3, 4), True)])
    case(f"gaussian_{red}", "gaussian_nll", {"reduction": red},
         [("input", randn(3, 4), True), ("target", randn(3, 4), True),
          ("var", rand(3, 4, lo=0.2, hi=2.0), True)])
    case(f"gaussian_var_per_row_full_{red}", "gaussian_nll", {"reduction": red, "full": True},
         [("input", randn(3, 4), True), ("target", randn(3, 4), False),
          ("var", rand(3, lo=0.2, hi=2.0), True)])
case("poisson_full_soft_target_rate_eps0p01_sum", "poisson_nll",
     {"reduction": "sum", "full": True, "log_input": False, "eps": 0.01},
     [("input", rand(2, 5, lo=0.1, hi=4.0), True), ("target", soft_counts(2, 5), True)])
case("poisson_full_log_soft_target_none", "poisson_nll",
     {"reduction": "none", "full": True, "log_input": True},
     [("input", randn(2, 5), True), ("target", soft_counts(2, 5), True)])
case("poisson_full_zero_one_counts_none", "poisson_nll", {"reduction": "none", "full": True},
     [("input", randn(6), True), ("target", const([0.0, 1.0, 2.0, 0.0, 1.0, 7.0]), False)])
case("poisson_target_broadcast_mean", "poisson_nll", {"reduction": "mean"},
     [("input", randn(3, 4), True), ("target", counts(4), False)])
case("poisson_input_broadcast_none", "poisson_nll", {"reduction": "none", "log_input": False},
     [("input", rand(4, lo=0.5, hi=2.0), True), ("target", counts(2, 4), False)])
case("gaussian_var_column_mean", "gaussian_nll", {"reduction": "mean"},
     [("input", randn(3, 4), True), ("target", randn(3, 4), True),
      ("var", rand(3, 1, lo=0.2, hi=2.0), True)])
case("gaussian_var_shared_dim_sum", "gaussian_nll", {"reduction": "sum", "eps": 1e-3},
     [("input", randn(2, 3, 4), True), ("target", randn(2, 3, 4), False),
      ("var", rand(2, 1, 4, lo=0.2, hi=2.0), True)])
case("gaussian_target_broadcast_none", "gaussian_nll", {"reduction": "none"},
     [("input", randn(3, 4), True), ("target", randn(4), True),
      ("var", rand(3, 4, lo=0.2, hi=2.0), True)])
case("gaussian_scalar_var_full_mean", "gaussian_nll", {"reduction": "mean", "full": True, "var": 0.7},
     [("input", randn(3, 4), True), ("target", randn(3, 4), True)])
case("gaussian_1d_var_0d_none", "gaussian_nll", {"reduction": "none"},
     [("input", randn(4), True), ("target", randn(4), True), ("var", const(0.5), True)])
# variances below eps (and 0): clamped in value; the gradient is PyTorch's,
# which flows as if unclamped (its clamp runs in place under no_grad), so
# finite differences do not apply
case("gaussian_var_below_eps_none", "gaussian_nll", {"reduction": "none"},
     [("input", randn(5), True), ("target", randn(5), True),
      ("var", const([1e-8, 0.0, 0.5, 1e-6, 2e-6]), True)], check_grad=False)

# --------------------------------------------------------------------------
# inputs PyTorch rejects
# --------------------------------------------------------------------------

z = lambda *shape: (lambda g: torch.zeros(shape, dtype=torch.float64))
o = lambda *shape: (lambda g: torch.ones(shape, dtype=torch.float64))
ERRORS = [
    ("margin_ranking_dims", "margin_ranking", {},
     [("input1", z(3)), ("input2", z(3)), ("target", o(1, 3))]),
    ("margin_ranking_sizes", "margin_ranking", {},
     [("input1", z(3)), ("input2", z(4)), ("target", o(3))]),
    ("cosine_embedding_2d_target", "cosine_embedding", {},
     [("input1", z(2, 3)), ("input2", z(2, 3)), ("target", o(2, 1))]),
    ("cosine_embedding_3d_inputs", "cosine_embedding", {},
     [("input1", z(2, 3, 4)), ("input2", z(2, 3, 4)), ("target", o(2))]),
    ("cosine_embedding_1d_input2", "cosine_embedding", {},
     [("input1", z(2, 3)), ("input2", z(3)), ("target", o(2))]),
    ("cosine_embedding_features", "cosine_embedding", {},
     [("input1", z(2, 3)), ("input2", z(2, 4)), ("target", o(2))]),
    ("cosine_embedding_batch", "cosine_embedding", {},
     [("input1", z(2, 3)), ("input2", z(2, 3)), ("target", o(3))]),
    ("triplet_margin_zero", "triplet_margin", {"margin": 0.0},
     [("anchor", z(2, 3)), ("positive", z(2, 3)), ("negative", z(2, 3))]),
    ("triplet_dims", "triplet_margin", {},
     [("anchor", z(2, 3)), ("positive", z(3)), ("negative", z(2, 3))]),
    ("triplet_sizes", "triplet_margin", {},
     [("anchor", z(2, 3)), ("positive", z(2, 4)), ("negative", z(2, 3))]),
    ("soft_margin_target_larger", "soft_margin", {},
     [("input", z(3)), ("target", o(2, 3))]),
    ("soft_margin_sizes", "soft_margin", {}, [("input", z(2, 3)), ("target", o(3, 2))]),
    ("multilabel_0d", "multilabel_soft_margin", {}, [("input", z()), ("target", o())]),
    ("multilabel_sizes", "multilabel_soft_margin", {}, [("input", z(2, 3)), ("target", o(2, 4))]),
    ("multilabel_weight", "multilabel_soft_margin", {},
     [("input", z(2, 3)), ("target", o(2, 3)), ("weight", o(2))]),
    ("poisson_sizes", "poisson_nll", {}, [("input", z(2, 3)), ("target", o(2))]),
    ("gaussian_var_last_dim_only", "gaussian_nll", {},
     [("input", z(2, 3)), ("target", z(2, 3)), ("var", o(3))]),
    ("gaussian_var_two_dims_shared", "gaussian_nll", {},
     [("input", z(2, 3)), ("target", z(2, 3)), ("var", o(1, 1))]),
    ("gaussian_var_0d", "gaussian_nll", {},
     [("input", z(2, 3)), ("target", z(2, 3)), ("var", o())]),
    ("gaussian_var_extra_dim", "gaussian_nll", {},
     [("input", z(2, 3)), ("target", z(2, 3)), ("var", o(2, 3, 1))]),
    ("gaussian_var_negative", "gaussian_nll", {},
     [("input", z(2, 3)), ("target", z(2, 3)), ("var", lambda g: -torch.ones(2, 3))]),
    ("gaussian_scalar_var_negative", "gaussian_nll", {"var": -1.0},
     [("input", z(2, 3)), ("target", z(2, 3))]),
    ("gaussian_target_sizes", "gaussian_nll", {},
     [("input", z(2, 3)), ("target", z(2,)), ("var", o(2, 3))]),
]
for base, loss, args, inputs in ERRORS:
    error_case(f"error_{base}", loss, dict(args, reduction="mean"), inputs)



# --------------------------------------------------------------------------
# write
# --------------------------------------------------------------------------


def main():
    out_path = os.path.normpath(OUT_PATH)
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    lines = [json.dumps(c, separators=(",", ":"), allow_nan=False) for c in CASES]
    with open(out_path, "w") as f:
        f.write('{"torch_version":' + json.dumps(torch.__version__) + ',"cases":[\n')
        f.write(",\n".join(lines))
        f.write("\n]}\n")
    with open(out_path) as f:
        back = json.load(f)
    assert back["cases"] == CASES
    per_loss = {}
    for c in CASES:
        per_loss[c["loss"]] = per_loss.get(c["loss"], 0) + 1
    print(f"torch {torch.__version__}: wrote {len(CASES)} cases "
          f"({os.path.getsize(out_path)} bytes) to {out_path}", file=sys.stderr)
    for loss, n in per_loss.items():
        print(f"  {loss}: {n}", file=sys.stderr)
    worst = max(F32_DEV)
    print(f"f32 vs f64 recomputation: worst atol needed beyond rtol {F32_RTOL}: "
          f"{worst[0]:.3g} ({worst[2]}); worst pure relative deviation "
          f"{max(F32_DEV, key=lambda e: e[1])[1]:.3g}", file=sys.stderr)


if __name__ == "__main__":
    main()
