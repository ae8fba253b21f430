"""
Neural-network layers for MicroGrad+.

Every layer is a :class:`Module`: call it on a :class:`~micrograd_plus.Tensor`
and it returns a Tensor whose graph reaches back to the layer's parameters, so
``loss.backward()`` fills ``layer.weight.grad``.

The layers follow the course's conventions (``Linear`` keeps its weight as
``(in_features, out_features)`` and computes ``x @ W + b``; initial weights and
dropout masks are drawn from NumPy's global generator, so ``set_seed(42)``
reproduces the course's runs) and PyTorch's behaviour where the course is
silent or wrong (``BatchNorm``'s running variance, ``Flatten(start_dim)``).

Example:
    >>> import numpy as np
    >>> from micrograd_plus import Tensor, Linear, ReLU
    >>> layer = Linear(10, 5)
    >>> h = ReLU()(layer(Tensor(np.random.randn(3, 10))))
    >>> h.shape
    (3, 5)
"""

from __future__ import annotations

import math
import numbers
from collections import OrderedDict
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

import numpy as np

from . import _core
from .tensor import Tensor

__all__ = [
    "Module",
    "Linear",
    "ReLU",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "LogSoftmax",
    "Flatten",
    "Dropout",
    "BatchNorm",
    "LayerNorm",
    "Embedding",
]


# ---------------------------------------------------------------------------
# helpers shared by the layers (and by nn.py / utils.py)
# ---------------------------------------------------------------------------

def _to_tensor(x: Any, who: str) -> Tensor:
    """``x`` as a Tensor: Tensors pass through, arrays and lists are wrapped."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (np.ndarray, list, tuple, numbers.Number, np.generic)):
        return Tensor(x)
    raise TypeError(f"{who}: expected a Tensor (or an array or list), got {type(x).__name__}")


def _check_int(value: Any, who: str, name: str, minimum: int = 1) -> int:
    """``value`` as an int >= minimum, or a ValueError/TypeError naming it."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral,)):
        raise TypeError(f"{who}: {name} must be an integer, got {value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{who}: {name} must be an integer >= {minimum}, got {value}")
    return value


