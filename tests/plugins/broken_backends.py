"""Backends that break the contract in one way each, for the conformance checks' tests.

Each wraps the NumPy oracle's model and changes exactly one thing, so the check that names
that thing is the one that must fail:

* ``broken-layout`` returns Dense kernels as (out, in), PyTorch's layout, from get_weights;
* ``broken-grad-sign`` descends along the negated kernel gradient of the first Dense layer;
* ``broken-no-bias-grad`` never updates biases (their gradients are dropped);
* ``broken-no-decay`` trains as if ``weight_decay`` were always 0;
* ``broken-adamw`` decays the weights apart from the gradient (AdamW's way), not as L2;
* ``broken-stage`` returns the staged ``x`` alone from ``stage(x)``, not the pair ``(x, None)``;
* ``broken-fixed-batch`` predicts only at the batch size of its first ``predict`` (a function
  compiled for one input shape and reused for another);
* ``broken-keeps-state`` keeps its optimizer state (momentum, Adam's moments) in ``set_weights``;
* ``broken-relu-grad`` gives relu a gradient of 1 at 0 (``where(h >= 0, h, 0)``);
* ``broken-pool-last`` routes each max-pool window's gradient to its last maximum;
* ``async-ok`` runs every step on a background thread, and synchronize joins it (correct);
* ``broken-sync`` is the same asynchronous backend with a synchronize that does not wait.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from benchsuite import Activation, Backend, Dense, MaxPool2D, Model, hookimpl


def _numpy_model_class():
    from benchsuite_numpy.model import NumpyModel

    return NumpyModel


class _Oracle(Backend):
    """The NumPy oracle's model with one method changed by ``patch(model_class)``."""

    install_hint = "in tests/plugins"

    def __init__(self, name, patch):
        self.name, self.patch = name, patch

    def is_available(self):
        return True

    def version(self):
        return "0.0-broken"

    def build(self, spec, device, optimizer, variant=None):
        return self.patch(_numpy_model_class())(spec, optimizer)

    def synchronize(self, device):
        """NumPy is synchronous."""


def transposed_dense_kernels(base):
    class Model(base):
        def get_weights(self):
            out = super().get_weights()
            for i, info in enumerate(self.spec.parameters()):
                if isinstance(self.spec.layers[info.layer_index], Dense) and info.name == "kernel":
                    out[i] = np.ascontiguousarray(out[i].T)
            return out
    return Model


def changed_gradients(change):
    """The oracle's model with ``change(grads, infos)`` applied to every step's gradients."""
    def patch(base):
        class Model(base):
            def backward(self, caches, dlogits):
                return change(super().backward(caches, dlogits), self.spec.parameters())
        return Model
    return patch


def ignoring_weight_decay(base):
    from dataclasses import replace

    class Model(base):
        def __init__(self, spec, optimizer, *args, **kwargs):
            super().__init__(spec, replace(optimizer, weight_decay=0.0), *args, **kwargs)
    return Model


def decoupled_weight_decay(base):
    from dataclasses import replace

    class Model(base):
        def __init__(self, spec, optimizer, *args, **kwargs):
            super().__init__(spec, replace(optimizer, weight_decay=0.0), *args, **kwargs)
            self.decay = optimizer.lr * optimizer.weight_decay

        def train_step(self, x, y):
            loss = super().train_step(x, y)
            for p in self.params:
                p -= self.decay * p
            return loss
    return Model


def stage_without_pair(base):
    class Model(base):
        def stage(self, x, y=None):
            staged = super().stage(x, y)
            return staged if y is not None else staged[0]
    return Model


def predict_for_one_batch_size(base):
    class Model(base):
        compiled_for = None

        def predict(self, x):
            self.compiled_for = self.compiled_for or len(x)
            if len(x) != self.compiled_for:
                raise ValueError(f"predict was compiled for batch {self.compiled_for}, "
                                 f"got {len(x)}")
            return super().predict(x)
    return Model


