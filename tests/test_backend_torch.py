from __future__ import annotations

import sys

import pytest

torch = pytest.importorskip("torch")

from benchsuite_torch.backend import TorchBackend  # noqa: E402

from benchsuite import spec as S  # noqa: E402
from benchsuite.optim import SGD  # noqa: E402
from tests import framework_parity as P  # noqa: E402

BACKEND = TorchBackend()
HAS_CUDA = torch.cuda.is_available()


@P.parametrize_layers()
def test_every_layer_type_matches_the_oracle(spec):
    P.assert_parity(BACKEND, spec, SGD(lr=0.05, momentum=0.9))


@P.parametrize_models()
@P.parametrize_optimizers()
def test_canonical_models_match_the_oracle(spec, optimizer):
    P.assert_parity(BACKEND, spec, optimizer)


def test_weights_round_trip_in_canonical_layout():
    P.assert_round_trip(BACKEND)


def test_inputs_are_nchw_only_for_spatial_models():
    import numpy as np

    x = np.zeros((2, 8, 8, 1), np.float32)
    conv = BACKEND.build(S.convnet(input_shape=(8, 8, 1)), "cpu", SGD())
    dense = BACKEND.build(S.mlp(input_shape=(8, 8, 1)), "cpu", SGD())
    assert tuple(conv.stage(x)[0].shape) == (2, 1, 8, 8)
    assert tuple(dense.stage(x)[0].shape) == (2, 8, 8, 1)


def test_facts_and_threads():
    assert BACKEND.is_available() and BACKEND.version().startswith(torch.__version__[:4])
    assert "cpu" in BACKEND.devices()
    assert BACKEND.set_threads(1)["intra_op"] == 1
    env = BACKEND.environment()
    assert env["version"] == torch.__version__ and "parallel" in env


@pytest.mark.slow
def test_compiled_variant_matches_the_oracle():
    P.assert_parity(BACKEND, P.model_specs()["mlp"], SGD(), variant="compiled", steps=3)


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_CUDA, reason="no CUDA device")
@P.parametrize_models()
def test_cuda_matches_the_oracle(spec):
    P.assert_parity(BACKEND, spec, SGD(), device="cuda")
    P.assert_round_trip(BACKEND, device="cuda")


def test_framework_is_not_imported_by_the_plugin_module():
    import subprocess

    code = ("import sys, benchsuite_torch, benchsuite_tensorflow; "
            "from benchsuite.cli import main; main(['list']); "
            "assert 'torch' not in sys.modules and 'tensorflow' not in sys.modules")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0
