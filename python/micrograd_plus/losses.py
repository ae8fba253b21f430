"""
Loss functions for MicroGrad+.

A loss is called like a function, ``loss_fn(predictions, targets)``, and
returns a Tensor: a scalar with ``reduction='mean'`` (the default) or
``'sum'``, one value per element (per sample for the classification losses)
with ``reduction='none'``. Calling ``.backward()`` on it sends gradients to
the predictions.

Targets may be Tensors, NumPy arrays or lists. Class-index targets
(:class:`CrossEntropyLoss`, :class:`NLLLoss`) may be integer arrays or the
float Tensors the course builds (``Tensor([0, 2, 1])``).

The numerics and gradients are PyTorch's (the course's Huber and
BCE-with-logits gradients are wrong; see the package README).

Example:
    >>> from micrograd_plus import Tensor, CrossEntropyLoss
    >>> logits = Tensor([[2.0, 1.0, 0.1], [0.5, 2.0, 0.3]], requires_grad=True)
    >>> loss = CrossEntropyLoss()(logits, [0, 1])
    >>> loss.backward()
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any, Optional

import numpy as np

from . import _core
from .layers import _to_tensor
from .tensor import Tensor

__all__ = [
    "Loss",
    "MSELoss",
    "L1Loss",
    "HuberLoss",
    "SmoothL1Loss",
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "NLLLoss",
]

_REDUCTIONS = ("mean", "sum", "none")


def _as_target(y: Any, who: str) -> Tensor:
    if isinstance(y, Tensor):
        return y
    if isinstance(y, (np.ndarray, list, tuple, numbers.Number, np.generic)):
        return Tensor(np.asarray(y))
    raise TypeError(f"{who}: targets must be a Tensor, an array or a list, got {type(y).__name__}")


def _reduce(values: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    return values


def _float_param(value: Any, who: str, name: str, positive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{who}: {name} must be a number, got {value!r}")
    value = float(value)
    if not np.isfinite(value) or (positive and value <= 0):
        raise ValueError(f"{who}: {name} must be a finite number > 0, got {value}")
    return value


class Loss:
    """
    Base class of the loss functions.

    Args:
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``; stored as
            ``self.reduction``.

    Subclass it and implement :meth:`forward`; calling the loss calls
    ``forward`` with all its arguments, so a loss may take any number of
    inputs (e.g. a contrastive loss of ``(a, b, label)``)::

        class MyLoss(Loss):
            def __init__(self, reduction='mean'):
                super().__init__(reduction)
            def forward(self, pred, target):
                return ((pred - target) ** 4).mean()
    """

    def __init__(self, reduction: str = "mean") -> None:
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f"{type(self).__name__}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}"
            )
        self.reduction = reduction

    def forward(self, *args: Any, **kwargs: Any) -> Tensor:
        """Compute the loss. Subclasses must implement it."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Tensor:
        """Call :meth:`forward` with the same arguments."""
        return self.forward(*args, **kwargs)

    def _reduction(self) -> str:
        reduction = getattr(self, "reduction", "mean")
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f"{type(self).__name__}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}"
            )
        return reduction

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reduction='{getattr(self, 'reduction', 'mean')}')"


class MSELoss(Loss):
    """
    Mean squared error, ``mean((pred - target) ** 2)``.

    The target broadcasts against the predictions as in the course (and as
    NumPy would); when the shapes differ a warning is shown, as PyTorch does,
    because ``(N, 1)`` against ``(N,)`` silently becomes ``(N, N)``.

    Args:
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
    """

    def forward(self, pred: Tensor, target: Any) -> Tensor:
        """The squared error of ``pred`` against ``target``, reduced."""
        pred = _to_tensor(pred, "MSELoss")
        target = _as_target(target, "MSELoss")
        if tuple(pred.shape) != tuple(target.shape):
            warnings.warn(
                f"MSELoss: target shape {tuple(target.shape)} differs from the predictions' "
                f"{tuple(pred.shape)}; they are broadcast together, which may not be what you want",
                UserWarning,
                stacklevel=3,
            )
        diff = pred - target
        return _reduce(diff ** 2, self._reduction())


def _same_shape_target(pred: Tensor, target: Tensor, who: str) -> Tensor:
    """``target`` with ``pred``'s shape (broadcast if it is a constant), or a ValueError."""
    ps, ts = tuple(pred.shape), tuple(target.shape)
    if ps == ts:
        return target
    try:
        broadcast = np.broadcast_shapes(ps, ts)
    except ValueError:
        broadcast = None
    if broadcast == ps and not target.requires_grad:
        return Tensor(np.broadcast_to(np.asarray(target.data), ps).copy(), dtype=np.dtype(target.dtype))
    raise ValueError(f"{who}: target shape {ts} does not match the predictions' shape {ps}")


