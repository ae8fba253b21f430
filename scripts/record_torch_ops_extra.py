"""Records PyTorch's values for the ops issue 14 added (activations and math,
reductions and scans, layout) into the fixture that
crates/micrograd-plus/tests/torch_ops_extra.rs replays on our engine.

Every case runs one op in PyTorch on inputs that lean on the edge cases:
NaN and +-inf, the kinks of each function (relu6 at 0 and 6, hardtanh at its
bounds, ...), ties (sort, topk, max over a dim), zeros (prod, cumprod, the
norm at 0), zero-size dims, 0-d tensors, negative dims, f32 and f64. It
records the inputs, the op and its arguments, and either the fact that
PyTorch raised or every output (shape, dtype, elements), the random upstream
gradient of the first output and every input's gradient.

File format: {"torch_version", "cases": [case, ...]}, with
  case = {"name", "op", "args": {...}, "inputs": [{"shape", "dtype", "data", "grad"}],
          "torch": {"error": message}
                 | {"outputs": [{"shape", "dtype", "value"}], "upstream": [...], "grads": [... | null]}}
Indices (max/min over a dim, sort, topk) are recorded as numbers with dtype
"i64". Non-finite numbers are the strings "nan", "inf" and "-inf" (JSON has
no such numbers). Run with PyTorch 2.15 (CPU); the output is deterministic
(each case's random data comes from a generator seeded by the case's name):

  python scripts/record_torch_ops_extra.py > crates/micrograd-plus/tests/data/torch_ops_extra.json
"""
import json
import math
import sys
import zlib

import torch
import torch.nn.functional as F

torch.set_num_threads(1)

NAN, INF = math.nan, math.inf
DTYPES = {"f32": torch.float32, "f64": torch.float64}
CASES = []


def num(v):
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def values(t):
    return [num(v) for v in t.detach().reshape(-1).double().tolist()]


def dtype_name(t):
    return {torch.float32: "f32", torch.float64: "f64", torch.int64: "i64"}[t.dtype]


def gen(name):
    return torch.Generator().manual_seed(zlib.crc32(name.encode()))


def randn(shape):
    """Normal data (a function of the case's generator), rounded to f32."""
    return lambda g: torch.randn(shape, generator=g, dtype=torch.float64).float().double()


def const(data, shape=None):
    def f(g):
        t = torch.tensor(data, dtype=torch.float64)
        return t.reshape(shape) if shape is not None else t
    return f


def case(name, op, args, makers, fn, dtype="f64", grad=True, upstream=None):
    """Runs `fn` on the inputs made by `makers` (f64 data cast to `dtype`)
    and records the case. `upstream` overrides the random upstream gradient."""
    full = f"{op}/{name}/{dtype}"
    g = gen(full)
    grads = grad if isinstance(grad, (list, tuple)) else [grad] * len(makers)
    leaves = []
    for make, rg in zip(makers, grads):
        t = make(g)
        t = t.to(DTYPES[dtype] if isinstance(dtype, str) else dtype[len(leaves)])
        leaves.append(t.requires_grad_(rg))
    spec = [{"shape": list(t.shape), "dtype": dtype_name(t), "data": values(t), "grad": t.requires_grad}
            for t in leaves]
    try:
        out = fn(*leaves, **args)
    except Exception as e:  # PyTorch refuses: so must we
        record = {"error": str(e).splitlines()[0][:200]}
    else:
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        record = {"outputs": [{"shape": list(o.shape), "dtype": dtype_name(o), "value": values(o)}
                              for o in outs]}
        first = outs[0]
        if first.requires_grad:
            if upstream is None:
                up = torch.randn(first.shape, generator=g, dtype=torch.float64).to(first.dtype)
            else:
                up = torch.full(first.shape, upstream, dtype=first.dtype)
            record["upstream"] = values(up)
            first.backward(up)
            record["grads"] = [values(t.grad) if t.grad is not None else (
                values(torch.zeros_like(t)) if t.requires_grad else None) for t in leaves]
    CASES.append({"name": full, "op": op, "args": args, "inputs": spec, "torch": record})


