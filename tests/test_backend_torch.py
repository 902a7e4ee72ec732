from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from benchsuite_torch.backend import TorchBackend  # noqa: E402

from benchsuite import spec as S  # noqa: E402
from benchsuite.optim import SGD  # noqa: E402
from tests import test_framework_parity as P  # noqa: E402

BACKEND = TorchBackend()


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
    P.assert_parity(BACKEND, P.MODELS["mlp"], SGD(), variant="compiled", steps=3)
