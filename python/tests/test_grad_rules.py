""".grad and backward() semantics (R4, R5), against hand-derived values."""
import numpy as np
import pytest

from micrograd_plus import SGD, Tensor


# --- .grad exists exactly when requires_grad (R4) ------------------------------

def test_grad_is_none_without_requires_grad():
    t = Tensor([1.0, 2.0])
    assert t.requires_grad is False
    assert t.grad is None
    assert (t * 2).grad is None


def test_grad_is_zeros_from_creation():
    t = Tensor(np.ones((2, 3)), requires_grad=True)
    assert isinstance(t.grad, np.ndarray)
    assert t.grad.shape == (2, 3)
    assert np.array_equal(t.grad, np.zeros((2, 3)))


def test_non_leaf_grad_is_zeros_before_backward():
    # Lab 1.7.2 #22: a custom op does `x.grad += ...` on a relu output before
    # anything else touched it, so it must already be a zeros array.
    x = Tensor([1.0, -2.0, 3.0], requires_grad=True)
    h = x.relu()
    assert h.requires_grad is True
    assert np.array_equal(h.grad, np.zeros(3))


def test_zero_grad_writes_zeros_not_none():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    assert np.array_equal(x.grad, [3.0, 3.0])
    x.zero_grad()
    assert x.grad is not None
    assert np.array_equal(x.grad, np.zeros(2))


def test_backward_after_zero_grad_gives_the_new_gradient_and_old_arrays_keep_theirs():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    before = x.grad
    x.zero_grad()
    (x * x).sum().backward()
    assert np.array_equal(x.grad, [2.0, 4.0])
    # As in the course (a new zeros array) and PyTorch (None): an array taken
    # from .grad before zero_grad is not rewritten.
    assert np.array_equal(before, [3.0, 3.0])
    (x * x).sum().backward()
    assert np.array_equal(x.grad, [4.0, 8.0])


def test_grad_read_between_zero_grad_and_backward_is_added_to():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    x.zero_grad()
    g = x.grad
    g += 1.0
    (x * x).sum().backward()
    assert np.array_equal(x.grad, [3.0, 5.0])


def test_float64_grad_assignment_is_read_back_and_used_by_optimizers():
    x = Tensor([1.0, 1.0], requires_grad=True)
    x.grad = np.array([0.5, 2.0], dtype=np.float64)
    assert np.allclose(x.grad, [0.5, 2.0])
    SGD([x], lr=0.1).step()
    assert x.dtype == np.float32
    assert np.allclose(x.data, [0.95, 0.8], rtol=1e-6)


def test_grad_in_place_add():
    x = Tensor([1.0, 2.0], requires_grad=True)
    x.grad += np.array([1.0, 3.0])
    x.grad += np.array([1.0, 1.0], np.float64)
    assert np.allclose(x.grad, [2.0, 4.0])
    # what the user wrote is what backward accumulates onto
    (x * 10).sum().backward()
    assert np.allclose(x.grad, [12.0, 14.0])


# --- backward (R5) ---------------------------------------------------------------

def test_non_leaf_grads_and_root_after_backward():
    a = Tensor([2.0, 3.0], requires_grad=True)
    b = Tensor([4.0, 5.0], requires_grad=True)
    c = a * b                 # [8, 15]
    d = c * c                 # [64, 225]
    L = d.sum()
    L.backward()
    assert np.array_equal(L.grad, np.ones(()))  # the root shows ones
    assert np.array_equal(d.grad, [1.0, 1.0])
    assert np.array_equal(c.grad, [16.0, 30.0])            # 2c
    assert np.array_equal(a.grad, [64.0, 150.0])           # 2c * b
    assert np.array_equal(b.grad, [32.0, 90.0])            # 2c * a


def test_root_grad_is_overwritten_with_ones_not_accumulated():
    x = Tensor([1.0, 2.0], requires_grad=True)
    L = (x * 2).sum()
    L.backward()
    L.backward()
    assert np.array_equal(L.grad, np.ones(()))


def test_leaf_grads_accumulate_across_fresh_graphs():
    # Lab 1.7.1 #25 prints 2x, 4x, 6x.
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    for k in (1, 2, 3):
        (x * x).sum().backward()
        assert np.array_equal(x.grad, 2 * k * np.array([1.0, 2.0, 3.0]))


def test_second_backward_through_one_graph_counts_once_per_call():
    # PyTorch: y = 2x, y.backward() twice -> x.grad = 4 (the course gives 6).
    x = Tensor(1.0, requires_grad=True)
    y = x * 2
    y.backward()
    assert x.grad == 2.0
    y.backward()
    assert x.grad == 4.0


def test_second_backward_through_a_deeper_graph():
    # x -> h = 3x -> y = sum(h*h): dy/dx = 18x, dy/dh = 2h; each call adds once
    # (PyTorch with retain_graph and h.retain_grad() gives the same numbers).
    xv = np.array([1.0, -2.0, 0.5])
    x = Tensor(xv, requires_grad=True)
    h = x * 3
    y = (h * h).sum()
    y.backward()
    y.backward()
    assert np.allclose(x.grad, 2 * 18 * xv)
    assert np.allclose(h.grad, 2 * 2 * 3 * xv)


def test_shared_subexpression_gets_both_contributions():
    # z = x*y + x: dz/dx = y + 1 (the node x is reached by two paths)
    x = Tensor([2.0], requires_grad=True)
    y = Tensor([5.0], requires_grad=True)
    z = (x * y + x).sum()
    z.backward()
    assert np.array_equal(x.grad, [6.0])
    assert np.array_equal(y.grad, [2.0])


def test_backward_on_non_scalar_raises_runtime_error():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="non-scalar"):
        y.backward()


def test_backward_on_a_result_that_needs_no_grad_does_nothing():
    t = Tensor([1.0, 2.0])
    out = (t * 2).sum()
    assert out.requires_grad is False
    out.backward()  # no error
    assert t.grad is None


def test_detach_breaks_the_graph():
    # The course's test_autograd::TestSpecialCases::test_detach_breaks_gradient.
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x.detach() * 2).sum()
    y.backward()
    assert np.array_equal(x.grad, np.zeros(2))


def test_backward_with_explicit_gradient_on_non_scalar():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    y.backward(np.array([1.0, 0.5, -1.0]))
    assert np.allclose(x.grad, 2 * np.array([1.0, 2.0, 3.0]) * np.array([1.0, 0.5, -1.0]))


DEEP_CHAIN = """
from micrograd_plus import Tensor
x = Tensor([1.0], requires_grad=True)
y = x
for _ in range(20_000):
    y = y * 1.0
y.sum().backward()
print(float(x.grad[0]))
del y                      # the whole chain is freed here
import gc
gc.collect()
print("freed")
"""


def test_deep_chain_backward_and_free():
    # 20,000 recorded ops: backward and freeing the graph must both be
    # iterative. In a child interpreter, so a stack overflow fails this test
    # instead of killing the test run.
    import subprocess
    import sys

    from helpers import python_child_env

    proc = subprocess.run([sys.executable, "-c", DEEP_CHAIN], capture_output=True, text=True,
                          timeout=300, env=python_child_env())
    assert proc.returncode == 0, f"the interpreter died (status {proc.returncode}):\n{proc.stderr[-3000:]}"
    assert proc.stdout.split() == ["1.0", "freed"]


def test_no_grad_records_nothing():
    from micrograd_plus.tensor import no_grad

    w = Tensor([1.0, 2.0], requires_grad=True)
    with no_grad():
        y = w * 3
    assert y.requires_grad is False and y.grad is None
    assert (w * 3).requires_grad is True
