"""How the recorders write tensors into JSON fixtures, shared by
record_torch_programs.py and record_torch_ops_extra.py (the Rust side reads
them in crates/micrograd-plus/tests/torch_fixture/).

Non-finite numbers become the strings "nan", "inf" and "-inf" (JSON has no
literal for them); dtypes are named "f32", "f64" or "i64"."""

import math

import torch


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
