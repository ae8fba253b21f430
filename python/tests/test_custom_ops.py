"""Python-defined ops in the engine's graph (R6), both of the course's protocols.

The chain is lab 1.7.2 #22's: Linear -> relu -> the user's own Dropout ->
Linear, with an MSE-style loss. Every gradient is compared with central finite
differences of the same computation written in NumPy float64.
"""
import numpy as np
import pytest

from micrograd_plus import Linear, Tensor
from micrograd_plus.utils import gradient_check

from helpers import assert_close, fd_grad, relu


def dropout_constructor_protocol(x, mask):
    """Protocol (a): `_children`/`_op` in the constructor, then `_backward`.

    The backward updates the parent in place (`x.grad += ...`), and x is a
    non-leaf (the relu output), exactly as in the lab.
    """
    out = Tensor(x.data * mask, requires_grad=x.requires_grad, _children=(x,), _op="dropout")

    def _backward():
        if x.requires_grad:
            x.grad += out.grad * mask

    out._backward = _backward
    return out


def dropout_assignment_protocol(x, mask):
    """Protocol (b): a plain Tensor, then `_prev = {x}`, `_op`, `_backward`.

    The backward reassigns the parent's grad (solution 1.7.2's LeakyReLU style).
    """
    out = Tensor(x.data * mask, requires_grad=x.requires_grad)
    out._prev = {x}
    out._op = "dropout"

    def _backward():
        g = out.grad * mask
        x.grad = x.grad + g if x.grad is not None else g

    out._backward = _backward
    return out


