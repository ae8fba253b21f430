#!/usr/bin/env python3
"""Record PyTorch reference values for the vision layers (tests/nn_vision.rs).

Writes crates/micrograd-plus/tests/data/torch_vision.json. Each case gives the
module's whole state dict before the run (parameters and buffers, under
PyTorch's names), optional training-mode forwards to run first (they move
BatchNorm's running statistics), then one forward in the given mode with its
output, an upstream gradient, the gradients of sum(output * grad_output) for
the input and every parameter, and the buffers after everything. All in
float64 (num_batches_tracked, an int64 in PyTorch, is written as a number).

Usage: pip install torch && python3 scripts/record_torch_vision.py
"""
import json
import os

import torch
import torch.nn as nn

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)


def flat(t):
    return {"shape": list(t.shape), "data": t.detach().double().reshape(-1).tolist()}


def state(module):
    return {n: flat(t) for n, t in module.state_dict().items()}


def randomise_affine(module):
    """Non-trivial BatchNorm weights and biases, so their gradients are tested."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) and m.affine:
                m.weight.copy_(torch.rand_like(m.weight) + 0.5)
                m.bias.copy_(torch.randn_like(m.bias))


def case(name, module, x, kind, args, mode="train", train_steps=()):
    before = state(module)
    module.train()
    with torch.no_grad():
        for s in train_steps:
            module(s)
    module.train(mode == "train")
    x = x.clone().requires_grad_(True)
    y = module(x)
    g = torch.randn_like(y)
    y.backward(g)
    buffers = {n: flat(b) for n, b in module.named_buffers()}
    return {
        "name": name,
        "kind": kind,
        "args": args,
        "mode": mode,
        "state": before,
        "train_steps": [flat(s) for s in train_steps],
        "input": flat(x),
        "output": flat(y),
        "grad_output": flat(g),
        "grad_input": flat(x.grad),
        "grad_params": {n: flat(p.grad) for n, p in module.named_parameters()},
        "buffers_after": buffers,
    }


def conv(name, x, inc, out, kernel, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1, bias=True):
    m = nn.Conv2d(inc, out, kernel, stride=stride, padding=padding, dilation=dilation, groups=groups, bias=bias)
    args = {"in": inc, "out": out, "kernel": list(kernel), "stride": list(stride), "padding": list(padding),
            "dilation": list(dilation), "groups": groups, "bias": bias}
    return case(name, m, x, "conv2d", args)


def bn(cls, name, features, x, mode="train", steps=0, eps=1e-5, momentum=0.1, affine=True, track=True):
    m = cls(features, eps=eps, momentum=momentum, affine=affine, track_running_stats=track)
    randomise_affine(m)
    train_steps = [torch.randn_like(x) * 2 + 0.5 for _ in range(steps)]
    args = {"features": features, "eps": eps, "momentum": momentum, "affine": affine, "track": track}
    kind = "batch_norm1d" if cls is nn.BatchNorm1d else "batch_norm2d"
    return case(name, m, x, kind, args, mode, train_steps)


cases = [
    conv("conv_default", torch.randn(2, 3, 6, 5), 3, 4, (3, 3)),
    conv("conv_1x1", torch.randn(3, 2, 4, 4), 2, 3, (1, 1)),
    conv("conv_stride_pad_dilation_groups", torch.randn(2, 4, 9, 7), 4, 6, (3, 2),
         stride=(2, 1), padding=(1, 2), dilation=(2, 1), groups=2, bias=False),
    conv("conv_padding_odd", torch.randn(1, 3, 5, 5), 3, 2, (3, 3), stride=(2, 2), padding=(1, 1)),
    case("max_pool_2", nn.MaxPool2d(2), torch.randn(2, 3, 6, 6), "max_pool2d",
         {"kernel": [2, 2], "stride": [2, 2], "padding": [0, 0]}),
    case("max_pool_3_s2_p1_odd", nn.MaxPool2d(3, stride=2, padding=1), torch.randn(2, 2, 7, 5), "max_pool2d",
         {"kernel": [3, 3], "stride": [2, 2], "padding": [1, 1]}),
    case("avg_pool_2", nn.AvgPool2d(2), torch.randn(2, 3, 5, 5), "avg_pool2d",
         {"kernel": [2, 2], "stride": [2, 2], "padding": [0, 0], "count_include_pad": True}),
    case("avg_pool_3_s2_p1_exclude_pad", nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
         torch.randn(1, 2, 7, 6), "avg_pool2d",
         {"kernel": [3, 3], "stride": [2, 2], "padding": [1, 1], "count_include_pad": False}),
    case("adaptive_avg_pool_2x3", nn.AdaptiveAvgPool2d((2, 3)), torch.randn(2, 3, 5, 7), "adaptive_avg_pool2d",
         {"output_size": [2, 3]}),
    case("adaptive_avg_pool_global", nn.AdaptiveAvgPool2d((1, 1)), torch.randn(2, 4, 3, 3), "adaptive_avg_pool2d",
         {"output_size": [1, 1]}),
    bn(nn.BatchNorm2d, "bn2d_train", 3, torch.randn(4, 3, 5, 5) * 3 + 1),
    bn(nn.BatchNorm2d, "bn2d_eval_after_3_steps", 3, torch.randn(2, 3, 4, 4), mode="eval", steps=3),
    bn(nn.BatchNorm2d, "bn2d_train_after_2_steps_momentum_none", 2, torch.randn(3, 2, 3, 3),
       steps=2, momentum=None),
    bn(nn.BatchNorm2d, "bn2d_no_affine_eps", 2, torch.randn(3, 2, 3, 3), eps=1e-3, momentum=0.3, affine=False,
       steps=1),
    bn(nn.BatchNorm2d, "bn2d_no_running_stats_eval", 2, torch.randn(3, 2, 3, 3), mode="eval", track=False),
    bn(nn.BatchNorm1d, "bn1d_2d_train", 5, torch.randn(6, 5) * 2 - 1, steps=2),
    bn(nn.BatchNorm1d, "bn1d_3d_eval", 3, torch.randn(4, 3, 7), mode="eval", steps=4),
]

# A small CNN: dotted names through Sequential, buffers included.
cnn = nn.Sequential(
    nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d((2, 2)),
    nn.Flatten(), nn.Linear(16, 3),
)
randomise_affine(cnn)
x = torch.randn(2, 3, 8, 8)
cases.append(case("small_cnn_train", cnn, x, "small_cnn", {}, train_steps=[torch.randn(2, 3, 8, 8)]))
cnn.zero_grad()
cases.append(case("small_cnn_eval", cnn, torch.randn(3, 3, 8, 8), "small_cnn", {}, mode="eval",
                  train_steps=[torch.randn(4, 3, 8, 8) for _ in range(2)]))

# The milestone-4 network's state-dict names and shapes (bench/pytorch_cifar10.py).
import importlib.util
spec = importlib.util.spec_from_file_location(
    "pytorch_cifar10", os.path.join(os.path.dirname(__file__), "..", "bench", "pytorch_cifar10.py"))
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)
cifar_state = [[n, list(t.shape)] for n, t in bench.network().state_dict().items()]

out = os.path.join(os.path.dirname(__file__), "..", "crates", "micrograd-plus", "tests", "data", "torch_vision.json")
with open(out, "w") as f:
    json.dump({"torch_version": torch.__version__, "cases": cases, "cifar_net_state": cifar_state}, f)
print(f"wrote {len(cases)} cases to {os.path.normpath(out)}")
