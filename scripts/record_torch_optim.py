#!/usr/bin/env python3
"""Record PyTorch reference values for MicroGrad+'s optimizers, LR schedules
and gradient clipping.

Writes crates/micrograd-plus/tests/data/torch_optim.json, which
crates/micrograd-plus/tests/optim_reference.rs compares the engine against.

Usage (run by hand, from anywhere):
    pip install torch
    python3 scripts/record_torch_optim.py

Deterministic for a given torch version: all data comes from one
torch.Generator seeded per case from the case's name (crc32), and the f32 and
f64 variants of a case share it (f32 values are the f64 ones rounded to f32,
stored as the exact double of the f32 number).

File format
-----------
{
  "torch_version": "...",
  "optimizers": [{
      "name", "optimizer": "SGD" | "Adam" | "AdamW" | "RMSprop" | "Adagrad",
      "config": {every setting of the Rust config struct, by its name},
      "dtype": "f32" | "f64",
      "params": [{"shape", "data"}],            # initial values
      "grads":  [[{"shape", "data"} | null]],   # per step, per parameter
      "expected": [[{"shape", "data"}]],        # parameters after each step
  }],
  "schedulers": [{
      "name", "scheduler": "StepLR" | ... , "config": {...}, "base_lr",
      "metrics": [...] (ReduceLROnPlateau only),
      "lrs": [lr after construction, then after each of the steps],
  }],
  "clip": [{
      "name", "kind": "norm" | "value", "dtype", "max_norm", "norm_type" | "clip",
      "grads": [{"shape", "data"}], "total_norm" (norm only),
      "clipped": [{"shape", "data"}],
  }],
}

PyTorch runs its single-tensor optimizer code (foreach=False), the reference
the Rust loops follow operation by operation.
"""

import json
import math
import os
import zlib

import torch

torch.set_num_threads(1)
DTYPES = {"f32": torch.float32, "f64": torch.float64}
OUT_PATH = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    "..", "crates", "micrograd-plus", "tests", "data", "torch_optim.json",
)
STEPS = 5
SHAPES = [[3, 4], [5], [2, 2]]
# Gradient scale per step: varying, so AMSGrad's running max matters.
GRAD_SCALES = [1.0, 0.1, 2.0, 0.05, 1.0]
# (step, parameter) pairs whose gradient is None: the optimizer skips them.
NO_GRAD = {(2, 2), (3, 2)}


def generator(name):
    g = torch.Generator()
    g.manual_seed(zlib.crc32(name.encode()))
    return g


def data(t):
    return {"shape": list(t.shape), "data": [float(x) for x in t.detach().reshape(-1).tolist()]}


def optimizer_case(name, kind, config, torch_ctor):
    cases = []
    g = generator(name)
    params64 = [torch.randn(s, generator=g, dtype=torch.float64) for s in SHAPES]
    grads64 = [
        [torch.randn(s, generator=g, dtype=torch.float64) * scale for s in SHAPES]
        for scale in GRAD_SCALES
    ]
    for dname, dtype in DTYPES.items():
        params = [p.to(dtype).clone().requires_grad_(True) for p in params64]
        grads = [[gr.to(dtype) for gr in step] for step in grads64]
        case = {
            "name": f"{name}_{dname}",
            "optimizer": kind,
            "config": config,
            "dtype": dname,
            "params": [data(p) for p in params],
            "grads": [],
            "expected": [],
        }
        opt = torch_ctor(params)
        for k in range(STEPS):
            row = []
            for i, p in enumerate(params):
                if (k, i) in NO_GRAD:
                    p.grad = None
                    row.append(None)
                else:
                    p.grad = grads[k][i].clone()
                    row.append(data(grads[k][i]))
            opt.step()
            case["grads"].append(row)
            case["expected"].append([data(p) for p in params])
        cases.append(case)
    return cases