def _check_float(value: Any, who: str, name: str) -> float:
    """``value`` as a finite float, or a TypeError/ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{who}: {name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{who}: {name} must be finite, got {value}")
    return value


def _children_of(value: Any) -> Iterator[Tuple[str, Any]]:
    """(name, item) for the items of a list, tuple or dict attribute."""
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield str(i), item
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key), item


def _is_overridden(obj: Any, name: str) -> bool:
    """Whether ``type(obj)`` redefines the Module method ``name``."""
    return getattr(type(obj), name, None) is not getattr(Module, name)


# ---------------------------------------------------------------------------
# Module
# ---------------------------------------------------------------------------

class Module:
    """
    Base class for layers and models.

    Subclass it the way the course and PyTorch do::

        class MLP(Module):
            def __init__(self):
                super().__init__()
                self.fc1 = Linear(4, 8)
                self.fc2 = Linear(8, 2)

            def forward(self, x):
                return self.fc2(self.fc1(x).relu())

    Parameters are found automatically: :meth:`parameters` returns every
    Tensor with ``requires_grad=True`` held in an attribute, in a list, tuple
    or dict attribute, or in a child Module, in the order the attributes were
    first assigned (each Tensor once). A subclass may override
    :meth:`parameters` instead, as the course's own subclasses do.

    :meth:`train` and :meth:`eval` set ``training`` on the module and on every
    child Module found the same way. Calling the module calls :meth:`forward`
    with all its arguments.
    """

    # Names of NumPy-array attributes that are state but not parameters
    # (saved by save_model / state_dict, e.g. BatchNorm's running statistics).
    _buffer_names: Tuple[str, ...] = ()

    def __init__(self) -> None:
        self._training = True

    # -- training mode -------------------------------------------------------
    @property
    def training(self) -> bool:
        """True in training mode (the default), False after :meth:`eval`."""
        return self.__dict__.get("_training", True)

    @training.setter
    def training(self, mode: bool) -> None:
        self.__dict__["_training"] = bool(mode)

    def train(self, mode: bool = True) -> "Module":
        """
        Set training mode (``mode=True``) or evaluation mode (``mode=False``)
        on this module and all its child modules. Returns ``self``.
        """
        if not isinstance(mode, (bool, np.bool_)):
            raise ValueError(f"{type(self).__name__}.train: mode must be True or False, got {mode!r}")
        self.training = bool(mode)
        for child in self.children():
            child.train(bool(mode))
        return self

    def eval(self) -> "Module":
        """Set evaluation mode (same as ``train(False)``). Returns ``self``."""
        return self.train(False)

    # -- calling -------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Compute the module's output. Subclasses must implement it."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call :meth:`forward` with the same arguments."""
        return self.forward(*args, **kwargs)

    # -- structure -----------------------------------------------------------
    def children(self) -> Iterator["Module"]:
        """The direct child modules (in attributes, lists, tuples, dicts), once each."""
        seen = set()
        for _, child in self.named_children():
            if id(child) not in seen:
                seen.add(id(child))
                yield child

    def named_children(self) -> Iterator[Tuple[str, "Module"]]:
        """(attribute name, child module) for the direct child modules."""
        for name, value in list(vars(self).items()):
            if isinstance(value, Module):
                if value is not self:
                    yield name, value
            else:
                for key, item in _children_of(value):
                    if isinstance(item, Module) and item is not self:
                        yield f"{name}.{key}", item

    def modules(self) -> Iterator["Module"]:
        """This module and all modules below it, depth first, once each."""
        seen = set()
        stack = [self]
        out = []
        while stack:
            m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            out.append(m)
            stack.extend(reversed(list(m.children())))
        return iter(out)

    # -- parameters ----------------------------------------------------------
    def _walk_parameters(self, prefix: str, seen: set, visiting: set) -> Iterator[Tuple[str, Tensor]]:
        """Parameters found by walking attributes (the default rule)."""
        if id(self) in visiting:
            return
        visiting.add(id(self))
        for name, value in list(vars(self).items()):
            yield from _walk_value(value, prefix + name, seen, visiting)
        visiting.discard(id(self))

    def named_parameters(self, prefix: str = "") -> Iterator[Tuple[str, Tensor]]:
        """
        (name, Tensor) for every parameter, named like PyTorch's
        (``"fc1.weight"``, ``"layers.0.bias"``). The order is that of
        :meth:`parameters`.
        """
        return iter(list(_named_parameters(self, prefix, set(), set(), check_named=False)))

    def parameters(self) -> List[Tensor]:
        """
        Every trainable Tensor (``requires_grad=True``) of this module and
        its children, each once, in attribute order.
        """
        return [p for _, p in self._walk_parameters("", set(), set())]

    def zero_grad(self) -> None:
        """Set the gradient of every parameter to zeros."""
        for p in self.parameters():
            p.zero_grad()

    # -- state ---------------------------------------------------------------
    def named_buffers(self, prefix: str = "") -> Iterator[Tuple[str, np.ndarray]]:
        """(name, array) for the non-parameter state (e.g. BatchNorm's running statistics)."""
        out = []
        seen = set()

        def visit(module: "Module", pre: str) -> None:
            if id(module) in seen:
                return
            seen.add(id(module))
            for bname in type(module)._buffer_names:
                value = getattr(module, bname, None)
                if value is not None:
                    out.append((pre + bname, value))
            for cname, child in module.named_children():
                visit(child, pre + cname + ".")

        visit(self, prefix)
        return iter(out)

    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """
        Copies of every parameter's data and every buffer, by name: what
        :func:`~micrograd_plus.nn.save_model` writes.
        """
        state: "OrderedDict[str, np.ndarray]" = OrderedDict()
        for name, p in self.named_parameters():
            state[name] = np.array(p.data, copy=True)
        for name, b in self.named_buffers():
            state[name] = np.array(b, copy=True)
        return state

    def load_state_dict(self, state: Dict[str, Any], strict: bool = True, source: str = "state_dict") -> None:
        """
        Copy values from ``state`` (as made by :meth:`state_dict`) into the
        parameters and buffers, in place. With ``strict=True`` the names
        must match exactly; shapes must always match. Raises ValueError
        naming ``source`` and the offending parameter.
        """
        params = OrderedDict(self.named_parameters())
        buffers = OrderedDict(self.named_buffers())
        expected = list(params) + [b for b in buffers if b not in params]
        missing = [k for k in expected if k not in state]
        unexpected = [k for k in state if k not in params and k not in buffers]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append("missing " + ", ".join(repr(k) for k in missing))
            if unexpected:
                parts.append("unexpected " + ", ".join(repr(k) for k in unexpected))
            raise ValueError(f"{source}: parameters do not match the model ({'; '.join(parts)})")
        for name, p in params.items():
            if name not in state:
                continue
            value = np.asarray(state[name])
            if tuple(value.shape) != tuple(p.shape):
                raise ValueError(
                    f"{source}: parameter {name!r} has shape {tuple(value.shape)} in the file, "
                    f"but the model's is {tuple(p.shape)}"
                )
        for name, b in buffers.items():
            if name in state and np.shape(state[name]) != np.shape(b):
                raise ValueError(
                    f"{source}: buffer {name!r} has shape {np.shape(state[name])} in the file, "
                    f"but the model's is {np.shape(b)}"
                )
        for name, p in params.items():
            if name in state:
                p.data = np.asarray(state[name])
        owners = _buffer_owners(self)
        for name in buffers:
            if name in state:
                module, attr = owners[name]
                old = getattr(module, attr)
                new = np.array(state[name], dtype=np.asarray(old).dtype, copy=True)
                if isinstance(old, np.ndarray) and old.shape == new.shape:
                    old[...] = new
                else:
                    setattr(module, attr, new if new.ndim else new.item())

    # -- printing ------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text inside the parentheses of ``repr(module)``; override it."""
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        extra = self.extra_repr()
        if not children:
            return f"{type(self).__name__}({extra})"
        lines = [f"{type(self).__name__}(" + (extra if extra else "")]
        if extra:
            lines[0] += ","
        for name, child in children:
            child_repr = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child_repr}")
        lines.append(")")
        return "\n".join(lines)


