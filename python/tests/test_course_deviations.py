"""The places where the course is wrong (course-api.md section 5) and where this
package is right instead. Each test states the course's wrong value and the
correct one, computed by hand or in NumPy."""
import math

import numpy as np
import pytest

from micrograd_plus import SGD, Tensor
from micrograd_plus.layers import BatchNorm, Flatten
from micrograd_plus.losses import BCELoss, BCEWithLogitsLoss, HuberLoss
from micrograd_plus.optimizers import CosineAnnealingLR, ExponentialLR, StepLR

from helpers import assert_close


# --- 6. HuberLoss gradient (the course applies the local derivative twice) ----

@pytest.mark.parametrize("delta", [1.0, 2.0])
def test_huber_value_and_gradient(delta):
    d = np.array([0.5, -0.5, 3.0, -3.0, 0.1])
    pred = Tensor(d, requires_grad=True)
    loss = HuberLoss(delta=delta, reduction="sum")(pred, Tensor(np.zeros(5)))
    ad = np.abs(d)
    ref = np.where(ad < delta, 0.5 * d ** 2, delta * (ad - 0.5 * delta)).sum()
    assert np.isclose(loss.item(), ref, rtol=1e-6)
    loss.backward()
    # correct: d inside the quadratic zone, delta*sign(d) outside.
    # The course gives +0.25 for d = +-0.5 (delta 1), +1 for d = +-3 (delta 1), +4 for +-3 (delta 2).
    expected = np.where(ad < delta, d, delta * np.sign(d))
    assert_close(pred.grad, expected, rtol=1e-6, atol=1e-7)


def test_huber_mean_reduction_divides_by_n():
    d = np.array([0.5, -3.0])
    pred = Tensor(d, requires_grad=True)
    loss = HuberLoss()(pred, Tensor([0.0, 0.0]))
    assert np.isclose(loss.item(), (0.125 + 2.5) / 2, rtol=1e-6)
    loss.backward()
    assert_close(pred.grad, [0.25, -0.5], rtol=1e-6, atol=0)


# --- 7. BCEWithLogitsLoss gradient at a logit of exactly 0 -----------------------

def test_bce_with_logits_gradient_at_zero():
    x = np.array([0.0, 0.0, 2.0, -1.0])
    t = np.array([1.0, 0.0, 1.0, 0.0])
    logits = Tensor(x, requires_grad=True)
    loss = BCEWithLogitsLoss(reduction="sum")(logits, Tensor(t))
    ref = np.sum(np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x))))
    assert np.isclose(loss.item(), ref, rtol=1e-6)
    loss.backward()
    # sigmoid(x) - t; at x = 0 that is 0.5 - t (the course gives -t)
    sig = 1 / (1 + np.exp(-x))
    assert_close(logits.grad, sig - t, rtol=1e-6, atol=1e-7)
    assert_close(logits.grad[:2], [-0.5, 0.5], rtol=0, atol=1e-7)


def test_bce_on_probabilities():
    p = np.array([0.8, 0.4, 0.1])
    t = np.array([1.0, 0.0, 0.0])
    pred = Tensor(p, requires_grad=True)
    loss = BCELoss()(pred, Tensor(t))
    assert np.isclose(loss.item(), -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p)), rtol=1e-6)
    loss.backward()
    assert_close(pred.grad, (p - t) / (p * (1 - p)) / 3, rtol=1e-5, atol=1e-6)


# --- 8/9 (indexing, double backward): see test_op_gradients / test_grad_rules ---

# --- 11. BatchNorm's running variance is the unbiased batch variance ----------------

def test_batchnorm_running_var_is_unbiased():
    bn = BatchNorm(1, momentum=1.0)
    bn.train()
    y = bn(Tensor([[0.0], [2.0]]))
    # PyTorch: running_var 2.0 (n/(n-1) * 1.0); the course stores 1.0
    assert np.allclose(np.asarray(bn.running_mean).ravel(), [1.0], rtol=1e-6)
    assert np.allclose(np.asarray(bn.running_var).ravel(), [2.0], rtol=1e-6)
    # the normalisation itself uses the biased variance (1.0)
    assert_close(y.data, [[-1 / math.sqrt(1 + 1e-5)], [1 / math.sqrt(1 + 1e-5)]], rtol=1e-5, atol=1e-6)


