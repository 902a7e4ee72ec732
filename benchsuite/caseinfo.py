"""The blocks of a case record (the model spec, throughput, phases, memory, contention, latency,
parity): a leaf split off :mod:`benchsuite.records` to keep both modules short; every name is
re-exported there."""

from __future__ import annotations

from typing import Any, TypedDict

JSON = dict[str, Any]


class Spec(TypedDict):
    """``ModelSpec.to_dict()``: the model as run."""

    name: str
    params: JSON
    input_shape: list[int]
    classes: int
    layers: str
    n_params: int
    flops_forward: int
    flops_train: int


class _ThroughputRequired(TypedDict):
    median: float
    ci_low: float
    ci_high: float
    samples: list[float]


class Throughput(_ThroughputRequired, total=False):
    """Samples per second: the median of the repeats, its bootstrap 95% CI, and the spread."""

    iqr: float
    cv: float
    unstable: bool


class Phases(TypedDict, total=False):
    import_s: float | None
    build_s: float
    first_step_s: float
    warmup_steps: int
    steps_per_repeat: int
    steady_step_s: float


class Memory(TypedDict, total=False):
    peak_rss_mib: float | None
    peak_device_mib: float | None


class ContentionThreshold(TypedDict, total=False):
    others_cores: float
    steal_cores: float


class _ContentionRequired(TypedDict):
    contended: bool


class Contention(_ContentionRequired, total=False):
    """What other processes (``others_cores``) and the hypervisor (``steal_cores``) took while
    each repeat was timed, mean cores busy, re-runs included; ``own_cores``: the worker's CPU
    time / wall. ``contended``: fewer than ``--repeats`` clean repeats could be had."""

    repeats_taken: int
    repeats_contended: int
    others_cores: list[float]
    steal_cores: list[float]
    own_cores: list[float]
    threshold: ContentionThreshold


class Latency(TypedDict, total=False):
    """Per-step latency of a ``latency`` case in milliseconds; ``quantiles_ms``: 1st..99th."""

    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    n: int
    quantiles_ms: list[float]


class _ParityRequired(TypedDict):
    passed: bool
    tolerance: float
    max_deviation: float | None
    checks: dict[str, float | None]


class Parity(_ParityRequired, total=False):
    """The quick parity check against the NumPy oracle (null: a non-finite deviation)."""

    worst_seed: dict[str, float | None]
    steps: int
    batch_size: int
    seeds: int


class Interleaving(TypedDict):
    """How a case's repeats were taken in turns with its contestants (the cases of the run
    that differ only in backend or variant): the ``group`` they share, how many there were,
    and the round of each sample (samples of one round pair up across the group)."""

    group: str
    contestants: int
    rounds: list[int]
