"""Losses and optimizers: values and gradients against NumPy (PyTorch's rules
written out), subclassing Loss and Optimizer from Python (R10)."""
import numpy as np
import pytest

from micrograd_plus import Adam, CrossEntropyLoss, MSELoss, SGD, Tensor
from micrograd_plus.losses import L1Loss, Loss, NLLLoss
from micrograd_plus.optimizers import Optimizer

from helpers import assert_close, cross_entropy, log_softmax, softmax


def test_mse_value_and_gradient():
    pv, tv = np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.0, 2.5])
    p = Tensor(pv, requires_grad=True)
    loss = MSELoss()(p, Tensor(tv))
    assert np.isclose(loss.item(), np.mean((pv - tv) ** 2), rtol=1e-6)
    loss.backward()
    assert_close(p.grad, 2 * (pv - tv) / 3, rtol=1e-6, atol=1e-7)

    p = Tensor(pv, requires_grad=True)
    loss = MSELoss(reduction="sum")(p, Tensor(tv))
    assert np.isclose(loss.item(), np.sum((pv - tv) ** 2), rtol=1e-6)
    loss.backward()
    assert_close(p.grad, 2 * (pv - tv), rtol=1e-6, atol=1e-7)

    none = MSELoss(reduction="none")(Tensor(pv), Tensor(tv))
    assert_close(none.data, (pv - tv) ** 2, rtol=1e-6, atol=0)


