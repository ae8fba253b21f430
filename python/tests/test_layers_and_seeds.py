"""Layers (R7), initialisation and dropout draws from NumPy's global RNG (R8),
Sequential keeping the caller's objects, and the course's reprs."""
import numpy as np
import pytest

import micrograd_plus
from micrograd_plus import (
    Dropout,
    Linear,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
    Tensor,
)
from micrograd_plus.layers import BatchNorm, Embedding, LayerNorm, Module
from micrograd_plus.utils import set_seed

from helpers import assert_close, softmax


# --- Linear: weight (in, out), y = x @ W + b (R7) ----------------------------

def test_linear_layout_forward_and_gradients():
    lin = Linear(4, 3)
    assert lin.weight.shape == (4, 3)
    assert lin.bias.shape == (3,)
    assert lin.parameters() == [lin.weight, lin.bias]
    assert lin.parameters()[0] is lin.weight
    lin.bias.data = np.array([0.5, -1.0, 2.0])
    W = lin.weight.data.astype(np.float64)
    b = lin.bias.data.astype(np.float64)
    xv = np.random.default_rng(0).standard_normal((2, 4))
    x = Tensor(xv, requires_grad=True)
    y = lin(x)
    assert_close(y.data, xv @ W + b, rtol=1e-5, atol=1e-5)
    G = np.random.default_rng(1).standard_normal((2, 3))
    (y * Tensor(G)).sum().backward()
    assert_close(lin.weight.grad, xv.T @ G, rtol=1e-5, atol=1e-5)
    assert_close(lin.bias.grad, G.sum(axis=0), rtol=1e-5, atol=1e-5)
    assert_close(x.grad, G @ W.T, rtol=1e-5, atol=1e-5)


def test_linear_on_3d_input():
    # Linear must accept (..., in): the course's MHA applies it to (2, 10, 64).
    lin = Linear(4, 3)
    W = lin.weight.data.astype(np.float64)
    xv = np.random.default_rng(2).standard_normal((2, 5, 4))
    y = lin(Tensor(xv))
    assert y.shape == (2, 5, 3)
    assert_close(y.data, xv @ W, rtol=1e-5, atol=1e-5)
    y.sum().backward()
    assert lin.weight.grad.shape == (4, 3)
    assert_close(lin.weight.grad, xv.reshape(-1, 4).T @ np.ones((10, 3)), rtol=1e-5, atol=1e-5)
    assert_close(lin.bias.grad, np.full(3, 10.0), rtol=1e-6, atol=0)


def test_linear_without_bias():
    lin = Linear(3, 2, bias=False)
    assert lin.bias is None
    assert lin.parameters() == [lin.weight]
    assert len(lin.parameters()) == 1


def test_linear_repr():
    assert repr(Linear(784, 256)) == "Linear(in_features=784, out_features=256, bias=True)"


# --- initialisation and dropout from NumPy's global RNG (R8) -------------------

@pytest.mark.parametrize("seed", [0, 42, 123])
@pytest.mark.parametrize("fan", [(2, 8), (784, 256), (5, 1)])
def test_linear_init_is_the_courses_xavier_normal_draw(seed, fan):
    fan_in, fan_out = fan
    np.random.seed(seed)
    lin = Linear(fan_in, fan_out)
    np.random.seed(seed)
    W = np.random.randn(fan_in, fan_out) * np.sqrt(2.0 / (fan_in + fan_out))
    assert lin.weight.dtype == np.float32
    assert_close(lin.weight.data, W.astype(np.float32), rtol=1e-6, atol=1e-7)
    assert np.array_equal(lin.bias.data, np.zeros(fan_out, np.float32))


def test_set_seed_drives_the_draws_and_consecutive_layers_draw_in_order():
    set_seed(42)
    model = Sequential(Linear(2, 8), ReLU(), Linear(8, 2))
    np.random.seed(42)
    W1 = np.random.randn(2, 8) * np.sqrt(2.0 / 10)
    W2 = np.random.randn(8, 2) * np.sqrt(2.0 / 10)
    assert_close(model[0].weight.data, W1, rtol=1e-6, atol=1e-7)
    assert_close(model[2].weight.data, W2, rtol=1e-6, atol=1e-7)
    # and set_seed seeds NumPy itself
    set_seed(7)
    a = np.random.rand(3)
    np.random.seed(7)
    assert np.array_equal(a, np.random.rand(3))


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_dropout_mask_is_rand_greater_than_p_scaled(p):
    x = Tensor(np.ones((4, 5)), requires_grad=True)
    set_seed(3)
    d = Dropout(p)
    assert d.training is True
    y = d(x)
    np.random.seed(3)
    keep = np.random.rand(4, 5) > p
    assert_close(y.data, keep / (1 - p), rtol=1e-6, atol=0)
    y.sum().backward()
    assert_close(x.grad, keep / (1 - p), rtol=1e-6, atol=0)


