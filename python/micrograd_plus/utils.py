"""
Helpers for MicroGrad+: seeding, gradient checking, batching, data sets,
progress, plots and notebook housekeeping.

Example:
    >>> from micrograd_plus import Tensor
    >>> from micrograd_plus.utils import set_seed, gradient_check, get_memory_usage
    >>> set_seed(42)                       # reproducible initial weights and dropout masks
    >>> x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> passed, max_error = gradient_check(lambda t: (t ** 2).sum(), x)
    >>> get_memory_usage()['rss']          # MB
"""

from __future__ import annotations

import gc
import gzip
import numbers
import os
import random
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core
from .tensor import Tensor

__all__ = [
    "set_seed",
    "get_memory_usage",
    "numerical_gradient",
    "gradient_check",
    "check_all_gradients",
    "DataLoader",
    "one_hot",
    "normalize",
    "train_test_split",
    "ProgressBar",
    "plot_training_history",
    "visualize_computation_graph",
    "cleanup_notebook",
    "load_mnist",
]


# ---------------------------------------------------------------------------
# Seeds and memory
# ---------------------------------------------------------------------------

def set_seed(seed: int) -> None:
    """
    Seed NumPy's global generator (and Python's ``random``).

    Every random draw of the package (initial weights, dropout masks,
    DataLoader shuffling) comes from NumPy's global generator, so this makes
    a run reproducible, and ``set_seed(42)`` reproduces the course's runs.
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"set_seed: seed must be an integer, got {seed!r}")
    if not 0 <= int(seed) < 2 ** 32:
        raise ValueError(f"set_seed: seed must be in [0, 2**32), got {seed}")
    np.random.seed(int(seed))
    random.seed(int(seed))


def get_memory_usage() -> Dict[str, float]:
    """
    Memory used by this process, in MB.

    Returns:
        ``{'rss': resident MB, 'vms': virtual MB, 'percent': rss as % of RAM}``.
        Uses psutil when installed, else ``/proc`` (Linux), else the peak
        resident size from the ``resource`` module (``vms`` and ``percent``
        are 0 when unknown).
    """
    try:
        import psutil  # type: ignore

        proc = psutil.Process(os.getpid())
        info = proc.memory_info()
        total = psutil.virtual_memory().total
        return {"rss": info.rss / 2 ** 20, "vms": info.vms / 2 ** 20, "percent": 100.0 * info.rss / total}
    except Exception:
        pass
    try:
        with open("/proc/self/statm") as f:
            vms_pages, rss_pages = (int(v) for v in f.read().split()[:2])
        page = os.sysconf("SC_PAGE_SIZE")
        rss, vms = rss_pages * page, vms_pages * page
        total = os.sysconf("SC_PHYS_PAGES") * page
        return {"rss": rss / 2 ** 20, "vms": vms / 2 ** 20, "percent": 100.0 * rss / total if total else 0.0}
    except Exception:
        pass
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak_bytes = peak if sys.platform == "darwin" else peak * 1024
        return {"rss": peak_bytes / 2 ** 20, "vms": 0.0, "percent": 0.0}
    except Exception:
        return {"rss": 0.0, "vms": 0.0, "percent": 0.0}


# ---------------------------------------------------------------------------
# Gradient checking
# ---------------------------------------------------------------------------

def _scalar(value: Any, who: str) -> float:
    """The float of f's result: a number, a one-element array or a one-element Tensor."""
    if isinstance(value, Tensor):
        if value.size != 1:
            raise ValueError(f"{who}: f must return a scalar, got a Tensor of shape {tuple(value.shape)}")
        return float(value.item())
    arr = np.asarray(value)
    if arr.size != 1 or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise ValueError(f"{who}: f must return a number or a one-element Tensor, got {type(value).__name__}")
    return float(arr.reshape(()))


