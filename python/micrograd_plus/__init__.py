"""
MicroGrad+: the course's deep-learning library, running on a Rust engine.

A small, readable PyTorch-like API for learning how neural networks work,
with every tensor operation, gradient and optimizer step computed by the
MicroGrad+ Rust engine (fast, and checked against PyTorch).

Core pieces:
    Tensor        N-dimensional array with automatic differentiation
                  (float32 by default; ``.data`` is a live NumPy view,
                  ``.grad`` a NumPy array, ``backward()`` fills gradients).
    Value         micrograd's scalar engine, with ``draw_dot`` for its graph.
    Layers        Module, Linear, ReLU, Sigmoid, Tanh, Softmax, LogSoftmax,
                  Flatten, Dropout, BatchNorm, LayerNorm, Embedding, Sequential.
    Losses        MSELoss, CrossEntropyLoss, NLLLoss, L1Loss, HuberLoss,
                  SmoothL1Loss, BCELoss, BCEWithLogitsLoss (base class Loss).
    Optimizers    SGD, Adam, AdamW, RMSprop (base class Optimizer) and the
                  schedules StepLR, ExponentialLR, CosineAnnealingLR.
    Utilities     micrograd_plus.utils: set_seed, numerical_gradient,
                  gradient_check, DataLoader, load_mnist, ProgressBar, ...
                  micrograd_plus.nn: train_epoch, evaluate, accuracy,
                  count_parameters, save_model, load_model.

Example:
    >>> import numpy as np
    >>> from micrograd_plus import Tensor, Linear, ReLU, Sequential, CrossEntropyLoss, Adam
    >>> from micrograd_plus.utils import set_seed
    >>> set_seed(42)
    >>> model = Sequential(Linear(2, 8), ReLU(), Linear(8, 2))
    >>> optimizer = Adam(model.parameters(), lr=0.1)
    >>> X = Tensor([[0, 0], [0, 1], [1, 0], [1, 1]])
    >>> y = Tensor([0, 1, 1, 0])
    >>> for _ in range(500):
    ...     loss = CrossEntropyLoss()(model(X), y)
    ...     optimizer.zero_grad()
    ...     loss.backward()
    ...     optimizer.step()
"""

from .tensor import Tensor, arange, eye, from_numpy, no_grad, ones, rand, randn, zeros
from .value import Value, draw_dot
from .layers import (
    BatchNorm,
    Dropout,
    Embedding,
    Flatten,
    LayerNorm,
    Linear,
    LogSoftmax,
    Module,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from .nn import Sequential, accuracy, count_parameters, evaluate, load_model, save_model, train_epoch
from .losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from .optimizers import (
    SGD,
    Adam,
    AdamW,
    CosineAnnealingLR,
    ExponentialLR,
    LRScheduler,
    Optimizer,
    RMSprop,
    StepLR,
)
from .utils import (
    DataLoader,
    gradient_check,
    load_mnist,
    numerical_gradient,
    set_seed,
)
from . import layers, losses, nn, optimizers, utils

__version__ = "0.1.0"

__all__ = [
    # tensor
    "Tensor", "zeros", "ones", "randn", "rand", "arange", "eye", "from_numpy", "no_grad",
    # scalar engine
    "Value", "draw_dot",
    # layers
    "Module", "Linear", "ReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Flatten",
    "Dropout", "BatchNorm", "LayerNorm", "Embedding", "Sequential",
    # losses
    "Loss", "MSELoss", "CrossEntropyLoss", "NLLLoss", "L1Loss", "HuberLoss", "SmoothL1Loss",
    "BCELoss", "BCEWithLogitsLoss",
    # optimizers and schedules
    "Optimizer", "SGD", "Adam", "AdamW", "RMSprop",
    "LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR",
    # training helpers
    "train_epoch", "evaluate", "accuracy", "count_parameters", "save_model", "load_model",
    # utilities
    "set_seed", "numerical_gradient", "gradient_check", "DataLoader", "load_mnist",
]
