"""The Tensor: an N-dimensional array with automatic differentiation.

`Tensor` is implemented in Rust (`micrograd_plus._core`): the graph, every
op's forward and backward, and the backward pass run in the MicroGrad+
engine. This module adds the NumPy-flavoured constructors of the course
(`zeros`, `randn`, ...) and the `no_grad` context manager.

Randomness comes from NumPy's global generator, so `np.random.seed` (or
`micrograd_plus.utils.set_seed`) makes `randn`/`rand` reproducible.
"""

import contextlib

import numpy as np

from ._core import Tensor, get_default_dtype, is_grad_enabled, set_default_dtype, set_grad_enabled

__all__ = [
    "Tensor",
    "zeros",
    "ones",
    "randn",
    "rand",
    "arange",
    "eye",
    "from_numpy",
    "no_grad",
    "is_grad_enabled",
    "set_grad_enabled",
    "get_default_dtype",
    "set_default_dtype",
]


def _shape(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def zeros(*shape, requires_grad=False, dtype=None):
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return Tensor(np.zeros(_shape(shape)), requires_grad=requires_grad, dtype=dtype)


def ones(*shape, requires_grad=False, dtype=None):
    """A tensor of ones: ``ones(2, 3)`` or ``ones((2, 3))``."""
    return Tensor(np.ones(_shape(shape)), requires_grad=requires_grad, dtype=dtype)


def randn(*shape, requires_grad=False, dtype=None):
    """Standard normal values drawn from NumPy's global generator."""
    return Tensor(np.random.randn(*_shape(shape)), requires_grad=requires_grad, dtype=dtype)


def rand(*shape, requires_grad=False, dtype=None):
    """Uniform values in [0, 1) drawn from NumPy's global generator."""
    return Tensor(np.random.rand(*_shape(shape)), requires_grad=requires_grad, dtype=dtype)


def arange(*args, requires_grad=False, dtype=None):
    """``np.arange(*args)`` as a tensor."""
    return Tensor(np.arange(*args), requires_grad=requires_grad, dtype=dtype)


def eye(n, m=None, requires_grad=False, dtype=None):
    """The identity matrix (n x m, square by default)."""
    return Tensor(np.eye(n, m), requires_grad=requires_grad, dtype=dtype)


def from_numpy(array, requires_grad=False):
    """A tensor from a NumPy array (copied; float64 arrays stay float64)."""
    array = np.asarray(array)
    dtype = np.float64 if array.dtype == np.float64 else None
    return Tensor(array, requires_grad=requires_grad, dtype=dtype)


@contextlib.contextmanager
def no_grad():
    """Inside ``with no_grad():`` ops record no graph (evaluation, updates)."""
    previous = set_grad_enabled(False)
    try:
        yield
    finally:
        set_grad_enabled(previous)
