"""The blocks of a ``benchsuite ab`` document (its two environments, its verdicts): a leaf
split off :mod:`benchsuite.records` to keep it short; every name is re-exported there."""

from __future__ import annotations

from typing import Any, TypedDict

AB_KIND = "ab"


class _AbEnvironmentRequired(TypedDict):
    python: str  # as given (--base-python / --python)


class AbEnvironment(_AbEnvironmentRequired, total=False):
    """One environment of an ab run: its Python's version, benchsuite's, the interpreter
    that ran, and each backend's worker description (as ``environment.backends``)."""

    python_version: str
    benchsuite_version: str
    executable: str
    backends: dict[str, dict[str, Any]]


class _AbVerdictRequired(TypedDict):
    backend: str
    model: str
    mode: str
    verdict: str  # same, slower, faster, inconclusive, contended, failed, skipped


class AbVerdict(_AbVerdictRequired, total=False):
    """One case judged: throughput medians, the geometric-mean ratio new/base of its paired
    rounds and its bootstrap 95% CI, the Wilcoxon p-value and its Holm adjustment, the
    smallest change it could have detected."""

    variant: str | None
    device: str
    batch_size: int
    base: float | None
    new: float | None
    ratio: float | None
    ci_low: float | None
    ci_high: float | None
    rounds: int
    p_value: float | None
    p_adjusted: float | None
    detectable: float | None  # smallest change caught with 80% power; None: none could be
    error: str | None


class _AbBlockRequired(TypedDict):
    margin: float
    verdicts: list[AbVerdict]


class AbBlock(_AbBlockRequired, total=False):
    """How an ab run's cases were judged, and the verdicts."""

    alpha: float
    correction: str  # "holm"
    test: str  # "wilcoxon signed-rank"
