"""micrograd's scalar Value on the engine: values and gradients against
closed forms (micrograd's own test expression), and draw_dot's picture."""
import math

import pytest

from micrograd_plus import Tensor, Value, draw_dot


def test_micrograd_expression_matches_closed_form_gradients():
    # micrograd's test_more_ops expression; the reference numbers are what
    # PyTorch prints for it in micrograd's test suite.
    a, b = Value(-4.0), Value(2.0)
    c = a + b
    d = a * b + b**3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g = g + 10.0 / f
    g.backward()
    assert g.data == pytest.approx(24.70408163265306, rel=1e-12)
    assert a.grad == pytest.approx(138.83381924198252, rel=1e-12)
    assert b.grad == pytest.approx(645.5772594752186, rel=1e-12)


def test_tanh_and_exp_local_derivatives():
    x = Value(0.7)
    y = x.tanh() + x.exp()
    y.backward()
    assert y.data == pytest.approx(math.tanh(0.7) + math.exp(0.7), rel=1e-14)
    assert x.grad == pytest.approx(1 - math.tanh(0.7) ** 2 + math.exp(0.7), rel=1e-14)


def test_prev_and_op_describe_the_graph():
    a = Value(2.0)
    y = a * 3
    assert y._op == "*"
    assert a in y._prev and len(y._prev) == 2  # the constant 3 is a leaf too, as in micrograd


def test_draw_dot_shows_labels_data_grads_and_ops():
    a = Value(2.0, label="a")
    b = Value(-3.0, label="b")
    e = a * b
    e.label = "e"
    loss = e + a.tanh()
    loss.backward()
    dot = str(draw_dot(loss))
    assert "{ a | data 2.0000 | grad -2.9293 }" in dot  # -3 + (1 - tanh(2)^2)
    assert "{ e | data -6.0000 | grad 1.0000 }" in dot
    assert dot.count('label="*"') == 1 and dot.count('label="tanh"') == 1
    with pytest.raises(TypeError):
        draw_dot(Tensor([1.0]))


def test_draw_dot_draws_every_node_once_in_either_direction():
    a = Value(2.0, label="a")
    b = a * a + a  # a reached three times, drawn once
    b.label = "b"
    dot = str(draw_dot(b, rankdir="TB"))
    assert "rankdir=TB;" in dot and dot.count("{ a | data 2.0000") == 1
    assert dot.count("shape=record") == 3  # a, a*a and b
    assert dot.count("->") == 2 + 2 + 2  # a->*, a->*, *->a*a, a*a->+, a->+, +->b
    assert "rankdir=LR;" in str(draw_dot(b))
    with pytest.raises(ValueError, match="rankdir must be 'LR' or 'TB'"):
        draw_dot(b, rankdir="RL")


def test_a_composite_engine_op_keeps_its_python_name():
    x = Tensor([1.0, 2.0], requires_grad=True)
    w = Tensor([[1.0], [2.0]], requires_grad=True)
    y = x @ w  # a 1-D operand: the engine reshapes around the product
    assert y._op == "matmul"
    assert x[[0, 0]]._op == "getitem"
