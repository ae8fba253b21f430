"""utils: float64 numerical gradients, gradient_check, DataLoader, set_seed,
save_model/load_model, notebook helpers; and the scalar engine Value."""
import os

import numpy as np
import pytest

from micrograd_plus import Dropout, Linear, ReLU, Sequential, Tensor
from micrograd_plus.layers import BatchNorm
from micrograd_plus.utils import DataLoader, cleanup_notebook, gradient_check, numerical_gradient

from helpers import assert_close


# --- numerical_gradient evaluates f in float64 (course bug 2) -------------------

def test_numerical_gradient_of_a_cubic_is_float64_accurate():
    x = np.array([0.3, -1.2, 2.0], np.float32)  # a float32 copy of .data, as the course passes
    original = x.copy()
    g = numerical_gradient(lambda a: (Tensor(a) ** 3).sum().data.item(), x)
    exact = 3 * x.astype(np.float64) ** 2
    # float32 evaluation of f gives errors around 1e-2 here; float64 gives ~1e-9
    assert np.max(np.abs(np.asarray(g, np.float64) - exact)) < 1e-6
    assert np.array_equal(x, original)  # the perturbation is undone


def test_numerical_gradient_with_closed_over_float32_weights():
    rng = np.random.default_rng(0)
    W = Tensor(rng.standard_normal((3, 2)).astype(np.float32))
    x = rng.standard_normal((4, 3)).astype(np.float32)
    g = numerical_gradient(lambda a: ((Tensor(a) @ W).tanh()).sum().data.item(), x.copy())
    Wd, xd = W.data.astype(np.float64), x.astype(np.float64)
    exact = (1 - np.tanh(xd @ Wd) ** 2) @ Wd.T
    assert np.asarray(g).shape == (4, 3)
    assert np.max(np.abs(np.asarray(g, np.float64) - exact)) < 1e-6


def test_numerical_gradient_restores_the_default_dtype():
    numerical_gradient(lambda a: Tensor(a).sum().item(), np.ones(2, np.float32))
    assert Tensor([1.0]).dtype == np.float32


def test_gradient_check_on_engine_ops():
    x = Tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    ok, err = gradient_check(lambda t: t.softmax().log().sum() + (t ** 2).mean(), x)
    assert ok, err
    assert err < 1e-4


# --- DataLoader yields NumPy batches, shuffling with NumPy ----------------------

def _data(n=10):
    X = np.arange(n * 3, dtype=np.float64).reshape(n, 3)
    y = np.arange(n) % 4
    return X, y


def test_dataloader_in_order():
    X, y = _data()
    loader = DataLoader(X, y, batch_size=4, shuffle=False)
    assert len(loader) == 3
    batches = list(loader)
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    for k, (xb, yb) in enumerate(batches):
        assert isinstance(xb, np.ndarray) and isinstance(yb, np.ndarray)
        assert xb.dtype == np.float32
        assert np.array_equal(xb, X[4 * k: 4 * k + 4].astype(np.float32))
        assert np.array_equal(yb, y[4 * k: 4 * k + 4])


def test_dataloader_shuffles_with_numpys_global_generator():
    X, y = _data()
    np.random.seed(9)
    loader = DataLoader(X, y, batch_size=4, shuffle=True)
    epoch1 = [(xb.copy(), yb.copy()) for xb, yb in loader]
    epoch2 = [(xb.copy(), yb.copy()) for xb, yb in loader]
    np.random.seed(9)
    order1 = np.arange(10)
    np.random.shuffle(order1)
    order2 = np.arange(10)
    np.random.shuffle(order2)
    for epoch, order in ((epoch1, order1), (epoch2, order2)):
        xs = np.concatenate([b[0] for b in epoch])
        ys = np.concatenate([b[1] for b in epoch])
        assert np.array_equal(xs, X[order].astype(np.float32))
        assert np.array_equal(ys, y[order])
    assert not np.array_equal(order1, order2)


def test_dataloader_default_batch_size_and_len():
    X, y = _data(70)
    loader = DataLoader(X, y)
    assert len(loader) == 3  # ceil(70 / 32)


# --- save_model / load_model -----------------------------------------------------

def _model():
    return Sequential(Linear(3, 4), BatchNorm(4), ReLU(), Dropout(0.1), Linear(4, 2))


def test_save_and_load_round_trip(tmp_path):
    from micrograd_plus.nn import load_model, save_model

    np.random.seed(1)
    model = _model()
    model.train()
    model(Tensor(np.random.default_rng(0).standard_normal((8, 3))))  # moves BN running stats
    path = str(tmp_path / "model.npz")
    save_model(model, path)
    assert os.path.exists(path)

    np.random.seed(2)
    other = _model()
    assert not np.array_equal(other[0].weight.data, model[0].weight.data)
    load_model(other, path)
    for p, q in zip(model.parameters(), other.parameters()):
        assert p is not q
        assert np.array_equal(p.data, q.data)
    # course bug 11: the running statistics are saved too
    assert np.array_equal(np.asarray(other[1].running_mean), np.asarray(model[1].running_mean))
    assert np.array_equal(np.asarray(other[1].running_var), np.asarray(model[1].running_var))
    assert not np.array_equal(np.asarray(model[1].running_mean), np.zeros(4))
    model.eval()
    other.eval()
    xv = np.random.default_rng(1).standard_normal((5, 3))
    assert np.array_equal(model(Tensor(xv)).data, other(Tensor(xv)).data)


