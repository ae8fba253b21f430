"""Records, for the programs of crates/micrograd-plus/tests/anomaly.rs, which
op PyTorch's anomaly mode blames, into
crates/micrograd-plus/tests/data/torch_anomaly.json (run with PyTorch 2.15):

- "backward": the function torch.autograd.detect_anomaly() names when the
  backward pass makes a NaN or inf ("Function 'LogBackward0' returned nan
  values in its 0th output"), its output index and the word (nan or inf);
  null when backward runs clean. PyTorch looks for NaN only: sqrt's
  gradient at 0, an inf, passes its check (our anomaly mode names it);
- "forward": the first op, in program order, whose output holds a NaN or
  an inf (PyTorch does not check the forward pass; each intermediate is
  checked here by hand), null when none does.
"""
import json
import pathlib
import re

import torch

OUT = pathlib.Path(__file__).resolve().parent.parent / "crates/micrograd-plus/tests/data/torch_anomaly.json"


def log_times_zero(trace):
    x = torch.tensor([0.0, 1.0], requires_grad=True)
    y = trace("log", x.log())
    y = trace("mul", y * 0.0)
    return trace("sum", y.sum())


def softmax_by_hand(trace):
    z = torch.tensor([0.1, 0.2, 0.3], requires_grad=True)
    s = trace("mul", z * 1000.0)
    e = trace("exp", s.exp())
    total = trace("sum", e.sum())
    p = trace("div", e / total)
    lp = trace("log", p.log())
    return trace("sum", lp.sum())


def sqrt_at_zero(trace):
    x = torch.tensor([0.0, 4.0], requires_grad=True)
    y = trace("sqrt", x.sqrt())
    return trace("sum", y.sum())


def log_softmax_healthy(trace):
    z = torch.tensor([0.1, 0.2, 0.3], requires_grad=True)
    s = trace("mul", z * 1000.0)
    lp = trace("log_softmax", s.log_softmax(0))
    return trace("sum", lp.sum())


PROGRAMS = [log_times_zero, softmax_by_hand, sqrt_at_zero, log_softmax_healthy]


def run(program):
    first = []

    def trace(name, t):
        if not first and not torch.isfinite(t).all():
            first.append(name)
        return t

    with torch.autograd.detect_anomaly():
        loss = program(trace)
        try:
            loss.backward()
            backward = None
        except RuntimeError as e:
            m = re.search(r"Function '(\w+)' returned (nan|inf) values in its (\d+)th output", str(e))
            backward = {"function": m.group(1), "value": m.group(2), "output": int(m.group(3))}
    return {"program": program.__name__, "forward": first[0] if first else None, "backward": backward}


if __name__ == "__main__":
    import warnings

    warnings.simplefilter("ignore")  # detect_anomaly's own "enabled" warning
    cases = [run(p) for p in PROGRAMS]
    OUT.write_text(json.dumps({"torch": torch.__version__, "cases": cases}, indent=1) + "\n")
    print(json.dumps(cases, indent=1))