def _walk_value(value: Any, name: str, seen: set, visiting: set) -> Iterator[Tuple[str, Tensor]]:
    """Parameters inside one attribute value (a Tensor, a Module, a container)."""
    if isinstance(value, Tensor):
        if value.requires_grad and id(value) not in seen:
            seen.add(id(value))
            yield name, value
    elif isinstance(value, Module):
        yield from _named_parameters(value, name + ".", seen, visiting)
    elif isinstance(value, (list, tuple, dict)):
        for key, item in _children_of(value):
            yield from _walk_value(item, f"{name}.{key}", seen, visiting)


def _named_parameters(
    module: Module, prefix: str, seen: set, visiting: set, check_named: bool = True
) -> Iterator[Tuple[str, Tensor]]:
    """Named parameters of ``module``, honouring an overridden ``parameters()``."""
    if id(module) in visiting:
        return
    if check_named and _is_overridden(module, "named_parameters"):
        for name, p in module.named_parameters():
            if id(p) not in seen:
                seen.add(id(p))
                yield prefix + name, p
        return
    if _is_overridden(module, "parameters"):
        # The subclass's list is authoritative; name its entries by where the
        # attribute walk finds them, and fall back to their position.
        names = {id(p): n for n, p in module._walk_parameters("", set(), set())}
        for i, p in enumerate(module.parameters()):
            if not isinstance(p, Tensor) or id(p) in seen:
                continue
            seen.add(id(p))
            yield prefix + names.get(id(p), f"param{i}"), p
        return
    yield from module._walk_parameters(prefix, seen, visiting)


def _buffer_owners(module: Module) -> Dict[str, Tuple[Module, str]]:
    """name -> (module, attribute) for every buffer, matching named_buffers()."""
    owners: Dict[str, Tuple[Module, str]] = {}
    seen = set()

    def visit(m: Module, pre: str) -> None:
        if id(m) in seen:
            return
        seen.add(id(m))
        for bname in type(m)._buffer_names:
            if getattr(m, bname, None) is not None:
                owners[pre + bname] = (m, bname)
        for cname, child in m.named_children():
            visit(child, pre + cname + ".")

    visit(module, "")
    return owners


# ---------------------------------------------------------------------------
# Linear
# ---------------------------------------------------------------------------

