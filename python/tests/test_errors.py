"""Errors: shape and argument errors are ValueError (or a subclass) naming the
op and the shapes; no input from Python aborts or hangs the interpreter, and a
Rust panic never reaches the user as pyo3's PanicException."""
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from micrograd_plus import CrossEntropyLoss, Linear, MSELoss, Tensor

import hostile_inputs
from helpers import python_child_env

HERE = os.path.dirname(os.path.abspath(__file__))


def _shape_in(shape, msg):
    """`shape` written as a tuple (2, 3) or a list [2, 3] somewhere in msg."""
    inner = r",\s*".join(str(n) for n in shape)
    return re.search(r"[\[(]" + inner + r",?[\])]", msg) is not None


BINARY = {
    "add": (lambda a, b: a + b, ("add", "+")),
    "sub": (lambda a, b: a - b, ("sub", "-")),
    "mul": (lambda a, b: a * b, ("mul", "*")),
    "div": (lambda a, b: a / b, ("div", "/")),
}


@pytest.mark.parametrize("op", sorted(BINARY))
def test_broadcast_mismatch_is_a_value_error_naming_op_and_shapes(op):
    fn, names = BINARY[op]
    with pytest.raises(ValueError) as err:
        fn(Tensor(np.ones((2, 3))), Tensor(np.ones((4, 5))))
    msg = str(err.value)
    assert any(n in msg for n in names), msg
    assert _shape_in((2, 3), msg) and _shape_in((4, 5), msg), msg


def test_matmul_mismatch_names_matmul_and_shapes():
    with pytest.raises(ValueError) as err:
        Tensor(np.ones((2, 3))) @ Tensor(np.ones((4, 5)))
    msg = str(err.value)
    assert "matmul" in msg or "@" in msg, msg
    assert _shape_in((2, 3), msg) and _shape_in((4, 5), msg), msg


def test_reshape_mismatch_names_reshape_and_shapes():
    with pytest.raises(ValueError) as err:
        Tensor(np.ones(6)).reshape(4, 2)
    msg = str(err.value)
    assert "reshape" in msg, msg
    assert _shape_in((4, 2), msg) and (_shape_in((6,), msg) or "6" in msg), msg


def test_linear_with_the_wrong_input_width():
    with pytest.raises(ValueError) as err:
        Linear(3, 2)(Tensor(np.ones((4, 5))))
    msg = str(err.value)
    assert _shape_in((4, 5), msg), msg


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_mse_with_mismatched_shapes():
    with pytest.raises(ValueError) as err:
        MSELoss()(Tensor(np.ones((2, 3))), Tensor(np.ones((4, 5))))
    msg = str(err.value)
    assert _shape_in((2, 3), msg) and _shape_in((4, 5), msg), msg


def test_cross_entropy_target_out_of_range_is_an_error():
    with pytest.raises((ValueError, IndexError)) as err:
        CrossEntropyLoss()(Tensor(np.ones((2, 3))), Tensor([0, 7]))
    assert "7" in str(err.value)


def test_ragged_list_is_a_value_error():
    with pytest.raises(ValueError):
        Tensor([[1, 2], [3]])


def test_non_numeric_input_is_a_type_or_value_error():
    for bad in ("abc", None, {"a": 1}, np.array([object()], dtype=object)):
        with pytest.raises((TypeError, ValueError)):
            Tensor(bad)


# --- hostile inputs, in child interpreters -----------------------------------------

CHILD_TIMEOUT_S = 120


def _run_hostile(names):
    """Run the cases in children; restart after a crash or hang.

    Returns (results by name, {name: why} for cases that killed or hung a child).
    """
    results, fatal = {}, {}
    pending = list(names)
    while pending:
        cmd = [sys.executable, os.path.join(HERE, "hostile_inputs.py")] + pending
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S,
                env=python_child_env(), cwd=HERE,
            )
            out, err, rc, hung = proc.stdout, proc.stderr, proc.returncode, False
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
            err = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
            rc, hung = None, True
        started = None
        for line in out.splitlines():
            if line.startswith("START "):
                started = line[6:]
            elif line.startswith("RESULT "):
                r = json.loads(line[7:])
                results[r["name"]] = r
                started = None
        if "DONE" in out.splitlines() and rc == 0:
            break
        if started is None:
            # died before the first case (import error) or after the last one
            fatal["<child>"] = f"exit {rc}, hung={hung}\n{err[-2000:]}"
            break
        fatal[started] = ("hung for %d s" % CHILD_TIMEOUT_S) if hung else f"exit status {rc}\n{err[-1500:]}"
        pending = pending[pending.index(started) + 1:]
    return results, fatal


@pytest.fixture(scope="module")
def hostile():
    return _run_hostile(list(hostile_inputs.CASES))


def test_no_hostile_input_aborts_or_hangs_the_interpreter(hostile):
    results, fatal = hostile
    assert not fatal, "cases that killed or hung the interpreter:\n" + "\n".join(
        f"- {name}: {why}" for name, why in fatal.items()
    )
    assert set(results) == set(hostile_inputs.CASES)


def test_hostile_inputs_raise_ordinary_exceptions(hostile):
    # A Rust panic turned into pyo3's PanicException (a BaseException that
    # `except Exception` does not catch) means user input reached an unwrap.
    results, _ = hostile
    bad = {
        name: f"{r['module']}.{r['raised']}: {r.get('message', '')}"
        for name, r in results.items()
        if r["raised"] is not None and (not r["is_exception"] or "Panic" in r["raised"])
    }
    assert not bad, "cases that raised a panic or a non-Exception:\n" + "\n".join(
        f"- {n}: {m}" for n, m in sorted(bad.items())
    )


HUGE_ALLOCATION = """
import resource
resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))
import numpy as np
from micrograd_plus import Tensor
a = Tensor(np.ones((200000, 1), np.float32))
b = Tensor(np.ones((1, 200000), np.float32))
try:
    c = a + b  # 4e10 elements, 160 GB: must fail cleanly
except MemoryError:
    print("MemoryError")
except Exception as e:
    print("Exception", type(e).__name__)
else:
    print("no error, shape", c.shape)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS is Linux-specific here")
def test_an_impossible_allocation_raises_instead_of_aborting():
    proc = subprocess.run(
        [sys.executable, "-c", HUGE_ALLOCATION], capture_output=True, text=True,
        timeout=CHILD_TIMEOUT_S, env=python_child_env(),
    )
    assert proc.returncode == 0, f"the interpreter died (status {proc.returncode}):\n{proc.stderr[-2000:]}"
    assert proc.stdout.startswith(("MemoryError", "Exception")), proc.stdout


def test_reshape_whose_size_overflows_is_a_value_error():
    # 2**32 * 2**32 wraps to 0 in 64-bit arithmetic: accepting it for an empty
    # tensor would describe 2**64 elements over an empty buffer.
    with pytest.raises(ValueError):
        Tensor(np.zeros(0)).reshape(2**32, 2**32)
    with pytest.raises(ValueError):
        Tensor([1.0, 2.0]).reshape(2**40, 2**40)
