"""
Building and training models: the :class:`Sequential` container and the
training helpers.

Example:
    >>> from micrograd_plus import Sequential, Linear, ReLU, CrossEntropyLoss, Adam
    >>> from micrograd_plus.nn import train_epoch, evaluate, accuracy
    >>> from micrograd_plus.utils import DataLoader
    >>> model = Sequential(Linear(784, 256), ReLU(), Linear(256, 10))
    >>> loss_fn, optimizer = CrossEntropyLoss(), Adam(model.parameters(), lr=1e-3)
    >>> for epoch in range(10):
    ...     train_loss = train_epoch(model, train_loader, loss_fn, optimizer)
    ...     val_loss, metrics = evaluate(model, val_loader, loss_fn, metrics=[accuracy])
"""

from __future__ import annotations

import os
import re
import tempfile
from collections import OrderedDict
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core
from .layers import Module, _named_parameters
from .tensor import Tensor

__all__ = [
    "Sequential",
    "train_epoch",
    "evaluate",
    "accuracy",
    "count_parameters",
    "save_model",
    "load_model",
]


class Sequential(Module):
    """
    A chain of layers, applied in order.

    The container keeps the very objects you pass (``model[0] is linear1``),
    in the list ``model.layers``. ``parameters()`` returns the layers'
    parameters in layer order; ``train()`` and ``eval()`` reach every layer.

    Example:
        >>> model = Sequential(Linear(784, 256), ReLU(), Dropout(0.2), Linear(256, 10))
        >>> y = model(Tensor(np.random.randn(32, 784)))   # (32, 10)
        >>> len(model), model[0]
        (4, Linear(in_features=784, out_features=256, bias=True))
    """

    def __init__(self, *layers: Any) -> None:
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            raise TypeError("Sequential: pass the layers as separate arguments, Sequential(*layers), "
                            "not as one list")
        for i, layer in enumerate(layers):
            self._check_layer(layer, i)
        self.layers: List[Any] = list(layers)

    @staticmethod
    def _check_layer(layer: Any, index: Any) -> None:
        if not callable(layer):
            raise TypeError(f"Sequential: layer {index} must be a Module (or a callable), got {type(layer).__name__}")

    def forward(self, x: Any) -> Any:
        """Pass ``x`` through every layer in turn."""
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self) -> List[Tensor]:
        """The parameters of every layer, in layer order (each once)."""
        params: List[Tensor] = []
        seen = set()
        for layer in self.layers:
            get = getattr(layer, "parameters", None)
            if get is None:
                continue
            for p in get():
                if id(p) not in seen:
                    seen.add(id(p))
                    params.append(p)
        return params

    def named_parameters(self, prefix: str = "") -> Iterator[Tuple[str, Tensor]]:
        """(name, Tensor) like PyTorch's: ``"0.weight"``, ``"0.bias"``, ``"2.weight"``, ..."""
        out = []
        seen: set = set()
        for i, layer in enumerate(self.layers):
            if isinstance(layer, Module):
                out.extend(_named_parameters(layer, f"{prefix}{i}.", seen, {id(self)}))
            elif hasattr(layer, "parameters"):
                for j, p in enumerate(layer.parameters()):
                    if id(p) not in seen:
                        seen.add(id(p))
                        out.append((f"{prefix}{i}.param{j}", p))
        return iter(out)

    def named_children(self) -> Iterator[Tuple[str, Module]]:
        """(index as a string, layer) for the layers that are Modules."""
        for i, layer in enumerate(self.layers):
            if isinstance(layer, Module) and layer is not self:
                yield str(i), layer

    def train(self, mode: bool = True) -> "Sequential":
        """Set training (or, with ``mode=False``, evaluation) mode on every layer."""
        if not isinstance(mode, (bool, np.bool_)):
            raise ValueError(f"Sequential.train: mode must be True or False, got {mode!r}")
        self.training = bool(mode)
        for layer in self.layers:
            if layer is not self and hasattr(layer, "train") and callable(layer.train):
                layer.train(bool(mode))
        return self

    def add(self, layer: Any) -> "Sequential":
        """Append a layer at the end. Returns the container."""
        self._check_layer(layer, len(self.layers))
        self.layers.append(layer)
        return self

    append = add

    def __getitem__(self, idx: Union[int, slice]) -> Any:
        """The layer at ``idx``, or a Sequential of the layers in a slice."""
        if isinstance(idx, slice):
            return Sequential(*self.layers[idx])
        return self.layers[idx]

    def __len__(self) -> int:
        """The number of layers."""
        return len(self.layers)

    def __iter__(self) -> Iterator[Any]:
        """Iterate over the layers."""
        return iter(self.layers)

    def __repr__(self) -> str:
        lines = ["Sequential("]
        for i, layer in enumerate(self.layers):
            lines.append(f"  ({i}): " + repr(layer).replace("\n", "\n  "))
        lines.append(")")
        return "\n".join(lines)


