"""Generates random programs of tensor ops, runs them in PyTorch and writes the
corpus that crates/micrograd-plus/tests/torch_programs.rs replays on our engine.

Each program has a few input tensors (f64 or f32, some with requires_grad) and
a short chain of ops, each reading earlier values. The generator leans on the
cases that find bugs: broadcasting with size-1 and missing dims, zero-size
dims, ties, NaN and +-inf, empty dim lists, corrections larger than the count.
PyTorch runs the program forward, then backward from the last value with a
random upstream gradient; the corpus records the inputs, every op, the last
value (shape, dtype, elements) or the fact that PyTorch raised, and every
input's gradient.

Non-finite numbers are written as the strings "nan", "inf" and "-inf" (JSON has
no such numbers). Run with PyTorch 2.15 (CPU); the output is deterministic:

  python scripts/record_torch_programs.py > crates/micrograd-plus/tests/data/torch_programs.json
"""
import json
import math
import random
import sys

import torch
import torch.nn.functional as F

from torch_json import dtype_name, num, values

PROGRAMS = 2500
SEED = 12

UNARY = {
    "neg": torch.neg, "exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt, "abs": torch.abs,
    "sin": torch.sin, "cos": torch.cos, "relu": torch.relu, "sigmoid": torch.sigmoid,
    "tanh": torch.tanh, "silu": F.silu, "softplus": F.softplus, "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
}
BINARY = {
    "add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div,
    "maximum": torch.maximum, "minimum": torch.minimum, "pow": torch.pow,
}
SCALAR = {
    "add_scalar": lambda x, s: x + s, "sub_scalar": lambda x, s: x - s,
    "rsub_scalar": lambda x, s: s - x, "mul_scalar": lambda x, s: x * s,
    "div_scalar": lambda x, s: x / s, "rdiv_scalar": lambda x, s: s / x,
    "pow_scalar": lambda x, s: x ** s, "leaky_relu": lambda x, s: F.leaky_relu(x, s),
    "elu": lambda x, s: F.elu(x, s),
}
SCALARS = [0.5, -1.5, 2.0, 3.0, 0.0, 1e-3]


class Gen:
    def __init__(self, rng):
        self.r = rng

    def shape(self, ndim=None):
        r = self.r
        ndim = r.choice([0, 1, 1, 2, 2, 2, 3]) if ndim is None else ndim
        sizes = [r.choice([1, 2, 3, 3, 4]) for _ in range(ndim)]
        if ndim and r.random() < 0.08:
            sizes[r.randrange(ndim)] = 0
        return sizes

    def broadcastable(self, shape):
        """A shape that broadcasts with `shape`: some dims set to 1, some leading dropped."""
        r = self.r
        out = [1 if r.random() < 0.3 else d for d in shape]
        while out and r.random() < 0.25:
            out.pop(0)
        return out

    def data(self, n, finite=False):
        r = self.r
        style = r.random()
        if style < 0.15:  # ties
            vals = [float(r.choice([-1, 0, 1, 2])) for _ in range(n)]
        else:
            vals = [r.gauss(0.0, 1.5) for _ in range(n)]
        if r.random() < 0.12 and n and not finite:
            for _ in range(r.randint(1, 2)):
                vals[r.randrange(n)] = r.choice([math.nan, math.inf, -math.inf])
        return vals

    def tensor(self, shape, dtype, finite=False):
        n = math.prod(shape)
        t = torch.tensor(self.data(n, finite), dtype=torch.float64).reshape(shape).to(dtype)
        return t

    def dims(self, ndim):
        r = self.r
        if ndim == 0:
            return []
        k = r.choice([0, 1, 1, 1, 2]) if ndim > 1 else r.choice([0, 1, 1])
        k = min(k, ndim)
        dims = sorted(r.sample(range(ndim), k))
        return [d - ndim if r.random() < 0.3 else d for d in dims]