class Linear(Module):
    """
    Fully connected layer: ``y = x @ W + b``.

    Args:
        in_features: size of each input's last dimension.
        out_features: size of each output's last dimension.
        bias: whether to add a learnable bias (default True).

    Attributes:
        weight: Tensor of shape ``(in_features, out_features)`` (the course's
            layout; PyTorch stores the transpose), initialised Xavier-normal
            from NumPy's global generator:
            ``np.random.randn(in, out) * sqrt(2 / (in + out))``.
        bias: Tensor of shape ``(out_features,)``, zeros, or None.

    The input may have any number of leading dimensions: ``(..., in_features)``
    gives ``(..., out_features)``.

    Example:
        >>> layer = Linear(784, 256)
        >>> y = layer(Tensor(np.random.randn(32, 784)))   # (32, 256)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.in_features = _check_int(in_features, "Linear", "in_features")
        self.out_features = _check_int(out_features, "Linear", "out_features")
        # Xavier/Glorot normal, drawn exactly as the course draws it (one
        # randn of shape (in, out) from NumPy's global generator).
        scale = np.sqrt(2.0 / (self.in_features + self.out_features))
        w = np.random.randn(self.in_features, self.out_features).astype(np.float32) * scale
        self.weight = Tensor(w, requires_grad=True)
        if bias:
            self.bias: Optional[Tensor] = Tensor(np.zeros(self.out_features, dtype=np.float32), requires_grad=True)
        else:
            self.bias = None

    def forward(self, x: Tensor) -> Tensor:
        """``x @ weight + bias`` for ``x`` of shape ``(..., in_features)``."""
        x = _to_tensor(x, "Linear")
        shape = x.shape
        if len(shape) == 0 or shape[-1] != self.in_features:
            raise ValueError(
                f"Linear: expected input of shape (..., {self.in_features}), got shape {tuple(shape)}"
            )
        out = x @ self.weight
        if self.bias is not None:
            out = out + self.bias
        return out

    def parameters(self) -> List[Tensor]:
        """``[weight, bias]``, or ``[weight]`` without bias."""
        if self.bias is not None:
            return [self.weight, self.bias]
        return [self.weight]

    def __repr__(self) -> str:
        return (
            f"Linear(in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None})"
        )


# ---------------------------------------------------------------------------
# Activations and reshaping layers (no parameters, no `weight` attribute)
# ---------------------------------------------------------------------------

class ReLU(Module):
    """Rectified linear unit, ``max(0, x)`` elementwise. Gradient 0 at x <= 0."""

    def forward(self, x: Tensor) -> Tensor:
        """Apply ReLU."""
        return _to_tensor(x, "ReLU").relu()

    def __repr__(self) -> str:
        return "ReLU()"


class Sigmoid(Module):
    """Logistic sigmoid, ``1 / (1 + exp(-x))`` elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        """Apply the sigmoid."""
        return _to_tensor(x, "Sigmoid").sigmoid()

    def __repr__(self) -> str:
        return "Sigmoid()"


class Tanh(Module):
    """Hyperbolic tangent elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        """Apply tanh."""
        return _to_tensor(x, "Tanh").tanh()

    def __repr__(self) -> str:
        return "Tanh()"


def _check_axis(axis: Any, who: str) -> int:
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"{who}: axis must be an integer, got {axis!r}")
    return int(axis)


class Softmax(Module):
    """
    Softmax along ``axis`` (default the last): non-negative values that sum
    to 1 along that axis. ``dim=`` is accepted as PyTorch's name for ``axis``.
    """

    def __init__(self, axis: int = -1, dim: Optional[int] = None) -> None:
        super().__init__()
        self.axis = _check_axis(axis if dim is None else dim, "Softmax")

    def forward(self, x: Tensor) -> Tensor:
        """Apply softmax along ``self.axis``."""
        return _to_tensor(x, "Softmax").softmax(axis=self.axis)

    def __repr__(self) -> str:
        return f"Softmax(axis={self.axis})"


class LogSoftmax(Module):
    """
    ``log(softmax(x))`` along ``axis`` (default the last), computed stably.
    Pair it with :class:`~micrograd_plus.NLLLoss`.
    """

    def __init__(self, axis: int = -1, dim: Optional[int] = None) -> None:
        super().__init__()
        self.axis = _check_axis(axis if dim is None else dim, "LogSoftmax")

    def forward(self, x: Tensor) -> Tensor:
        """Apply log-softmax along ``self.axis``."""
        return _to_tensor(x, "LogSoftmax").log_softmax(axis=self.axis)

    def __repr__(self) -> str:
        return f"LogSoftmax(axis={self.axis})"


class Flatten(Module):
    """
    Flatten dimensions ``start_dim`` to ``end_dim`` (inclusive) into one, as
    PyTorch's ``nn.Flatten``: by default every dimension but the first (the
    batch), so ``(32, 3, 28, 28)`` becomes ``(32, 2352)``.
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = _check_axis(start_dim, "Flatten")
        self.end_dim = _check_axis(end_dim, "Flatten")

    def forward(self, x: Tensor) -> Tensor:
        """Reshape ``x`` with the chosen dimensions merged."""
        x = _to_tensor(x, "Flatten")
        shape = tuple(x.shape)
        nd = len(shape)
        if nd == 0:
            return x.reshape(1)
        start = self.start_dim + nd if self.start_dim < 0 else self.start_dim
        end = self.end_dim + nd if self.end_dim < 0 else self.end_dim
        if not (0 <= start < nd) or not (0 <= end < nd) or start > end:
            raise ValueError(
                f"Flatten: start_dim={self.start_dim}, end_dim={self.end_dim} do not fit an input "
                f"of shape {shape}"
            )
        merged = 1
        for d in shape[start:end + 1]:
            merged *= d
        new_shape = shape[:start] + (merged,) + shape[end + 1:]
        if new_shape == shape:
            return x
        return x.reshape(*new_shape)

    def __repr__(self) -> str:
        if self.end_dim == -1:
            return f"Flatten(start_dim={self.start_dim})"
        return f"Flatten(start_dim={self.start_dim}, end_dim={self.end_dim})"