class _Float64:
    """Context manager: tensors made from Python data are float64 inside it."""

    def __enter__(self) -> None:
        self._previous = _core.get_default_dtype()
        _core.set_default_dtype(np.float64)

    def __exit__(self, *exc: Any) -> None:
        _core.set_default_dtype(self._previous)


def numerical_gradient(f: Callable[[np.ndarray], Any], x: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """
    Central finite-difference gradient of a scalar function.

    For each element ``x[i]``: ``(f(x + h e_i) - f(x - h e_i)) / (2 h)``.
    ``x`` is perturbed in place and restored; ``f`` receives ``x`` itself.

    ``f`` is evaluated with float64 as the default dtype (tensors it builds
    from arrays, e.g. ``Tensor(arr)``, are float64), so the differences are
    not swamped by float32 rounding; the step actually taken in ``x``'s dtype
    is used as ``h``, so a float32 ``x`` gives the right slope too.

    Args:
        f: function of the array returning a number, a one-element array or
            a one-element Tensor.
        x: float array, the point (1-D or N-D). A list is converted to a
            float64 array first.
        eps: step size (default 1e-5).

    Returns:
        Array of ``x``'s shape (float64).

    Example:
        >>> numerical_gradient(lambda a: (a ** 2).sum(), np.array([1.0, 2.0, 3.0]))
        array([2., 4., 6.])
    """
    who = "numerical_gradient"
    if isinstance(x, Tensor):
        x = x.data
    if not isinstance(x, np.ndarray):
        x = np.array(x, dtype=np.float64)
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"{who}: x must be a float array (it is perturbed in place), got {x.dtype}")
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not float(eps) > 0:
        raise ValueError(f"{who}: eps must be a number > 0, got {eps!r}")
    grad = np.zeros(x.shape, dtype=np.float64)
    with _Float64():
        for idx in np.ndindex(*x.shape):
            old = x[idx]
            old64 = float(old)
            try:
                x[idx] = old64 + eps
                up = float(x[idx]) - old64
                f_plus = _scalar(f(x), who)
                x[idx] = old64 - eps
                down = old64 - float(x[idx])
                f_minus = _scalar(f(x), who)
            finally:
                x[idx] = old
            step = up + down
            if step == 0:
                raise ValueError(f"{who}: eps={eps} is too small to change x[{idx}] = {old64} in {x.dtype}")
            grad[idx] = (f_plus - f_minus) / step
    return grad


def gradient_check(f: Callable[[Tensor], Tensor], x: Tensor, eps: float = 1e-5,
                   atol: float = 1e-4, rtol: float = 1e-3) -> Tuple[bool, float]:
    """
    Compare the engine's gradient of ``f`` at ``x`` with a numerical one.

    Args:
        f: function of a Tensor returning a scalar Tensor.
        x: Tensor with ``requires_grad=True``; its ``grad`` is overwritten.
        eps: finite-difference step.
        atol, rtol: tolerances of ``np.allclose(analytical, numerical)``.

    Returns:
        ``(passed, max_error)``, where ``max_error`` is the largest relative
        difference ``|a - n| / max(|a|, |n|, eps)``.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"gradient_check: x must be a Tensor, got {type(x).__name__}")
    if not x.requires_grad:
        raise ValueError("gradient_check: x must have requires_grad=True")
    x.zero_grad()
    y = f(x)
    if not isinstance(y, Tensor):
        raise TypeError(f"gradient_check: f must return a Tensor, got {type(y).__name__}")
    y.backward()
    analytical = np.array(x.grad, dtype=np.float64, copy=True)
    numerical = numerical_gradient(lambda arr: f(Tensor(arr)), np.array(x.data, copy=True), eps)
    diff = np.abs(analytical - numerical)
    denom = np.maximum(np.maximum(np.abs(analytical), np.abs(numerical)), eps)
    max_error = float(np.max(diff / denom)) if diff.size else 0.0
    passed = bool(np.allclose(analytical, numerical, atol=atol, rtol=rtol))
    return passed, max_error


def _swap_tensors(root: Any, mapping: Dict[int, Tensor]) -> None:
    """Replace, inside ``root``'s module tree, every Tensor whose id is in ``mapping``."""
    from .layers import Module

    seen = set()

    def fix(value: Any) -> Any:
        if isinstance(value, Tensor):
            return mapping.get(id(value), value)
        if isinstance(value, Module):
            visit(value)
            return value
        if isinstance(value, list):
            for i, item in enumerate(value):
                value[i] = fix(item)
            return value
        if isinstance(value, tuple):
            items = [fix(item) for item in value]
            return type(value)(items) if not hasattr(value, "_fields") else type(value)(*items)
        if isinstance(value, dict):
            for k in list(value):
                value[k] = fix(value[k])
            return value
        return value

    def visit(module: Any) -> None:
        if id(module) in seen:
            return
        seen.add(id(module))
        for name, value in list(vars(module).items()):
            new = fix(value)
            if new is not value:
                module.__dict__[name] = new

    visit(root)