def _setup(seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((5, 4))
    T = rng.standard_normal((5, 3))
    mask = (rng.random((5, 6)) > 0.3).astype(np.float32) / np.float32(0.7)
    return X, T, mask


@pytest.mark.parametrize("dropout", [dropout_constructor_protocol, dropout_assignment_protocol])
def test_custom_dropout_in_the_middle_of_a_chain(dropout):
    X, T, mask = _setup(7)
    np.random.seed(0)
    lin1, lin2 = Linear(4, 6), Linear(6, 3)
    lin1.bias.data = np.linspace(-0.3, 0.3, 6)
    lin2.bias.data = np.array([0.1, -0.2, 0.05])

    x = Tensor(X, requires_grad=True)
    h = lin1(x).relu()
    d = dropout(h, mask)
    assert d._op == "dropout"
    assert d._prev == {h}
    y = lin2(d)
    loss = ((y - Tensor(T)) ** 2).mean()
    loss.backward()

    W1 = lin1.weight.data.astype(np.float64)
    b1 = lin1.bias.data.astype(np.float64)
    W2 = lin2.weight.data.astype(np.float64)
    b2 = lin2.bias.data.astype(np.float64)
    M = mask.astype(np.float64)

    def f(x_=X, W1_=W1, b1_=b1, W2_=W2, b2_=b2):
        z = relu(x_ @ W1_ + b1_) * M @ W2_ + b2_
        return float(np.mean((z - T) ** 2))

    # forward value
    assert np.isclose(loss.item(), f(), rtol=1e-5)
    # every parameter's and the input's gradient against finite differences
    checks = {
        "x": (x.grad, fd_grad(lambda v: f(x_=v), X)),
        "W1": (lin1.weight.grad, fd_grad(lambda v: f(W1_=v), W1)),
        "b1": (lin1.bias.grad, fd_grad(lambda v: f(b1_=v), b1)),
        "W2": (lin2.weight.grad, fd_grad(lambda v: f(W2_=v), W2)),
        "b2": (lin2.bias.grad, fd_grad(lambda v: f(b2_=v), b2)),
    }
    for name, (got, want) in checks.items():
        assert_close(got, want, rtol=1e-4, atol=1e-5, what=name)
    # the non-leaf the custom op wrote into holds d loss / d h
    z1 = X @ W1 + b1
    dd = (2.0 / T.size) * ((relu(z1) * M @ W2 + b2) - T) @ W2.T
    assert_close(h.grad, dd * M, rtol=1e-4, atol=1e-6, what="h.grad")
    assert_close(d.grad, dd, rtol=1e-4, atol=1e-6, what="d.grad")


def test_custom_op_as_the_root():
    # out = sum(x**2) written by hand (protocol b); backward seeds out.grad = 1.
    x = Tensor([1.0, -2.0, 3.0], requires_grad=True)
    out = Tensor(np.sum(x.data ** 2), requires_grad=True)
    out._prev = {x}
    out._op = "sumsq"

    def _backward():
        x.grad += 2 * x.data * out.grad

    out._backward = _backward
    out.backward()
    assert np.array_equal(out.grad, np.ones(()))
    assert np.array_equal(x.grad, [2.0, -4.0, 6.0])


def test_custom_op_feeding_engine_ops_on_both_sides():
    # y = exp(custom_square(2x)) summed: d/dx = exp(4x^2) * 8x
    xv = np.array([0.3, -0.2])
    x = Tensor(xv, dtype=np.float64, requires_grad=True)
    u = x * 2
    sq = Tensor(u.data ** 2, dtype=np.float64, requires_grad=True, _children=(u,), _op="square")

    def _backward():
        u.grad += 2 * u.data * sq.grad

    sq._backward = _backward
    sq.exp().sum().backward()
    assert np.allclose(x.grad, np.exp(4 * xv ** 2) * 8 * xv, rtol=1e-12)


class _MyError(Exception):
    pass


@pytest.mark.parametrize("exc_type", [ValueError, ZeroDivisionError, _MyError])
def test_exception_in_backward_surfaces_with_its_type(exc_type):
    x = Tensor([1.0, 2.0], requires_grad=True)
    out = Tensor(x.data * 2, requires_grad=True, _children=(x,), _op="bad")

    def _backward():
        raise exc_type("boom from _backward")

    out._backward = _backward
    loss = (out * 3).sum()
    with pytest.raises(exc_type, match="boom from _backward"):
        loss.backward()


def test_traceback_reaches_the_users_backward_function():
    x = Tensor([1.0], requires_grad=True)
    out = Tensor(x.data, requires_grad=True, _children=(x,), _op="bad")

    def users_broken_backward():
        return {}["missing"]

    out._backward = users_broken_backward
    with pytest.raises(KeyError) as info:
        out.sum().backward()
    names = [entry.name for entry in info.traceback]
    assert "users_broken_backward" in names


def test_gradient_check_passes_a_correct_custom_op_and_fails_a_wrong_one():
    def cube(t, factor):
        out = Tensor(t.data ** 3, requires_grad=t.requires_grad, _children=(t,), _op="cube")

        def _backward():
            t.grad += factor * t.data ** 2 * out.grad

        out._backward = _backward
        return out

    x = Tensor([0.5, -1.0, 2.0], requires_grad=True)
    ok, err = gradient_check(lambda t: cube(t, 3.0).sum(), x)
    assert ok and err < 1e-4
    x = Tensor([0.5, -1.0, 2.0], requires_grad=True)
    ok, err = gradient_check(lambda t: cube(t, 2.0).sum(), x)
    # analytic 2x^2 against numerical 3x^2: off by 4 at x = 2 (a third, relatively)
    assert not ok and err > 0.1


CUSTOM_OP_LOOP = """
import numpy as np
from micrograd_plus import Tensor

def ident(x):
    out = Tensor(x.data, requires_grad=True, _children=(x,), _op="ident")
    def _backward():          # the closure holds `out`: a reference cycle
        x.grad += out.grad
    out._backward = _backward
    return out

w = Tensor(np.ones((1, 32)), requires_grad=True)
X = Tensor(np.ones((64, 1)))
for step in range(2000):      # graphs left to Python's cyclic garbage collector
    loss = ident(X @ w).sum()  # (the previous step's graph dies here)
    loss.backward()
print(float(w.grad[0, 0]))
"""


def test_custom_op_graphs_left_to_the_garbage_collector():
    # A training loop with a Python op: each step's graph is a reference cycle
    # (out -> _backward closure -> out) that the cyclic collector frees later.
    # Run in a child so that a crash fails this test, not the whole run.
    import subprocess
    import sys

    from helpers import python_child_env

    proc = subprocess.run([sys.executable, "-c", CUSTOM_OP_LOOP], capture_output=True, text=True,
                          timeout=300, env=python_child_env())
    assert proc.returncode == 0, f"the interpreter died (status {proc.returncode}):\n{proc.stderr[-3000:]}"
    assert float(proc.stdout.strip()) == 2000 * 64.0