def both(name, op, args, makers, fn, **kw):
    for dt in ("f64", "f32"):
        case(name, op, args, makers, fn, dtype=dt, **kw)


# --------------------------------------------------------------------------
# activations and math
# --------------------------------------------------------------------------

EDGE = [INF, -INF, 0.0, -0.0, 0.5, -1.0, -2.5, 3.0, -3.0, 6.0, 25.0, -30.0]
# NaN inputs get their own short tensors: PyTorch's CPU kernels run the
# leading 8 or 16 (f64) and 16 or 32 (f32) elements of a longer tensor
# through vector code (on this AVX-512 machine; other widths elsewhere)
# whose gradient at a NaN input differs from the scalar code's that short
# tensors and the tail take (NaN instead of passing for elu, selu, celu and
# hardswish; 0 instead of passing for hardtanh and relu6). The engine
# follows the scalar code, so only short NaN cases are recorded.
NANS = [NAN, 2.0, -2.0, NAN]

UNARY = {
    "relu6": F.relu6,
    "hardtanh": lambda x: F.hardtanh(x),
    "hardswish": F.hardswish,
    "hardsigmoid": F.hardsigmoid,
    "selu": F.selu,
    "mish": F.mish,
    "logsigmoid": F.logsigmoid,
    "softsign": F.softsign,
    "softplus": F.softplus,
    "erf": torch.erf,
    "log1p": torch.log1p,
    "expm1": torch.expm1,
    "log2": torch.log2,
    "rsqrt": torch.rsqrt,
    "square": torch.square,
    "sign": torch.sign,
    "tan": torch.tan,
}


def unary_cases():
    for op, fn in UNARY.items():
        positive = op in ("log2", "rsqrt", "log1p")
        shift = (lambda m: (lambda g: m(g).abs() + 0.1)) if positive else (lambda m: m)
        both("random", op, {}, [shift(randn((3, 4)))], fn)
        both("edges", op, {}, [const(EDGE)], fn)
        both("NaN", op, {}, [const(NANS)], fn)
        both("0-d", op, {}, [shift(randn(()))], fn)
        both("empty", op, {}, [randn((0, 3))], fn)
        # An infinite upstream gradient: gates (kinks, sign) must keep it out.
        case("edges, inf upstream", op, {}, [const(EDGE)], fn, upstream=INF)
    for lo, hi in [(-1.0, 1.0), (-0.5, 2.0), (2.0, -1.0)]:
        both(f"edges [{lo}, {hi}]", "hardtanh_with", {"min_val": lo, "max_val": hi},
             [const(EDGE + [-0.5, 2.0])], lambda x, min_val, max_val: F.hardtanh(x, min_val, max_val))
    for beta, threshold in [(1.0, 20.0), (2.0, 5.0), (0.5, 1.0), (-1.0, 20.0)]:
        both(f"beta {beta} threshold {threshold}", "softplus_with", {"beta": beta, "threshold": threshold},
             [const(EDGE + [2.4, 10.0])],
             lambda x, beta, threshold: F.softplus(x, beta, threshold))
    for alpha in [1.0, 0.5, 2.0, -1.0, 0.0]:
        both(f"alpha {alpha}", "celu", {"alpha": alpha}, [const(EDGE)],
             lambda x, alpha: F.celu(x, alpha))
        both(f"alpha {alpha}, NaN", "celu", {"alpha": alpha}, [const(NANS)],
             lambda x, alpha: F.celu(x, alpha))
    for dim in [0, 1, -1, 2, -3]:
        both(f"dim {dim}", "softmin", {"dim": dim}, [randn((2, 3))], lambda x, dim: F.softmin(x, dim))
    both("edges", "softmin", {"dim": 0}, [const([NAN, 1.0, 2.0, INF, -INF, 0.0], (2, 3))],
         lambda x, dim: F.softmin(x, dim))
    both("0-d", "softmin", {"dim": 0}, [randn(())], lambda x, dim: F.softmin(x, dim))
    both("empty", "softmin", {"dim": 1}, [randn((0, 3))], lambda x, dim: F.softmin(x, dim))


