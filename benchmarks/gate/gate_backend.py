"""The backend ``burn`` of benchmarks/gate_power.py: real CPU work per step (a NumPy matmul
of the batch against a fixed matrix), then as much extra CPU again as the environment
variable ``GATE_SLOWDOWN`` says, as a fraction of that step's own time (0.05: every step
takes 5% longer, spinning, as a slower kernel would). A benchmark's plugin, not benchsuite's:
gate_power.py puts this folder on PYTHONPATH and names the module as an entry point."""

from __future__ import annotations

import os
import time

import numpy as np

from benchsuite import Backend, Model, hookimpl

WIDTH = 256  # columns of the fixed matrix: about 0.5-1 ms a step at batch 32 on one core


def _burn(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


class BurnModel(Model):
    def __init__(self, spec):
        self.spec = spec
        self.weights = [np.zeros(p.shape, np.float32) for p in spec.parameters()]
        features = int(np.prod(spec.input_shape))
        self.matrix = np.random.default_rng(0).standard_normal((features, WIDTH), np.float32)
        self.slowdown = float(os.environ.get("GATE_SLOWDOWN", "0"))

    def set_weights(self, weights):
        self.weights = [np.array(w) for w in weights]

    def get_weights(self):
        return self.weights

    def _step(self, x) -> np.ndarray:
        t0 = time.perf_counter()
        out = np.asarray(x, np.float32).reshape(len(x), -1) @ self.matrix
        out = np.tanh(out) @ self.matrix.T
        if self.slowdown:
            _burn(self.slowdown * (time.perf_counter() - t0))
        return out

    def train_step(self, x, y):
        return np.float32(float(np.mean(self._step(x)[:, 0] ** 2)) * 0 + 1.0)

    def predict(self, x):
        self._step(x)
        return np.zeros((len(x), self.spec.classes), np.float32)


class BurnBackend(Backend):
    name = "burn"

    def is_available(self):
        return True

    def version(self):
        return f"gate-{os.environ.get('GATE_SLOWDOWN', '0')}"

    def devices(self):
        return ["cpu"]

    def set_threads(self, threads):
        from threadpoolctl import threadpool_limits

        self._limits = threadpool_limits(limits=threads)
        return {"blas": threads}

    def build(self, spec, device, optimizer, variant=None):
        return BurnModel(spec)

    def synchronize(self, device):
        pass


@hookimpl
def benchsuite_register_backends(register):
    register(BurnBackend())
