"""Optimizers and loss: the exact formulas every backend must implement.

All backends train with softmax cross-entropy averaged over the batch::

    loss = mean_i( logsumexp(z_i) - z_i[y_i] )

and one of the two optimizers below, whose update rules are written out here and implemented
in NumPy by :func:`apply_update` (the NumPy backend uses exactly this code, so it is the oracle).

Both take an optional L2 penalty, added to the gradient of every parameter (biases too) before
the update, as ``torch.optim``'s ``weight_decay`` does (default 0: no penalty)::

    g ← ∇loss + weight_decay · p

SGD with momentum (PyTorch's convention; velocity starts at 0)::

    v ← momentum · v + g
    p ← p − lr · v

Adam (Kingma & Ba, bias-corrected, eps outside the square root; t counts from 1)::

    m ← β1 · m + (1 − β1) · g
    v ← β2 · v + (1 − β2) · g²
    p ← p − lr · (m / (1 − β1^t)) / (sqrt(v / (1 − β2^t)) + eps)

There is no decoupled (AdamW) decay, no gradient clipping, no learning-rate schedule.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from benchsuite.errors import UsageError
from benchsuite.values import check_number


@dataclass(frozen=True)
class SGD:
    """Stochastic gradient descent with (heavy-ball) momentum."""

    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 0.0
    name: str = "sgd"


@dataclass(frozen=True)
class Adam:
    """Adam with bias correction."""

    lr: float = 0.001
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    name: str = "adam"


Optimizer = SGD | Adam
OPTIMIZERS = {"sgd": SGD, "adam": Adam}


def make_optimizer(name: str, lr: float | None = None) -> Optimizer:
    """Optimizer by name, with its default learning rate unless ``lr`` is given."""
    if name not in OPTIMIZERS:
        raise UsageError(f"unknown optimizer {name!r} (valid: {', '.join(OPTIMIZERS)})")
    if lr is not None:
        check_number("--lr", lr, exclusive=True)
    cls = OPTIMIZERS[name]
    return cls() if lr is None else cls(lr=lr)


def check_optimizer(opt: Optimizer) -> None:
    """Every hyper-parameter of ``opt`` finite and in range, or a UsageError (the command
    line's values and those read back from a results file alike)."""
    check_number("--lr", opt.lr, exclusive=True)
    check_number("--weight-decay", opt.weight_decay)
    if isinstance(opt, SGD):
        check_number("momentum", opt.momentum, maximum=1)
    else:
        check_number("beta1", opt.beta1, maximum=1)
        check_number("beta2", opt.beta2, maximum=1)
        check_number("eps", opt.eps, exclusive=True)


def optimizer_dict(opt: Optimizer) -> dict[str, object]:
    return asdict(opt)


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy and its gradient with respect to ``logits``."""
    n = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(z)
    total = exp.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    loss = float(np.mean(np.log(total[:, 0]) - z[rows, labels]))
    grad = exp / total
    grad[rows, labels] -= 1
    grad /= n
    return loss, grad


class OptimizerState:
    """Per-parameter state of :func:`apply_update` (velocities or Adam moments)."""

    def __init__(self, params: list[np.ndarray]) -> None:
        self.step = 0
        self.first = [np.zeros_like(p) for p in params]
        self.second = [np.zeros_like(p) for p in params]


def apply_update(
    opt: Optimizer, params: list[np.ndarray], grads: list[np.ndarray], state: OptimizerState
) -> None:
    """Update ``params`` in place by the formulas in this module's docstring."""
    state.step += 1
    if opt.weight_decay:
        grads = [g + opt.weight_decay * p for g, p in zip(grads, params)]
    if isinstance(opt, SGD):
        for p, g, v in zip(params, grads, state.first):
            v *= opt.momentum
            v += g
            p -= opt.lr * v
        return
    t = state.step
    c1, c2 = 1.0 - opt.beta1**t, 1.0 - opt.beta2**t
    for p, g, m, v in zip(params, grads, state.first, state.second):
        m *= opt.beta1
        m += (1.0 - opt.beta1) * g
        v *= opt.beta2
        v += (1.0 - opt.beta2) * (g * g)
        p -= (opt.lr * (m / c1) / (np.sqrt(v / c2) + opt.eps)).astype(p.dtype, copy=False)