def clamp_t(x, lo, hi):
    return torch.clamp(x, lo, hi)


def ternary_cases():
    ties = const([0.0, 1.0, 0.5, NAN, -1.0, 2.0, 0.5, NAN, 1.0, 0.5, 3.0, 0.5, 2.0, 1.0, -INF])
    los = const([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, NAN, NAN, 2.0, 1.0, 2.0, 0.5, 2.0, 1.0, -INF])
    his = const([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.5, 2.0, 1.0, 0.0])
    both("ties, NaN, crossed bounds", "clamp_tensor", {}, [ties, los, his], clamp_t)
    both("min only", "clamp_tensor", {"max": None}, [ties, los],
         lambda x, lo, max: torch.clamp(x, lo, None))
    both("max only", "clamp_tensor", {"min": None}, [ties, his],
         lambda x, hi, min: torch.clamp(x, None, hi))
    both("broadcast", "clamp_tensor", {}, [randn((2, 3)), randn((3,)), const(0.5)], clamp_t)
    both("broadcast bounds", "clamp_tensor", {}, [randn((3,)), randn((2, 1)), randn((2, 3))], clamp_t)
    both("empty", "clamp_tensor", {}, [randn((0, 3)), randn((3,)), randn((1,))], clamp_t)
    both("0-d", "clamp_tensor", {}, [randn(()), randn(()), randn(())], clamp_t)
    case("f32 input, f64 bounds", "clamp_tensor", {}, [randn((3,)), randn((3,)), randn((3,))], clamp_t,
         dtype=[torch.float32, torch.float64, torch.float64])
    case("bad broadcast", "clamp_tensor", {}, [randn((2, 3)), randn((2,)), randn((3,))], clamp_t)
    case("inf upstream", "clamp_tensor", {}, [ties, los, his], clamp_t, upstream=INF)
    case("no bounds", "clamp_tensor", {"min": None, "max": None}, [randn((3,))],
         lambda x, min, max: torch.clamp(x, min, max))

    lerp = lambda a, b, w: torch.lerp(a, b, w)
    both("random", "lerp", {}, [randn((2, 3)), randn((2, 3)), randn((2, 3))], lerp)
    both("broadcast", "lerp", {}, [randn((2, 3)), randn((3,)), randn((2, 1))], lerp)
    both("weights at 0, 0.5, 1, edges", "lerp", {},
         [const([1.0, 2.0, -3.0, 4.0, NAN, 1.0, INF, 0.0]), const([5.0, -2.0, 7.0, 4.5, 1.0, NAN, 1.0, INF]),
          const([0.0, 0.5, 1.0, -0.7, 0.3, 0.3, 0.5, 0.25])], lerp)
    both("0-d", "lerp", {}, [randn(()), randn(()), randn(())], lerp)
    both("empty", "lerp", {}, [randn((0, 2)), randn((2,)), randn(())], lerp)
    case("dtype mismatch", "lerp", {}, [randn((3,)), randn((3,)), randn((3,))], lerp,
         dtype=[torch.float32, torch.float64, torch.float32])
    case("bad broadcast", "lerp", {}, [randn((3,)), randn((2,)), randn(())], lerp)
    for w in [0.0, 0.25, 0.5, 1.0, 1.5]:
        both(f"scalar weight {w}", "lerp_scalar", {"weight": w}, [randn((2, 3)), randn((3,))],
             lambda a, b, weight: torch.lerp(a, b, weight))


def main():
    unary_cases()
    ternary_cases()
    json.dump({"torch_version": torch.__version__, "cases": CASES}, sys.stdout,
              separators=(",", ":"), allow_nan=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
