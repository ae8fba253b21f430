"""Helpers shared by the micrograd_plus tests (imported as `helpers`).

Every expected value in this suite is computed independently of the package:
closed forms written with NumPy, or central finite differences of a NumPy
function in float64 (`fd_grad`). No test imports torch; where PyTorch's
behaviour is the reference (optimizer rules, loss gradients, the schedule),
the rule is written out in NumPy next to the test.
"""
import os
import sys

import numpy as np

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MNIST_DIR = os.path.join(REPO_ROOT, "data", "mnist")
EXAMPLES_DIR = os.path.join(REPO_ROOT, "examples")


def fd_grad(f, x, eps=1e-6):
    """Central finite differences of the float64 NumPy function `f` at `x`.

    `f` takes a float64 array of x's shape and returns a Python float.
    Truncation error is O(eps**2) and rounding error about 1e-16/eps, so for
    smooth functions of O(1) values the result is good to ~1e-9.
    """
    x = np.array(x, dtype=np.float64)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        fp = f(x)
        x[i] = old - eps
        fm = f(x)
        x[i] = old
        g[i] = (fp - fm) / (2 * eps)
    return g


def sum_to_shape(g, shape):
    """Reduce a broadcast gradient `g` back to `shape` (NumPy's broadcasting rules)."""
    g = np.asarray(g)
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


def relu(z):
    return np.maximum(z, 0.0)


def softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(z, axis=-1):
    m = z.max(axis=axis, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=axis, keepdims=True))


def cross_entropy(logits, targets):
    """Mean negative log-likelihood of integer class `targets` (float64)."""
    lp = log_softmax(np.asarray(logits, np.float64), axis=1)
    return -lp[np.arange(len(targets)), np.asarray(targets, np.int64)].mean()


def assert_close(actual, expected, rtol=1e-5, atol=1e-6, what=""):
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    if not np.allclose(actual, expected, rtol=rtol, atol=atol):
        err = np.max(np.abs(actual - expected))
        raise AssertionError(
            f"{what}: max abs error {err:.3e} (rtol={rtol}, atol={atol})\n"
            f"actual=\n{actual}\nexpected=\n{expected}"
        )


def python_child_env():
    """Environment for child interpreters: the same sys.path as this one."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env