def torch_op(op, vals):
    """Runs one recorded op on torch values."""
    name, a = op["op"], op.get("args", [])
    x = vals[a[0]] if a else None
    if name in UNARY:
        return UNARY[name](x)
    if name in BINARY:
        return BINARY[name](x, vals[a[1]])
    if name in SCALAR:
        return SCALAR[name](x, op["scalar"])
    if name == "clamp":
        return x.clamp(op["min"], op["max"])
    dims, keep = op.get("dims"), op.get("keepdim", False)
    if name == "sum":
        return x.sum(dim=dims, keepdim=keep)
    if name == "mean":
        return x.mean(dim=dims, keepdim=keep)
    if name == "var":
        return x.var(dim=dims, correction=op["correction"], keepdim=keep)
    if name == "std":
        return x.std(dim=dims, correction=op["correction"], keepdim=keep)
    if name == "amax":
        return x.amax(dim=dims, keepdim=keep)
    if name == "amin":
        return x.amin(dim=dims, keepdim=keep)
    if name == "logsumexp":
        return x.logsumexp(dim=dims, keepdim=keep)
    if name == "max_all":
        return x.max()
    if name == "min_all":
        return x.min()
    if name == "softmax":
        return x.softmax(op["dim"])
    if name == "log_softmax":
        return x.log_softmax(op["dim"])
    if name == "matmul":
        return x @ vals[a[1]]
    if name == "transpose":
        return x.transpose(op["dim0"], op["dim1"])
    if name == "unsqueeze":
        return x.unsqueeze(op["dim"])
    if name == "flatten":
        return x.reshape(-1)
    if name == "where":
        return torch.where(vals[a[0]] > 0, vals[a[1]], vals[a[2]])
    if name == "permute":
        return x.permute(op["perm"])
    if name == "expand":
        return x.expand(op["shape"])
    if name == "squeeze":
        return x.squeeze(op["dim"])
    if name == "cat":
        return torch.cat([x, vals[a[1]]], op["dim"])
    if name == "stack":
        return torch.stack([x, vals[a[1]]], op["dim"])
    if name == "index_select":
        return x.index_select(op["dim"], torch.tensor(op["index"], dtype=torch.long))
    if name == "narrow":
        return x.narrow(op["dim"], op["start"], op["length"])
    if name == "masked_fill":
        return x.masked_fill(vals[a[1]] > 0, float(op["value"]))
    if name == "linear":
        return F.linear(x, vals[a[1]], vals[a[2]] if len(a) > 2 else None)
    if name == "layer_norm":
        return F.layer_norm(x, op["normalized_shape"], vals[a[1]], vals[a[2]], eps=1e-5)
    if name == "conv2d":
        return F.conv2d(x, vals[a[1]], vals[a[2]] if len(a) > 2 else None,
                        stride=op["stride"], padding=op["padding"])
    if name == "max_pool2d":
        return F.max_pool2d(x, op["kernel"], op["stride"], op["padding"])
    if name == "avg_pool2d":
        return F.avg_pool2d(x, op["kernel"], op["stride"], op["padding"],
                            count_include_pad=op["count_include_pad"])
    if name == "cross_entropy":
        target = vals[a[1]].long()
        return F.cross_entropy(x, target, ignore_index=op["ignore_index"],
                               label_smoothing=op["label_smoothing"], reduction=op["reduction"])
    raise ValueError(name)


