"""A spec as a pure JAX function, trained with optax; ``jit`` compiles the whole step.

JAX computes NHWC with HWIO kernels and ``(in, out)`` Dense kernels, so the canonical layouts
load as they are and Flatten is a plain reshape. Two gradients are written by hand because
XLA's own differ from the spec:

* relu is ``where(h > 0, h, 0)``: its gradient at 0 is 0, as the spec says
  (``jnp.maximum(h, 0)`` splits it, 0.5, which on digits — exact-zero pixels, zero biases —
  moved a conv-bias gradient by 7e-2);
* max-pool has a custom VJP that sends each window's gradient to its first maximum (the
  oracle's routing); XLA:CPU's select-and-scatter gradient was also ~20x slower.

Every matmul and convolution asks for ``Precision.HIGHEST``: on GPUs XLA's default would use
TF32, and every framework in the suite computes in float32.

Compiled functions are cached per (layers, input shape, classes, optimizer, variant) for the
whole process, and ``jax.jit`` caches per input shape inside that: a second model of the same
spec (the next seed, the next parity check) reuses the executable, and compile time lands in
the first call of a step, never in the steady state.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from benchsuite.backend import Model
from benchsuite.errors import SpecError
from benchsuite.optim import SGD, Optimizer
from benchsuite.spec import Activation, Conv2D, Dense, Flatten, MaxPool2D, ModelSpec

HIGHEST = lax.Precision.HIGHEST

#: How often each cached step function was traced (each trace means one compilation under
#: ``jit``): the tests read it to prove that a rebuilt model does not recompile.
TRACES: Counter = Counter()


def relu(h):
    """relu with relu'(0) = 0 (the gradient of ``where`` goes to the branch taken)."""
    return jnp.where(h > 0, h, jnp.zeros_like(h))


ACTIVATIONS = {"relu": relu, "sigmoid": jax.nn.sigmoid, "tanh": jnp.tanh}


def _offsets(x, p: int, ho: int, wo: int):
    """The p·p strided views of ``x`` (N, H, W, C), one per window offset in row-major order,
    each of the pooled shape (trailing rows/columns dropped)."""
    return [x[:, i:ho * p:p, j:wo * p:p, :] for i in range(p) for j in range(p)]


@partial(jax.custom_vjp, nondiff_argnums=(1,))
def max_pool(x, p: int):
    """Max-pool with window = stride = ``p``; the gradient goes to each window's first max."""
    return _pool_forward(x, p)[0]


def _pool_forward(x, p: int):
    ho, wo = x.shape[1] // p, x.shape[2] // p
    y = x[:, :ho * p, :wo * p, :].reshape(x.shape[0], ho, p, wo, p, x.shape[3]).max(axis=(2, 4))
    return y, (x, y)


def _pool_backward(p: int, residuals, g):
    x, y = residuals
    n, h, w, c = x.shape
    ho, wo = y.shape[1], y.shape[2]
    taken = jnp.zeros(y.shape, dtype=bool)
    parts = []
    for view in _offsets(x, p, ho, wo):
        hit = (view == y) & ~taken
        taken = taken | hit
        parts.append(jnp.where(hit, g, jnp.zeros_like(g)))
    dx = jnp.stack(parts).reshape(p, p, n, ho, wo, c).transpose(2, 3, 0, 4, 1, 5)
    dx = dx.reshape(n, ho * p, wo * p, c)
    return (jnp.pad(dx, ((0, 0), (0, h - ho * p), (0, w - wo * p), (0, 0))),)


max_pool.defvjp(_pool_forward, _pool_backward)


def _same_pads(k: int) -> tuple[int, int]:
    """'same' padding with the odd pixel of an even kernel bottom/right."""
    return (k - 1) // 2, k - 1 - (k - 1) // 2


def forward(layers: tuple, params: list, x):
    """Logits of ``layers`` applied to NHWC ``x`` with canonical ``params``."""
    h, i = x, 0
    for layer in layers:
        if isinstance(layer, Dense):
            h = jnp.dot(h, params[i], precision=HIGHEST) + params[i + 1]
            i += 2
        elif isinstance(layer, Conv2D):
            pads = _same_pads(layer.kernel_size)
            h = lax.conv_general_dilated(h, params[i], (1, 1), (pads, pads),
                                         dimension_numbers=("NHWC", "HWIO", "NHWC"),
                                         precision=HIGHEST) + params[i + 1]
            i += 2
        elif isinstance(layer, MaxPool2D):
            h = max_pool(h, layer.pool_size)
        elif isinstance(layer, Flatten):
            h = h.reshape(h.shape[0], -1)  # NHWC in C order: the canonical flatten
        elif isinstance(layer, Activation):
            h = ACTIVATIONS[layer.fn](h)
        else:
            raise SpecError(f"jax backend cannot translate {layer!r}")
    return h