def check_all_gradients(model: Any, loss_fn: Callable, sample_input: Any, sample_target: Any,
                        eps: float = 1e-5, atol: float = 1e-4, rtol: float = 1e-3) -> List[Tuple[str, bool, float]]:
    """
    Check the gradient of the loss with respect to every parameter of ``model``.

    The analytical gradients come from one backward pass of the model as it
    is; the numerical ones evaluate the loss with float64 copies of the
    parameters in place of the originals (restored afterwards). NumPy's
    random state is pinned for every evaluation, so Dropout draws the same
    mask each time, and buffers such as BatchNorm's running statistics are
    restored at the end.

    Returns:
        ``[(parameter name, passed, max relative error), ...]``.
    """
    params = list(model.parameters())
    names = {}
    if hasattr(model, "named_parameters"):
        names = {id(p): n for n, p in model.named_parameters()}
    buffers = {}
    if hasattr(model, "named_buffers"):
        buffers = {n: np.array(b, copy=True) for n, b in model.named_buffers()}
    rng_state = np.random.get_state()

    for p in params:
        if p.grad is not None:
            p.zero_grad()
    np.random.set_state(rng_state)
    loss = loss_fn(model(sample_input), sample_target)
    loss.backward()
    analytical = [np.array(p.grad, dtype=np.float64, copy=True) if p.grad is not None else None for p in params]

    shadows = {id(p): Tensor(np.array(p.data, dtype=np.float64), dtype=np.float64) for p in params}
    originals = {id(s): p for p in params for s in [shadows[id(p)]]}
    results: List[Tuple[str, bool, float]] = []
    _swap_tensors(model, shadows)
    try:
        with _Float64():
            for i, p in enumerate(params):
                shadow = shadows[id(p)]
                name = names.get(id(p), f"param_{i}")
                if analytical[i] is None:
                    results.append((name, False, float("nan")))
                    continue

                def loss_value(_arr: np.ndarray) -> float:
                    np.random.set_state(rng_state)
                    return _scalar(loss_fn(model(sample_input), sample_target), "check_all_gradients")

                numerical = numerical_gradient(loss_value, shadow.data, eps)
                a = analytical[i]
                diff = np.abs(a - numerical)
                max_error = float(np.max(diff / (np.abs(a) + np.abs(numerical) + 1e-8))) if diff.size else 0.0
                results.append((name, bool(np.allclose(a, numerical, atol=atol, rtol=rtol)), max_error))
    finally:
        _swap_tensors(model, originals)
        np.random.set_state(rng_state)
        if buffers and hasattr(model, "load_state_dict"):
            from .layers import _buffer_owners

            for name, (module, attr) in _buffer_owners(model).items():
                if name in buffers:
                    old = getattr(module, attr)
                    if isinstance(old, np.ndarray):
                        old[...] = buffers[name]
                    else:
                        setattr(module, attr, buffers[name].item() if buffers[name].ndim == 0 else buffers[name])
    return results


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------