def make_program(g, dtype):
    r = g.r
    family = r.random()
    inputs, ops = [], []
    g.last_inputs = inputs
    g.dtype = dtype

    def add_input(shape, grad=True, dt=dtype, data=None, finite=False):
        t = g.tensor(shape, dt, finite) if data is None else torch.tensor(data, dtype=dt).reshape(shape)
        inputs.append({"shape": list(shape), "dtype": dtype_name(t), "grad": grad, "data": values(t)})
        return len(inputs) - 1

    if family < 0.08:
        # Cross-entropy: logits (N, C), integer targets, ignore_index, smoothing.
        n, c = r.choice([0, 1, 2, 3, 4]), r.choice([1, 2, 3, 4])
        x = add_input([n, c])
        ignore = r.choice([-100, 0, 1])
        targets = [float(r.randrange(c)) for _ in range(n)]
        if n and r.random() < 0.4:
            targets[r.randrange(n)] = float(ignore) if ignore >= 0 else targets[0]
        t = add_input([n], grad=False, data=targets)
        ops.append({"op": "cross_entropy", "args": [x, t], "ignore_index": ignore,
                    "label_smoothing": r.choice([0.0, 0.0, 0.1]),
                    "reduction": r.choice(["mean", "mean", "sum", "none"])})
        return inputs, ops
    if family < 0.16:
        # Matrix products with batch broadcasting.
        m, k, n = (r.choice([0, 1, 2, 3]) for _ in range(3))
        batch = g.shape(r.choice([0, 0, 1, 2]))
        a_shape = batch + [m, k] if r.random() < 0.8 else [k]
        b_batch = g.broadcastable(batch)
        b_shape = b_batch + [k, n] if r.random() < 0.85 else [k]
        if r.random() < 0.1:
            b_shape = b_shape[:-2] + [k + 1, n] if len(b_shape) >= 2 else [k + 1]
        a, b = add_input(a_shape), add_input(b_shape)
        ops.append({"op": "matmul", "args": [a, b]})
        return inputs, ops
    if family < 0.24:
        # Mixed dtypes: a 0-d or dimensioned tensor of the other dtype.
        other = torch.float64 if dtype == torch.float32 else torch.float32
        shape = g.shape(r.choice([1, 2]))
        a = add_input(shape)
        b = add_input([] if r.random() < 0.6 else g.broadcastable(shape), dt=other)
        name = r.choice(["add", "mul", "div", "sub", "maximum", "minimum", "pow", "where"])
        if name == "where":
            c = add_input(shape, grad=False)
            ops.append({"op": "where", "args": [c, a, b]})
        else:
            ops.append({"op": name, "args": [a, b] if r.random() < 0.5 else [b, a]})
        return inputs, ops

    if family < 0.40:
        return inputs, layer_program(g, add_input)

    shape = g.shape()
    add_input(shape)
    if r.random() < 0.5:
        add_input(g.broadcastable(shape))
    for _ in range(r.randint(1, 3)):
        cur = len(inputs) + len(ops) - 1
        ndim = len(current_shape(inputs, ops, cur))
        kind = r.random()
        if kind < 0.3:
            ops.append({"op": r.choice(list(UNARY)), "args": [cur]})
        elif kind < 0.45 and len(inputs) > 1:
            ops.append({"op": r.choice(list(BINARY)), "args": [cur, r.randrange(len(inputs))]})
        elif kind < 0.55:
            name = r.choice(list(SCALAR) + ["clamp"])
            if name == "clamp":
                lo = r.choice([-1.0, 0.0, 0.5])
                ops.append({"op": "clamp", "args": [cur], "min": lo, "max": lo + r.choice([0.0, 1.0, 2.0])})
            else:
                s = r.choice(SCALARS)
                if name in ("leaky_relu", "elu"):
                    s = abs(s)
                ops.append({"op": name, "args": [cur], "scalar": s})
        elif kind < 0.85:
            name = r.choice(["sum", "mean", "var", "std", "amax", "amin", "logsumexp", "max_all", "min_all"])
            op = {"op": name, "args": [cur]}
            if name not in ("max_all", "min_all"):
                op["dims"] = g.dims(ndim)
                op["keepdim"] = r.random() < 0.4
            if name in ("var", "std"):
                op["correction"] = r.choice([0, 1, 1, 2, 3])
            if name in ("logsumexp", "var", "std") and not op["dims"]:
                # PyTorch 2.15 gets dim=[] wrong here: logsumexp fails its
                # output shape check, and var/std reduce every dim forward
                # but scale the gradient as if they reduced none (N = 1).
                # Ask for every dim with dim=None instead (our empty list).
                op["dims"] = None if name != "logsumexp" else [0]
            if name in ("var", "std") and op["dims"] is None:
                # Nor does its whole-tensor var/std backward agree with its
                # dim= one when correction >= N (inf of one sign, or NaN):
                # the corpus asks that only of the dim= form.
                numel = math.prod(current_shape(inputs, ops, cur))
                op["correction"] = 1 if numel > 1 and r.random() < 0.5 else 0
            ops.append(op)
        elif kind < 0.93 and ndim >= 1:
            ops.append({"op": r.choice(["softmax", "log_softmax"]), "args": [cur],
                        "dim": r.randrange(-ndim, ndim)})
        elif ndim >= 2:
            ops.append({"op": "transpose", "args": [cur], "dim0": r.randrange(ndim), "dim1": r.randrange(-ndim, ndim)})
        else:
            ops.append({"op": r.choice(["unsqueeze", "flatten"]), "args": [cur], "dim": r.randrange(-ndim - 1, ndim + 1)})
    return inputs, ops


