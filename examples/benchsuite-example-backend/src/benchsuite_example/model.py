"""A reverse-mode tape over NumPy in float64.

``forward`` runs the layers and, when asked, records one closure per operation that maps the
gradient of its output to the gradient of its input (adding parameter gradients into
``grads`` on the way). ``train_step`` plays that tape backwards, then applies the optimizer.
Everything is float64 inside; weights leave as float32 in the canonical layout, which for
Dense, ``(in, out)`` kernels, is this backend's own layout, so no conversion is needed.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from benchsuite import SGD, Activation, Dense, Flatten, Model


def _activation(fn: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The activation of ``z`` and its derivative with respect to ``z``."""
    if fn == "relu":
        return np.maximum(z, 0.0), (z > 0).astype(z.dtype)
    if fn == "tanh":
        a = np.tanh(z)
        return a, 1.0 - a * a
    a = 1.0 / (1.0 + np.exp(-z))
    return a, a * (1.0 - a)


def _unflatten(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    return g.reshape(shape)


class TapeModel(Model):
    def __init__(self, spec, optimizer) -> None:
        self.spec, self.opt = spec, optimizer
        self.shapes = [p.shape for p in spec.parameters()]
        self.set_weights([np.zeros(s) for s in self.shapes])

    # -- weights, in the canonical order: kernel then bias of each Dense layer ---------------
    def set_weights(self, weights):
        got = [np.shape(w) for w in weights]
        if got != self.shapes:
            raise ValueError(f"weights of shapes {got}, expected {self.shapes}")
        self.params = [np.array(w, dtype=np.float64) for w in weights]
        self.moments = [[np.zeros_like(p), np.zeros_like(p)] for p in self.params]
        self.t = 0

    def get_weights(self):
        return [p.astype(np.float32) for p in self.params]

    # -- the tape ----------------------------------------------------------------------------
    def forward(self, x: np.ndarray, tape: list | None = None) -> np.ndarray:
        h, k = np.asarray(x, dtype=np.float64), 0
        for layer in self.spec.layers:
            if isinstance(layer, Flatten):
                shape, h = h.shape, h.reshape(len(h), -1)
                back = partial(_unflatten, shape=shape)
            elif isinstance(layer, Dense):
                w, b, inp, i = self.params[k], self.params[k + 1], h, k
                h, k = inp @ w + b, k + 2
                back = partial(self._dense_back, inp=inp, w=w, i=i)
            elif isinstance(layer, Activation):
                h, slope = _activation(layer.fn, h)
                back = partial(np.multiply, slope)
            else:
                raise ValueError(f"example backend has no {type(layer).__name__} layer")
            if tape is not None:
                tape.append(back)
        return h

    def _dense_back(self, g, inp, w, i):
        self.grads[i] += inp.T @ g
        self.grads[i + 1] += g.sum(axis=0)
        return g @ w.T

    def train_step(self, x, y):
        tape: list = []
        logits = self.forward(x, tape)
        z = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        rows = np.arange(len(y))
        loss = -np.mean(np.log(p[rows, y]))
        g = p
        g[rows, y] -= 1.0
        g /= len(y)
        self.grads = [np.zeros_like(q) for q in self.params]
        for back in reversed(tape):
            g = back(g)
        self._update()
        return np.float32(loss)

    def _update(self):
        self.t += 1
        o = self.opt
        for p, g, (m, v) in zip(self.params, self.grads, self.moments):
            g = g + o.weight_decay * p  # L2 penalty (0 unless asked for)
            if isinstance(o, SGD):  # v = momentum v + g; p -= lr v
                m *= o.momentum
                m += g
                p -= o.lr * m
                continue
            m += (1 - o.beta1) * (g - m)  # Adam, bias-corrected, eps outside the root
            v += (1 - o.beta2) * (g * g - v)
            m_hat, v_hat = m / (1 - o.beta1 ** self.t), v / (1 - o.beta2 ** self.t)
            p -= o.lr * m_hat / (np.sqrt(v_hat) + o.eps)

    def predict(self, x):
        return self.forward(x).astype(np.float32)