def keeping_optimizer_state(base):
    class Model(base):
        def set_weights(self, weights):
            kept = getattr(self, "_state", None)
            super().set_weights(weights)
            self._state = kept or self._state
    return Model


def relu_gradient_one_at_zero(base):
    class Model(base):
        def _forward_layer(self, i, layer, x):
            cache, out = super()._forward_layer(i, layer, x)
            if isinstance(layer, Activation) and layer.fn == "relu":
                cache = (np.where(x == 0, 1, x), out)  # the backward pass sees x > 0 at 0
            return cache, out
    return Model


def pool_gradient_to_last_maximum(base):
    from benchsuite_numpy import layers

    class Model(base):
        def _forward_layer(self, i, layer, x):
            """The backward pass routes to the first maximum of what the cache holds: give it
            each position's row-major rank within its window where x is at the maximum, 0
            elsewhere, so the last maximum is the largest."""
            cache, out = super()._forward_layer(i, layer, x)
            if isinstance(layer, MaxPool2D):
                p = layer.pool_size
                h, w = out.shape[1] * p, out.shape[2] * p
                rank = (np.arange(h)[:, None] % p) * p + np.arange(w)[None, :] % p + 1
                at_max = x[:, :h, :w] == out.repeat(p, axis=1).repeat(p, axis=2)
                marks = np.zeros_like(x)
                marks[:, :h, :w] = np.where(at_max, rank[None, :, :, None], 0)
                cache = (marks, layers.maxpool_forward(marks, p))
            return cache, out
    return Model


def negate_first_kernel(grads, infos):
    return [-grads[0], *grads[1:]]


def drop_biases(grads, infos):
    return [np.zeros_like(g) if i.name == "bias" else g for g, i in zip(grads, infos)]


class AsyncBackend(Backend):
    """Like a GPU framework: train_step and predict queue work on a background thread and
    return futures at once; values are ready when ``to_numpy`` resolves them."""

    install_hint = "in tests/plugins"

    def __init__(self, name, waits):
        self.name, self.waits = name, waits
        self.queue = ThreadPoolExecutor(1)
        self.last: Future | None = None

    def is_available(self):
        return True

    def version(self):
        return "0.0-async"

    def build(self, spec, device, optimizer, variant=None):
        return AsyncModel(self, _numpy_model_class()(spec, optimizer))

    def submit(self, fn, *args):
        self.last = self.queue.submit(fn, *args)
        return self.last

    def synchronize(self, device):
        if self.waits and self.last is not None:
            self.last.result()


class AsyncModel(Model):
    def __init__(self, backend, inner):
        self.backend, self.inner = backend, inner

    def set_weights(self, weights):
        self.backend.submit(self.inner.set_weights, weights).result()

    def get_weights(self):
        return self.backend.submit(self.inner.get_weights).result()  # waits for the queue

    def stage(self, x, y=None):
        return self.inner.stage(x, y)

    def train_step(self, x, y):
        return self.backend.submit(self.inner.train_step, x, y)

    def predict(self, x):
        return self.backend.submit(self.inner.predict, x)

    def to_numpy(self, value):
        return np.asarray(value.result() if isinstance(value, Future) else value)


@hookimpl
def benchsuite_register_backends(register):
    register(_Oracle("broken-layout", transposed_dense_kernels))
    register(_Oracle("broken-grad-sign", changed_gradients(negate_first_kernel)))
    register(_Oracle("broken-no-bias-grad", changed_gradients(drop_biases)))
    register(_Oracle("broken-no-decay", ignoring_weight_decay))
    register(_Oracle("broken-adamw", decoupled_weight_decay))
    register(_Oracle("broken-stage", stage_without_pair))
    register(_Oracle("broken-fixed-batch", predict_for_one_batch_size))
    register(_Oracle("broken-keeps-state", keeping_optimizer_state))
    register(_Oracle("broken-relu-grad", relu_gradient_one_at_zero))
    register(_Oracle("broken-pool-last", pool_gradient_to_last_maximum))
    register(AsyncBackend("async-ok", waits=True))
    register(AsyncBackend("broken-sync", waits=False))