def optimizers():
    O = torch.optim
    cases = []

    def sgd(name, **c):
        cfg = {"lr": 0.1, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False}
        cfg.update(c)
        cases.extend(optimizer_case(name, "SGD", cfg, lambda ps: O.SGD(ps, foreach=False, **cfg)))

    sgd("sgd_plain")
    sgd("sgd_momentum", momentum=0.9)
    sgd("sgd_dampening_wd", momentum=0.9, dampening=0.5, weight_decay=0.01)
    sgd("sgd_nesterov_wd", momentum=0.9, nesterov=True, weight_decay=0.1)

    def adam(name, kind, ctor, **c):
        cfg = {"lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False}
        if kind == "AdamW":
            cfg["weight_decay"] = 0.01
        cfg.update(c)
        tc = dict(cfg, betas=tuple(cfg["betas"]))
        cases.extend(optimizer_case(name, kind, cfg, lambda ps: ctor(ps, foreach=False, **tc)))

    adam("adam_default", "Adam", O.Adam)
    adam("adam_betas_wd", "Adam", O.Adam, betas=[0.8, 0.99], weight_decay=0.1)
    adam("adam_amsgrad", "Adam", O.Adam, amsgrad=True, lr=0.05)
    # beta1 = 0.3: lerp weight 0.7 >= 0.5 takes lerp's other formula.
    adam("adam_low_beta1_eps", "Adam", O.Adam, betas=[0.3, 0.9], eps=1e-3)
    adam("adamw_default", "AdamW", O.AdamW)
    adam("adamw_wd_amsgrad", "AdamW", O.AdamW, weight_decay=0.1, amsgrad=True, lr=0.05)

    def rmsprop(name, **c):
        cfg = {"lr": 0.01, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.0, "centered": False}
        cfg.update(c)
        cases.extend(optimizer_case(name, "RMSprop", cfg, lambda ps: O.RMSprop(ps, foreach=False, **cfg)))

    rmsprop("rmsprop_default")
    rmsprop("rmsprop_centered", centered=True)
    rmsprop("rmsprop_momentum_centered_wd", momentum=0.9, centered=True, weight_decay=0.1)
    rmsprop("rmsprop_low_alpha_momentum", alpha=0.3, momentum=0.5, centered=True, eps=1e-4)

    def adagrad(name, **c):
        cfg = {"lr": 0.1, "lr_decay": 0.0, "weight_decay": 0.0, "initial_accumulator_value": 0.0, "eps": 1e-10}
        cfg.update(c)
        cases.extend(optimizer_case(name, "Adagrad", cfg, lambda ps: O.Adagrad(ps, foreach=False, **cfg)))

    adagrad("adagrad_default")
    adagrad("adagrad_decay_wd_init", lr_decay=0.1, weight_decay=0.1, initial_accumulator_value=0.5)
    return cases


SCHED_STEPS = 30
BASE_LR = 0.1


def run_schedule(name, kind, config, make, metrics=None, steps=SCHED_STEPS):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=BASE_LR)
    sched = make(opt)
    lrs = [opt.param_groups[0]["lr"]]
    for k in range(steps):
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[k])
        lrs.append(float(opt.param_groups[0]["lr"]))
    case = {"name": name, "scheduler": kind, "config": config, "base_lr": BASE_LR, "lrs": lrs}
    if metrics is not None:
        case["metrics"] = metrics
    return case


