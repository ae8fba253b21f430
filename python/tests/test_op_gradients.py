"""Gradients of broadcasting ops (R9), N-D matmul and indexing against NumPy
closed forms (float64 tensors, so agreement is to rounding)."""
import numpy as np
import pytest

from micrograd_plus import Tensor

from helpers import assert_close, fd_grad, log_softmax, softmax, sum_to_shape

F64 = dict(dtype=np.float64, requires_grad=True)


def _upstream(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# --- broadcasting (R9) -----------------------------------------------------

BROADCAST_SHAPES = [
    ((2, 3), (3,)),
    ((2, 3), (2, 1)),
    ((4, 1, 3), (2, 1)),
    ((1,), (3, 2)),
    ((2, 1, 4), (1, 5, 1)),
    ((3,), ()),
]


@pytest.mark.parametrize("sa,sb", BROADCAST_SHAPES)
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
def test_broadcast_binary_gradients(op, sa, sb):
    rng = np.random.default_rng(3)
    av = rng.uniform(0.5, 2.0, sa)
    bv = rng.uniform(0.5, 2.0, sb)
    a, b = Tensor(av, **F64), Tensor(bv, **F64)
    z = {"add": a + b, "sub": a - b, "mul": a * b, "div": a / b}[op]
    zv = {"add": av + bv, "sub": av - bv, "mul": av * bv, "div": av / bv}[op]
    assert z.shape == zv.shape
    assert_close(z.data, zv, rtol=1e-14, atol=0, what="forward")
    G = _upstream(zv.shape)
    (z * Tensor(G, dtype=np.float64)).sum().backward()
    A, B = np.broadcast_to(av, zv.shape), np.broadcast_to(bv, zv.shape)
    da, db = {
        "add": (G, G),
        "sub": (G, -G),
        "mul": (G * B, G * A),
        "div": (G / B, -G * A / B ** 2),
    }[op]
    assert a.grad.shape == sa and b.grad.shape == sb
    assert_close(a.grad, sum_to_shape(da, sa), rtol=1e-12, atol=1e-14, what="a.grad")
    assert_close(b.grad, sum_to_shape(db, sb), rtol=1e-12, atol=1e-14, what="b.grad")


def test_scalar_operands_and_reflected_forms():
    xv = np.array([0.5, 1.5, -2.0])
    x = Tensor(xv, **F64)
    # 100 * x**2 + (1 - x) + 2 / x - x / 4, all with Python scalars
    y = 100 * x ** 2 + (1 - x) + 2 / x - x / 4 + (-x)
    yv = 100 * xv ** 2 + (1 - xv) + 2 / xv - xv / 4 - xv
    assert_close(y.data, yv, rtol=1e-14, atol=0)
    y.sum().backward()
    assert_close(x.grad, 200 * xv - 1 - 2 / xv ** 2 - 0.25 - 1, rtol=1e-12, atol=1e-12)


def test_fractional_power():
    xv = np.array([0.25, 4.0, 9.0])
    x = Tensor(xv, **F64)
    (x ** 0.5).sum().backward()
    assert_close(x.grad, 0.5 / np.sqrt(xv), rtol=1e-13, atol=0)


# --- reductions, shape ops, activations -------------------------------------

def test_sum_mean_max_over_axes():
    rng = np.random.default_rng(5)
    v = rng.standard_normal((3, 4))
    G0 = _upstream((4,))
    x = Tensor(v, **F64)
    (x.sum(axis=0) * Tensor(G0, dtype=np.float64)).sum().backward()
    assert_close(x.grad, np.broadcast_to(G0, (3, 4)), rtol=1e-14, atol=0)

    x = Tensor(v, **F64)
    s = x.sum(axis=1, keepdims=True)
    assert s.shape == (3, 1)
    (s * s).sum().backward()
    assert_close(x.grad, np.broadcast_to(2 * v.sum(axis=1, keepdims=True), (3, 4)), rtol=1e-12, atol=1e-14)

    x = Tensor(v, **F64)
    x.mean().backward()
    assert_close(x.grad, np.full((3, 4), 1 / 12), rtol=1e-14, atol=0)

    x = Tensor(v, **F64)
    m = x.max(axis=0)
    assert_close(m.data, v.max(axis=0), rtol=0, atol=0)
    m.sum().backward()
    onehot = (v == v.max(axis=0, keepdims=True)).astype(float)
    assert_close(x.grad, onehot, rtol=0, atol=0)


def test_reshape_transpose_flatten_squeeze_unsqueeze_gradients():
    v = np.arange(24.0).reshape(2, 3, 4) / 10
    G = _upstream((4, 3, 2))
    x = Tensor(v, **F64)
    y = x.transpose(2, 1, 0)
    assert y.shape == (4, 3, 2)
    assert_close(y.data, v.transpose(2, 1, 0), rtol=0, atol=0)
    (y * Tensor(G, dtype=np.float64)).sum().backward()
    assert_close(x.grad, G.transpose(2, 1, 0), rtol=0, atol=0)

    x = Tensor(v, **F64)
    G2 = _upstream((6, 4))
    (x.reshape(6, 4) * Tensor(G2, dtype=np.float64)).sum().backward()
    assert_close(x.grad, G2.reshape(2, 3, 4), rtol=0, atol=0)

    x = Tensor(v, **F64)
    assert x.flatten().shape == (24,)
    assert x.reshape(-1, 12).shape == (2, 12)
    u = x.unsqueeze(1)
    assert u.shape == (2, 1, 3, 4)
    assert u.squeeze(1).shape == (2, 3, 4)
    (u.squeeze() * 2).sum().backward()
    assert_close(x.grad, np.full((2, 3, 4), 2.0), rtol=0, atol=0)


def test_course_mha_transposes():
    # solution 1.7.2 #16 permutes 4-D tensors NumPy-style.
    v = np.random.default_rng(1).standard_normal((2, 3, 4, 5))
    x = Tensor(v, **F64)
    for axes in [(0, 2, 1, 3), (0, 1, 3, 2)]:
        assert_close(x.transpose(*axes).data, v.transpose(axes), rtol=0, atol=0)


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "exp", "log", "sqrt", "abs"])
def test_unary_gradients(name):
    xv = np.array([0.3, 1.7, 2.5]) if name in ("log", "sqrt") else np.array([-1.3, 0.4, 2.2])
    fns = {
        "relu": (lambda v: np.maximum(v, 0), lambda v: (v > 0).astype(float)),
        "sigmoid": (lambda v: 1 / (1 + np.exp(-v)), lambda v: np.exp(-v) / (1 + np.exp(-v)) ** 2),
        "tanh": (np.tanh, lambda v: 1 - np.tanh(v) ** 2),
        "exp": (np.exp, np.exp),
        "log": (np.log, lambda v: 1 / v),
        "sqrt": (np.sqrt, lambda v: 0.5 / np.sqrt(v)),
        "abs": (np.abs, np.sign),
    }
    f, df = fns[name]
    x = Tensor(xv, **F64)
    y = getattr(x, name)()
    assert_close(y.data, f(xv), rtol=1e-14, atol=1e-15)
    y.sum().backward()
    assert_close(x.grad, df(xv), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_and_log_softmax_gradients(axis):
    v = np.random.default_rng(2).standard_normal((3, 4))
    G = _upstream((3, 4), 9)
    x = Tensor(v, **F64)
    s = x.softmax(axis=axis)
    assert_close(s.data, softmax(v, axis), rtol=1e-13, atol=1e-15)
    (s * Tensor(G, dtype=np.float64)).sum().backward()
    S = softmax(v, axis)
    assert_close(x.grad, S * (G - (G * S).sum(axis=axis, keepdims=True)), rtol=1e-10, atol=1e-13)

    x = Tensor(v, **F64)
    ls = x.log_softmax(axis=axis)
    assert_close(ls.data, log_softmax(v, axis), rtol=1e-13, atol=1e-14)
    (ls * Tensor(G, dtype=np.float64)).sum().backward()
    assert_close(x.grad, G - S * G.sum(axis=axis, keepdims=True), rtol=1e-10, atol=1e-13)


# --- N-D matmul (course bug 4: its backward uses .T and never reduces batches)

MATMUL_CASES = [
    ((3, 4), (4, 5)),              # plain
    ((2, 3, 4), (4, 5)),           # 3-D @ 2-D (Linear on 3-D input)
    ((2, 3, 4, 5), (2, 3, 5, 6)),  # 4-D @ 4-D (attention scores)
    ((2, 1, 3, 4), (5, 4, 2)),     # broadcast batch dims
    ((4,), (4,)),                  # 1-D @ 1-D: a dot product
    ((4,), (4, 3)),                # 1-D @ 2-D
    ((2, 3, 4), (4,)),             # N-D @ 1-D
]


def _matmul_grads(A, B, G):
    """dL/dA and dL/dB for L = sum(G * (A @ B)), NumPy's matmul rules."""
    a1, b1 = A.ndim == 1, B.ndim == 1
    A2 = A[None, :] if a1 else A
    B2 = B[:, None] if b1 else B
    G2 = G
    if a1 and b1:
        G2 = np.asarray(G).reshape(1, 1)
    elif a1:
        G2 = np.expand_dims(G, -2)
    elif b1:
        G2 = np.expand_dims(G, -1)
    dA = G2 @ np.swapaxes(B2, -1, -2)
    dB = np.swapaxes(A2, -1, -2) @ G2
    dA = sum_to_shape(dA, A2.shape)
    dB = sum_to_shape(dB, B2.shape)
    return (dA[0] if a1 else dA), (dB[:, 0] if b1 else dB)


@pytest.mark.parametrize("sa,sb", MATMUL_CASES)
def test_matmul_gradients(sa, sb):
    rng = np.random.default_rng(11)
    Av, Bv = rng.standard_normal(sa), rng.standard_normal(sb)
    Cv = Av @ Bv
    A, B = Tensor(Av, **F64), Tensor(Bv, **F64)
    C = A @ B
    assert C.shape == np.shape(Cv)
    assert_close(C.data, Cv, rtol=1e-12, atol=1e-12, what="forward")
    G = rng.standard_normal(np.shape(Cv))
    (C * Tensor(G, dtype=np.float64)).sum().backward()
    dA, dB = _matmul_grads(Av, Bv, G)
    assert A.grad.shape == sa and B.grad.shape == sb
    assert_close(A.grad, dA, rtol=1e-11, atol=1e-12, what="A.grad")
    assert_close(B.grad, dB, rtol=1e-11, atol=1e-12, what="B.grad")


def test_matmul_closed_form_helper_agrees_with_finite_differences():
    # The reference above is itself checked once against finite differences.
    rng = np.random.default_rng(4)
    Av, Bv = rng.standard_normal((2, 1, 3, 4)), rng.standard_normal((5, 4, 2))
    G = rng.standard_normal((2, 5, 3, 2))
    dA, dB = _matmul_grads(Av, Bv, G)
    assert_close(dA, fd_grad(lambda a: float((G * (a @ Bv)).sum()), Av), rtol=1e-7, atol=1e-8)
    assert_close(dB, fd_grad(lambda b: float((G * (Av @ b)).sum()), Bv), rtol=1e-7, atol=1e-8)


def test_matmul_float32_3d_at_2d():
    rng = np.random.default_rng(12)
    Av = rng.standard_normal((2, 3, 4)).astype(np.float32)
    Bv = rng.standard_normal((4, 5)).astype(np.float32)
    A, B = Tensor(Av, requires_grad=True), Tensor(Bv, requires_grad=True)
    (A @ B).sum().backward()
    G = np.ones((2, 3, 5))
    dA, dB = _matmul_grads(Av.astype(np.float64), Bv.astype(np.float64), G)
    assert A.grad.dtype == np.float32
    assert_close(A.grad, dA, rtol=1e-5, atol=1e-5)
    assert_close(B.grad, dB, rtol=1e-5, atol=1e-5)


# --- indexing (course bug 8: repeated indices lose gradient) -------------------

def test_repeated_indices_accumulate():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x[[0, 0, 1]]
    assert np.array_equal(y.data, [1.0, 1.0, 2.0])
    y.sum().backward()
    assert np.array_equal(x.grad, [2.0, 1.0, 0.0])


def test_repeated_indices_with_distinct_upstream():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x[[0, 0, 1]] * Tensor([1.0, 10.0, 100.0])).sum().backward()
    assert np.array_equal(x.grad, [11.0, 100.0, 0.0])


def test_row_fancy_index_slices_and_masks():
    v = np.arange(12.0).reshape(3, 4)
    x = Tensor(v, **F64)
    rows = np.array([2, 0, 2])
    (x[rows] * 1.0).sum().backward()
    expected = np.zeros((3, 4))
    np.add.at(expected, rows, 1.0)
    assert_close(x.grad, expected, rtol=0, atol=0)

    x = Tensor(v, **F64)
    y = x[1:, ::2]
    assert_close(y.data, v[1:, ::2], rtol=0, atol=0)
    (y * 3).sum().backward()
    expected = np.zeros((3, 4))
    expected[1:, ::2] = 3
    assert_close(x.grad, expected, rtol=0, atol=0)

    x = Tensor(v, **F64)
    assert_close(x[-1].data, v[-1], rtol=0, atol=0)
    assert_close(x[1, 2].data, v[1, 2], rtol=0, atol=0)
    mask = v % 3 == 0
    x[mask].sum().backward()
    assert_close(x.grad, mask.astype(float), rtol=0, atol=0)