# ---------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------

class Dropout(Module):
    """
    Inverted dropout.

    In training mode each element is kept when ``np.random.rand(*x.shape) > p``
    (NumPy's global generator, as in the course) and kept values are scaled by
    exactly ``1 / (1 - p)``; the mask is multiplied in with an engine op, so
    gradients flow through it. In evaluation mode (or with ``p == 0``) the
    input is returned unchanged.

    Args:
        p: probability of dropping an element, ``0 <= p < 1`` (default 0.5).
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, numbers.Real):
            raise TypeError(f"Dropout: p must be a number in [0, 1), got {p!r}")
        if not (0.0 <= float(p) < 1.0):
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        """Drop and rescale in training mode; identity in evaluation mode."""
        x = _to_tensor(x, "Dropout")
        if not self.training or self.p == 0:
            return x
        # The engine draws NumPy's own numbers from its global generator
        # (several times faster than np.random.rand), unless a program has
        # swapped that generator for another kind.
        out = _core.dropout_numpy(x, float(self.p))
        if out is not None:
            return out
        dtype = np.dtype(x.dtype)
        keep = np.random.rand(*x.shape) > self.p
        mask = np.asarray(keep, dtype=dtype) * dtype.type(1.0 / (1.0 - self.p))
        return x * Tensor(mask, dtype=dtype)

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"


# ---------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------

class _AffineNames:
    """``weight``/``bias``: PyTorch's names for a norm layer's ``gamma``/``beta``."""

    @property
    def weight(self) -> Tensor:
        """PyTorch's name for ``gamma``."""
        return self.gamma

    @weight.setter
    def weight(self, value: Tensor) -> None:
        self.gamma = value

    @property
    def bias(self) -> Tensor:
        """PyTorch's name for ``beta``."""
        return self.beta

    @bias.setter
    def bias(self, value: Tensor) -> None:
        self.beta = value


