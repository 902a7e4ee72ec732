"""A spec as a ``keras.Sequential`` of Keras 3 layers, trained by a ``tf.function`` step.

TensorFlow is NHWC with HWIO kernels and ``(in, out)`` Dense kernels already: the canonical
layouts load as they are. The optimizer update is written out in TensorFlow ops because
Keras's Adam puts epsilon inside the bias correction (``alpha·m / (sqrt(v) + eps)``), which is
not the formula in ``benchsuite.optim``; SGD is written the same way for symmetry.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from benchsuite.backend import Model
from benchsuite.errors import SpecError
from benchsuite.optim import SGD, Optimizer
from benchsuite.spec import Activation, Conv2D, Dense, Flatten, MaxPool2D, ModelSpec


def translate(spec: ModelSpec) -> keras.Sequential:
    layers: list[Any] = [keras.Input(shape=spec.input_shape)]
    for layer in spec.layers:
        if isinstance(layer, Dense):
            layers.append(keras.layers.Dense(layer.units))
        elif isinstance(layer, Conv2D):
            layers.append(keras.layers.Conv2D(layer.filters, layer.kernel_size, padding="same"))
        elif isinstance(layer, MaxPool2D):
            layers.append(keras.layers.MaxPooling2D(layer.pool_size))
        elif isinstance(layer, Flatten):
            layers.append(keras.layers.Flatten())
        elif isinstance(layer, Activation):
            layers.append(keras.layers.Activation(layer.fn))
        else:
            raise SpecError(f"tensorflow backend cannot translate {layer!r}")
    return keras.Sequential(layers)


class TensorFlowModel(Model):
    def __init__(self, spec: ModelSpec, device: str, optimizer: Optimizer, variant: str) -> None:
        self.spec, self.opt = spec, optimizer
        self.device = "/GPU:0" if device == "cuda" else "/CPU:0"
        with tf.device(self.device):
            self.net = translate(spec)
            self.vars = list(self.net.trainable_variables)
            self.first = [tf.Variable(tf.zeros_like(v), trainable=False) for v in self.vars]
            self.second = [tf.Variable(tf.zeros_like(v), trainable=False) for v in self.vars]
            self.t = tf.Variable(0.0, dtype=tf.float32, trainable=False)
        if variant == "eager":
            self._train, self._predict = self._train_step, self._forward
        else:
            jit = variant == "xla"
            self._train = tf.function(self._train_step, jit_compile=jit, reduce_retracing=True)
            self._predict = tf.function(self._forward, jit_compile=jit, reduce_retracing=True)

    def set_weights(self, weights: list[np.ndarray]) -> None:
        expected = [tuple(v.shape) for v in self.vars]
        if [tuple(np.shape(w)) for w in weights] != expected:
            raise SpecError(f"weights do not match the spec's shapes {expected}")
        for var, w, m, v in zip(self.vars, weights, self.first, self.second):
            var.assign(np.asarray(w, dtype=np.float32))
            m.assign(tf.zeros_like(m))
            v.assign(tf.zeros_like(v))
        self.t.assign(0.0)

    def get_weights(self) -> list[np.ndarray]:
        return [v.numpy().astype(np.float32) for v in self.vars]

    def stage(self, x: np.ndarray, y: np.ndarray | None = None) -> tuple[Any, Any]:
        with tf.device(self.device):
            xs = tf.constant(np.asarray(x, dtype=np.float32))
            ys = None if y is None else tf.constant(np.asarray(y, dtype=np.int64))
        return xs, ys

    def _forward(self, x):
        return self.net(x, training=False)

    def _train_step(self, x, y):
        with tf.GradientTape() as tape:
            logits = self.net(x, training=True)
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        grads = tape.gradient(loss, self.vars)
        self._apply(grads)
        return loss

    def _apply(self, grads) -> None:
        """The update formulas of benchsuite.optim, verbatim."""
        opt = self.opt
        if opt.weight_decay:
            grads = [g + opt.weight_decay * var for g, var in zip(grads, self.vars)]
        if isinstance(opt, SGD):
            for var, g, v in zip(self.vars, grads, self.first):
                v.assign(opt.momentum * v + g)
                var.assign_sub(opt.lr * v)
            return
        t = self.t.assign_add(1.0)
        c1, c2 = 1.0 - tf.pow(opt.beta1, t), 1.0 - tf.pow(opt.beta2, t)
        for var, g, m, v in zip(self.vars, grads, self.first, self.second):
            m.assign(opt.beta1 * m + (1.0 - opt.beta1) * g)
            v.assign(opt.beta2 * v + (1.0 - opt.beta2) * tf.square(g))
            var.assign_sub(opt.lr * (m / c1) / (tf.sqrt(v / c2) + opt.eps))

    def train_step(self, x, y):
        with tf.device(self.device):
            return self._train(x, y)

    def predict(self, x):
        with tf.device(self.device):
            return self._predict(x)

    def to_numpy(self, value: Any) -> np.ndarray:
        return value.numpy() if hasattr(value, "numpy") else np.asarray(value)