def schedulers():
    S = torch.optim.lr_scheduler
    cases = [
        run_schedule("step_lr", "StepLR", {"step_size": 7, "gamma": 0.5},
                     lambda o: S.StepLR(o, step_size=7, gamma=0.5)),
        run_schedule("multi_step_lr", "MultiStepLR", {"milestones": [5, 12, 12, 20], "gamma": 0.3},
                     lambda o: S.MultiStepLR(o, milestones=[5, 12, 12, 20], gamma=0.3)),
        run_schedule("exponential_lr", "ExponentialLR", {"gamma": 0.9},
                     lambda o: S.ExponentialLR(o, gamma=0.9)),
        # PyTorch keeps following the cosine past T_max (the lr climbs back);
        # the test compares epochs <= t_max and asserts eta_min after.
        run_schedule("cosine_annealing_lr", "CosineAnnealingLR", {"t_max": 20, "eta_min": 0.001},
                     lambda o: S.CosineAnnealingLR(o, T_max=20, eta_min=0.001)),
        run_schedule("cosine_annealing_lr_zero_min", "CosineAnnealingLR", {"t_max": 10, "eta_min": 0.0},
                     lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.0)),
        run_schedule("linear_warmup", "LinearWarmup", {"start_factor": 0.1, "warmup_steps": 8},
                     lambda o: S.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=8)),
        run_schedule("linear_warmup_then_step", "LinearWarmup",
                     {"start_factor": 0.2, "warmup_steps": 5, "after": {"scheduler": "StepLR", "step_size": 4, "gamma": 0.5}},
                     lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.2, end_factor=1.0, total_iters=5),
                                                  S.StepLR(o, step_size=4, gamma=0.5)], milestones=[5])),
        run_schedule("linear_warmup_then_cosine", "LinearWarmup",
                     {"start_factor": 0.25, "warmup_steps": 6, "after": {"scheduler": "CosineAnnealingLR", "t_max": 18, "eta_min": 0.002}},
                     lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=6),
                                                  S.CosineAnnealingLR(o, T_max=18, eta_min=0.002)], milestones=[6])),
        # OneCycleLR: epochs 0 .. total_steps - 1 (PyTorch's last valid step is one more).
        run_schedule("one_cycle_lr", "OneCycleLR", {"max_lr": 1.0, "total_steps": 30},
                     lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=30, cycle_momentum=False),
                     steps=29),
        run_schedule("one_cycle_lr_three_phase_linear", "OneCycleLR",
                     {"max_lr": 0.5, "total_steps": 30, "pct_start": 0.25, "anneal": "linear",
                      "div_factor": 10.0, "final_div_factor": 100.0, "three_phase": True},
                     lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=30, pct_start=0.25,
                                            anneal_strategy="linear", div_factor=10.0,
                                            final_div_factor=100.0, three_phase=True,
                                            cycle_momentum=False),
                     steps=29),
    ]
    # Metrics that plateau, improve a little (below / above the threshold), and recover.
    losses = [1.0, 0.9, 0.8, 0.8, 0.79995, 0.8, 0.81, 0.7, 0.7, 0.7,
              0.7, 0.69, 0.7, 0.7, 0.7, 0.6, 0.6, 0.6, 0.6, 0.6,
              0.6, 0.6, 0.6, 0.6, 0.6, 0.5, 0.5, 0.5, 0.5, 0.5]
    cases.append(run_schedule(
        "plateau_min_rel", "ReduceLROnPlateau",
        {"mode": "min", "factor": 0.5, "patience": 2, "threshold": 1e-4, "threshold_mode": "rel",
         "cooldown": 1, "min_lr": 0.01, "eps": 1e-8},
        lambda o: S.ReduceLROnPlateau(o, mode="min", factor=0.5, patience=2, threshold=1e-4,
                                      threshold_mode="rel", cooldown=1, min_lr=0.01, eps=1e-8),
        metrics=losses))
    accs = [0.1, 0.2, 0.25, 0.3, 0.31, 0.32, 0.33, 0.5, 0.55, 0.56,
            0.6, 0.62, 0.63, 0.7, 0.7, 0.7, 0.71, 0.72, 0.9, 0.9,
            0.9, 0.9, 0.9, 0.9, 0.95, 0.96, 0.96, 0.96, 0.96, 0.96]
    cases.append(run_schedule(
        "plateau_max_abs", "ReduceLROnPlateau",
        {"mode": "max", "factor": 0.3, "patience": 1, "threshold": 0.05, "threshold_mode": "abs",
         "cooldown": 0, "min_lr": 0.0, "eps": 1e-8},
        lambda o: S.ReduceLROnPlateau(o, mode="max", factor=0.3, patience=1, threshold=0.05,
                                      threshold_mode="abs", cooldown=0, min_lr=0.0, eps=1e-8),
        metrics=accs))
    return cases


def clip_cases():
    cases = []
    shapes = [[4, 3], [7], [2, 2, 2]]

    def make(name, dtype, scale):
        g = generator(name)
        grads = [(torch.randn(s, generator=g, dtype=torch.float64) * scale).to(dtype) for s in shapes]
        params = []
        for gr in grads:
            p = torch.zeros(gr.shape, dtype=dtype, requires_grad=True)
            p.grad = gr.clone()
            params.append(p)
        return grads, params

    for dname, dtype in DTYPES.items():
        for max_norm, norm_type in [(1.0, 2.0), (0.5, math.inf), (2.0, 1.0), (1.5, 3.0), (100.0, 2.0)]:
            nt = "inf" if norm_type == math.inf else str(norm_type)
            name = f"clip_norm_{max_norm}_{nt}"
            grads, params = make(name, dtype, 1.0)
            total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
            cases.append({
                "name": f"{name}_{dname}", "kind": "norm", "dtype": dname,
                "max_norm": max_norm, "norm_type": "inf" if norm_type == math.inf else norm_type,
                "grads": [data(gr) for gr in grads], "total_norm": float(total),
                "clipped": [data(p.grad) for p in params],
            })
        name = "clip_value_0.5"
        grads, params = make(name, dtype, 1.0)
        torch.nn.utils.clip_grad_value_(params, 0.5)
        cases.append({
            "name": f"{name}_{dname}", "kind": "value", "dtype": dname, "clip": 0.5,
            "grads": [data(gr) for gr in grads], "clipped": [data(p.grad) for p in params],
        })
    return cases


def main():
    out = {
        "torch_version": torch.__version__,
        "optimizers": optimizers(),
        "schedulers": schedulers(),
        "clip": clip_cases(),
    }
    text = json.dumps(out, separators=(",", ":"))
    assert json.loads(text) == out, "the file must parse back to the recorded values"
    with open(OUT_PATH, "w") as f:
        f.write(text + "\n")
    print(f"wrote {len(out['optimizers'])} optimizer, {len(out['schedulers'])} scheduler and "
          f"{len(out['clip'])} clipping cases to {os.path.normpath(OUT_PATH)}")


if __name__ == "__main__":
    main()