class BatchNorm(_AffineNames, Module):
    """
    Batch normalisation over the channel axis 1, like PyTorch's
    ``BatchNorm1d`` (inputs ``(N, C)`` or ``(N, C, L)``) and ``BatchNorm2d``
    (``(N, C, H, W)``).

    Training mode normalises with the batch mean and biased variance (with
    engine ops, so gradients reach the input, ``gamma`` and ``beta``) and
    updates the running statistics with ``momentum``; the running variance
    uses the unbiased batch variance, as PyTorch does. Evaluation mode
    normalises with the running statistics.

    Args:
        num_features: number of channels C.
        eps: added to the variance (default 1e-5).
        momentum: weight of the new batch in the running statistics
            (default 0.1); None keeps a cumulative average, as in PyTorch.

    Attributes:
        gamma, beta: learnable scale (ones) and shift (zeros), shape (C,);
            also reachable as ``weight`` and ``bias``.
        running_mean, running_var: NumPy arrays (zeros and ones at start).
        num_batches_tracked: number of training batches seen.
    """

    _buffer_names = ("running_mean", "running_var", "num_batches_tracked")

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1) -> None:
        super().__init__()
        self.num_features = _check_int(num_features, "BatchNorm", "num_features")
        self.eps = _check_float(eps, "BatchNorm", "eps")
        if self.eps < 0:
            raise ValueError(f"BatchNorm: eps must be >= 0, got {eps}")
        if momentum is not None:
            m = _check_float(momentum, "BatchNorm", "momentum")
            if not 0.0 <= m <= 1.0:
                raise ValueError(f"BatchNorm: momentum must be in [0, 1] or None, got {momentum}")
        self.momentum = momentum
        self.gamma = Tensor(np.ones(self.num_features, dtype=np.float32), requires_grad=True)
        self.beta = Tensor(np.zeros(self.num_features, dtype=np.float32), requires_grad=True)
        self.running_mean = np.zeros(self.num_features, dtype=np.float32)
        self.running_var = np.ones(self.num_features, dtype=np.float32)
        self.num_batches_tracked = 0

    def forward(self, x: Tensor) -> Tensor:
        """Normalise ``x`` of shape (N, C, ...) per channel."""
        x = _to_tensor(x, "BatchNorm")
        shape = tuple(x.shape)
        if len(shape) < 2 or shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm: expected input of shape (N, {self.num_features}) or "
                f"(N, {self.num_features}, ...), got shape {shape}"
            )
        nd = len(shape)
        axes = (0,) + tuple(range(2, nd))
        bshape = (1, self.num_features) + (1,) * (nd - 2)
        if nd == 2:
            gamma, beta = self.gamma, self.beta
        else:
            gamma, beta = self.gamma.reshape(*bshape), self.beta.reshape(*bshape)

        if self.training:
            n = 1
            for a in axes:
                n *= shape[a]
            if n <= 1:
                raise ValueError(
                    f"BatchNorm: expected more than 1 value per channel when training, got input shape {shape}"
                )
            mean = x.mean(axis=axes, keepdims=True)
            centered = x - mean
            var = (centered * centered).mean(axis=axes, keepdims=True)
            x_hat = centered / (var + self.eps).sqrt()
            # Running statistics (outside the graph), PyTorch's rule.
            batch_mean = np.asarray(mean.data, dtype=np.float64).reshape(self.num_features)
            batch_var = np.asarray(var.data, dtype=np.float64).reshape(self.num_features) * (n / (n - 1))
            self.num_batches_tracked += 1
            factor = (1.0 / self.num_batches_tracked) if self.momentum is None else float(self.momentum)
            self.running_mean[...] = (1.0 - factor) * self.running_mean + factor * batch_mean
            self.running_var[...] = (1.0 - factor) * self.running_var + factor * batch_var
        else:
            dtype = np.dtype(x.dtype)
            mean = Tensor(self.running_mean.reshape(bshape).astype(dtype), dtype=dtype)
            inv_std = Tensor((1.0 / np.sqrt(self.running_var.astype(np.float64) + self.eps)).reshape(bshape).astype(dtype), dtype=dtype)
            x_hat = (x - mean) * inv_std
        return x_hat * gamma + beta

    def parameters(self) -> List[Tensor]:
        """``[gamma, beta]``."""
        return [self.gamma, self.beta]

    def __repr__(self) -> str:
        return f"BatchNorm(num_features={self.num_features}, eps={self.eps}, momentum={self.momentum})"


