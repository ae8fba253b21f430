"""Tensor basics: `.data` is a live NumPy view (R3), hashing (R1), dtypes (R2)."""
import numpy as np
import pytest

from micrograd_plus import Tensor
from micrograd_plus.layers import Embedding, Linear


# --- .data: a live, writable view of the engine's buffer (R3) ----------------

def test_data_is_a_numpy_array_with_the_tensor_shape_and_values():
    t = Tensor([[1, 2, 3], [4, 5, 6]])
    assert isinstance(t.data, np.ndarray)
    assert t.data.shape == (2, 3) == t.shape
    assert t.data.dtype == np.float32
    assert np.array_equal(t.data, np.array([[1, 2, 3], [4, 5, 6]], np.float32))
    assert t.size == 6 and t.data.size == 6


def test_index_write_is_seen_by_the_next_op():
    t = Tensor([1.0, 2.0, 3.0])
    t.data[1] = 10.0
    assert np.array_equal((t * 2).data, np.array([2.0, 20.0, 6.0], np.float32))
    assert t.sum().item() == 14.0


def test_write_through_an_earlier_read_is_seen_by_the_engine():
    t = Tensor(np.zeros((2, 3)))
    view = t.data
    view[1, 2] = 7.0
    assert t.sum().item() == 7.0
    assert t.numpy()[1, 2] == 7.0


def test_two_reads_share_memory_no_copy():
    t = Tensor(np.arange(6.0).reshape(2, 3))
    a = t.data
    b = t.data
    assert np.shares_memory(a, b)
    a[0, 0] = -1.0
    assert b[0, 0] == -1.0


def test_million_element_data_is_not_copied():
    t = Tensor(np.zeros(1_000_000, np.float32))
    a = t.data
    b = t.data
    assert np.shares_memory(a, b)
    a[999_999] = 3.0
    assert b[999_999] == 3.0
    assert t.sum().item() == 3.0


def test_constructor_copies_its_input():
    src = np.array([1.0, 2.0, 3.0], np.float32)
    t = Tensor(src)
    src[0] = 100.0
    assert t.data[0] == 1.0
    assert not np.shares_memory(src, t.data)


def test_strided_and_fortran_inputs_keep_their_values():
    base = np.arange(12.0).reshape(3, 4)
    for arr in (base[:, ::2], base[::-1], base.T, np.asfortranarray(base), np.broadcast_to(base[0], (2, 4))):
        t = Tensor(arr)
        assert t.shape == arr.shape
        assert np.array_equal(t.data, arr.astype(np.float32))


def test_numpy_returns_a_copy():
    t = Tensor([1.0, 2.0])
    n = t.numpy()
    n[0] = 50.0
    assert t.data[0] == 1.0


def test_in_place_subtract_on_data_is_seen_by_the_next_op():
    p = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    before = p.data
    p.data -= 0.5 * np.ones(3)
    expected = np.array([0.5, 1.5, 2.5], np.float32)
    assert np.array_equal((p * 1.0).data, expected)
    assert np.array_equal(before, expected)  # the earlier view is live too
    assert p.dtype == np.float32


def test_in_place_subtract_with_float64_operands_keeps_float32():
    # Course solution 1.7.5: lr is an np.float64 from np.cos, grads may be float64.
    p = Tensor([1.0, 2.0], requires_grad=True)
    lr = np.float64(0.25)
    p.data -= lr * np.array([2.0, 4.0], np.float64)
    assert p.dtype == np.float32
    assert p.data.dtype == np.float32
    assert np.array_equal(p.data, np.array([0.5, 1.0], np.float32))


def test_reassignment_is_seen_by_the_next_op_and_its_gradient():
    p = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    before = p.data
    p.data = np.array([4.0, 5.0, 6.0], np.float64)
    assert p.dtype == np.float32
    assert np.array_equal(before, [4.0, 5.0, 6.0])  # same shape: copied into the live buffer
    assert np.array_equal((p + 0.0).data, np.array([4.0, 5.0, 6.0], np.float32))
    (p * p).sum().backward()
    assert np.array_equal(p.grad, np.array([8.0, 10.0, 12.0], np.float32))