def test_batchnorm_momentum_update_and_eval_mode():
    rng = np.random.default_rng(0)
    xv = rng.standard_normal((6, 3)) * 2 + 1
    bn = BatchNorm(3)  # eps 1e-5, momentum 0.1
    bn.train()
    x = Tensor(xv, requires_grad=True)
    y = bn(x)
    mean, var_b, var_u = xv.mean(0), xv.var(0), xv.var(0, ddof=1)
    assert_close(y.data, (xv - mean) / np.sqrt(var_b + 1e-5), rtol=1e-4, atol=1e-5)
    assert_close(np.asarray(bn.running_mean).ravel(), 0.1 * mean, rtol=1e-5, atol=1e-7)
    assert_close(np.asarray(bn.running_var).ravel(), 0.9 + 0.1 * var_u, rtol=1e-5, atol=1e-7)
    # train-mode gradient of sum(y * G): the standard batch-norm backward
    G = rng.standard_normal((6, 3))
    x = Tensor(xv, dtype=np.float64, requires_grad=True)
    bn2 = BatchNorm(3)
    bn2.train()
    (bn2(x) * Tensor(G, dtype=np.float64)).sum().backward()
    xhat = (xv - mean) / np.sqrt(var_b + 1e-5)
    dx = (G - G.mean(0) - xhat * (G * xhat).mean(0)) / np.sqrt(var_b + 1e-5)
    assert_close(x.grad, dx, rtol=1e-4, atol=1e-6)
    # eval mode normalises with the running statistics
    bn.eval()
    rm, rv = 0.1 * mean, 0.9 + 0.1 * var_u
    assert_close(bn(Tensor(xv)).data, (xv - rm) / np.sqrt(rv + 1e-5), rtol=1e-4, atol=1e-5)


# --- 12. CosineAnnealingLR holds at eta_min after T_max ------------------------------

@pytest.mark.parametrize("eta_min", [0.0, 0.1])
def test_cosine_schedule_holds_at_eta_min(eta_min):
    p = Tensor([1.0], requires_grad=True)
    opt = SGD([p], lr=1.0)
    sched = CosineAnnealingLR(opt, T_max=4, eta_min=eta_min)
    seen = []
    for _ in range(8):
        opt.step()
        sched.step()
        seen.append(float(opt.lr))
    expected = [eta_min + (1 - eta_min) * (1 + math.cos(math.pi * min(k, 4) / 4)) / 2 for k in range(1, 9)]
    # the course: 0.854, 0.5, 0.146, 0, then 0.146, 0.5, 0.854, 1.0 (rising again)
    assert_close(seen, expected, rtol=1e-9, atol=1e-12)
    assert seen[-1] == pytest.approx(eta_min)


def test_step_and_exponential_schedules():
    p = Tensor([1.0], requires_grad=True)
    opt = SGD([p], lr=1.0)
    sched = StepLR(opt, step_size=2, gamma=0.5)
    seen = []
    for _ in range(5):
        sched.step()
        seen.append(float(opt.lr))
    assert_close(seen, [1.0, 0.5, 0.5, 0.25, 0.25], rtol=1e-12, atol=0)
    opt = SGD([p], lr=1.0)
    sched = ExponentialLR(opt, gamma=0.9)
    for _ in range(3):
        sched.step()
    assert float(opt.lr) == pytest.approx(0.729, rel=1e-12)


# --- 13. Flatten honours start_dim; log has no +1e-8 ------------------------------------

@pytest.mark.parametrize("start_dim,shape", [(0, (120,)), (1, (2, 60)), (2, (2, 3, 20)), (3, (2, 3, 4, 5))])
def test_flatten_start_dim(start_dim, shape):
    xv = np.arange(120.0).reshape(2, 3, 4, 5)
    x = Tensor(xv, requires_grad=True)
    y = Flatten(start_dim=start_dim)(x)
    assert y.shape == shape
    assert np.array_equal(y.data, xv.reshape(shape))
    (y * Tensor(np.arange(120.0).reshape(shape))).sum().backward()
    assert np.array_equal(x.grad, xv)


def test_flatten_default_keeps_the_batch_dim():
    assert Flatten()(Tensor(np.zeros((2, 3, 4)))).shape == (2, 12)


def test_log_is_plain_ln():
    x = Tensor([1e-8, 1e-3, 1.0], dtype=np.float64, requires_grad=True)
    y = x.log()
    # the course computes ln(x + 1e-8): -17.7275 at 1e-8 instead of -18.4207
    assert_close(y.data, np.log([1e-8, 1e-3, 1.0]), rtol=1e-14, atol=0)
    y.sum().backward()
    assert_close(x.grad, [1e8, 1e3, 1.0], rtol=1e-14, atol=0)
    with np.errstate(divide="ignore"):
        assert Tensor([0.0]).log().data[0] == -np.inf


# --- 16. NumPy-2 promotion: a float64 learning rate keeps parameters float32 -----------

def test_float64_lr_in_a_manual_update_keeps_float32():
    p = Tensor([1.0, 2.0], requires_grad=True)
    (p * p).sum().backward()
    lr = 0.5 * (1 + np.cos(np.pi * 1 / 4)) * 0.1  # np.float64, as in solution 1.7.5
    p.data -= lr * p.grad
    assert p.dtype == np.float32
    assert_close(p.data, np.array([1.0, 2.0]) * (1 - 2 * lr), rtol=1e-6, atol=0)
