from __future__ import annotations

import pytest

pytest.importorskip("tensorflow")

from benchsuite_tensorflow.backend import TensorFlowBackend, import_tf

from benchsuite.optim import SGD
from tests import framework_parity as P

BACKEND = TensorFlowBackend()
HAS_GPU = bool(import_tf().config.list_physical_devices("GPU"))


@P.parametrize_layers()
def test_every_layer_type_matches_the_oracle(spec):
    P.assert_parity(BACKEND, spec, SGD(lr=0.05, momentum=0.9))


@P.parametrize_models()
@P.parametrize_optimizers()
def test_canonical_models_match_the_oracle(spec, optimizer):
    P.assert_parity(BACKEND, spec, optimizer)


def test_weights_round_trip_in_canonical_layout():
    P.assert_round_trip(BACKEND)


@pytest.mark.parametrize("variant", ["xla", "eager"])
def test_other_variants_match_the_oracle(variant):
    P.assert_parity(BACKEND, P.model_specs()["convnet"], SGD(), variant=variant, steps=3)


def test_facts():
    tf = import_tf()
    assert BACKEND.is_available() and BACKEND.version() == tf.__version__
    assert "cpu" in BACKEND.devices()
    env = BACKEND.environment()
    assert env["version"] == tf.__version__ and env["keras"].startswith("3")


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_GPU, reason="no GPU")
@P.parametrize_models()
def test_gpu_matches_the_oracle(spec):
    P.assert_parity(BACKEND, spec, SGD(), device="cuda")
    P.assert_round_trip(BACKEND, device="cuda")