def test_reassigning_a_linear_weight_changes_its_output():
    lin = Linear(3, 2)
    lin.weight.data = np.zeros((3, 2))
    lin.bias.data = np.array([1.5, -2.0])
    y = lin(Tensor(np.ones((4, 3))))
    assert np.array_equal(y.data, np.tile(np.array([1.5, -2.0], np.float32), (4, 1)))


def test_embedding_row_written_in_place_is_seen_by_the_next_lookup():
    # The course's test_layers::TestEmbedding::test_lookup.
    emb = Embedding(10, 4)
    emb.weight.data[5] = [1, 2, 3, 4]
    out = emb(Tensor([[5, 0]]))
    assert out.shape == (1, 2, 4)
    assert np.array_equal(out.data[0, 0], np.array([1, 2, 3, 4], np.float32))
    assert np.array_equal(out.data[0, 1], emb.weight.data[0])


def test_a_write_through_a_view_dropped_before_backward_is_still_seen():
    x = Tensor([1.0, 2.0], requires_grad=True)
    view = x.data
    y = (x * x).sum()
    view[1] = 3.0
    del view
    with pytest.raises(RuntimeError):
        y.backward()


def test_reading_data_between_forward_and_backward_is_harmless():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x * x).sum()
    seen = x.data.copy()
    _ = float(x.data.sum()) + float(np.argmax(x.data))
    y.backward()
    assert np.array_equal(x.grad, 2 * seen)


def _write_by_index(x):
    x.data[0] = 5.0


def _write_by_reassignment(x):
    x.data = np.array([5.0, 2.0])


def _write_by_subtract(x):
    x.data -= 1.0


@pytest.mark.parametrize("view_before", ["none", "data", "slice"])
@pytest.mark.parametrize("modify", [_write_by_index, _write_by_reassignment, _write_by_subtract])
def test_modifying_a_saved_tensor_then_backward_raises_naming_the_op(modify, view_before):
    # PyTorch's version counter: a tensor that `mul` saved for its backward was
    # changed after the forward, so the gradient would silently be wrong. The
    # engine watches a buffer only while some array views it: a view taken
    # before the forward (and a slice of one) must keep it watching.
    x = Tensor([1.0, 2.0], requires_grad=True)
    held = {"none": None, "data": x.data, "slice": x.data[1:]}[view_before]
    y = (x * x).sum()
    modify(x)
    if held is not None:
        held[-1] = 7.0
    with pytest.raises(RuntimeError) as err:
        y.backward()
    msg = str(err.value)
    assert "mul" in msg or "*" in msg, msg


# --- hashing by identity (R1) ------------------------------------------------

def test_tensors_hash_by_identity_and_live_in_sets():
    a = Tensor([1.0, 2.0])
    b = Tensor([1.0, 2.0])  # equal data, different object
    assert hash(a) == hash(a)
    s = {a, b, a}
    assert len(s) == 2
    assert a in s and b in s
    assert Tensor([1.0, 2.0]) not in {a}
    d = {a: "a", b: "b"}
    assert d[a] == "a" and d[b] == "b"


def test_many_live_tensors_have_distinct_set_entries():
    ts = [Tensor([0.0]) for _ in range(100)]
    assert len(set(ts)) == 100
    assert len({id(t) for t in ts}) == 100


def test_prev_is_a_set_of_the_parents():
    a = Tensor([1.0], requires_grad=True)
    b = Tensor([2.0], requires_grad=True)
    c = a * b
    assert isinstance(c._prev, (set, frozenset))
    assert c._prev == {a, b}
    assert isinstance(c._op, str)
    d = a * a
    assert d._prev == {a}