class DataLoader:
    """
    Batches of a data set, as NumPy arrays.

    Iterating yields ``(X_batch, y_batch)``: ``X`` as float32, ``y`` as given
    (integer labels stay integers). With ``shuffle=True`` the order changes
    every epoch, drawn with ``np.random.shuffle`` (so ``set_seed`` fixes it).

    Args:
        X: inputs, an array (or list, or Tensor) with samples along axis 0.
        y: targets, the same number of samples.
        batch_size: samples per batch (default 32); the last batch may be
            smaller unless ``drop_last=True``.
        shuffle: reshuffle every epoch (default True).
        drop_last: drop a last incomplete batch (default False).

    ``len(loader)`` is the number of batches, ``ceil(n / batch_size)``.
    """

    def __init__(self, X: Any, y: Any, batch_size: int = 32, shuffle: bool = True, drop_last: bool = False) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got {batch_size!r}")
        self.X = np.array(X.data if isinstance(X, Tensor) else X, dtype=np.float32)
        self.y = np.array(y.data if isinstance(y, Tensor) else y)
        if self.X.ndim == 0 or self.y.ndim == 0:
            raise ValueError("DataLoader: X and y must have a sample axis (axis 0)")
        if len(self.X) != len(self.y):
            raise ValueError(f"DataLoader: X has {len(self.X)} samples but y has {len(self.y)}")
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.n_samples = len(self.X)

    def __iter__(self) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
        indices = np.arange(self.n_samples)
        if self.shuffle:
            np.random.shuffle(indices)
        stop = self.n_samples
        if self.drop_last:
            stop -= self.n_samples % self.batch_size
        for start in range(0, stop, self.batch_size):
            batch = indices[start:start + self.batch_size]
            yield self.X[batch], self.y[batch]

    def __len__(self) -> int:
        if self.drop_last:
            return self.n_samples // self.batch_size
        return (self.n_samples + self.batch_size - 1) // self.batch_size

    def __repr__(self) -> str:
        return (f"DataLoader(n_samples={self.n_samples}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle})")


def one_hot(labels: Any, num_classes: Optional[int] = None) -> np.ndarray:
    """
    One-hot rows for integer class labels.

    Args:
        labels: class indices, shape ``(N,)`` (array, list or Tensor).
        num_classes: number of classes (default: largest label + 1).

    Returns:
        float32 array ``(N, num_classes)``.
    """
    arr = np.asarray(labels.data if isinstance(labels, Tensor) else labels)
    if arr.size and not np.all(arr == np.floor(arr)):
        raise ValueError("one_hot: labels must be whole numbers")
    idx = arr.astype(np.int64).reshape(-1)
    if num_classes is None:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        raise ValueError(f"one_hot: labels must be in [0, {num_classes}), got {int(idx.min())}..{int(idx.max())}")
    out = np.zeros((idx.size, int(num_classes)), dtype=np.float32)
    out[np.arange(idx.size), idx] = 1.0
    return out.reshape(arr.shape + (int(num_classes),)) if arr.ndim != 1 else out