# ---------------------------------------------------------------------------
# Training helpers
# ---------------------------------------------------------------------------

def _batch_tensors(inputs: Any, targets: Any, requires_grad: bool) -> Tuple[Any, Any]:
    if not isinstance(inputs, Tensor):
        inputs = Tensor(inputs, requires_grad=requires_grad)
    if not isinstance(targets, Tensor):
        targets = Tensor(np.asarray(targets))
    return inputs, targets


def train_epoch(model: Module, dataloader: Any, loss_fn: Callable, optimizer: Any, verbose: bool = False) -> float:
    """
    Train ``model`` for one pass over ``dataloader``.

    For each batch ``(inputs, targets)`` (NumPy arrays or Tensors): zero the
    gradients, compute ``loss_fn(model(inputs), targets)``, backpropagate and
    call ``optimizer.step()``. The model is put in training mode first.

    Args:
        model: the model (any callable Module).
        dataloader: an iterable of ``(inputs, targets)`` batches, e.g.
            :class:`~micrograd_plus.utils.DataLoader`.
        loss_fn: the loss, e.g. ``CrossEntropyLoss()``.
        optimizer: the optimizer of ``model.parameters()``.
        verbose: print the loss every 10 batches.

    Returns:
        The mean of the batch losses (0.0 for an empty loader).
    """
    model.train()
    total, batches = 0.0, 0
    for batch_idx, (inputs, targets) in enumerate(dataloader):
        inputs, targets = _batch_tensors(inputs, targets, requires_grad=False)
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        value = loss.item()
        total += value
        batches += 1
        if verbose and batch_idx % 10 == 0:
            print(f"  Batch {batch_idx}: Loss = {value:.4f}")
    return total / batches if batches else 0.0


def evaluate(model: Module, dataloader: Any, loss_fn: Callable,
             metrics: Optional[Sequence[Callable]] = None) -> Tuple[float, Dict[str, Any]]:
    """
    Evaluate ``model`` on ``dataloader`` without recording a graph.

    The model is put in evaluation mode (and left there, as in the course).

    Args:
        model: the model.
        dataloader: an iterable of ``(inputs, targets)`` batches.
        loss_fn: the loss.
        metrics: functions ``metric(predictions, targets)`` of NumPy arrays
            (all batches concatenated), e.g. :func:`accuracy`.

    Returns:
        ``(mean batch loss, {metric name: value})``.
    """
    model.eval()
    total, batches = 0.0, 0
    preds: List[np.ndarray] = []
    targs: List[np.ndarray] = []
    previous = _core.set_grad_enabled(False)
    try:
        for inputs, targets in dataloader:
            inputs, targets_t = _batch_tensors(inputs, targets, requires_grad=False)
            outputs = model(inputs)
            total += loss_fn(outputs, targets_t).item()
            batches += 1
            if metrics:
                preds.append(np.array(outputs.data, copy=True))
                targs.append(np.asarray(targets.data if isinstance(targets, Tensor) else targets).copy())
    finally:
        _core.set_grad_enabled(previous)
    results: Dict[str, Any] = {}
    if metrics:
        all_preds = np.concatenate(preds, axis=0) if preds else np.zeros((0,))
        all_targs = np.concatenate(targs, axis=0) if targs else np.zeros((0,))
        for metric in metrics:
            name = getattr(metric, "__name__", None) or type(metric).__name__
            results[name] = metric(all_preds, all_targs)
    return (total / batches if batches else 0.0), results


