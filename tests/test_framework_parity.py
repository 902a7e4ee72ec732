"""Parity of every framework backend (torch, TensorFlow, JAX) with the float64 NumPy oracle: small
shapes, every layer type, all three models, SGD with and without momentum, and Adam; weights
round-trip in canonical layout; the same on a GPU where there is one. A backend whose framework
is not installed is skipped."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from benchsuite_numpy.backend import NumpyBackend

from benchsuite import parity
from benchsuite import spec as S
from benchsuite.optim import SGD, Adam

OPTIMIZERS = [SGD(lr=0.01, momentum=0.9), SGD(lr=0.05, momentum=0.0), Adam(lr=0.001)]
OPT_IDS = ["sgd-momentum", "sgd", "adam"]


def layer_specs() -> dict[str, S.ModelSpec]:
    """One spec per layer type, each as small as it can be while still exercising it."""
    shape = (6, 6, 2)
    return {
        "dense": S.ModelSpec("dense", shape, 3, (S.Flatten(), S.Dense(3))),
        "conv2d-odd": S.ModelSpec("conv", shape, 3, (S.Conv2D(4, 3), S.Flatten(), S.Dense(3))),
        "conv2d-even": S.ModelSpec("conv", shape, 3, (S.Conv2D(4, 2), S.Flatten(), S.Dense(3))),
        # Flatten after spatial layers: a wrong NCHW/NHWC permutation shows up here.
        "maxpool+flatten": S.ModelSpec("pool", (5, 7, 3), 3,
                                       (S.MaxPool2D(2), S.Flatten(), S.Dense(3))),
        **{f"activation-{fn}": S.mlp(input_shape=shape, classes=3, depth=1, width=8,
                                     activation=fn) for fn in S.ACTIVATIONS},
    }


def model_specs() -> dict[str, S.ModelSpec]:
    """The three canonical models at the compact digits shape."""
    shape = (8, 8, 1)
    return {"logreg": S.logreg(input_shape=shape), "mlp": S.mlp(input_shape=shape),
            "convnet": S.convnet(input_shape=shape)}


REFERENCE = parity.Reference(NumpyBackend())


def assert_parity(backend, spec, optimizer, device="cpu", variant=None, steps=10):
    checks = parity.check(backend, REFERENCE, spec, device, variant, optimizer, steps=steps,
                          batch_size=8, seeds=(0, 1, 2))
    bad = [f"{c.name}: {c.deviation:.2e}" for c in checks if not c.passed]
    assert not bad, f"{spec.describe()} with {optimizer}: {bad}"


def assert_round_trip(backend, device="cpu"):
    """set_weights then get_weights returns the canonical arrays unchanged."""
    spec = S.convnet(input_shape=(8, 8, 3), classes=4, filters=(2, 3), kernel_size=3, dense=5)
    model = backend.build(spec, device, SGD())
    weights = spec.init_weights(5)
    model.set_weights(weights)
    got = model.get_weights()
    assert [w.shape for w in got] == [tuple(p.shape) for p in spec.parameters()]
    for a, b in zip(got, weights):
        assert a.dtype == np.float32
        np.testing.assert_array_equal(a, b)
    x = np.random.default_rng(0).random((5, 8, 8, 3), dtype=np.float32)
    logits = model.to_numpy(model.predict(model.stage(x)[0]))
    assert logits.shape == (5, 4) and logits.dtype == np.float32
    loss = float(model.to_numpy(model.train_step(*model.stage(x, np.arange(5) % 4))))
    assert np.isfinite(loss) and loss > 0


LAYERS, MODELS = layer_specs(), model_specs()
BACKENDS = {"torch": ("torch", "benchsuite_torch.backend", "TorchBackend"),
            "tensorflow": ("tensorflow", "benchsuite_tensorflow.backend", "TensorFlowBackend"),
            "jax": ("jax", "benchsuite_jax.backend", "JaxBackend")}


@pytest.fixture(scope="module", params=list(BACKENDS))
def backend(request):
    framework, module, cls = BACKENDS[request.param]
    pytest.importorskip(framework)
    return getattr(importlib.import_module(module), cls)()


@pytest.mark.parametrize("spec", list(LAYERS.values()), ids=list(LAYERS))
def test_every_layer_type_matches_the_oracle(backend, spec):
    assert_parity(backend, spec, SGD(lr=0.05, momentum=0.9))


@pytest.mark.parametrize("spec", list(MODELS.values()), ids=list(MODELS))
@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=OPT_IDS)
def test_canonical_models_match_the_oracle(backend, spec, optimizer):
    assert_parity(backend, spec, optimizer)


@pytest.mark.parametrize("optimizer", [SGD(lr=0.05, momentum=0.9, weight_decay=0.05),
                                       Adam(lr=0.001, weight_decay=0.05)],
                         ids=["sgd-momentum-l2", "adam-l2"])
def test_weight_decay_matches_the_oracle(backend, optimizer):
    assert_parity(backend, MODELS["mlp"], optimizer)


def test_weights_round_trip_in_canonical_layout(backend):
    assert_round_trip(backend)


@pytest.mark.gpu
@pytest.mark.parametrize("spec", list(MODELS.values()), ids=list(MODELS))
def test_gpu_matches_the_oracle(backend, spec):
    if "cuda" not in backend.devices():
        pytest.skip(f"{backend.name}: no CUDA device here")
    assert_parity(backend, spec, SGD(), device="cuda")
    assert_round_trip(backend, device="cuda")