# --- dtypes (R2) -------------------------------------------------------------

@pytest.mark.parametrize(
    "data",
    [
        [1, 2, 3],
        [1.5, 2.5],
        [[1, 2], [3, 4]],
        np.array([1, 2], np.int32),
        np.array([[1, 2]], np.int64),
        np.array([0.1, 0.2], np.float64),
        np.float32(2.5),
        3.0,
        7,
    ],
)
def test_float32_by_default(data):
    t = Tensor(data)
    assert t.dtype == np.float32
    assert t.data.dtype == np.float32
    assert np.array_equal(t.data, np.asarray(data, dtype=np.float32))
    assert t.shape == np.asarray(data).shape


def test_float64_on_request_keeps_precision():
    t = Tensor([0.1, 1e-300], dtype=np.float64)
    assert t.dtype == np.float64
    assert t.data.dtype == np.float64
    assert t.data[0] == 0.1 and t.data[1] == 1e-300
    assert (t * 3.0).dtype == np.float64  # a Python scalar does not demote


def test_python_scalars_do_not_promote_float32():
    t = Tensor([1.0, 2.0])
    for r in (t * 0.1, t + 1, 2.5 - t, t / 3.0, t ** 2, 1 / (t + 1)):
        assert r.dtype == np.float32


def test_mixed_float32_float64_promotes_to_float64():
    a32 = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    a64 = Tensor([0.1, 0.2, 0.3], dtype=np.float64, requires_grad=True)
    c = a32 * a64
    assert c.dtype == np.float64
    expected = np.array([1.0, 2.0, 3.0]) * np.array([0.1, 0.2, 0.3])
    assert np.allclose(c.data, expected, rtol=1e-15, atol=0)
    c.sum().backward()
    # each gradient has its own tensor's dtype and the exact partner values
    assert a32.grad.dtype == np.float32
    assert a64.grad.dtype == np.float64
    assert np.array_equal(a32.grad, np.array([0.1, 0.2, 0.3], np.float32))
    assert np.array_equal(a64.grad, np.array([1.0, 2.0, 3.0]))


@pytest.mark.parametrize("op", [lambda a, b: a * b, lambda a, b: b - a, lambda a, b: a / b])
def test_a_0d_float64_tensor_also_promotes_a_float32_one(op):
    # NumPy 2's rule for arrays (numerical_gradient evaluates a 0-d float64
    # input against float32 weights); the Rust library keeps PyTorch's.
    w = Tensor([1.0, 2.0, 3.0])
    x = Tensor(np.array(0.1), dtype=np.float64)
    out = op(w, x)
    assert out.dtype == np.float64
    assert np.allclose(out.data, op(np.array([1.0, 2.0, 3.0]), np.array(0.1)), rtol=1e-15, atol=0)


def test_mixed_matmul_promotes_to_float64():
    a = Tensor(np.arange(6.0).reshape(2, 3))
    b = Tensor(np.full((3, 2), 0.1), dtype=np.float64)
    c = a @ b
    assert c.dtype == np.float64
    assert np.allclose(c.data, np.arange(6.0).reshape(2, 3) @ np.full((3, 2), 0.1), rtol=1e-15)


def test_shape_size_ndim_T():
    t = Tensor(np.arange(24.0).reshape(2, 3, 4))
    assert t.shape == (2, 3, 4)
    assert isinstance(t.shape, tuple)
    assert t.size == 24
    m = Tensor(np.arange(6.0).reshape(2, 3))
    assert np.array_equal(m.T.data, np.arange(6.0).reshape(2, 3).T.astype(np.float32))


def test_item_detach_and_str():
    t = Tensor([[2.5]], requires_grad=True)
    assert t.item() == 2.5
    d = t.detach()
    assert d.requires_grad is False
    assert np.array_equal(d.data, t.data)
    assert str(np.float32(2.5)) in str(t)