def accuracy(predictions: Any, targets: Any) -> float:
    """
    Fraction of correct classifications.

    Args:
        predictions: class scores ``(N, C)`` (the arg-max is taken) or class
            indices ``(N,)``; a Tensor or an array.
        targets: class indices ``(N,)`` or one-hot rows ``(N, C)``.

    Returns:
        A float in [0, 1].
    """
    p = np.asarray(predictions.data if isinstance(predictions, Tensor) else predictions)
    t = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
    p = np.argmax(p, axis=1) if p.ndim == 2 else p
    t = np.argmax(t, axis=1) if t.ndim == 2 else t
    if p.shape != t.shape:
        raise ValueError(f"accuracy: {p.shape[0] if p.ndim else 1} predictions but targets of shape {t.shape}")
    if p.size == 0:
        return 0.0
    return float(np.mean(p == t))


def count_parameters(model: Module) -> int:
    """The number of trainable values (elements of the parameters) in ``model``."""
    return int(sum(p.size for p in model.parameters() if p.requires_grad))


# ---------------------------------------------------------------------------
# Saving and loading
# ---------------------------------------------------------------------------

def _npz_path(path: Union[str, "os.PathLike[str]"]) -> str:
    path = os.fspath(path)
    return path if path.endswith(".npz") else path + ".npz"


def _model_state(model: Module) -> "OrderedDict[str, np.ndarray]":
    if hasattr(model, "state_dict"):
        return model.state_dict()
    return OrderedDict((f"param_{i}", np.array(p.data, copy=True)) for i, p in enumerate(model.parameters()))


def save_model(model: Module, path: Union[str, "os.PathLike[str]"]) -> str:
    """
    Save the model's parameters (and buffers such as BatchNorm's running
    statistics) to a NumPy ``.npz`` file, by name (``"0.weight"``, ...).

    The file is written atomically: to a temporary file in the same folder,
    then renamed over ``path``, so an interrupted save never leaves a broken
    file. As with ``np.savez``, ``.npz`` is appended when missing.

    Returns:
        The path written.
    """
    final = _npz_path(path)
    state = _model_state(model)
    folder = os.path.dirname(os.path.abspath(final))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **state)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return final


def load_model(model: Module, path: Union[str, "os.PathLike[str]"], strict: bool = True) -> Module:
    """
    Load parameters (and buffers) saved by :func:`save_model` into ``model``,
    in place.

    Names and shapes are checked: a missing, unexpected or differently shaped
    parameter raises ValueError naming the file and the parameter (with
    ``strict=False`` missing and unexpected names are skipped). Files in the
    course's format (``param_0``, ``param_1``, ...) load by position.

    Returns:
        The model.
    """
    p = os.fspath(path)
    if not os.path.exists(p) and os.path.exists(p + ".npz"):
        p = p + ".npz"
    if not os.path.exists(p):
        raise FileNotFoundError(f"load_model: no such file: {p}")
    try:
        with np.load(p, allow_pickle=False) as f:
            state = {k: f[k] for k in f.files}
    except Exception as exc:
        raise ValueError(f"load_model: {p} is not a model file saved by save_model ({exc})") from exc
    names = list(state)
    if names and all(re.fullmatch(r"param_\d+", k) for k in names):
        # The course's format: parameters by position.
        params = list(model.parameters())
        if len(names) != len(params):
            raise ValueError(f"load_model: {p} holds {len(names)} parameters, the model has {len(params)}")
        for i, param in enumerate(params):
            value = state[f"param_{i}"] if f"param_{i}" in state else None
            if value is None:
                raise ValueError(f"load_model: {p} has no parameter 'param_{i}'")
            if tuple(value.shape) != tuple(param.shape):
                raise ValueError(f"load_model: parameter 'param_{i}' has shape {tuple(value.shape)} in {p}, "
                                 f"but the model's is {tuple(param.shape)}")
        for i, param in enumerate(params):
            param.data = state[f"param_{i}"]
        return model
    if hasattr(model, "load_state_dict"):
        model.load_state_dict(state, strict=strict, source=f"load_model: {p}")
    else:  # pragma: no cover - non-Module models
        raise TypeError(f"load_model: expected a Module, got {type(model).__name__}")
    return model
