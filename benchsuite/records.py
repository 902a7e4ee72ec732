"""The results records, typed: the one definition of what a results file holds (schema 1).

A results document (:class:`RunDocument`) is written by ``benchsuite run`` (no ``kind``; one
:class:`CaseRecord` per case in ``cases``) and by ``benchsuite train`` (``"kind": "learning"``;
one :class:`TrainingRecord` per training run in ``learning``, ``cases`` empty). The same shapes
are published as a JSON Schema (``benchsuite/schema/results-v1.schema.json``, :func:`schema`,
``benchsuite schema``); a test keeps the two in step, key by key.

Schema 1 is additive: readers ignore keys they do not know, and a new key is optional. So the
*required* keys (the ``_...Required`` bases) are those every version-1 writer has written; the
rest are optional. :data:`CASE_KEYS`, :data:`THROUGHPUT_KEYS` and :data:`LEARNING_KEYS` are the
smaller sets that loading a file checks: what the readers index without a default.

This module sits low in the layering (worker processes import it): it imports nothing from
benchsuite but :mod:`benchsuite.runinfo` (the document's settings, environment and nodes) and
:mod:`benchsuite.caseinfo` (a case's blocks) and :mod:`benchsuite.abinfo` (``benchsuite ab``'s),
leaves split off to keep the modules short (their names are re-exported here), and its
constructors take plain values, never the planner's objects.
"""

from __future__ import annotations

import json
import time
import uuid
from importlib import resources
from typing import Any, TypedDict, cast

from benchsuite.abinfo import AB_KIND, AbBlock, AbEnvironment, AbVerdict  # noqa: F401
from benchsuite.caseinfo import (  # noqa: F401 - re-exported: every record type is here
    Contention,
    ContentionThreshold,
    Interleaving,
    Latency,
    Memory,
    Parity,
    Phases,
    Spec,
    Throughput,
)
from benchsuite.runinfo import (  # noqa: F401 - re-exported: every record type is here
    BackendInfo,
    Dataset,
    Dist,
    Environment,
    Executor,
    Gpu,
    LearnSettings,
    Node,
    NodeTag,
    Optimizer,
    RunSettings,
)

SCHEMA_VERSION = 1
#: A case's or training run's outcome. "lost": the Ray node running the case died mid-case
#: (the case is retried elsewhere once).
STATUSES = ("ok", "failed", "skipped", "crashed", "timeout", "oom", "lost")
#: A document's ``status``: "running" while it is written, then "complete" or "interrupted".
RUN_STATUSES = ("running", "complete", "interrupted")
LEARNING_KIND = "learning"
SCHEMA_FILE = "results-v1.schema.json"

#: What loading a file checks in each case, its throughput, and each training run.
CASE_KEYS = ("backend", "model", "mode", "device", "batch_size", "status", "error", "throughput")
THROUGHPUT_KEYS = ("median", "ci_low", "ci_high", "samples")
LEARNING_KEYS = ("task", "backend", "model", "seed", "status", "error")

JSON = dict[str, Any]


# -- a case of ``benchsuite run`` --------------------------------------------------------------

class _CaseRequired(TypedDict):
    backend: str
    backend_version: str | None
    model: str
    spec: Spec
    mode: str  # "train", "infer" or "latency"
    device: str
    batch_size: int
    optimizer: Optimizer | None  # null unless mode is "train"
    status: str  # one of STATUSES
    error: str | None
    throughput: Throughput | None  # null unless the case ran


class CaseRecord(_CaseRequired, total=False):
    """One case of ``benchsuite run`` (``processes``/``process_medians``: ``--processes`` > 1
    pooled that many fresh workers; ``retried``: a ``lost`` case was run again elsewhere)."""

    variant: str | None
    traceback: str  # a failed row: the tail of its error's traceback
    backend_dist: Dist
    model_dist: Dist
    step_ms: float
    flops_per_sample: int | None
    gflops: float | None
    peak_gflops: float
    efficiency: float
    phases: Phases
    memory: Memory
    contention: Contention | None
    interleaving: Interleaving
    latency: Latency
    parity: Parity
    final_loss: float
    null_backend: bool
    processes: int
    process_medians: list[float]
    node: NodeTag
    retried: bool
    env: str  # benchsuite ab: "base" or "new"


# -- a training run of ``benchsuite train`` ----------------------------------------------------

class CurvePoint(TypedDict):
    """One epoch of a training curve; ``train_s``: cumulative training seconds."""

    epoch: int
    train_s: float
    loss: float
    train_accuracy: float
    test_accuracy: float


class _TrainingRequired(TypedDict):
    task: str  # "accuracy" or "gradients"
    backend: str
    backend_version: str | None
    variant: str | None
    model: str
    spec: Spec
    device: str
    dataset: str
    seed: int
    optimizer: Optimizer
    batch_size: int
    epochs: int
    target: float | None
    status: str
    error: str | None


