"""Shared fixtures: tiny specs and fake backends so tests stay fast on 2 cores."""

from __future__ import annotations

import pytest
from threadpoolctl import threadpool_limits

from benchsuite import spec as S


@pytest.fixture(scope="session", autouse=True)
def _one_blas_thread():
    # Tests measure correctness, not speed: one BLAS thread keeps them predictable.
    with threadpool_limits(limits=1):
        yield


@pytest.fixture
def tiny_convnet() -> S.ModelSpec:
    return S.convnet(input_shape=(8, 8, 2), classes=3, filters=(3, 4), kernel_size=3, dense=5)


@pytest.fixture
def tiny_specs(tiny_convnet) -> list[S.ModelSpec]:
    return [
        S.logreg(input_shape=(4, 4, 1), classes=3),
        S.mlp(input_shape=(4, 4, 1), classes=3, depth=2, width=6),
        S.mlp(input_shape=(3, 3, 1), classes=4, depth=3, width=5, activation="sigmoid"),
        S.mlp(input_shape=(3, 3, 1), classes=4, depth=2, width=5, activation="tanh"),
        tiny_convnet,
    ]