def transformation(opt: Optimizer) -> optax.GradientTransformation:
    """optax's sgd and adam are the formulas of benchsuite.optim: momentum ``v = m·v + g``,
    Adam bias-corrected with eps outside the square root; the L2 penalty is
    ``add_decayed_weights`` *before* the optimizer (g + wd·p), not AdamW's decoupled decay."""
    if isinstance(opt, SGD):
        tx = optax.sgd(opt.lr, momentum=opt.momentum or None)
    else:
        tx = optax.adam(opt.lr, b1=opt.beta1, b2=opt.beta2, eps=opt.eps)
    return optax.chain(optax.add_decayed_weights(opt.weight_decay), tx) if opt.weight_decay \
        else tx


@dataclass(frozen=True)
class Steps:
    """The functions one (spec, optimizer, variant) trains and predicts with."""

    train: Any    # (params, opt_state, x, y) -> (params, opt_state, loss)
    predict: Any  # (params, x) -> logits
    init: Any     # params -> opt_state


_CACHE: dict[tuple, Steps] = {}


def steps_for(spec: ModelSpec, opt: Optimizer, variant: str) -> Steps:
    """The cached step functions of this model structure and optimizer (the spec's name and
    descriptive parameters do not change the computation, so they are not in the key)."""
    key = (spec.layers, tuple(spec.input_shape), spec.classes, opt, variant)
    if key not in _CACHE:
        _CACHE[key] = _make_steps(key, spec.layers, opt, variant)
    return _CACHE[key]


def _make_steps(key: tuple, layers: tuple, opt: Optimizer, variant: str) -> Steps:
    tx = transformation(opt)

    def loss_fn(params, x, y):
        logits = forward(layers, params, x)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    def train(params, opt_state, x, y):
        TRACES[key] += 1  # runs once per trace under jit, every call when eager
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    def predict(params, x):
        return forward(layers, params, x)

    if variant == "eager":  # op by op, as JAX runs without jit
        return Steps(train, predict, tx.init)
    # The old parameters and optimizer state are dead after a step: donating them lets XLA
    # update in place, as the tutorials' train steps do.
    return Steps(jax.jit(train, donate_argnums=(0, 1)), jax.jit(predict), jax.jit(tx.init))


class JaxModel(Model):
    def __init__(self, spec: ModelSpec, device: Any, optimizer: Optimizer, variant: str,
                 pending: Any) -> None:
        self.spec, self.device, self.pending = spec, device, pending
        self.steps = steps_for(spec, optimizer, variant)
        self.params: list = []
        self.opt_state: Any = None
        self.set_weights(spec.init_weights(0))

    def set_weights(self, weights: list[np.ndarray]) -> None:
        expected = [tuple(p.shape) for p in self.spec.parameters()]
        if [tuple(np.shape(w)) for w in weights] != expected:
            raise SpecError(f"weights do not match the spec's shapes {expected}")
        # Private copies: a donated buffer must never alias the caller's arrays.
        self.params = [jax.device_put(np.array(w, dtype=np.float32, copy=True), self.device)
                       for w in weights]
        # Fresh state: training starts afresh. Committed to the device like the parameters:
        # jit(init) reads only their shapes, so its outputs are uncommitted, and the second
        # step (whose state the first step committed) would compile the step once more.
        self.opt_state = jax.device_put(self.steps.init(self.params), self.device)

    def get_weights(self) -> list[np.ndarray]:
        # np.array copies: a view of a live buffer would change (or vanish) with training.
        return [np.array(p, dtype=np.float32, copy=True) for p in self.params]

    def stage(self, x: np.ndarray, y: np.ndarray | None = None) -> tuple[Any, Any]:
        xs = jax.device_put(np.asarray(x, dtype=np.float32), self.device)
        ys = None if y is None else jax.device_put(np.asarray(y, dtype=np.int32), self.device)
        return xs, ys

    def train_step(self, x, y):
        self.params, self.opt_state, loss = self.steps.train(self.params, self.opt_state, x, y)
        self.pending.note(self, (self.params, self.opt_state, loss))
        return loss

    def predict(self, x):
        logits = self.steps.predict(self.params, x)
        self.pending.note(("predict", id(self)), logits)
        return logits

    def to_numpy(self, value: Any) -> np.ndarray:
        return np.array(value, copy=True)