@pytest.mark.parametrize("make_targets", [
    lambda y: Tensor(y),
    lambda y: Tensor(np.asarray(y, np.int32)),
    lambda y: Tensor(np.asarray(y, np.int64)),
    lambda y: Tensor(list(y)),
])
def test_cross_entropy_value_and_gradient(make_targets):
    rng = np.random.default_rng(0)
    zv = rng.standard_normal((5, 4)).astype(np.float32)
    y = np.array([0, 3, 1, 1, 2])
    z = Tensor(zv, requires_grad=True)
    loss = CrossEntropyLoss()(z, make_targets(y))
    assert np.isclose(loss.item(), cross_entropy(zv, y), rtol=1e-5)
    loss.backward()
    onehot = np.eye(4)[y]
    assert_close(z.grad, (softmax(zv.astype(np.float64)) - onehot) / 5, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("targets", [
    lambda y: Tensor(y),                      # one engine call
    lambda y: np.asarray(y, np.int64),        # one engine call
    lambda y: list(y),                        # the general path
    lambda y: np.asarray(y, np.float64),      # the general path
])
def test_cross_entropy_ignores_minus_100_on_every_path(targets):
    # PyTorch's default ignore_index: the row adds nothing, the mean is over the kept rows.
    zv = np.random.default_rng(1).standard_normal((4, 3))
    y = np.array([2, -100, 0, 1])
    kept = y != -100
    z = Tensor(zv, requires_grad=True)
    loss = CrossEntropyLoss()(z, targets(y))
    assert np.isclose(loss.item(), cross_entropy(zv[kept], y[kept]), rtol=1e-6)
    loss.backward()
    expected = np.zeros_like(zv)
    expected[kept] = (softmax(zv[kept]) - np.eye(3)[y[kept]]) / kept.sum()
    assert_close(z.grad, expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("targets", [Tensor([0, 7]), np.array([0, 7]), [0, 7]])
def test_cross_entropy_target_out_of_range_is_one_error_on_every_path(targets):
    with pytest.raises(ValueError, match="target class 7 is out of range for 3 classes"):
        CrossEntropyLoss()(Tensor(np.ones((2, 3))), targets)


def test_cross_entropy_sum_and_none():
    zv = np.array([[2.0, 1.0, 0.1], [0.5, 2.0, 0.3]])
    y = np.array([0, 1])
    per = -log_softmax(zv)[np.arange(2), y]
    assert np.isclose(CrossEntropyLoss(reduction="sum")(Tensor(zv), Tensor(y)).item(), per.sum(), rtol=1e-6)
    assert_close(CrossEntropyLoss(reduction="none")(Tensor(zv), Tensor(y)).data, per, rtol=1e-6, atol=0)


def test_l1_and_nll():
    pv, tv = np.array([1.0, 2.0, 5.0]), np.array([1.5, 2.0, 2.5])
    p = Tensor(pv, requires_grad=True)
    loss = L1Loss()(p, Tensor(tv))
    assert np.isclose(loss.item(), 1.0, rtol=1e-6)
    loss.backward()
    assert_close(p.grad, np.sign(pv - tv) / 3, rtol=1e-6, atol=0)

    lp = log_softmax(np.array([[2.0, 1.0, 0.1], [0.1, 0.2, 3.0]]))
    x = Tensor(lp, requires_grad=True)
    loss = NLLLoss()(x, Tensor([0, 2]))
    assert np.isclose(loss.item(), -(lp[0, 0] + lp[1, 2]) / 2, rtol=1e-6)
    loss.backward()
    assert_close(x.grad, np.array([[-0.5, 0, 0], [0, 0, -0.5]]), rtol=0, atol=1e-7)


def test_invalid_reduction_is_rejected():
    with pytest.raises(ValueError):
        MSELoss(reduction="average")


# --- subclassing Loss with a 3-argument forward (course bug 5) ------------------

class ContrastiveLoss(Loss):
    """solution 1.7.3's shape of loss: forward(a, b, label) with a margin."""

    def __init__(self, margin=1.0, reduction="mean"):
        super().__init__(reduction)
        self.margin = margin

    def forward(self, a, b, label):
        d2 = ((a - b) ** 2).sum(axis=1)
        d = (d2 + 1e-12) ** 0.5
        hinge = (d * -1.0 + self.margin).relu()
        per = label * d2 + (1 - label) * hinge ** 2
        return per.mean() if self.reduction == "mean" else per.sum()


def test_loss_subclass_with_three_arguments():
    rng = np.random.default_rng(1)
    av, bv = rng.standard_normal((4, 3)) * 0.3, rng.standard_normal((4, 3)) * 0.3
    lab = np.array([1.0, 0.0, 1.0, 0.0])
    fn = ContrastiveLoss(margin=2.0)
    assert fn.reduction == "mean" and fn.margin == 2.0
    a = Tensor(av, dtype=np.float64, requires_grad=True)
    loss = fn(a, Tensor(bv, dtype=np.float64), Tensor(lab, dtype=np.float64))
    d2 = ((av - bv) ** 2).sum(1)
    d = np.sqrt(d2 + 1e-12)
    ref = np.mean(lab * d2 + (1 - lab) * np.maximum(2.0 - d, 0) ** 2)
    assert np.isclose(loss.item(), ref, rtol=1e-12)
    loss.backward()
    # d/da of lab*d2 + (1-lab)*(m-d)^2 (hinge active here: every d < 2)
    assert np.all(d < 2.0)
    coef = lab * 2 + (1 - lab) * (-2 * (2.0 - d) / d)
    assert_close(a.grad, (coef[:, None] * (av - bv)) / 4, rtol=1e-9, atol=1e-12)
    assert ContrastiveLoss(reduction="sum").reduction == "sum"


def test_loss_call_forwards_keyword_arguments():
    class Weighted(Loss):
        def forward(self, pred, target, weight=1.0):
            return ((pred - target) ** 2 * weight).sum()

    out = Weighted()(Tensor([1.0, 3.0]), Tensor([0.0, 0.0]), weight=0.5)
    assert out.item() == 5.0


# --- optimizers: PyTorch's update rules in NumPy ------------------------------------

def test_sgd_course_values():
    x = Tensor([1.0], requires_grad=True)
    opt = SGD([x], lr=0.1)
    x.grad = np.array([2.0])
    opt.step()
    assert np.allclose(x.data, [0.8], rtol=1e-6)

    x = Tensor([1.0], requires_grad=True)
    opt = SGD([x], lr=0.1, momentum=0.9)
    x.grad = np.array([1.0])
    opt.step()
    x.grad = np.array([1.0])
    opt.step()
    assert np.allclose(x.data, [0.71], rtol=1e-6)


def test_sgd_defaults_and_attributes():
    p = Tensor([1.0], requires_grad=True)
    opt = SGD([p])
    assert opt.lr == 0.01
    assert opt.params[0] is p


def _grads(n_steps, shape, seed=0):
    return [np.random.default_rng(seed + k).standard_normal(shape) for k in range(n_steps)]


def _run(opt_factory, p0, grads):
    p = Tensor(p0, dtype=np.float64, requires_grad=True)
    opt = opt_factory([p])
    out = []
    for g in grads:
        opt.zero_grad()
        p.grad = g
        opt.step()
        out.append(p.data.copy())
    return out


@pytest.mark.parametrize("momentum,wd,nesterov", [(0.0, 0.0, False), (0.9, 0.0, False), (0.9, 0.01, False), (0.9, 0.01, True)])
def test_sgd_matches_pytorchs_rule(momentum, wd, nesterov):
    p0 = np.array([1.0, -2.0, 0.5])
    grads = _grads(4, 3)
    got = _run(lambda ps: SGD(ps, lr=0.1, momentum=momentum, weight_decay=wd, nesterov=nesterov), p0, grads)
    p, buf = p0.copy(), None
    for k, g in enumerate(grads):
        d = g + wd * p
        if momentum:
            buf = d.copy() if buf is None else momentum * buf + d
            d = d + momentum * buf if nesterov else buf
        p = p - 0.1 * d
        assert_close(got[k], p, rtol=1e-12, atol=1e-14, what=f"step {k + 1}")


def _adam_reference(p0, grads, lr, b1, b2, eps, wd, decoupled):
    p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    out = []
    for t, g in enumerate(grads, start=1):
        if decoupled:
            p = p * (1 - lr * wd)
        else:
            g = g + wd * p  # L2: the decay goes through the moments (PyTorch Adam)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mhat, vhat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        p = p - lr * mhat / (np.sqrt(vhat) + eps)
        out.append(p.copy())
    return out


def test_adam_matches_pytorch_without_weight_decay():
    p0 = np.array([0.5, -1.5, 2.0])
    grads = _grads(5, 3, seed=10)
    got = _run(lambda ps: Adam(ps, lr=0.01), p0, grads)
    ref = _adam_reference(p0, grads, 0.01, 0.9, 0.999, 1e-8, 0.0, decoupled=False)
    for k in range(5):
        assert_close(got[k], ref[k], rtol=1e-12, atol=1e-14, what=f"step {k + 1}")


def test_adam_weight_decay_is_l2_not_decoupled():
    # Course bug 10: its Adam decays the weights directly (AdamW-like).
    p0 = np.array([3.0, -2.0, 1.0])
    grads = _grads(4, 3, seed=20)
    got = _run(lambda ps: Adam(ps, lr=0.1, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.5), p0, grads)
    l2 = _adam_reference(p0, grads, 0.1, 0.8, 0.99, 1e-6, 0.5, decoupled=False)
    decoupled = _adam_reference(p0, grads, 0.1, 0.8, 0.99, 1e-6, 0.5, decoupled=True)
    assert np.max(np.abs(l2[-1] - decoupled[-1])) > 1e-2  # the two rules really differ here
    for k in range(4):
        assert_close(got[k], l2[k], rtol=1e-12, atol=1e-14, what=f"step {k + 1}")


def test_adamw_is_decoupled():
    from micrograd_plus.optimizers import AdamW

    p0 = np.array([3.0, -2.0, 1.0])
    grads = _grads(4, 3, seed=30)
    got = _run(lambda ps: AdamW(ps, lr=0.1, weight_decay=0.5), p0, grads)
    ref = _adam_reference(p0, grads, 0.1, 0.9, 0.999, 1e-8, 0.5, decoupled=True)
    for k in range(4):
        assert_close(got[k], ref[k], rtol=1e-12, atol=1e-14, what=f"step {k + 1}")


def test_adam_lr_is_read_each_step_and_float32_params_stay_float32():
    p = Tensor([1.0, 1.0], requires_grad=True)
    opt = Adam([p], lr=0.1)
    assert opt.lr == 0.1
    p.grad = np.array([1.0, -1.0])
    opt.step()  # first Adam step moves each weight by lr * sign(g)
    assert np.allclose(p.data, [0.9, 1.1], rtol=1e-6)
    opt.lr = np.float64(0.0)  # a user scheduler writes an np.float64
    p.grad = np.array([1.0, -1.0])
    opt.step()
    assert np.allclose(p.data, [0.9, 1.1], rtol=1e-6)
    assert p.dtype == np.float32


def test_optimizer_zero_grad_writes_zeros():
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0], requires_grad=True)
    opt = SGD([a, b], lr=0.1)
    (a.sum() * b.sum()).backward()
    opt.zero_grad()
    assert np.array_equal(a.grad, [0.0, 0.0]) and np.array_equal(b.grad, [0.0])


