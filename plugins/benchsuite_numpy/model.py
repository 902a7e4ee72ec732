"""A spec compiled into a list of NumPy layer calls, with a hand-written backward pass."""

from __future__ import annotations

import numpy as np

from benchsuite.backend import Model
from benchsuite.errors import SpecError
from benchsuite.optim import Optimizer, OptimizerState, apply_update, softmax_cross_entropy
from benchsuite.spec import Activation, Conv2D, Dense, Flatten, MaxPool2D, ModelSpec

from . import layers as L


class NumpyModel(Model):
    """The parity oracle. ``dtype=np.float64`` gives the precision gradient checks need."""

    def __init__(self, spec: ModelSpec, optimizer: Optimizer, dtype: type = np.float32) -> None:
        self.spec, self.optimizer, self.dtype = spec, optimizer, np.dtype(dtype)
        infos = spec.parameters()
        self._kernel_at = {info.layer_index: j for j, info in enumerate(infos)
                           if info.name == "kernel"}
        self._first_weighted = min(self._kernel_at, default=len(spec.layers))
        self.params: list[np.ndarray] = [np.zeros(i.shape, self.dtype) for i in infos]
        self._state = OptimizerState(self.params)

    # -- weights -------------------------------------------------------------------------
    def set_weights(self, weights: list[np.ndarray]) -> None:
        expected = [info.shape for info in self.spec.parameters()]
        got = [tuple(np.shape(w)) for w in weights]
        if got != expected:
            raise SpecError(f"weights of shapes {got} do not match the spec's {expected}")
        self.params = [np.array(w, dtype=self.dtype) for w in weights]
        self._state = OptimizerState(self.params)

    def get_weights(self) -> list[np.ndarray]:
        return [p.astype(np.float32) for p in self.params]

    # -- passes --------------------------------------------------------------------------
    def stage(self, x, y=None):
        return np.ascontiguousarray(x, dtype=self.dtype), y

    def forward(self, x: np.ndarray, caches: list | None = None) -> np.ndarray:
        """Logits; when ``caches`` is a list, what backward needs is appended to it."""
        for i, layer in enumerate(self.spec.layers):
            cache, x = self._forward_layer(i, layer, x)
            if caches is not None:
                caches.append(cache)
        return x

    def _forward_layer(self, i, layer, x):
        if isinstance(layer, Dense):
            j = self._kernel_at[i]
            return x, L.dense_forward(x, self.params[j], self.params[j + 1])
        if isinstance(layer, Conv2D):
            j = self._kernel_at[i]
            y, cols = L.conv_forward(x, self.params[j], self.params[j + 1])
            return (x.shape, cols), y
        if isinstance(layer, MaxPool2D):
            y = L.maxpool_forward(x, layer.pool_size)
            return (x, y), y
        if isinstance(layer, Flatten):
            return x.shape, x.reshape(x.shape[0], -1)
        if isinstance(layer, Activation):
            y = L.activation_forward(layer.fn, x)
            return (x, y), y
        raise SpecError(f"numpy backend cannot run layer {layer!r}")

    def backward(self, caches: list, dlogits: np.ndarray) -> list[np.ndarray]:
        """Parameter gradients in canonical order, given d(loss)/d(logits)."""
        grads: list[np.ndarray | None] = [None] * len(self.params)
        dy = dlogits
        for i in range(len(self.spec.layers) - 1, self._first_weighted - 1, -1):
            layer, cache, need_dx = self.spec.layers[i], caches[i], i > self._first_weighted
            if isinstance(layer, Dense):
                j = self._kernel_at[i]
                dy, grads[j], grads[j + 1] = L.dense_backward(cache, self.params[j], dy, need_dx)
            elif isinstance(layer, Conv2D):
                j = self._kernel_at[i]
                dy, grads[j], grads[j + 1] = L.conv_backward(*cache, self.params[j], dy, need_dx)
            elif isinstance(layer, MaxPool2D):
                dy = L.maxpool_backward(*cache, dy, layer.pool_size)
            elif isinstance(layer, Flatten):
                dy = dy.reshape(cache)
            else:
                dy = L.activation_backward(layer.fn, *cache, dy)
        return grads  # type: ignore[return-value]

    def loss_and_grads(self, x: np.ndarray, y: np.ndarray) -> tuple[float, list[np.ndarray]]:
        caches: list = []
        logits = self.forward(x, caches)
        loss, dlogits = softmax_cross_entropy(logits, y)
        return loss, self.backward(caches, dlogits)

    # -- contract ------------------------------------------------------------------------
    def train_step(self, x: np.ndarray, y: np.ndarray) -> float:
        loss, grads = self.loss_and_grads(x, y)
        apply_update(self.optimizer, self.params, grads, self._state)
        return loss

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)
