"""Shared fixtures: tiny specs and fake backends so tests stay fast on 2 cores; every results
file a test writes is checked against the JSON Schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

from benchsuite import results
from benchsuite import spec as S
from tests.schemacheck import SchemaCheck


@pytest.fixture(scope="session", autouse=True)
def _one_blas_thread():
    # Tests measure correctness, not speed: one BLAS thread keeps them predictable.
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(autouse=True)
def _contention_detection_off(request, monkeypatch):
    """Tests measure correctness on whatever machine runs them: a busy CI runner must not turn
    their repeats into re-runs or their synchronize checks into "inconclusive". The tests of the
    detector itself are marked ``contention``; workers inherit the variable."""
    if not request.node.get_closest_marker("contention"):
        monkeypatch.setenv("BENCHSUITE_CONTENTION", "off")


@pytest.fixture(autouse=True)
def results_schema_check(request, monkeypatch) -> SchemaCheck | None:
    """Every results file a test writes must match the published JSON Schema: each save in
    this process as it happens (documents still ``running`` included), and after the test
    every results file left in its ``tmp_path`` (written by a ``benchsuite`` subprocess).
    A test that writes invalid files on purpose is marked ``invalid_results``."""
    if request.node.get_closest_marker("invalid_results"):
        return None
    check = SchemaCheck()
    monkeypatch.setattr(results, "save", check.wrap(results.save))
    return check


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """Fail the test itself (not its teardown) when a file it wrote breaks the schema."""
    outcome = yield
    check = getattr(item, "funcargs", {}).get("results_schema_check")
    if check is not None:
        if isinstance(item.funcargs.get("tmp_path"), Path):
            check.scan(item.funcargs["tmp_path"])
        if check.problems:
            pytest.fail("results file(s) written by this test break the JSON Schema:\n"
                        + "\n".join(dict.fromkeys(check.problems)), pytrace=False)
    return outcome


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