class _CoreLoss(Loss):
    """A loss computed by the engine's loss of the same name (PyTorch numerics)."""

    _kind = ""

    def _delta(self) -> float:
        return 1.0

    def _check(self, pred: Tensor, target: Tensor) -> None:
        """Extra argument checks of a subclass."""

    def forward(self, pred: Tensor, target: Any) -> Tensor:
        """The loss of ``pred`` against ``target``, reduced."""
        who = type(self).__name__
        pred = _to_tensor(pred, who)
        target = _same_shape_target(pred, _as_target(target, who), who)
        self._check(pred, target)
        return _core.loss(self._kind, pred, target, self._reduction(), self._delta())


class L1Loss(_CoreLoss):
    """Mean absolute error, ``mean(|pred - target|)`` (gradient 0 where they are equal)."""

    _kind = "l1"


class HuberLoss(_CoreLoss):
    """
    Huber loss: ``0.5 * d**2`` where ``|d| < delta``, else
    ``delta * (|d| - 0.5 * delta)``, with ``d = pred - target``.

    Args:
        delta: where the quadratic part becomes linear (default 1.0, > 0).
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    The gradient is ``d`` inside and ``delta * sign(d)`` outside (the
    course's applies the local derivative twice).
    """

    _kind = "huber"

    def __init__(self, delta: float = 1.0, reduction: str = "mean") -> None:
        if isinstance(delta, str):  # PyTorch's order: HuberLoss('sum', delta=...)
            delta, reduction = 1.0 if reduction == "mean" else reduction, delta
        super().__init__(reduction)
        self.delta = _float_param(delta, "HuberLoss", "delta")

    def _delta(self) -> float:
        return float(self.delta)

    def __repr__(self) -> str:
        return f"HuberLoss(delta={self.delta}, reduction='{self.reduction}')"


class SmoothL1Loss(_CoreLoss):
    """
    PyTorch's smooth L1 loss: ``0.5 * d**2 / beta`` where ``|d| < beta``,
    else ``|d| - 0.5 * beta`` (Huber divided by ``beta``).

    Args:
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
        beta: the threshold (default 1.0, > 0).
    """

    _kind = "smooth_l1"

    def __init__(self, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(reduction)
        self.beta = _float_param(beta, "SmoothL1Loss", "beta")

    def _delta(self) -> float:
        return float(self.beta)

    def __repr__(self) -> str:
        return f"SmoothL1Loss(reduction='{self.reduction}', beta={self.beta})"


class BCELoss(_CoreLoss):
    """
    Binary cross-entropy of probabilities (after a sigmoid) against targets
    in [0, 1]: ``-(t * log(p) + (1 - t) * log(1 - p))``, with each log
    clamped at -100 as PyTorch does. For raw scores use
    :class:`BCEWithLogitsLoss`.
    """

    _kind = "bce"

    def _check(self, pred: Tensor, target: Tensor) -> None:
        data = np.asarray(pred.data)
        if data.size and not np.all((data >= 0) & (data <= 1)):
            raise ValueError("BCELoss: the predictions must be probabilities in [0, 1] (apply a sigmoid first, "
                             "or use BCEWithLogitsLoss on raw scores)")


class BCEWithLogitsLoss(_CoreLoss):
    """
    Binary cross-entropy on raw scores (logits), with the sigmoid built in,
    computed stably: ``max(x, 0) - x * t + log(1 + exp(-|x|))``. The gradient
    is ``sigmoid(x) - t`` everywhere, including at ``x = 0``.
    """

    _kind = "bce_with_logits"


def _class_indices(targets: Any, n_classes: int, who: str, ignore_index: Optional[int] = None) -> np.ndarray:
    """Class-index targets as an int64 array, checked to be whole and in range."""
    arr = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
    if arr.dtype == np.bool_ or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"{who}: targets must be class indices (integers), got an array of {arr.dtype}")
    if np.issubdtype(arr.dtype, np.floating):
        if arr.size and not np.all(np.isfinite(arr) & (arr == np.floor(arr))):
            raise ValueError(f"{who}: targets must be whole class indices, got non-integer values")
    idx = arr.astype(np.int64)
    valid = idx if ignore_index is None else idx[idx != ignore_index]
    if valid.size and (valid.min() < 0 or valid.max() >= n_classes):
        bad = valid[(valid < 0) | (valid >= n_classes)].flat[0]
        raise ValueError(f"{who}: target class {int(bad)} is out of range for {n_classes} classes")
    return idx


