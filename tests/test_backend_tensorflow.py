from __future__ import annotations

import pytest

pytest.importorskip("tensorflow")

from benchsuite_tensorflow.backend import TensorFlowBackend, import_tf

from benchsuite.optim import SGD
from tests import test_framework_parity as P

BACKEND = TensorFlowBackend()


@pytest.mark.parametrize("variant", ["xla", "eager"])
def test_other_variants_match_the_oracle(variant):
    P.assert_parity(BACKEND, P.MODELS["convnet"], SGD(), variant=variant, steps=3)


def test_facts():
    tf = import_tf()
    assert BACKEND.is_available() and BACKEND.version() == tf.__version__
    assert "cpu" in BACKEND.devices()
    env = BACKEND.environment()
    assert env["version"] == tf.__version__ and env["keras"].startswith("3")
