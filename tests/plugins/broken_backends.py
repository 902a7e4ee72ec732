"""Backends that break the contract in one way each, for the conformance checks' tests.

Each wraps the NumPy oracle's model and changes exactly one thing, so the check that names
that thing is the one that must fail:

* ``broken-layout`` returns Dense kernels as (out, in), PyTorch's layout, from get_weights;
* ``broken-grad-sign`` descends along the negated kernel gradient of the first Dense layer;
* ``broken-no-bias-grad`` never updates biases (their gradients are dropped);
* ``broken-no-decay`` trains as if ``weight_decay`` were always 0;
* ``broken-adamw`` decays the weights apart from the gradient (AdamW's way), not as L2;
* ``async-ok`` runs every step on a background thread, and synchronize joins it (correct);
* ``broken-sync`` is the same asynchronous backend with a synchronize that does not wait.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from benchsuite import Backend, Dense, Model, hookimpl


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
    register(AsyncBackend("async-ok", waits=True))
    register(AsyncBackend("broken-sync", waits=False))
