"""
Optimizers and learning-rate schedules for MicroGrad+.

An optimizer holds a list of parameters (``optimizer.params``) and a learning
rate (``optimizer.lr``, which you may change at any time, e.g. from your own
schedule). The usual step::

    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

:class:`SGD`, :class:`Adam`, :class:`AdamW` and :class:`RMSprop` run the
engine's optimizers, which update each parameter's buffer in place with
PyTorch's exact rules (so ``p.data`` arrays you hold stay valid). To write
your own, subclass :class:`Optimizer` and implement ``step`` with
``self.params`` and ``self.lr``::

    class Adagrad(Optimizer):
        def __init__(self, params, lr=0.01, eps=1e-8):
            super().__init__(params, lr)
            self.eps = eps
            self.sums = [np.zeros_like(p.data) for p in self.params]
        def step(self):
            for p, s in zip(self.params, self.sums):
                s += p.grad ** 2
                p.data -= self.lr * p.grad / (np.sqrt(s) + self.eps)

Schedules (:class:`StepLR`, :class:`ExponentialLR`, :class:`CosineAnnealingLR`)
set ``optimizer.lr`` from a closed form each time their ``step()`` is called
(usually once per epoch).
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, Iterable, List, Tuple

from . import _core
from .tensor import Tensor

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "LRScheduler",
    "StepLR",
    "ExponentialLR",
    "CosineAnnealingLR",
]


def _number(value: Any, who: str, name: str, minimum: float = 0.0, below: float = math.inf,
            inclusive_max: bool = False) -> float:
    """``value`` as a finite float in [minimum, below), or a TypeError/ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{who}: {name} must be a number, got {value!r}")
    v = float(value)
    upper_ok = v <= below if inclusive_max else v < below
    if not math.isfinite(v) or v < minimum or not upper_ok:
        if below == math.inf:
            rng = f">= {minimum}"
        else:
            rng = f"in [{minimum}, {below}{']' if inclusive_max else ')'}"
        raise ValueError(f"{who}: {name} must be {rng}, got {value!r}")
    return v


