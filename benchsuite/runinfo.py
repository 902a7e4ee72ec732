"""What a results document records about how it was run: its settings, the environment
fingerprint, the Ray executor and nodes, the data set (typed; schema 1).

Part of :mod:`benchsuite.records` (which re-exports every name here), split off to keep both
modules short. A leaf like it: it imports nothing from benchsuite. Classes named ``_...Required``
hold the keys every version-1 writer has written; the class built on one adds the optional keys
(``NotRequired`` needs Python 3.11).
"""

from __future__ import annotations

from typing import Any, TypedDict


class _OptimizerRequired(TypedDict):
    name: str  # "sgd" or "adam"
    lr: float


class Optimizer(_OptimizerRequired, total=False):
    """``optim.optimizer_dict``: SGD has momentum; Adam beta1, beta2 and eps."""

    momentum: float
    beta1: float
    beta2: float
    eps: float
    weight_decay: float


class _RunSettingsRequired(TypedDict):
    backends: list[str]
    models: list[list[Any]]  # [name, {parameter: value}]
    modes: list[str]
    device: str
    batch_sizes: list[int]
    repeats: int
    min_time: float
    threads: int
    seed: int
    optimizer: Optimizer


class RunSettings(_RunSettingsRequired, total=False):
    """``benchsuite run``'s settings (``runner.Settings.to_dict()``)."""

    precision: float | None
    max_repeats: int | None
    data: str
    variants: list[str]
    parity: bool
    isolate: bool
    timeout: float
    memory_limit_gib: float | None
    gemm_size: int
    processes: int
    executor: str
    placement: str
    ray_address: str | None


class _LearnSettingsRequired(TypedDict):
    tasks: list[str]
    backends: list[str]
    models: list[list[Any]]
    dataset: str
    data_dir: str | None
    limit: int | None
    epochs: int | None
    batch_size: int
    optimizer: str | None  # a name: the recipes' optimizers are in each training run
    lr: float | None
    seeds: list[int]
    targets: dict[str, float]
    depths: list[int]
    activations: list[str]
    device: str
    variants: list[str]
    threads: int
    timeout: float
    isolate: bool
    memory_limit_gib: float | None


class LearnSettings(_LearnSettingsRequired, total=False):
    """``benchsuite train``'s settings (``learning.LearnSettings.to_dict()``)."""

    weight_decay: float | None


class _BackendInfoRequired(TypedDict):
    version: str | None


class BackendInfo(_BackendInfoRequired, total=False):
    """``Backend.environment()`` (each plugin adds its own keys) and what its worker adds."""

    threads_in_effect: Any
    pid: int
    import_s: float | None


class Gpu(TypedDict):
    name: str
    driver: str
    memory_gib: float


class Dist(TypedDict):
    """The distribution whose plugin provided a backend or a model (``name``: the plugin's
    module when no installed distribution declared its entry point)."""

    name: str | None
    version: str | None


class _EnvironmentRequired(TypedDict):
    hostname: str
    cpu: str
    machine: str
    cores_logical: int | None
    cores_physical: int | None
    cores_usable: int
    memory_gib: float
    os: str
    python: str
    python_implementation: str
    benchsuite_version: str
    git_revision: str | None
    packages: dict[str, str]
    thread_env: dict[str, str]
    backends: dict[str, BackendInfo]  # filled in as the workers start


class Environment(_EnvironmentRequired, total=False):
    """``environment.fingerprint()``; ``gpus`` is null where nvidia-ml-py is not installed."""

    cpu_flags: list[str]
    gpus: list[Gpu] | None


class Executor(TypedDict, total=False):
    """How a Ray run was executed (absent for local runs)."""

    kind: str  # "ray"
    placement: str
    ray_version: str
    nodes: int
    threads_from_node: bool


class _NodeRequired(TypedDict):
    id: str
    hostname: str
    hardware: str | None
    threads: int


class NodeTag(_NodeRequired, total=False):
    """The Ray node a case ran on; ``started``/``finished``: epoch seconds, when it ran there
    (absent from a row the node could not give)."""

    niceness: int
    started: float
    finished: float


class Node(_NodeRequired, total=False):
    """A Ray node of the run, under the document's ``nodes`` by its id."""

    niceness: int
    environment: Environment


class Dataset(TypedDict):
    """The data set a ``benchsuite train`` run learned from."""

    name: str
    train: int
    test: int
    input_shape: list[int]
    classes: int
