"""A configurable fake backend for harness tests: it can be unavailable, lack devices,
refuse layers, raise, or produce NaN, without any framework installed."""

from __future__ import annotations

import os
import time

import numpy as np

from benchsuite import Backend, Model, hookimpl
from benchsuite.spec import Activation, Dense, Flatten


class FakeModel(Model):
    def __init__(self, spec, behaviour):
        self.spec, self.behaviour = spec, behaviour
        self.weights = [np.zeros(p.shape, np.float32) for p in spec.parameters()]
        self.steps = 0

    def set_weights(self, weights):
        self.weights = [np.array(w) for w in weights]

    def get_weights(self):
        return self.weights

    def train_step(self, x, y):
        self.steps += 1
        if self.behaviour == "raise" and self.steps > 3:
            raise RuntimeError("fake kernel exploded")
        if self.behaviour == "abort" and self.steps > 3:
            print("fake: about to abort", flush=True)
            os.abort()
        if self.behaviour == "hang":
            time.sleep(3600)
        if self.behaviour == "sleep":  # a steady, known cost; FAKE_SLOWDOWN injects a slowdown
            time.sleep(float(os.environ.get("FAKE_STEP_S", "0.002"))
                       * float(os.environ.get("FAKE_SLOWDOWN", "1")))
        if self.behaviour == "hog" and self.steps > 3:
            self.hoard = np.empty((512, 2**20), np.float64)  # 4 GiB, beyond the tests' limit
        return np.float32("nan") if self.behaviour == "nan" else np.float32(1.0 / self.steps)

    def predict(self, x):
        value = np.nan if self.behaviour == "nan" else 0.0
        return np.full((len(x), self.spec.classes), value, np.float32)


class FakeBackend(Backend):
    install_hint = "pip install fake-framework"

    def __init__(self, name="fake", available=True, devices=("cpu",), behaviour="ok",
                 layers=None):
        self.name, self._available, self._devices = name, available, list(devices)
        self.supported_devices = tuple(devices)
        self.behaviour = behaviour
        if layers is not None:
            self.supported_layers = frozenset(layers)
        self.synced = 0
        self.threads = None

    def is_available(self):
        return self._available

    def version(self):
        return "0.0-fake" if self._available else None

    def devices(self):
        return self._devices

    def set_threads(self, threads):
        if self.behaviour == "broken-setup":
            raise RuntimeError("fake runtime failed to initialise")
        self.threads = threads
        return {"fake": threads}

    def build(self, spec, device, optimizer, variant=None):
        return FakeModel(spec, self.behaviour)

    def synchronize(self, device):
        self.synced += 1


@hookimpl
def benchsuite_register_backends(register):
    register(FakeBackend("fake"))
    register(FakeBackend("fake-missing", available=False))
    register(FakeBackend("fake-gpu", devices=("cpu", "cuda")))
    register(FakeBackend("fake-raise", behaviour="raise"))
    register(FakeBackend("fake-nan", behaviour="nan"))
    register(FakeBackend("fake-dense-only", layers=(Flatten, Dense, Activation)))
    register(FakeBackend("fake-abort", behaviour="abort"))
    register(FakeBackend("fake-hang", behaviour="hang"))
    register(FakeBackend("fake-hog", behaviour="hog"))
    register(FakeBackend("fake-sleep", behaviour="sleep"))
    register(FakeBackend("fake-broken-setup", behaviour="broken-setup"))


@hookimpl
def benchsuite_register_models(register):
    def tiny(input_shape=(8, 8, 1), classes=10, width=4):
        from benchsuite.spec import mlp

        spec = mlp(input_shape=input_shape, classes=classes, depth=1, width=width)
        return type(spec)("tiny", spec.input_shape, spec.classes, spec.layers, {"width": width})

    register("tiny", tiny, "a one-hidden-layer MLP for tests")