def normalize(X: np.ndarray, mean: Optional[np.ndarray] = None,
              std: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """
    Standardise features to zero mean and unit variance (per column).

    Pass the ``mean`` and ``std`` returned for the training set to normalise
    the test set the same way. Columns with zero spread are divided by 1.

    Returns:
        ``(X_normalized, mean, std)``.
    """
    X = np.asarray(X.data if isinstance(X, Tensor) else X)
    if mean is None:
        mean = X.mean(axis=0)
    if std is None:
        std = X.std(axis=0)
        std = np.where(std == 0, 1, std)
    return (X - mean) / std, mean, std


def train_test_split(X: Any, y: Any, test_size: Union[float, int] = 0.2, shuffle: bool = True,
                     random_state: Optional[int] = None) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """
    Split arrays into training and test parts.

    Args:
        X, y: arrays with the same number of samples.
        test_size: fraction of samples in the test part (0 < f < 1), or a
            number of samples.
        shuffle: shuffle before splitting (default True).
        random_state: seed for the shuffle; it uses its own generator, so
            NumPy's global state is left alone. Without it the global
            generator shuffles.

    Returns:
        ``(X_train, X_test, y_train, y_test)``.
    """
    X = np.asarray(X.data if isinstance(X, Tensor) else X)
    y = np.asarray(y.data if isinstance(y, Tensor) else y)
    n = len(X)
    if len(y) != n:
        raise ValueError(f"train_test_split: X has {n} samples but y has {len(y)}")
    if isinstance(test_size, numbers.Integral) and not isinstance(test_size, bool):
        if not 0 <= test_size <= n:
            raise ValueError(f"train_test_split: test_size must be in [0, {n}], got {test_size}")
        split = n - int(test_size)
    elif isinstance(test_size, numbers.Real) and 0.0 < float(test_size) < 1.0:
        split = int(n * (1 - float(test_size)))
    else:
        raise ValueError(f"train_test_split: test_size must be a fraction in (0, 1) or a count, got {test_size!r}")
    indices = np.arange(n)
    if shuffle:
        if random_state is not None:
            np.random.RandomState(random_state).shuffle(indices)
        else:
            np.random.shuffle(indices)
    train_idx, test_idx = indices[:split], indices[split:]
    return X[train_idx], X[test_idx], y[train_idx], y[test_idx]


# ---------------------------------------------------------------------------
# MNIST
# ---------------------------------------------------------------------------

_MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def _read_idx(path: Path, magic: int) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:
        raise ValueError(f"load_mnist: cannot read {path}: {exc}") from exc
    if len(raw) < 8:
        raise ValueError(f"load_mnist: {path} is too short to be an IDX file")
    found = int.from_bytes(raw[:4], "big")
    if found != magic:
        raise ValueError(f"load_mnist: {path} is not an MNIST {'image' if magic == 2051 else 'label'} file "
                         f"(magic number {found}, expected {magic})")
    ndim = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    count = int(np.prod(dims))
    if len(raw) - offset != count:
        raise ValueError(f"load_mnist: {path} holds {len(raw) - offset} bytes of data, expected {count}")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims)


def _mnist_candidates(root: Optional[Union[str, "os.PathLike[str]"]]) -> List[Path]:
    if root is not None:
        base = Path(root).expanduser().resolve()
        return [base / "data", base / "data" / "mnist", base]
    cwd = Path.cwd().resolve()
    out: List[Path] = []
    for d in [cwd] + list(cwd.parents):
        out.extend([d / "data", d / "data" / "mnist"])
    return out