def test_dropout_draws_numpys_numbers_and_leaves_its_generator_where_numpy_would():
    # Several masks in a row, 2,000+ draws, so NumPy's state twists
    # (every 312 doubles) inside and between masks; float32 and float64.
    d = Dropout(0.3)
    shapes = [(64, 13), (7,), (3, 100), (1, 1)]
    set_seed(11)
    xs = [Tensor(np.random.standard_normal(s), dtype=dt) for s in shapes for dt in (np.float32, np.float64)]
    state = np.random.get_state()
    ys = [d(x) for x in xs]
    after = np.random.get_state()
    np.random.set_state(state)
    for x, y in zip(xs, ys):
        keep = np.random.rand(*x.shape) > 0.3
        expected = x.data * (np.asarray(keep, dtype=x.data.dtype) * x.data.dtype.type(1 / 0.7))
        assert y.data.dtype == x.data.dtype
        assert np.array_equal(y.data, expected)
    # The generator ends where NumPy's own draws leave it.
    now = np.random.get_state()
    assert np.array_equal(after[1], now[1]) and after[2] == now[2]


def test_dropout_falls_back_to_numpy_when_the_global_generator_is_not_an_mt19937():
    set_bit_generator = getattr(np.random, "set_bit_generator", None)
    if set_bit_generator is None:
        pytest.skip("numpy.random.set_bit_generator needs NumPy >= 1.25")
    saved = np.random.get_bit_generator()
    try:
        set_bit_generator(np.random.PCG64(5))
        y = Dropout(0.5)(Tensor(np.ones((10, 10))))
        set_bit_generator(np.random.PCG64(5))
        keep = np.random.rand(10, 10) > 0.5
        assert np.array_equal(y.data, keep * np.float32(2.0))
    finally:
        set_bit_generator(saved)


def test_dropout_eval_is_identity_and_train_eval_return_self():
    d = Dropout(0.5)
    assert d.eval() is d and d.training is False
    xv = np.random.default_rng(0).standard_normal((3, 3)).astype(np.float32)
    assert np.array_equal(d(Tensor(xv)).data, xv)
    assert d.train() is d and d.training is True
    assert d.train(False) is d and d.training is False


def test_embedding_init_and_lookup_gradient():
    np.random.seed(5)
    emb = Embedding(10, 4)
    np.random.seed(5)
    assert_close(emb.weight.data, np.random.randn(10, 4) * 0.02, rtol=1e-6, atol=1e-8)
    idx = np.array([[1, 3, 1], [0, 9, 3]])
    out = emb(Tensor(idx))
    assert out.shape == (2, 3, 4)
    assert np.array_equal(out.data, emb.weight.data[idx])
    out.sum().backward()
    counts = np.bincount(idx.ravel(), minlength=10).astype(np.float64)
    assert_close(emb.weight.grad, np.repeat(counts[:, None], 4, axis=1), rtol=0, atol=0)


def test_batchnorm_and_layernorm_parameters_start_at_one_and_zero():
    bn = BatchNorm(3)
    params = bn.parameters()
    assert len(params) == 2
    assert np.array_equal(params[0].data, np.ones(3)) and np.array_equal(params[1].data, np.zeros(3))
    ln = LayerNorm(5)
    xv = np.random.default_rng(0).standard_normal((2, 5))
    y = ln(Tensor(xv)).data
    ref = (xv - xv.mean(1, keepdims=True)) / np.sqrt(xv.var(1, keepdims=True) + 1e-5)
    assert_close(y, ref, rtol=1e-4, atol=1e-5)