def test_a_step_after_zero_grad_uses_zero_gradients_as_the_course_does():
    # Adam's momentum still moves the parameter when the gradient is zero:
    # m = 0.9 * m, v = 0.999 * v; the course updates with its zeros array.
    x = Tensor([1.0], requires_grad=True)
    opt = Adam([x], lr=0.1)
    (x * 2.0).sum().backward()
    opt.step()
    opt.zero_grad()
    opt.step()
    b1, b2, eps, g = 0.9, 0.999, 1e-8, 2.0
    m1, v1 = (1 - b1) * g, (1 - b2) * g * g
    p1 = 1.0 - 0.1 * (m1 / (1 - b1)) / (np.sqrt(v1 / (1 - b2)) + eps)
    m2, v2 = b1 * m1, b2 * v1
    p2 = p1 - 0.1 * (m2 / (1 - b1 ** 2)) / (np.sqrt(v2 / (1 - b2 ** 2)) + eps)
    assert np.isclose(x.data[0], p2, rtol=1e-6)
    assert np.array_equal(x.grad, [0.0])


def test_adam_trains_x_minus_3_squared():
    x = Tensor([0.0], requires_grad=True)
    opt = Adam([x], lr=0.1)
    for _ in range(100):
        loss = (x - 3) ** 2
        opt.zero_grad()
        loss.sum().backward()
        opt.step()
    assert abs(x.item() - 3.0) < 0.1