class Optimizer:
    """
    Base class of the optimizers.

    Args:
        params: the Tensors to optimize (e.g. ``model.parameters()``); kept
            as the list ``self.params``.
        lr: learning rate, ``self.lr`` (default 0.01).

    Subclasses implement :meth:`step`; :meth:`zero_grad` is inherited.
    """

    def __init__(self, params: Iterable[Tensor], lr: float = 0.01) -> None:
        who = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{who}: params must be a list of Tensors (e.g. model.parameters()), got a single Tensor")
        try:
            params = list(params)
        except TypeError:
            raise TypeError(f"{who}: params must be a list of Tensors, got {type(params).__name__}") from None
        if len(params) == 0:
            raise ValueError(f"{who}: got an empty parameter list")
        for i, p in enumerate(params):
            if isinstance(p, dict):
                raise TypeError(f"{who}: parameter groups (dicts) are not supported; pass a list of Tensors")
            if not isinstance(p, Tensor):
                raise TypeError(f"{who}: param {i} must be a Tensor, got {type(p).__name__}")
            if not p.requires_grad:
                warnings.warn(f"{who}: param {i} has requires_grad=False; it will not be updated",
                              UserWarning, stacklevel=3)
        self.params: List[Tensor] = params
        self.lr = _number(lr, who, "lr")

    def zero_grad(self) -> None:
        """Set every parameter's gradient to zeros (those that have one)."""
        # Tensor.zero_grad skips a tensor without a gradient; asking for
        # `p.grad` first would build a NumPy view per parameter every step.
        for p in self.params:
            p.zero_grad()

    def step(self) -> None:
        """Update the parameters from their gradients. Subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} must implement step()")

    def get_lr(self) -> float:
        """The current learning rate."""
        return self.lr

    def set_lr(self, lr: float) -> None:
        """Set the learning rate."""
        self.lr = _number(lr, type(self).__name__, "lr")


class _EngineOptimizer(Optimizer):
    """An optimizer whose update runs in the engine (PyTorch's rule, in place)."""

    def _make(self, params: List[Tensor]) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _build(self) -> None:
        self._impl = self._make(self.params)
        self._impl_params = list(self.params)

    def step(self) -> None:
        """One update of every parameter that has a gradient, at ``self.lr``."""
        impl_params = self._impl_params
        params = self.params
        if len(params) != len(impl_params) or any(a is not b for a, b in zip(params, impl_params)):
            # `self.params` was edited: start the engine optimizer again on the new list.
            self.params = list(params)
            for i, p in enumerate(self.params):
                if not isinstance(p, Tensor):
                    raise TypeError(f"{type(self).__name__}: param {i} must be a Tensor, got {type(p).__name__}")
            self._build()
        try:
            lr = float(self.lr)
        except (TypeError, ValueError):
            raise TypeError(f"{type(self).__name__}: lr must be a number, got {self.lr!r}") from None
        self._impl.step(lr)
        self.t += 1


class SGD(_EngineOptimizer):
    """
    Stochastic gradient descent, PyTorch's rule::

        g = grad + weight_decay * p
        v = momentum * v + g            (v = g on the first step)
        p -= lr * (g + momentum * v if nesterov else v)

    Args:
        params: the Tensors to optimize.
        lr: learning rate (default 0.01).
        momentum: momentum factor (default 0).
        weight_decay: L2 penalty (default 0).
        nesterov: Nesterov momentum (needs momentum > 0).

    Example: lr 0.1, momentum 0.9, two steps of gradient 1 from 1.0 give
    1 - 0.1 - 0.19 = 0.71.
    """

    def __init__(self, params: Iterable[Tensor], lr: float = 0.01, momentum: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False) -> None:
        super().__init__(params, lr)
        self.momentum = _number(momentum, "SGD", "momentum")
        self.weight_decay = _number(weight_decay, "SGD", "weight_decay")
        self.nesterov = bool(nesterov)
        if self.nesterov and self.momentum == 0:
            raise ValueError("SGD: nesterov=True needs momentum > 0")
        self.t = 0
        self._build()

    def _make(self, params: List[Tensor]) -> Any:
        return _core.SGD(params, float(self.lr), momentum=self.momentum,
                         weight_decay=self.weight_decay, nesterov=self.nesterov)

    def __repr__(self) -> str:
        return (f"SGD(lr={self.lr}, momentum={self.momentum}, "
                f"weight_decay={self.weight_decay}, nesterov={self.nesterov})")


def _betas(betas: Any, who: str) -> Tuple[float, float]:
    try:
        b1, b2 = betas
    except (TypeError, ValueError):
        raise TypeError(f"{who}: betas must be a pair of numbers, got {betas!r}") from None
    return (_number(b1, who, "betas[0]", 0.0, 1.0), _number(b2, who, "betas[1]", 0.0, 1.0))


class Adam(_EngineOptimizer):
    """
    Adam (PyTorch's rule, with bias correction)::

        g = grad + weight_decay * p      (L2 penalty, as in PyTorch)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        p -= lr * (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t)) + eps)

    Args:
        params: the Tensors to optimize.
        lr: learning rate (default 0.001).
        betas: (b1, b2), each in [0, 1) (default (0.9, 0.999)).
        eps: added to the denominator (default 1e-8).
        weight_decay: L2 penalty added to the gradient (default 0); for
            decoupled decay use :class:`AdamW`.
    """

    def __init__(self, params: Iterable[Tensor], lr: float = 0.001, betas: Tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        who = type(self).__name__
        self.betas = _betas(betas, who)
        self.eps = _number(eps, who, "eps")
        self.weight_decay = _number(weight_decay, who, "weight_decay")
        self.t = 0
        self._build()

    def _make(self, params: List[Tensor]) -> Any:
        return _core.Adam(params, float(self.lr), beta1=self.betas[0], beta2=self.betas[1],
                          eps=self.eps, weight_decay=self.weight_decay)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(lr={self.lr}, betas={self.betas}, "
                f"eps={self.eps}, weight_decay={self.weight_decay})")


class AdamW(Adam):
    """
    Adam with decoupled weight decay (PyTorch's ``AdamW``): each step first
    shrinks the parameters, ``p -= lr * weight_decay * p``, then applies the
    Adam update of the plain gradient.

    Args:
        params, lr, betas, eps: as for :class:`Adam`.
        weight_decay: decoupled decay (default 0.01).
    """

    def __init__(self, params: Iterable[Tensor], lr: float = 0.001, betas: Tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.01) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)

    def _make(self, params: List[Tensor]) -> Any:
        return _core.AdamW(params, float(self.lr), beta1=self.betas[0], beta2=self.betas[1],
                           eps=self.eps, weight_decay=self.weight_decay)


class RMSprop(_EngineOptimizer):
    """
    RMSprop (PyTorch's rule)::

        g = grad + weight_decay * p
        v = alpha * v + (1 - alpha) * g**2
        p -= lr * g / (sqrt(v) + eps)        (with a momentum buffer if momentum > 0)

    Args:
        params: the Tensors to optimize.
        lr: learning rate (default 0.01).
        alpha: smoothing constant (default 0.99).
        eps: added to the denominator (default 1e-8).
        weight_decay: L2 penalty (default 0).
        momentum: momentum factor (default 0).
    """

    def __init__(self, params: Iterable[Tensor], lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0) -> None:
        super().__init__(params, lr)
        self.alpha = _number(alpha, "RMSprop", "alpha", 0.0, 1.0, inclusive_max=True)
        self.eps = _number(eps, "RMSprop", "eps")
        self.weight_decay = _number(weight_decay, "RMSprop", "weight_decay")
        self.momentum = _number(momentum, "RMSprop", "momentum")
        self.t = 0
        self._build()

    def _make(self, params: List[Tensor]) -> Any:
        return _core.RMSprop(params, float(self.lr), alpha=self.alpha, eps=self.eps,
                             weight_decay=self.weight_decay, momentum=self.momentum)

    def __repr__(self) -> str:
        return (f"RMSprop(lr={self.lr}, alpha={self.alpha}, eps={self.eps}, "
                f"weight_decay={self.weight_decay}, momentum={self.momentum})")


# ---------------------------------------------------------------------------
# Learning-rate schedules
# ---------------------------------------------------------------------------

class LRScheduler:
    """
    Base class of the learning-rate schedules.

    A schedule remembers the optimizer's learning rate when it is made
    (``base_lr``, also ``initial_lr``) and, on each :meth:`step`, advances
    ``last_epoch`` by one and sets ``optimizer.lr`` to the schedule's value
    at that epoch (subclasses implement :meth:`lr_at`).

    Attributes:
        optimizer: the optimizer whose ``lr`` is set.
        base_lr: the starting learning rate.
        last_epoch: number of ``step()`` calls so far (PyTorch's name);
            ``step_count`` is the same number (the course's name).
    """

    def __init__(self, optimizer: Optimizer) -> None:
        if not hasattr(optimizer, "lr"):
            raise TypeError(f"{type(self).__name__}: expected an optimizer with an lr attribute, "
                            f"got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lr = float(optimizer.lr)
        self.last_epoch = 0
        self._last_lr = self.base_lr

    @property
    def initial_lr(self) -> float:
        """The learning rate the schedule started from (the course's name)."""
        return self.base_lr

    @property
    def step_count(self) -> int:
        """The number of ``step()`` calls so far (the course's name for ``last_epoch``)."""
        return self.last_epoch

    def lr_at(self, epoch: int) -> float:
        """The learning rate after ``epoch`` steps. Subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} must implement lr_at() or step()")

    def step(self) -> None:
        """Advance one epoch and set the optimizer's learning rate."""
        self.last_epoch += 1
        lr = float(self.lr_at(self.last_epoch))
        self.optimizer.lr = lr
        self._last_lr = lr

    def get_lr(self) -> float:
        """The optimizer's current learning rate."""
        return self.optimizer.lr

    def get_last_lr(self) -> List[float]:
        """The learning rate the last ``step()`` set, as a one-element list (PyTorch's form)."""
        return [self._last_lr]

    def state_dict(self) -> dict:
        """The schedule's state (everything but the optimizer)."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state: dict) -> None:
        """Restore a state made by :meth:`state_dict`."""
        self.__dict__.update(state)


class StepLR(LRScheduler):
    """
    Multiply the learning rate by ``gamma`` every ``step_size`` epochs:
    ``lr = base_lr * gamma ** (epoch // step_size)``.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        if isinstance(step_size, bool) or not isinstance(step_size, numbers.Integral) or step_size < 1:
            raise ValueError(f"StepLR: step_size must be a positive integer, got {step_size!r}")
        self.step_size = int(step_size)
        self.gamma = _number(gamma, "StepLR", "gamma")
        super().__init__(optimizer)

    def lr_at(self, epoch: int) -> float:
        """``base_lr * gamma ** (epoch // step_size)``."""
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every epoch: ``lr = base_lr * gamma ** epoch``."""

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        self.gamma = _number(gamma, "ExponentialLR", "gamma")
        super().__init__(optimizer)

    def lr_at(self, epoch: int) -> float:
        """``base_lr * gamma ** epoch``."""
        return self.base_lr * self.gamma ** epoch


class CosineAnnealingLR(LRScheduler):
    """
    Cosine annealing from ``base_lr`` down to ``eta_min`` over ``T_max``
    epochs, then held at ``eta_min``::

        lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * min(epoch, T_max) / T_max)) / 2
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0) -> None:
        if isinstance(T_max, bool) or not isinstance(T_max, numbers.Integral) or T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be a positive integer, got {T_max!r}")
        self.T_max = int(T_max)
        self.eta_min = _number(eta_min, "CosineAnnealingLR", "eta_min")
        super().__init__(optimizer)

    def lr_at(self, epoch: int) -> float:
        """The cosine schedule at ``epoch``, held at ``eta_min`` after ``T_max``."""
        t = min(epoch, self.T_max)
        return self.eta_min + (self.base_lr - self.eta_min) * (1.0 + math.cos(math.pi * t / self.T_max)) / 2.0