def layer_program(g, add_input):
    """One layout op or layer, on inputs built for it (zero-size dims included)."""
    r = g.r
    kind = r.choice(["permute", "expand", "squeeze", "cat", "stack", "index_select", "narrow",
                     "masked_fill", "linear", "layer_norm", "conv2d", "max_pool2d", "avg_pool2d"])
    if kind in ("permute", "squeeze", "index_select", "narrow", "masked_fill"):
        shape = g.shape(r.choice([1, 2, 3]))
        x = add_input(shape)
        ndim = len(shape)
        dim = r.randrange(-ndim, ndim)
        op = {"op": kind, "args": [x]}
        if kind == "permute":
            perm = list(range(ndim))
            r.shuffle(perm)
            op["perm"] = perm
        elif kind == "squeeze":
            op["dim"] = dim
        elif kind == "index_select":
            size = shape[dim]
            op["dim"] = dim
            op["index"] = [r.randrange(size) for _ in range(r.randint(0, 4))] if size else []
        elif kind == "narrow":
            size = shape[dim]
            start = r.randint(0, size)
            op.update(dim=dim, start=start, length=r.randint(0, size - start))
        else:
            m = add_input(g.broadcastable(shape), grad=False)
            op["args"].append(m)
            op["value"] = num(r.choice([0.0, -1.5, math.inf]))
        return [op]
    if kind == "expand":
        shape = g.shape(r.choice([1, 2]))
        x = add_input([1 if r.random() < 0.6 else d for d in shape])
        return [{"op": "expand", "args": [x], "shape": [r.choice([0, 2, 3]) if d == 1 else d
                                                         for d in inputs_shape(g, x)]}]
    if kind in ("cat", "stack"):
        shape = g.shape(r.choice([1, 2, 3]))
        a = add_input(shape)
        other = list(shape)
        ndim = len(shape)
        dim = r.randrange(-ndim, ndim) if kind == "cat" else r.randrange(-ndim - 1, ndim + 1)
        if kind == "cat":
            other[dim] = r.choice([0, 1, 2])
        b = add_input(other)
        return [{"op": kind, "args": [a, b], "dim": dim}]
    if kind == "linear":
        batch = g.shape(r.choice([1, 2]))
        inp, out = r.choice([0, 1, 3]), r.choice([0, 1, 2, 4])
        x = add_input(batch + [inp])
        w = add_input([out, inp], finite=True)
        args = [x, w] + ([add_input([out], finite=True)] if r.random() < 0.7 else [])
        return [{"op": "linear", "args": args}]
    if kind == "layer_norm":
        shape = g.shape(r.choice([1, 2, 3]))
        k = r.choice([1, 1, 2]) if len(shape) >= 2 else 1
        norm = shape[len(shape) - k:]
        if math.prod(norm) == 1 and g.dtype == torch.float32:
            # One element per row: x - mean is exactly 0, and PyTorch's f32
            # kernel leaves rounding noise there that 1/sqrt(eps) blows up
            # to ~1e-4; f64 rows of one element are in the corpus.
            shape = shape[:len(shape) - k] + [2] * k
            norm = [2] * k
        x = add_input(shape)
        w, b = add_input(norm, finite=True), add_input(norm, finite=True)
        return [{"op": "layer_norm", "args": [x, w, b], "normalized_shape": norm}]
    # conv2d and the pools: (N, C, H, W) with small sizes
    n, c, h, w_ = r.choice([1, 2]), r.choice([1, 2]), r.choice([2, 3, 4, 5]), r.choice([2, 3, 4, 5])
    x = add_input([n, c, h, w_])
    kernel = [r.choice([1, 2, 3]), r.choice([1, 2, 3])]
    stride = [r.choice([1, 2]), r.choice([1, 2])]
    padding = [r.randint(0, k // 2) for k in kernel]
    if kind == "conv2d":
        out = r.choice([1, 3])
        # Parameters stay finite here: with a NaN weight, PyTorch's f32
        # (oneDNN) convolution skips the padding while its f64 one multiplies
        # it (0·NaN = NaN, as our im2col does), so it has no one answer.
        wt = add_input([out, c] + kernel, finite=True)
        args = [x, wt] + ([add_input([out], finite=True)] if r.random() < 0.7 else [])
        return [{"op": "conv2d", "args": args, "stride": stride, "padding": padding}]
    op = {"op": kind, "args": [x], "kernel": kernel, "stride": stride, "padding": padding}
    if kind == "avg_pool2d":
        op["count_include_pad"] = r.random() < 0.5
    return [op]


def inputs_shape(g, index):
    return g.last_inputs[index]["shape"]



def current_shape(inputs, ops, idx):
    """The shape of value `idx` (inputs first, then op results), by running it in torch."""
    vals = [torch.zeros(i["shape"], dtype=torch.float64) for i in inputs]
    for op in ops:
        try:
            vals.append(torch_op(op, vals))
        except Exception:
            vals.append(torch.zeros([]))
    return list(vals[idx].shape)


def run(program):
    inputs, ops = program
    leaves = []
    for spec in inputs:
        dt = torch.float32 if spec["dtype"] == "f32" else torch.float64
        data = [float(v) for v in spec["data"]]
        t = torch.tensor(data, dtype=dt).reshape(spec["shape"])
        leaves.append(t.requires_grad_(spec["grad"]))
    vals = list(leaves)
    try:
        for op in ops:
            vals.append(torch_op(op, vals))
    except Exception as e:  # PyTorch refuses the program: so must we
        return {"error": str(e).splitlines()[0][:200]}
    out = vals[-1]
    record = {"shape": list(out.shape), "dtype": dtype_name(out), "value": values(out)}
    if out.requires_grad:
        upstream = torch.tensor([random.Random(out.numel()).gauss(0, 1) for _ in range(out.numel())],
                                dtype=out.dtype).reshape(out.shape)
        record["upstream"] = values(upstream)
        out.backward(upstream)
        record["grads"] = [values(t.grad) if t.grad is not None else (
            values(torch.zeros_like(t)) if t.requires_grad else None) for t in leaves]
    return record


def main():
    rng = random.Random(SEED)
    g = Gen(rng)
    programs = []
    for i in range(PROGRAMS):
        dtype = torch.float64 if i % 2 == 0 else torch.float32
        inputs, ops = make_program(g, dtype)
        programs.append({"id": i, "inputs": inputs, "ops": ops, "torch": run((inputs, ops))})
    json.dump({"torch_version": torch.__version__, "seed": SEED, "programs": programs},
              sys.stdout, separators=(",", ":"), allow_nan=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