class TrainingRecord(_TrainingRequired, total=False):
    """One training run; its curve and results once it ran (``shifted_accuracy``: pixels
    shifted, "1" and "2", → test accuracy; the gradient task's norms: one per Dense kernel)."""

    traceback: str  # a failed row: the tail of its error's traceback
    backend_dist: Dist
    model_dist: Dist
    curve: list[CurvePoint]
    final_test_accuracy: float
    final_loss: float
    train_s: float
    time_to_target_s: float | None
    epochs_to_target: int | None
    shifted_accuracy: dict[str, float]
    depth: int
    activation: str
    grad_norms_init: list[float]
    grad_norms_epoch1: list[float] | None


# -- the document ------------------------------------------------------------------------------

class IdleCheck(TypedDict):
    """The machine sampled before a local run: mean cores other processes (and the
    hypervisor) kept busy over ``seconds``; ``busy``: above the contention threshold."""

    busy: bool
    seconds: float
    others_cores: float
    steal_cores: float


class _RunDocumentRequired(TypedDict):
    schema_version: int
    run_id: str
    benchsuite_version: str
    started: str
    finished: str | None
    status: str  # one of RUN_STATUSES
    settings: RunSettings | LearnSettings
    environment: Environment
    cases: list[CaseRecord]


class RunDocument(_RunDocumentRequired, total=False):
    """A results file. ``kind`` is absent for ``benchsuite run`` and "learning" for
    ``benchsuite train``, whose documents also have ``learning`` and ``dataset``;
    ``resumed``: when each ``--resume`` started."""

    kind: str
    learning: list[TrainingRecord]
    dataset: Dataset
    resumed: list[str]
    executor: Executor
    nodes: dict[str, Node]
    idle_check: IdleCheck | None
    environments: dict[str, AbEnvironment]
    ab: AbBlock


# -- constructors: the writers start every record from these -----------------------------------

def now() -> str:
    """A document's time stamp: local time with its UTC offset."""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def new_document(settings: JSON, environment: JSON, benchsuite_version: str,
                 kind: str | None = None, dataset: JSON | None = None) -> RunDocument:
    """A fresh document, ``running``, without records; of ``kind`` "learning" it also has an
    empty ``learning`` list and the ``dataset``."""
    doc: JSON = {
        "schema_version": SCHEMA_VERSION, "run_id": uuid.uuid4().hex[:12],
        "benchsuite_version": benchsuite_version, "started": now(), "finished": None,
        "status": "running", "settings": settings, "environment": environment, "cases": [],
    }
    if kind == AB_KIND:
        doc.update(kind=kind, environments={})
    elif kind is not None:
        if kind != LEARNING_KIND or dataset is None:
            raise ValueError(f"no document of kind {kind!r} ('learning', with a dataset, "
                             "or 'ab')")
        doc.update(kind=kind, learning=[], dataset=dataset)
    return cast(RunDocument, doc)


def new_case_record(backend: str, model: str, spec: JSON, mode: str, device: str,
                    batch_size: int, *, backend_version: str | None, variant: str | None,
                    optimizer: JSON | None, skip_reason: str | None = None) -> CaseRecord:
    """The skeleton every case starts from: ``skipped`` (``skip_reason`` is its error) and
    without throughput, until it is measured."""
    return cast(CaseRecord, {
        "backend": backend, "backend_version": backend_version, "variant": variant,
        "model": model, "spec": spec, "mode": mode, "device": device, "batch_size": batch_size,
        "optimizer": optimizer, "status": "skipped", "error": skip_reason, "throughput": None,
    })


def new_training_record(task: str, backend: str, model: str, spec: JSON, *,
                        backend_version: str | None, variant: str | None, device: str,
                        dataset: str, seed: int, optimizer: JSON, batch_size: int, epochs: int,
                        target: float | None, skip_reason: str | None = None) -> TrainingRecord:
    """The skeleton every training run starts from: ``skipped``, without a curve."""
    return cast(TrainingRecord, {
        "task": task, "backend": backend, "backend_version": backend_version,
        "variant": variant, "model": model, "spec": spec, "device": device, "dataset": dataset,
        "seed": seed, "optimizer": optimizer, "batch_size": batch_size, "epochs": epochs,
        "target": target, "status": "skipped", "error": skip_reason,
    })


def is_contended(case: JSON) -> bool:
    """Whether a case's record says it was measured under contention (``contention.contended``;
    files written before contention was measured have no such key)."""
    info = case.get("contention")
    return isinstance(info, dict) and bool(info.get("contended"))


def schema() -> JSON:
    """The JSON Schema (draft 2020-12) of every results document, as a dict."""
    text = resources.files("benchsuite").joinpath("schema", SCHEMA_FILE).read_text("utf-8")
    return json.loads(text)