# --- subclassing Optimizer (solution 1.7.3's Adagrad) -------------------------------

class Adagrad(Optimizer):
    def __init__(self, params, lr=0.5, eps=1e-8):
        super().__init__(params, lr)
        self.eps = eps
        self.cache = [np.zeros_like(p.data) for p in self.params]

    def step(self):
        for p, c in zip(self.params, self.cache):
            if p.grad is None:
                continue
            c += p.grad ** 2
            p.data -= self.lr * p.grad / (np.sqrt(c) + self.eps)


def test_optimizer_subclass():
    # minimise (x-3)^2 + (y-4)^2 from (0, 0)
    p = Tensor([0.0, 0.0], requires_grad=True)
    opt = Adagrad([p], lr=0.5)
    assert isinstance(opt.params, list) and opt.params[0] is p and opt.lr == 0.5
    target = np.array([3.0, 4.0])
    ref, cache = np.zeros(2), np.zeros(2)
    for _ in range(5):
        opt.zero_grad()
        assert np.array_equal(p.grad, [0.0, 0.0])
        ((p - Tensor(target)) ** 2).sum().backward()
        opt.step()
        g = 2 * (ref - target)
        cache += g ** 2
        ref = ref - 0.5 * g / (np.sqrt(cache) + 1e-8)
    assert_close(p.data, ref, rtol=1e-5, atol=1e-6)
