"""Records PyTorch's values for the ops issue 14 added (activations and math,
reductions and scans, layout, normalize and glu) into the fixture that
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

from torch_json import dtype_name, num, values

torch.set_num_threads(1)

NAN, INF = math.nan, math.inf
DTYPES = {"f32": torch.float32, "f64": torch.float64}
CASES = []


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


# --------------------------------------------------------------------------
# reductions and scans
# --------------------------------------------------------------------------

ZEROS = [[2.0, 0.0, 3.0, 4.0], [0.0, 2.0, 0.0, 5.0], [1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.0, 1.0]]
NONFINITE = [[INF, 2.0, 3.0], [NAN, 1.0, 2.0], [INF, 0.0, 3.0], [-INF, INF, 1.0]]


def reduction_cases():
    prod_dim = lambda x, dim, keepdim: x.prod(dim, keepdim)
    both("random", "prod", {}, [randn((2, 3))], torch.prod)
    for name, data in [("one zero", [2.0, 0.0, 3.0, 4.0]), ("two zeros", [0.0, 2.0, 0.0]),
                       ("zeros per row", ZEROS), ("inf, NaN", [[INF, 2.0], [NAN, 1.0]]),
                       ("inf and zero", [INF, 0.0, 3.0])]:
        both(name, "prod", {}, [const(data)], torch.prod)
    for dim in [0, 1, -1]:
        for keepdim in [False, True]:
            both(f"random dim {dim} keepdim {keepdim}", "prod_dim", {"dim": dim, "keepdim": keepdim},
                 [randn((2, 3))], prod_dim)
    for dim in [0, 1]:
        both(f"zeros dim {dim}", "prod_dim", {"dim": dim, "keepdim": False}, [const(ZEROS)], prod_dim)
        both(f"non-finite dim {dim}", "prod_dim", {"dim": dim, "keepdim": False}, [const(NONFINITE)],
             prod_dim)
    both("size-1 dim with inf", "prod_dim", {"dim": 1, "keepdim": False},
         [const([[INF], [0.0], [2.0]])], prod_dim)
    both("empty", "prod", {}, [randn((0, 3))], torch.prod)
    for dim in [0, 1]:
        both(f"empty dim {dim}", "prod_dim", {"dim": dim, "keepdim": True}, [randn((0, 3))], prod_dim)
    for data in [1.5, 0.0, INF]:
        both(f"0-d {data}", "prod", {}, [const(data)], torch.prod)
        both(f"0-d {data}", "prod_dim", {"dim": -1, "keepdim": False}, [const(data)], prod_dim)
    case("dim out of range", "prod_dim", {"dim": 2, "keepdim": False}, [randn((2, 3))], prod_dim)

    for op, fn in [("cumsum", torch.cumsum), ("cumprod", torch.cumprod)]:
        scan = lambda x, dim, fn=fn: fn(x, dim)
        for dim in [0, 1, -1, -2]:
            both(f"random dim {dim}", op, {"dim": dim}, [randn((3, 4))], scan)
        both("3-d dim 1", op, {"dim": 1}, [randn((2, 3, 2))], scan)
        for dim in [0, 1]:
            both(f"zeros dim {dim}", op, {"dim": dim}, [const(ZEROS)], scan)
            both(f"non-finite dim {dim}", op, {"dim": dim}, [const(NONFINITE)], scan)
        both("size-1 dim with inf", op, {"dim": 1}, [const([[INF], [0.0], [NAN]])], scan)
        both("one element", op, {"dim": 0}, [const([INF])], scan)
        both("0-d", op, {"dim": 0}, [const(2.5)], scan)
        both("empty", op, {"dim": 1}, [randn((0, 3))], scan)
        both("empty dim", op, {"dim": 0}, [randn((0, 3))], scan)
        case("dim out of range", op, {"dim": 2}, [randn((2, 3))], scan)
        case("dim out of range, 0-d", op, {"dim": 1}, [randn(())], scan)

    norm = lambda x, ord, dims, keepdim: torch.linalg.vector_norm(
        x, float(ord), None if dims is None else dims, keepdim)
    for ord in [2.0, 1.0, INF, -INF, 0.0, 3.0, 0.5, -1.0, 1.5]:
        o = num(ord)
        for dims, keepdim in [(None, False), ([0], False), ([1], True), ([-1], False), ([0, 1], True)]:
            both(f"ord {ord} dims {dims} keepdim {keepdim}", "vector_norm",
                 {"ord": o, "dims": dims, "keepdim": keepdim}, [randn((3, 4))], norm)
        both(f"ord {ord} zero row", "vector_norm", {"ord": o, "dims": [1], "keepdim": False},
             [const([[0.0, 0.0, 0.0], [3.0, -4.0, 0.0], [0.0, 2.0, 0.0]])], norm)
        both(f"ord {ord} non-finite", "vector_norm", {"ord": o, "dims": [1], "keepdim": False},
             [const(NONFINITE)], norm)
        both(f"ord {ord} ties", "vector_norm", {"ord": o, "dims": None, "keepdim": False},
             [const([3.0, -3.0, 1.0, 3.0])], norm)
        both(f"ord {ord} 0-d", "vector_norm", {"ord": o, "dims": None, "keepdim": False},
             [const(-2.0)], norm)
        both(f"ord {ord} empty", "vector_norm", {"ord": o, "dims": None, "keepdim": False},
             [randn((0, 3))], norm)
        both(f"ord {ord} empty rows", "vector_norm", {"ord": o, "dims": [1], "keepdim": False},
             [randn((0, 3))], norm)
    case("dim out of range", "vector_norm", {"ord": 2.0, "dims": [2], "keepdim": False},
         [randn((2, 3))], norm)
    case("repeated dim", "vector_norm", {"ord": 2.0, "dims": [0, -2], "keepdim": False},
         [randn((2, 3))], norm)
    for p in [2.0, 1.0, INF, 3.0]:
        both(f"p {p}", "norm", {"p": num(p), "dims": [1], "keepdim": False}, [randn((2, 3))],
             lambda x, p, dims, keepdim: torch.norm(x, float(p), dims, keepdim))

    ties = [[1.0, 3.0, 3.0, 2.0], [NAN, 1.0, NAN, 0.0], [2.0, 2.0, 2.0, 2.0], [-INF, -INF, 5.0, INF]]
    for op, fn in [("max_dim", torch.max), ("min_dim", torch.min)]:
        ext = lambda x, dim, keepdim, fn=fn: tuple(fn(x, dim, keepdim))
        for dim in [0, 1, -1]:
            for keepdim in [False, True]:
                both(f"ties dim {dim} keepdim {keepdim}", op, {"dim": dim, "keepdim": keepdim},
                     [const(ties)], ext)
        both("random 3-d", op, {"dim": 1, "keepdim": False}, [randn((2, 3, 4))], ext)
        both("0-d", op, {"dim": 0, "keepdim": False}, [const(4.0)], ext)
        both("empty rows", op, {"dim": 1, "keepdim": False}, [randn((0, 3))], ext)
        case("empty dim", op, {"dim": 0, "keepdim": False}, [randn((0, 3))], ext)
        case("dim out of range", op, {"dim": 2, "keepdim": False}, [randn((2, 3))], ext)
        case("inf upstream", op, {"dim": 1, "keepdim": False}, [const(ties)], ext, upstream=INF)

    sort = lambda x, dim, descending, stable: tuple(
        torch.sort(x, dim=dim, descending=descending, stable=stable))
    for dim in [0, 1, -1]:
        for descending in [False, True]:
            both(f"ties dim {dim} descending {descending}", "sort",
                 {"dim": dim, "descending": descending, "stable": False}, [const(ties)], sort)
    # Rows longer than 16: std::sort's partitions reorder ties.
    for n in [17, 40, 100]:
        for descending in [False, True]:
            for stable in [False, True]:
                both(f"ties n {n} descending {descending} stable {stable}", "sort",
                     {"dim": 1, "descending": descending, "stable": stable},
                     [lambda g, n=n: torch.randint(0, 4, (3, n), generator=g).double()], sort)
    both("random", "sort", {"dim": 0, "descending": False, "stable": False}, [randn((5, 2))], sort)
    both("0-d", "sort", {"dim": 0, "descending": False, "stable": False}, [const(1.5)], sort)
    both("empty", "sort", {"dim": 1, "descending": False, "stable": False}, [randn((0, 3))], sort)
    case("dim out of range", "sort", {"dim": 2, "descending": False, "stable": False},
         [randn((2, 3))], sort)

    topk = lambda x, k, dim, largest, sorted: tuple(torch.topk(x, k, dim, largest, sorted))
    tie_row = const([1.0, 3.0, 3.0, 2.0, 3.0, 1.0, 1.0])
    for k in [1, 2, 3, 5, 7]:
        for largest in [True, False]:
            for sorted_ in [True, False]:
                both(f"ties k {k} largest {largest} sorted {sorted_}", "topk",
                     {"k": k, "dim": 0, "largest": largest, "sorted": sorted_}, [tie_row], topk)
    # Long rows of few distinct values: nth_element's partitions, std::sort
    # beyond 16 elements, and partial_sort where 64·k <= n.
    for n, k in [(40, 3), (40, 20), (50, 30), (130, 2), (200, 3), (64, 1)]:
        for largest in [True, False]:
            for sorted_ in [True, False]:
                both(f"ties n {n} k {k} largest {largest} sorted {sorted_}", "topk",
                     {"k": k, "dim": -1, "largest": largest, "sorted": sorted_},
                     [lambda g, n=n: torch.randint(0, 3, (2, n), generator=g).double()], topk)
    both("NaN", "topk", {"k": 2, "dim": 0, "largest": True, "sorted": True},
         [const([1.0, NAN, 3.0, NAN, 2.0])], topk)
    both("NaN smallest", "topk", {"k": 2, "dim": 0, "largest": False, "sorted": True},
         [const([1.0, NAN, 3.0, NAN, 2.0])], topk)
    both("dim 0 of 2-d", "topk", {"k": 2, "dim": 0, "largest": True, "sorted": True},
         [const(ties)], topk)
    both("k 0", "topk", {"k": 0, "dim": 1, "largest": True, "sorted": True}, [randn((2, 3))], topk)
    both("0-d", "topk", {"k": 1, "dim": 0, "largest": True, "sorted": True}, [const(2.0)], topk)
    both("empty rows", "topk", {"k": 2, "dim": 1, "largest": True, "sorted": True}, [randn((0, 3))], topk)
    case("k too large", "topk", {"k": 4, "dim": 1, "largest": True, "sorted": True}, [randn((2, 3))], topk)
    case("dim out of range", "topk", {"k": 1, "dim": 2, "largest": True, "sorted": True},
         [randn((2, 3))], topk)


# --------------------------------------------------------------------------
# layout
# --------------------------------------------------------------------------

def layout_cases():
    x34 = randn((3, 4))
    x234 = randn((2, 3, 4))
    flip = lambda x, dims: torch.flip(x, dims)
    for dims in [[0], [1], [-1], [0, 1], [0, 2], []]:
        both(f"dims {dims}", "flip", {"dims": dims}, [x234], flip)
    both("0-d", "flip", {"dims": [0]}, [randn(())], flip)
    both("empty", "flip", {"dims": [0, 1]}, [randn((0, 3))], flip)
    case("repeated dim", "flip", {"dims": [0, -3]}, [x234], flip)
    case("dim out of range", "flip", {"dims": [3]}, [x234], flip)

    roll = lambda x, shifts, dims: torch.roll(x, shifts, dims)
    for shifts, dims in [([1], [0]), ([-1], [1]), ([5], [-1]), ([1, -2], [0, 2]), ([2, 1], [1, 1]),
                         ([3], []), ([-7], []), ([0], [1])]:
        both(f"shifts {shifts} dims {dims}", "roll", {"shifts": shifts, "dims": dims}, [x234], roll)
    both("0-d", "roll", {"shifts": [1], "dims": []}, [randn(())], roll)
    both("empty", "roll", {"shifts": [1], "dims": [0]}, [randn((0, 3))], roll)
    case("misaligned", "roll", {"shifts": [1, 2], "dims": [0]}, [x234], roll)
    case("dim out of range", "roll", {"shifts": [1], "dims": [3]}, [x234], roll)

    repeat = lambda x, sizes: x.repeat(*sizes)
    for sizes in [[2, 1], [1, 3], [2, 2, 1], [0, 2], [3]]:
        data = randn((3,)) if len(sizes) == 1 else x34
        both(f"sizes {sizes}", "repeat", {"sizes": sizes}, [data], repeat)
    both("0-d", "repeat", {"sizes": [2, 3]}, [randn(())], repeat)
    both("empty", "repeat", {"sizes": [2, 2]}, [randn((0, 3))], repeat)
    case("too few sizes", "repeat", {"sizes": [2]}, [x34], repeat)

    for op, fn in [("tril", torch.tril), ("triu", torch.triu)]:
        for k in [0, 1, -1, 5, -5]:
            both(f"diagonal {k}", op, {"diagonal": k}, [x34], lambda x, diagonal, fn=fn: fn(x, diagonal))
        both("batched", op, {"diagonal": 0}, [x234], lambda x, diagonal, fn=fn: fn(x, diagonal))
        both("NaN outside", op, {"diagonal": 0}, [const([[NAN, INF], [-INF, NAN]])],
             lambda x, diagonal, fn=fn: fn(x, diagonal))
        both("empty", op, {"diagonal": 0}, [randn((0, 3))], lambda x, diagonal, fn=fn: fn(x, diagonal))
        case("1-d", op, {"diagonal": 0}, [randn((3,))], lambda x, diagonal, fn=fn: fn(x, diagonal))

    outer = lambda a, b: torch.outer(a, b)
    both("random", "outer", {}, [randn((3,)), randn((4,))], outer)
    both("NaN, inf", "outer", {}, [const([NAN, 0.0, INF]), const([1.0, 0.0])], outer)
    both("empty", "outer", {}, [randn((0,)), randn((2,))], outer)
    case("2-d", "outer", {}, [x34, randn((2,))], outer)
    case("mixed dtypes", "outer", {}, [randn((2,)), randn((3,))], outer,
         dtype=[torch.float32, torch.float64])

    bmm = lambda a, b: torch.bmm(a, b)
    both("random", "bmm", {}, [x234, randn((2, 4, 5))], bmm)
    both("empty batch", "bmm", {}, [randn((0, 2, 3)), randn((0, 3, 2))], bmm)
    both("empty inner", "bmm", {}, [randn((2, 2, 0)), randn((2, 0, 3))], bmm)
    case("batch mismatch", "bmm", {}, [x234, randn((1, 4, 5))], bmm)
    case("inner mismatch", "bmm", {}, [x234, randn((2, 3, 5))], bmm)
    case("2-d", "bmm", {}, [x34, randn((4, 2))], bmm)
    case("mixed dtypes", "bmm", {}, [x234, randn((2, 4, 5))], bmm, dtype=[torch.float32, torch.float64])

    shuffle = lambda x, upscale_factor: F.pixel_shuffle(x, upscale_factor)
    both("r 2", "pixel_shuffle", {"upscale_factor": 2}, [randn((2, 8, 2, 3))], shuffle)
    both("r 3, 3-d", "pixel_shuffle", {"upscale_factor": 3}, [randn((9, 2, 2))], shuffle)
    both("r 1", "pixel_shuffle", {"upscale_factor": 1}, [randn((1, 2, 2, 2))], shuffle)
    both("5-d", "pixel_shuffle", {"upscale_factor": 2}, [randn((2, 1, 4, 1, 2))], shuffle)
    # (An empty batch is left out: PyTorch 2.15's backward fails on it,
    # "PixelShuffleBackward0 returned an invalid gradient".)
    case("channels not divisible", "pixel_shuffle", {"upscale_factor": 2}, [randn((1, 6, 2, 2))], shuffle)
    case("2-d", "pixel_shuffle", {"upscale_factor": 2}, [randn((4, 4))], shuffle)

    pad = lambda x, pad, mode, value: F.pad(x, pad, mode=mode, value=value)
    for mode in ["constant", "reflect", "replicate"]:
        value = 1.5 if mode == "constant" else None
        for shape, p in [((2, 5), [2, 1]), ((1, 2, 4), [1, 3]), ((1, 2, 3, 4), [1, 2, 2, 1]),
                         ((2, 3, 3), [2, 0, 1, 2]), ((1, 1, 2, 3, 3), [1, 1, 2, 0, 1, 1]),
                         ((2, 5), [-1, 2]), ((2, 5), [-2, -1]), ((1, 3, 4), [1, -2, -1, 2]),
                         ((2, 5), [0, 0]), ((3, 4), [4, 0]), ((3, 4), [3, 3]), ((5,), [1, 1]),
                         ((2, 3), [1, 1, 1, 1]), ((2, 3), [-3, -3]), ((2, 0, 3), [1, 1])]:
            both(f"shape {list(shape)} pad {p}", "pad", {"pad": p, "mode": mode, "value": value},
                 [randn(shape)], pad)


# --------------------------------------------------------------------------
# layers (functional)
# --------------------------------------------------------------------------

def layer_cases():
    normalize = lambda x, p, dim, eps: F.normalize(x, float(p), dim, eps)
    for p in [2.0, 1.0, INF, 3.0]:
        for dim in [1, 0, -1]:
            both(f"p {p} dim {dim}", "normalize", {"p": num(p), "dim": dim, "eps": 1e-12},
                 [randn((3, 4))], normalize)
        both(f"p {p} zero row", "normalize", {"p": num(p), "dim": 1, "eps": 1e-12},
             [const([[0.0, 0.0, 0.0], [3.0, -4.0, 0.0]])], normalize)
    both("large eps", "normalize", {"p": 2.0, "dim": 1, "eps": 2.0},
         [const([[0.3, 0.4], [3.0, 4.0]])], normalize)
    both("non-finite", "normalize", {"p": 2.0, "dim": 1, "eps": 1e-12}, [const(NONFINITE)], normalize)
    both("empty", "normalize", {"p": 2.0, "dim": 1, "eps": 1e-12}, [randn((0, 3))], normalize)
    case("dim out of range", "normalize", {"p": 2.0, "dim": 2, "eps": 1e-12}, [randn((2, 3))], normalize)

    glu = lambda x, dim: F.glu(x, dim)
    for dim in [0, 1, -1]:
        both(f"dim {dim}", "glu", {"dim": dim}, [randn((4, 6))], glu)
    both("NaN, inf", "glu", {"dim": 0}, [const([NAN, 1.0, INF, -INF, 2.0, NAN])], glu)
    both("empty", "glu", {"dim": 1}, [randn((0, 4))], glu)
    case("odd", "glu", {"dim": 1}, [randn((2, 3))], glu)
    case("0-d", "glu", {"dim": 0}, [randn(())], glu)
    case("dim out of range", "glu", {"dim": 2}, [randn((2, 4))], glu)


def write_fixture(**extra):
    """Writes the recorded CASES (and any `extra` top-level entries) to
    stdout as the fixture's one line of JSON; the other single-op recorders
    write theirs with it too."""
    json.dump({"torch_version": torch.__version__, "cases": CASES, **extra}, sys.stdout,
              separators=(",", ":"), allow_nan=False)
    sys.stdout.write("\n")


def main():
    unary_cases()
    ternary_cases()
    reduction_cases()
    layout_cases()
    layer_cases()
    write_fixture()


if __name__ == "__main__":
    main()