class LayerNorm(_AffineNames, Module):
    """
    Layer normalisation over the trailing dimensions ``normalized_shape``
    (an int for the last dimension, or a tuple), with biased variance and a
    learnable elementwise scale ``gamma`` (ones) and shift ``beta`` (zeros),
    also reachable as ``weight`` and ``bias``.

    Example:
        >>> ln = LayerNorm(256)
        >>> y = ln(Tensor(np.random.randn(32, 10, 256)))   # each row mean 0, var 1
    """

    def __init__(self, normalized_shape: Union[int, Tuple[int, ...]], eps: float = 1e-5) -> None:
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral) and not isinstance(normalized_shape, bool):
            dims: Tuple[int, ...] = (_check_int(normalized_shape, "LayerNorm", "normalized_shape"),)
        elif isinstance(normalized_shape, (tuple, list)) and len(normalized_shape) > 0:
            dims = tuple(_check_int(d, "LayerNorm", "normalized_shape") for d in normalized_shape)
            normalized_shape = dims
        else:
            raise TypeError(
                f"LayerNorm: normalized_shape must be a positive int or a non-empty tuple of them, "
                f"got {normalized_shape!r}"
            )
        self.normalized_shape = normalized_shape
        self._dims = dims
        self.eps = _check_float(eps, "LayerNorm", "eps")
        if self.eps < 0:
            raise ValueError(f"LayerNorm: eps must be >= 0, got {eps}")
        self.gamma = Tensor(np.ones(dims, dtype=np.float32), requires_grad=True)
        self.beta = Tensor(np.zeros(dims, dtype=np.float32), requires_grad=True)

    def forward(self, x: Tensor) -> Tensor:
        """Normalise each sample over its trailing ``normalized_shape`` dimensions."""
        x = _to_tensor(x, "LayerNorm")
        shape = tuple(x.shape)
        k = len(self._dims)
        if len(shape) < k or shape[-k:] != self._dims:
            raise ValueError(
                f"LayerNorm: expected input of shape (..., {', '.join(map(str, self._dims))}), got shape {shape}"
            )
        axes = tuple(range(len(shape) - k, len(shape)))
        mean = x.mean(axis=axes, keepdims=True)
        centered = x - mean
        var = (centered * centered).mean(axis=axes, keepdims=True)
        x_hat = centered / (var + self.eps).sqrt()
        return x_hat * self.gamma + self.beta

    def parameters(self) -> List[Tensor]:
        """``[gamma, beta]``."""
        return [self.gamma, self.beta]

    def __repr__(self) -> str:
        return f"LayerNorm(normalized_shape={self.normalized_shape}, eps={self.eps})"


# ---------------------------------------------------------------------------
# Embedding
# ---------------------------------------------------------------------------

class Embedding(Module):
    """
    A lookup table of ``num_embeddings`` vectors of size ``embedding_dim``.

    Indices (a Tensor, array or list of integers, any shape) give an output
    of shape ``(*indices.shape, embedding_dim)``. The lookup is an engine
    indexing op on ``weight``: gradients reach the rows used, accumulating
    for repeated indices, and writes to ``weight.data`` are seen by the next
    lookup.

    Attributes:
        weight: Tensor ``(num_embeddings, embedding_dim)``, initialised
            ``np.random.randn(...) * 0.02`` from NumPy's global generator.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int) -> None:
        super().__init__()
        self.num_embeddings = _check_int(num_embeddings, "Embedding", "num_embeddings")
        self.embedding_dim = _check_int(embedding_dim, "Embedding", "embedding_dim")
        w = np.random.randn(self.num_embeddings, self.embedding_dim).astype(np.float32) * 0.02
        self.weight = Tensor(w, requires_grad=True)

    def forward(self, x: Any) -> Tensor:
        """Rows of ``weight`` for the indices in ``x``."""
        if isinstance(x, Tensor):
            idx = np.asarray(x.data)
        else:
            try:
                idx = np.asarray(x)
            except Exception as exc:  # pragma: no cover - exotic inputs
                raise TypeError(f"Embedding: expected integer indices, got {type(x).__name__}") from exc
        if not (np.issubdtype(idx.dtype, np.integer) or np.issubdtype(idx.dtype, np.floating)):
            raise TypeError(f"Embedding: expected integer indices, got an array of {idx.dtype}")
        if np.issubdtype(idx.dtype, np.floating):
            if idx.size and not np.all(np.isfinite(idx) & (idx == np.floor(idx))):
                raise ValueError("Embedding: indices must be whole numbers")
        idx = idx.astype(np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_embeddings):
            bad = idx[(idx < 0) | (idx >= self.num_embeddings)].flat[0]
            raise ValueError(
                f"Embedding: index {int(bad)} is out of range for {self.num_embeddings} embeddings"
            )
        return self.weight[idx]

    def parameters(self) -> List[Tensor]:
        """``[weight]``."""
        return [self.weight]

    def __repr__(self) -> str:
        return f"Embedding(num_embeddings={self.num_embeddings}, embedding_dim={self.embedding_dim})"