def test_load_into_a_mismatched_model_raises(tmp_path):
    from micrograd_plus.nn import load_model, save_model

    path = str(tmp_path / "m.npz")
    save_model(Sequential(Linear(3, 4)), path)
    with pytest.raises(ValueError):
        load_model(Sequential(Linear(3, 5)), path)


def test_count_parameters():
    from micrograd_plus.nn import count_parameters

    assert count_parameters(Sequential(Linear(10, 5), ReLU(), Linear(5, 2))) == 67


# --- notebook helpers -------------------------------------------------------------

def test_cleanup_notebook_prints_and_keeps_working(capsys):
    namespace = {"big": np.zeros(10), "model": Linear(2, 2)}
    cleanup_notebook(namespace)
    assert "Cleanup complete!" in capsys.readouterr().out
    cleanup_notebook()
    assert "Cleanup complete!" in capsys.readouterr().out


# --- the scalar engine ----------------------------------------------------------------

def test_value_neuron_gradients_and_dot():
    from micrograd_plus import Value, draw_dot

    x1, x2 = Value(2.0), Value(0.0)
    w1, w2 = Value(-3.0), Value(1.0)
    b = Value(6.8813735870195432)
    n = x1 * w1 + x2 * w2 + b
    o = n.tanh()
    o.backward()
    t = np.tanh(-6.0 + 6.8813735870195432)
    assert o.data == pytest.approx(t, rel=1e-12)
    dn = 1 - t ** 2  # 0.5
    assert x1.grad == pytest.approx(-3.0 * dn, rel=1e-9)
    assert w1.grad == pytest.approx(2.0 * dn, rel=1e-9)
    assert x2.grad == pytest.approx(1.0 * dn, rel=1e-9)
    assert w2.grad == pytest.approx(0.0, abs=1e-12)
    dot = draw_dot(o)
    text = dot if isinstance(dot, str) else getattr(dot, "source", str(dot))
    assert "digraph" in text
    assert "tanh" in text


def _micrograd_readme_expression(a, b, relu=lambda v: max(v, 0.0)):
    """micrograd's README example, on plain floats (or on Values)."""
    c = a + b
    d = a * b + b ** 3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + relu(b + a)
    d = d + 3 * d + relu(b - a)
    e = c - d
    f = e ** 2
    g = f / 2.0
    g = g + 10.0 / f
    return g


def test_value_arithmetic_gradients():
    from micrograd_plus import Value

    a, b = Value(-4.0), Value(2.0)
    g = _micrograd_readme_expression(a, b, relu=lambda v: v.relu())
    g.backward()
    f = _micrograd_readme_expression
    h = 1e-6
    assert g.data == pytest.approx(f(-4.0, 2.0), rel=1e-12)
    assert a.grad == pytest.approx((f(-4.0 + h, 2.0) - f(-4.0 - h, 2.0)) / (2 * h), rel=1e-6)
    assert b.grad == pytest.approx((f(-4.0, 2.0 + h) - f(-4.0, 2.0 - h)) / (2 * h), rel=1e-6)


# --- MNIST files under <root>/data/ with the official names ---------------------------

def _read_idx_gz(path):
    import gzip

    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def test_load_mnist_reads_the_official_names_under_root_data(tmp_path):
    import shutil

    from helpers import MNIST_DIR
    from micrograd_plus.utils import load_mnist

    data = tmp_path / "data"
    data.mkdir()
    names = {
        "train-10k-images-idx3-ubyte.gz": "train-images-idx3-ubyte.gz",
        "train-10k-labels-idx1-ubyte.gz": "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz": "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz": "t10k-labels-idx1-ubyte.gz",
    }
    for ours, official in names.items():
        shutil.copy(os.path.join(MNIST_DIR, ours), data / official)
    X_train, X_test, y_train, y_test = load_mnist(str(tmp_path))
    images = _read_idx_gz(os.path.join(MNIST_DIR, "train-10k-images-idx3-ubyte.gz"))
    labels = _read_idx_gz(os.path.join(MNIST_DIR, "t10k-labels-idx1-ubyte.gz"))
    assert X_train.shape == (10000, 784) and X_test.shape == (10000, 784)
    assert X_train.dtype == np.float32 and y_train.dtype == np.int32
    assert np.array_equal(X_train, images.reshape(-1, 784).astype(np.float32) / 255.0)
    assert np.array_equal(y_test, labels.astype(np.int32))


def test_load_mnist_error_names_the_missing_files(tmp_path):
    from micrograd_plus.utils import load_mnist

    (tmp_path / "data").mkdir()
    with pytest.raises(FileNotFoundError) as err:
        load_mnist(str(tmp_path))
    msg = str(err.value)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        assert name in msg, msg


def test_one_hot_and_accuracy():
    from micrograd_plus.nn import accuracy
    from micrograd_plus.utils import one_hot

    assert np.array_equal(one_hot(np.array([0, 2, 1]), 3), np.eye(3)[[0, 2, 1]])
    logits = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    assert accuracy(logits, np.array([1, 0, 0, 0])) == pytest.approx(0.75)


def test_notebook_helpers_run_headless(capsys):
    import matplotlib

    matplotlib.use("Agg")
    from micrograd_plus.utils import ProgressBar, plot_training_history, visualize_computation_graph

    bar = ProgressBar(3, prefix="epoch")
    for i in range(1, 4):
        bar.update(i)
    bar.finish()
    assert "epoch" in capsys.readouterr().out
    plot_training_history({"train_loss": [1.0, 0.5, 0.25], "val_loss": [1.1, 0.7, 0.4]})
    x = Tensor([1.0, 2.0], requires_grad=True)
    dot = visualize_computation_graph(((x * 2).relu()).sum())
    assert "digraph" in str(dot)