def test_activation_layers():
    xv = np.array([[-1.5, 0.5, 2.0]])
    x = Tensor(xv)
    assert_close(ReLU()(x).data, np.maximum(xv, 0), rtol=0, atol=0)
    assert_close(Sigmoid()(x).data, 1 / (1 + np.exp(-xv)), rtol=1e-6, atol=1e-7)
    assert_close(Tanh()(x).data, np.tanh(xv), rtol=1e-6, atol=1e-7)
    assert_close(Softmax()(x).data, softmax(xv), rtol=1e-6, atol=1e-7)
    assert_close(Softmax(axis=0)(x).data, np.ones_like(xv), rtol=1e-6, atol=0)
    assert not hasattr(ReLU(), "weight")
    assert ReLU().parameters() == []


# --- Sequential keeps the caller's objects --------------------------------------

def test_sequential_identity_order_and_modes():
    lin1, relu, drop, lin2 = Linear(3, 4), ReLU(), Dropout(0.5), Linear(4, 2)
    model = Sequential(lin1, relu, drop, lin2)
    assert model[0] is lin1 and model[3] is lin2
    assert model.layers[1] is relu
    assert list(model.layers) == [lin1, relu, drop, lin2]
    assert len(model) == 4
    assert list(iter(model)) == [lin1, relu, drop, lin2]
    params = model.parameters()
    assert len(params) == 4
    assert all(p is q for p, q in zip(params, [lin1.weight, lin1.bias, lin2.weight, lin2.bias]))
    model.eval()
    assert model.layers[2].training is False and drop.training is False
    model.train()
    assert drop.training is True
    # the forward is the composition of the caller's layers
    xv = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    model.eval()
    expected = lin2(relu(lin1(Tensor(xv)))).data
    assert np.array_equal(model(Tensor(xv)).data, expected)
    # a change to the caller's layer is the model's change
    lin2.bias.data = np.array([100.0, -100.0])
    assert np.allclose(model(Tensor(xv)).data - expected, [100.0, -100.0], atol=1e-4)


def test_sequential_repr_lists_the_layers():
    text = repr(Sequential(Linear(2, 3), ReLU()))
    assert "Sequential" in text
    assert "Linear(in_features=2, out_features=3, bias=True)" in text
    assert "ReLU" in text


def test_sequential_add():
    model = Sequential(Linear(2, 3))
    relu = ReLU()
    model.add(relu)
    assert len(model) == 2 and model[1] is relu


# --- subclassing Module from Python (R10) --------------------------------------

class Scale(Module):
    def __init__(self, n):
        super().__init__()
        self.w = Tensor(np.full(n, 2.0), requires_grad=True)
        self.note = "user attribute"

    def forward(self, x):
        return x * self.w

    def parameters(self):
        return [self.w]


class Residual(Module):
    def __init__(self):
        super().__init__()
        self.inner = Linear(3, 3)

    def forward(self, x):
        return x + self.inner(x).relu()

    def parameters(self):
        return self.inner.parameters()


def test_python_module_subclass():
    m = Scale(3)
    assert m.note == "user attribute"
    assert m.training is True
    assert m.eval() is m and m.training is False
    assert m.train() is m and m.training is True
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = m(x)
    assert np.array_equal(y.data, [2.0, 4.0, 6.0])
    y.sum().backward()
    assert np.array_equal(m.w.grad, [1.0, 2.0, 3.0])
    m.zero_grad()
    assert np.array_equal(m.w.grad, np.zeros(3))
    assert m.__class__.__name__ == "Scale"


def test_python_modules_inside_sequential():
    scale, res = Scale(3), Residual()
    model = Sequential(res, scale)
    assert model[0] is res and model[1] is scale
    assert len(model.parameters()) == 3
    xv = np.array([[1.0, -1.0, 0.5]], np.float32)
    W, b = res.inner.weight.data.astype(np.float64), res.inner.bias.data.astype(np.float64)
    expected = (xv + np.maximum(xv @ W + b, 0)) * 2.0
    assert_close(model(Tensor(xv)).data, expected, rtol=1e-5, atol=1e-6)


def test_top_level_exports():
    for name in [
        "Tensor", "Linear", "ReLU", "Sigmoid", "Tanh", "Softmax", "Dropout", "Sequential",
        "MSELoss", "CrossEntropyLoss", "SGD", "Adam",
    ]:
        assert hasattr(micrograd_plus, name), name
    assert micrograd_plus.__doc__
    assert Tensor.__doc__ and Linear.__doc__
    assert "backward" in dir(Tensor)