def load_mnist(root: Optional[Union[str, "os.PathLike[str]"]] = None,
               flatten: bool = True) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """
    Read MNIST from local files with the official names.

    Looks for ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (each gzipped,
    ``.gz``, or not) in ``<root>/data/`` (also ``<root>/data/mnist/`` and
    ``<root>`` itself). The 10,000-image training subset shipped in this
    project's ``data/mnist/`` (``train-10k-*``) is accepted too. Without ``root``, every folder from the current one
    up to the file-system root is tried as ``<root>``, nearest first; the
    first folder holding all four files is used. Nothing is downloaded.

    Args:
        root: the folder whose ``data/`` holds the files (default: search
            upwards from the current directory).
        flatten: images as rows of 784 values (default) or as 28x28.

    Returns:
        ``(X_train, X_test, y_train, y_test)``: images float32 in [0, 1],
        labels int32, as the course's notebooks build them.

    Raises:
        FileNotFoundError: naming every missing file and the folders searched.
    """
    candidates = _mnist_candidates(root)
    best: Optional[Tuple[Path, List[str]]] = None
    for folder in candidates:
        if not folder.is_dir():
            continue
        found, missing = {}, []
        for name in _MNIST_FILES:
            # Also the 10,000-image training subset this project ships (train-10k-*).
            alt = name.replace("train-", "train-10k-", 1) if name.startswith("train-") else None
            names = (name + ".gz", name) + ((alt + ".gz", alt) if alt else ())
            for fname in names:
                if (folder / fname).is_file():
                    found[name] = folder / fname
                    break
            else:
                missing.append(name)
        if not missing:
            X_train = _read_idx(found[_MNIST_FILES[0]], 2051)
            y_train = _read_idx(found[_MNIST_FILES[1]], 2049)
            X_test = _read_idx(found[_MNIST_FILES[2]], 2051)
            y_test = _read_idx(found[_MNIST_FILES[3]], 2049)
            if len(X_train) != len(y_train) or len(X_test) != len(y_test):
                raise ValueError(f"load_mnist: image and label counts differ in {folder}")

            def prep(images: np.ndarray) -> np.ndarray:
                images = images.astype(np.float32) / 255.0
                return images.reshape(len(images), -1) if flatten else images

            return prep(X_train), prep(X_test), y_train.astype(np.int32), y_test.astype(np.int32)
        if len(missing) < len(_MNIST_FILES) and best is None:
            best = (folder, missing)
    searched = "\n  ".join(str(c) for c in candidates)
    if best is not None:
        folder, missing = best
        names = ", ".join(f"{m}(.gz)" for m in missing)
        raise FileNotFoundError(f"load_mnist: {folder} has some MNIST files but is missing: {names}. "
                                f"Folders searched:\n  {searched}")
    names = ", ".join(f"{m}(.gz)" for m in _MNIST_FILES)
    raise FileNotFoundError(f"load_mnist: MNIST files not found: {names}. Place them in <root>/data/. "
                            f"Folders searched:\n  {searched}")


# ---------------------------------------------------------------------------
# Progress and plots
# ---------------------------------------------------------------------------

class ProgressBar:
    """
    A text progress bar for loops, in a terminal or a Jupyter notebook
    (it redraws one line with ``\\r``; no tqdm needed).

    Args:
        total: number of steps (an int), or an iterable to wrap (its length
            is the total; iterate over the bar to advance it).
        prefix: text before the bar.
        length: width of the bar in characters.
        ascii: draw with ``#`` and ``-`` instead of block characters.

    Example:
        >>> bar = ProgressBar(100, prefix='Epoch 1')
        >>> for i in range(100):
        ...     bar.update(i + 1, suffix=f'loss {0.5:.3f}')
        >>> bar.finish()
    """

    def __init__(self, total: Union[int, Iterable[Any]], prefix: str = "", length: int = 30, ascii: bool = False) -> None:
        self._iterable: Optional[Iterable[Any]] = None
        if not isinstance(total, numbers.Integral):
            self._iterable = total
            try:
                total = len(total)  # type: ignore[arg-type]
            except TypeError:
                raise TypeError("ProgressBar: total must be an int or an iterable with a length") from None
        if isinstance(total, bool) or int(total) < 0:
            raise ValueError(f"ProgressBar: total must be >= 0, got {total!r}")
        self.total = int(total)
        self.prefix = prefix
        self.length = max(1, int(length))
        self.current = 0
        self.fill_char = "#" if ascii else "\u2588"
        self.empty_char = "-" if ascii else "\u2591"
        self._start = time.perf_counter()
        self._finished = False
        self._width = 0

    def update(self, current: int, suffix: str = "") -> None:
        """Redraw the bar at step ``current`` (of ``total``), with ``suffix`` after it."""
        self.current = current
        frac = 1.0 if self.total == 0 else min(max(current / self.total, 0.0), 1.0)
        filled = int(self.length * frac)
        bar = self.fill_char * filled + self.empty_char * (self.length - filled)
        elapsed = time.perf_counter() - self._start
        text = f"{self.prefix} |{bar}| {frac:.0%} {current}/{self.total} [{elapsed:.1f}s] {suffix}".rstrip()
        # Pad over the previous line's tail when this one is shorter.
        pad = " " * max(0, self._width - len(text))
        self._width = len(text)
        sys.stdout.write("\r" + text + pad)
        sys.stdout.flush()

    def finish(self) -> None:
        """Draw the full bar and end the line."""
        if not self._finished:
            self.update(self.total)
            sys.stdout.write("\n")
            sys.stdout.flush()
            self._finished = True

    def __iter__(self) -> Iterator[Any]:
        if self._iterable is None:
            raise TypeError("ProgressBar: iterate over a bar made from an iterable, ProgressBar(items)")
        self.update(0)
        for i, item in enumerate(self._iterable, 1):
            yield item
            self.update(i)
        self.finish()

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.finish()