class NLLLoss(Loss):
    """
    Negative log-likelihood of log-probabilities ``(N, C)`` (the output of
    :class:`~micrograd_plus.LogSoftmax`) against class indices ``(N,)``:
    ``-log_probs[i, target[i]]``, reduced.
    """

    def forward(self, log_probs: Tensor, targets: Any) -> Tensor:
        """The NLL of ``log_probs`` against ``targets``, reduced."""
        log_probs = _to_tensor(log_probs, "NLLLoss")
        shape = tuple(log_probs.shape)
        if len(shape) != 2:
            raise ValueError(f"NLLLoss: expected log-probabilities of shape (N, C), got shape {shape}")
        idx = _class_indices(targets, shape[1], "NLLLoss")
        if idx.shape != (shape[0],):
            raise ValueError(
                f"NLLLoss: expected targets of shape ({shape[0]},) for inputs of shape {shape}, got shape {idx.shape}"
            )
        dtype = np.dtype(log_probs.dtype)
        return _core.loss("nll", log_probs, Tensor(idx.astype(dtype), dtype=dtype), self._reduction(), 1.0)


class CrossEntropyLoss(Loss):
    """
    Cross-entropy of raw scores (logits) against class indices, with the
    softmax built in: ``-log(softmax(logits)[target])``.

    Inputs: logits ``(N, C)`` with targets ``(N,)``; logits ``(C,)`` with a
    single target; or logits ``(N, C, d1, ...)`` with targets
    ``(N, d1, ...)``, as in PyTorch. Targets are class indices (an int array,
    a list, or a float Tensor of whole numbers); targets of the same shape as
    the logits are taken as class probabilities.

    Args:
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.
        weight: optional per-class weights (length C), as in PyTorch.
        ignore_index: targets equal to it add nothing (default -100).
        label_smoothing: in [0, 1), mixes the target with the uniform
            distribution (default 0).
    """

    def __init__(
        self,
        reduction: str = "mean",
        weight: Any = None,
        ignore_index: int = -100,
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(reduction)
        if weight is not None:
            w = np.asarray(weight.data if isinstance(weight, Tensor) else weight, dtype=np.float64)
            if w.ndim != 1:
                raise ValueError(f"CrossEntropyLoss: weight must be 1-D (one per class), got shape {w.shape}")
            weight = w
        self.weight = weight
        if isinstance(ignore_index, bool) or not isinstance(ignore_index, numbers.Integral):
            raise TypeError(f"CrossEntropyLoss: ignore_index must be an integer, got {ignore_index!r}")
        self.ignore_index = int(ignore_index)
        if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, numbers.Real) \
                or not 0.0 <= float(label_smoothing) < 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1), got {label_smoothing!r}")
        self.label_smoothing = float(label_smoothing)

    def forward(self, logits: Tensor, targets: Any) -> Tensor:
        """The cross-entropy of ``logits`` against ``targets``, reduced."""
        fast = self._plain_2d(logits, targets)
        if fast is not None:
            return fast
        who = "CrossEntropyLoss"
        reduction = self._reduction()
        logits = _to_tensor(logits, who)
        shape = tuple(logits.shape)
        if len(shape) == 0:
            raise ValueError(f"{who}: expected logits of shape (N, C) or (C,), got a scalar")
        tshape = tuple(np.shape(targets.data if isinstance(targets, Tensor) else targets))

        # Class probabilities: float targets of the logits' own shape.
        if tshape == shape and self._looks_like_probabilities(targets):
            return self._soft_targets(logits, targets, reduction)

        # One sample: (C,) logits and a scalar target.
        if len(shape) == 1:
            out = self.forward_2d(logits.reshape(1, shape[0]), np.reshape(self._target_array(targets), (1,)), reduction)
            return out.reshape() if reduction == "none" else out

        n, c = shape[0], shape[1]
        expected = (n,) + shape[2:]
        if tshape != expected:
            raise ValueError(f"{who}: expected targets of shape {expected} for logits of shape {shape}, got shape {tshape}")
        if len(shape) == 2:
            return self.forward_2d(logits, targets, reduction)
        # (N, C, d1, ...): move the class axis last and flatten.
        perm = (0,) + tuple(range(2, len(shape))) + (1,)
        flat = logits.transpose(*perm).reshape(-1, c)
        t = np.reshape(self._target_array(targets), (-1,))
        out = self.forward_2d(flat, t, reduction)
        return out.reshape(*expected) if reduction == "none" else out

    def _plain_2d(self, logits: Any, targets: Any) -> Optional[Tensor]:
        """The common call, in one engine call: (N, C) logits, N class indices
        (a Tensor or an integer array), no class weights or smoothing. The
        engine checks the indices (ignoring -100, as PyTorch); None when the
        call is not this one or the engine refuses it, so that the general
        path below handles it and words its error."""
        if (self.weight is not None or self.label_smoothing != 0.0 or self.ignore_index != -100
                or not isinstance(logits, Tensor)):
            return None
        if isinstance(targets, Tensor):
            targets = targets.data
        elif not (isinstance(targets, np.ndarray) and targets.dtype.kind in "iu"):
            return None
        shape = logits.shape
        if len(shape) != 2 or targets.shape != (shape[0],):
            return None
        try:
            return _core.cross_entropy(logits, targets, self._reduction())
        except (ValueError, IndexError):
            return None

    @staticmethod
    def _target_array(targets: Any) -> np.ndarray:
        return np.asarray(targets.data if isinstance(targets, Tensor) else targets)

    def _looks_like_probabilities(self, targets: Any) -> bool:
        arr = self._target_array(targets)
        return np.issubdtype(arr.dtype, np.floating)

    def forward_2d(self, logits: Tensor, targets: Any, reduction: str) -> Tensor:
        """Cross-entropy of (N, C) logits against (N,) class indices."""
        who = "CrossEntropyLoss"
        n, c = tuple(logits.shape)
        plain = self.weight is None and self.label_smoothing == 0.0
        idx = _class_indices(targets, c, who, self.ignore_index)
        if plain and not (idx == self.ignore_index).any():
            return _core.cross_entropy(logits, idx, reduction)
        # General form (class weights, ignore_index, label smoothing), PyTorch's definition:
        # loss_i = -sum_c q_ic * log_softmax(x)_ic, mean divided by the total weight of the targets.
        w = np.ones(c) if self.weight is None else self.weight
        if w.shape != (c,):
            raise ValueError(f"{who}: weight has {w.shape[0]} entries but the logits have {c} classes")
        valid = idx != self.ignore_index
        rows = np.nonzero(valid)[0]
        safe = np.where(valid, idx, 0)
        ls = self.label_smoothing
        q = np.zeros((n, c))
        q[rows, safe[rows]] += (1.0 - ls) * w[safe[rows]]
        if ls:
            q[rows, :] += (ls / c) * w[None, :]
        dtype = np.dtype(logits.dtype)
        per_sample = -(logits.log_softmax(axis=1) * Tensor(q.astype(dtype), dtype=dtype)).sum(axis=1)
        if reduction == "none":
            return per_sample
        total = per_sample.sum()
        if reduction == "sum":
            return total
        denom = float(w[safe[rows]].sum())
        return total / denom if denom != 0 else total * float("nan")

    def _soft_targets(self, logits: Tensor, targets: Any, reduction: str) -> Tensor:
        """Cross-entropy against class probabilities of the logits' shape."""
        shape = tuple(logits.shape)
        axis = 0 if len(shape) == 1 else 1
        c = shape[axis]
        p = np.asarray(self._target_array(targets), dtype=np.float64)
        if self.label_smoothing:
            p = p * (1.0 - self.label_smoothing) + self.label_smoothing / c
        if self.weight is not None:
            if self.weight.shape != (c,):
                raise ValueError(f"CrossEntropyLoss: weight has {self.weight.shape[0]} entries but the logits have {c} classes")
            wshape = [1] * len(shape)
            wshape[axis] = c
            p = p * self.weight.reshape(wshape)
        dtype = np.dtype(logits.dtype)
        per_sample = -(logits.log_softmax(axis=axis) * Tensor(p.astype(dtype), dtype=dtype)).sum(axis=axis)
        if reduction == "none":
            return per_sample
        total = per_sample.sum()
        if reduction == "sum":
            return total
        n = shape[0] if len(shape) > 1 else 1
        for d in shape[2:]:
            n *= d
        return total / float(n)

    def __repr__(self) -> str:
        return f"CrossEntropyLoss(reduction='{self.reduction}')"
