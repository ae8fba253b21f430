#!/usr/bin/env python3
"""Record PyTorch reference values for the nn layers (tests/nn_reference.rs).

Writes crates/micrograd-plus/tests/data/torch_nn.json. Each case gives the
layer's parameters, an input, the forward output, an upstream gradient and the
gradients of sum(output * grad_output) for the input and every parameter, in
float64 (the engine is checked in f64 to 1e-10 and in f32 to 1e-5).

Usage: pip install torch && python3 scripts/record_torch_nn.py
"""
import json
import os

import torch

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)


def flat(t):
    return {"shape": list(t.shape), "data": t.detach().reshape(-1).tolist()}


def case(name, layer, x, kind, args):
    x = x.clone().requires_grad_(True)
    y = layer(x)
    g = torch.randn_like(y)
    y.backward(g)
    params = {n: flat(p) for n, p in layer.named_parameters()}
    grads = {n: flat(p.grad) for n, p in layer.named_parameters()}
    return {
        "name": name,
        "kind": kind,
        "args": args,
        "params": params,
        "input": flat(x),
        "output": flat(y),
        "grad_output": flat(g),
        "grad_input": flat(x.grad),
        "grad_params": grads,
    }


cases = [
    case("linear_2d", torch.nn.Linear(5, 3), torch.randn(4, 5), "linear", {"in": 5, "out": 3, "bias": True}),
    case("linear_3d_nobias", torch.nn.Linear(4, 6, bias=False), torch.randn(2, 3, 4), "linear", {"in": 4, "out": 6, "bias": False}),
    case("layer_norm_last", torch.nn.LayerNorm(6), torch.randn(3, 6) * 3 + 1, "layer_norm", {"shape": [6], "eps": 1e-5}),
    case("layer_norm_two_dims", torch.nn.LayerNorm([2, 3], eps=1e-3), torch.randn(4, 2, 3), "layer_norm", {"shape": [2, 3], "eps": 1e-3}),
]
# Non-trivial affine parameters, so their gradients are tested too.
ln = torch.nn.LayerNorm(5)
with torch.no_grad():
    ln.weight.copy_(torch.randn(5))
    ln.bias.copy_(torch.randn(5))
cases.append(case("layer_norm_affine", ln, torch.randn(2, 3, 5), "layer_norm", {"shape": [5], "eps": 1e-5}))
mlp = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3), torch.nn.GELU())
cases.append(case("mlp_tanh_gelu", mlp, torch.randn(5, 4), "mlp_tanh_gelu", {}))

out = os.path.join(os.path.dirname(__file__), "..", "crates", "micrograd-plus", "tests", "data", "torch_nn.json")
with open(out, "w") as f:
    json.dump({"torch_version": torch.__version__, "cases": cases}, f)
print(f"wrote {len(cases)} cases to {os.path.normpath(out)}")