def plot_training_history(history: Dict[str, Sequence[float]], figsize: Tuple[int, int] = (12, 4),
                          save_path: Optional[str] = None) -> Any:
    """
    Plot loss and accuracy curves from a history dict.

    Keys read: ``train_loss``, ``val_loss``, ``test_loss`` (left panel) and
    ``train_acc``, ``val_acc``, ``test_acc`` (right panel); missing keys are
    skipped. Needs matplotlib (imported only when called).

    Args:
        history: lists of per-epoch values.
        figsize: figure size in inches.
        save_path: also save the figure there.

    Returns:
        The matplotlib Figure (None if matplotlib is not installed).
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        print("plot_training_history: matplotlib is not installed (pip install matplotlib)")
        return None
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, 2, figsize=figsize)
    panels = (
        (axes[0], "Loss", (("train_loss", "Train loss"), ("val_loss", "Val loss"), ("test_loss", "Test loss"))),
        (axes[1], "Accuracy", (("train_acc", "Train acc"), ("val_acc", "Val acc"), ("test_acc", "Test acc"))),
    )
    for ax, title, series in panels:
        for key, label in series:
            if key in history:
                values = list(history[key])
                ax.plot(range(1, len(values) + 1), values, marker="o" if len(values) < 30 else None, label=label)
        ax.set_xlabel("Epoch")
        ax.set_ylabel(title)
        ax.set_title(title)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        if ax.lines:
            ax.legend()
    fig.tight_layout()
    if save_path:
        fig.savefig(save_path)
    import matplotlib

    if "agg" not in matplotlib.get_backend().lower() or "inline" in matplotlib.get_backend().lower():
        plt.show()
    return fig


class GraphvizDot(str):
    """
    Graphviz DOT text of a computation graph. In Jupyter it displays as a
    picture when the ``graphviz`` Python package (and its ``dot`` program) is
    installed; otherwise it is plain text (paste it into any DOT viewer).
    """

    def _repr_svg_(self) -> Optional[str]:
        try:
            import graphviz  # type: ignore

            return graphviz.Source(str(self)).pipe(format="svg").decode("utf-8")
        except Exception:
            pass
        try:  # no Python package: Graphviz's `dot` program, if installed
            from .value import Graph

            return Graph(str(self))._repr_svg_()
        except Exception:
            return None

    def __repr__(self) -> str:
        return str(self)


def _dot_label(t: Any) -> str:
    shape = tuple(getattr(t, "shape", ()))
    parts = [f"shape {shape}"]
    try:
        if getattr(t, "size", 2) == 1:
            parts.append(f"data {float(np.asarray(t.data).reshape(())):.4g}")
            if t.grad is not None:
                parts.append(f"grad {float(np.asarray(t.grad).reshape(())):.4g}")
    except Exception:
        pass
    return "\\n".join(parts)


def visualize_computation_graph(tensor: Tensor, filename: Optional[str] = None, format: str = "png",
                                view: bool = False) -> GraphvizDot:
    """
    Draw the computation graph that produced ``tensor``.

    Walks the graph backwards through each tensor's ``_prev`` (its inputs)
    and ``_op`` (the op that made it) and returns it as Graphviz DOT text,
    which Jupyter shows as a picture when the ``graphviz`` package is
    installed. With ``filename``, the picture is also rendered to
    ``filename.<format>`` (needs the ``graphviz`` package and program).

    Args:
        tensor: the output (e.g. the loss).
        filename: optional file name (without extension) to render to.
        format: picture format for ``filename`` (default ``png``).
        view: open the rendered file in a viewer.

    Returns:
        The DOT text (a ``str``).
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"visualize_computation_graph: expected a Tensor, got {type(tensor).__name__}")
    nodes: Dict[int, Any] = {}
    order: List[int] = []
    edges: List[Tuple[int, int]] = []
    stack = [tensor]
    while stack:
        t = stack.pop()
        key = id(t)
        if key in nodes:
            continue
        nodes[key] = t
        order.append(key)
        for parent in list(getattr(t, "_prev", ()) or ()):
            edges.append((id(parent), key))
            if id(parent) not in nodes:
                stack.append(parent)
    lines = ["digraph computation {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    for key in order:
        t = nodes[key]
        lines.append(f'  t{key} [shape=box, label="{_dot_label(t)}"];')
        op = getattr(t, "_op", "") or ""
        if op:
            lines.append(f'  op{key} [shape=ellipse, label="{op}"];')
            lines.append(f"  op{key} -> t{key};")
    for src, dst in edges:
        op = getattr(nodes[dst], "_op", "") or ""
        lines.append(f"  t{src} -> {'op' if op else 't'}{dst};")
    lines.append("}")
    dot = GraphvizDot("\n".join(lines))
    if filename is not None:
        try:
            import graphviz  # type: ignore
        except ImportError:
            graphviz = None
        try:
            if graphviz is not None:
                graphviz.Source(str(dot)).render(filename, format=format, view=view, cleanup=True)
            else:
                from .value import Graph

                Graph(str(dot)).render(f"{filename}.{format}", format)
        except Exception as exc:  # Graphviz's `dot` program may be missing
            print(f"visualize_computation_graph: could not render {filename}.{format} ({exc}); "
                  "install Graphviz (e.g. apt-get install graphviz, pip install graphviz)")
    return dot


# ---------------------------------------------------------------------------
# Notebook housekeeping
# ---------------------------------------------------------------------------

_COMMON_TRAINING_NAMES = (
    "model", "X_train", "X_test", "y_train", "y_test", "X_tensor", "y_tensor",
    "train_loader", "test_loader", "optimizer", "loss_fn", "history", "X_train_subset",
    "y_train_subset", "X_train_norm", "X_test_norm", "train_loss", "test_loss", "logits",
    "predictions",
)


def cleanup_notebook(namespace: Optional[Dict[str, Any]] = None) -> None:
    """
    Free the memory a notebook holds, as its last cell: ``cleanup_notebook(globals())``.

    Deletes from ``namespace`` every Tensor, Module, loss, optimizer and
    DataLoader bound to a public name, and the usual training variables
    (``model``, ``X_train``, ``history``, ...); then runs the garbage
    collector and prints "Cleanup complete!". With no namespace it only
    collects garbage.
    """
    from .layers import Module
    from .losses import Loss
    from .optimizers import LRScheduler, Optimizer

    if namespace is not None:
        if not isinstance(namespace, dict):
            raise TypeError(f"cleanup_notebook: namespace must be a dict such as globals(), got {type(namespace).__name__}")
        kinds = (Tensor, Module, Loss, Optimizer, LRScheduler, DataLoader)
        for name in list(namespace):
            if name.startswith("_"):
                continue
            value = namespace[name]
            if isinstance(value, type):
                continue
            if name in _COMMON_TRAINING_NAMES or isinstance(value, kinds):
                try:
                    del namespace[name]
                except KeyError:
                    pass
    gc.collect()
    print("Cleanup complete!")
