"""Speed cases: the settings of a ``benchsuite run`` and the case matrix they expand into.

Cases are planned up front (so bad names fail before anything runs); a case that cannot run
here (framework missing, device or variant missing, layer unsupported) becomes a ``skipped``
row with the reason. Cases are ordered with the backend innermost, so that backends alternate
(A B C A B C) and drift hits all of them alike. A :class:`Case` is an execution job: its worker
runs :func:`benchsuite.bench.run_case`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any

from benchsuite import planning
from benchsuite.errors import UsageError
from benchsuite.execution import WorkerSettings
from benchsuite.optim import OPTIMIZERS, SGD, Optimizer, check_optimizer, optimizer_dict
from benchsuite.plugins import Registry
from benchsuite.records import new_case_record
from benchsuite.spec import DEFAULT_INPUT
from benchsuite.stats import pool
from benchsuite.values import as_tuple, check_number, check_numbers

MODES = ("train", "infer", "latency")  # latency: predict at batch 1, every step timed
DEFAULT_MODES = ("train", "infer")
DATASETS = ("synthetic", "digits")
EXECUTORS = ("local", "ray")
PLACEMENTS = ("spread", "per-node")


@dataclass
class Settings:
    """Everything that defines a run; recorded verbatim in the results file."""

    backends: list[str] = field(default_factory=list)  # empty: every registered backend
    models: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # empty: all
    modes: tuple[str, ...] = DEFAULT_MODES
    device: str = "cpu"  # "cpu", "cuda" or "all"
    batch_sizes: tuple[int, ...] = (128,)
    repeats: int = 5
    min_time: float = 0.2
    #: In turns: rounds go on past ``repeats`` until every pair's paired-ratio CI half-width
    #: is at most this (a fraction), or ``max_repeats`` clean rounds (None: 2 × ``repeats``).
    #: None: ``repeats`` rounds.
    precision: float | None = None
    max_repeats: int | None = None
    threads: int = 1
    seed: int = 0
    optimizer: Optimizer = field(default_factory=SGD)
    data: str = "synthetic"
    variants: tuple[str, ...] = ()  # empty: each backend's default (its fast path)
    parity: bool = True  # quick parity check against the NumPy oracle in every case
    isolate: bool = True  # one worker process per backend
    timeout: float = 900.0  # seconds per case before its worker is killed
    memory_limit_gib: float | None = None  # per worker (RLIMIT_DATA); None: no limit
    gemm_size: int = 2048  # n of the n×n×n matmul that calibrates the peak GFLOP/s
    processes: int = 1  # > 1: every case runs in that many fresh workers, samples pooled
    executor: str = "local"  # or "ray": cases run on the nodes of a Ray cluster
    placement: str = "spread"  # ray: "spread" cases over nodes, or "per-node": all on each
    ray_address: str | None = None  # ray: the cluster to join (None: RAY_ADDRESS or a new one)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Settings:
        """The inverse of :meth:`to_dict` (used by ``run --resume``)."""
        opt = dict(d["optimizer"])
        kw = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        kw.update(optimizer=OPTIMIZERS[opt.pop("name")](**opt),
                  models=[(n, p) for n, p in d["models"]], modes=as_tuple(d["modes"]),
                  batch_sizes=as_tuple(d["batch_sizes"]),
                  variants=as_tuple(d.get("variants", ())))
        return cls(**kw)

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d.update(models=[[n, p] for n, p in self.models], modes=list(self.modes),
                 batch_sizes=list(self.batch_sizes), variants=list(self.variants),
                 optimizer=optimizer_dict(self.optimizer))
        return d

    def most_rounds(self) -> int:
        """The most clean rounds a case in turns takes: ``repeats``, or while chasing
        ``precision``, ``max_repeats`` (2 × ``repeats`` unless given)."""
        if not self.precision:
            return self.repeats
        return max(self.repeats, self.max_repeats or 2 * self.repeats)

    def worker_settings(self) -> WorkerSettings:
        return WorkerSettings(self.threads, self.timeout, self.memory_limit_gib, self.isolate)

    def validate(self) -> None:
        """Every value that cannot make sense, as one UsageError (before anything runs): the
        command line's and those read back from a results file by ``--resume`` alike."""
        planning.check_device(self.device)
        if not isinstance(self.modes, list | tuple):
            raise UsageError(f"--mode must be a list of modes, got {self.modes!r}")
        bad_modes = [m for m in self.modes if m not in MODES]
        if bad_modes or not self.modes:
            raise UsageError(f"unknown mode {bad_modes[0] if bad_modes else ''!r} "
                             f"(valid: {', '.join(MODES)})")
        check_numbers("--batch-size", self.batch_sizes, integer=True, minimum=1)
        for option, value in (("--repeats", self.repeats), ("--threads", self.threads),
                              ("--processes", self.processes), ("--gemm-size", self.gemm_size)):
            check_number(option, value, integer=True, minimum=1)
        check_number("--seed", self.seed, integer=True)
        check_number("--min-time", self.min_time, exclusive=True)
        if self.precision is not None:
            check_number("--precision", self.precision, exclusive=True, maximum=1)
        if self.max_repeats is not None:
            check_number("--max-repeats", self.max_repeats, integer=True, minimum=1)
            if self.max_repeats < self.repeats:
                raise UsageError(f"--max-repeats {self.max_repeats} is below --repeats "
                                 f"{self.repeats}: the rounds could never stop where asked")
        check_number("--timeout", self.timeout, exclusive=True)
        if self.memory_limit_gib is not None:
            check_number("--memory-limit", self.memory_limit_gib, exclusive=True)
        check_optimizer(self.optimizer)
        if self.processes > 1 and not self.isolate:
            raise UsageError("--processes needs worker processes (drop --in-process)")
        if self.executor not in EXECUTORS or self.placement not in PLACEMENTS:
            raise UsageError(f"unknown executor {self.executor!r} or placement "
                             f"{self.placement!r} (valid: {', '.join(EXECUTORS)}; "
                             f"{', '.join(PLACEMENTS)})")
        if self.executor != "ray" and (self.placement != "spread" or self.ray_address):
            raise UsageError("--per-node and --ray-address need --executor ray")
        if self.data not in DATASETS:
            raise UsageError(f"unknown data set {self.data!r} (valid: {', '.join(DATASETS)})")


@dataclass(frozen=True)
class Case(planning.PlannedJob):
    """One speed case; an execution job (see :mod:`benchsuite.execution`)."""

    mode: str
    device: str
    batch_size: int
    #: ``benchsuite ab``: the environment ("base" or "new") whose Python runs it; None: here.
    env: str | None = None

    @property
    def label(self) -> str:
        variant = f" [{self.variant}]" if self.variant not in (None, "default") else ""
        return (f"{self.backend}{variant} {self.spec.name} {self.mode} {self.device} "
                f"b{self.batch_size}")

    @property
    def processes(self) -> int:
        return self.settings.processes if self.settings else 1

    def call(self) -> tuple[str, tuple[Any, ...]]:
        return "benchsuite.bench:run_case", (self, self.settings)

    def record(self, status: str, error: str | None) -> dict[str, Any]:
        record = base_record(self, self.backend_version, self.settings)
        record["status"], record["error"] = status, error
        return record

    def combine(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        failed = [r for r in records if r["status"] != "ok"]
        return failed[0] if failed else pool_records(records, self.batch_size)

    def key(self) -> tuple:
        return case_key(self.backend, self.variant, self.spec.name, dict(self.spec.params),
                        self.mode, self.device, self.batch_size)


def base_record(case: Case, backend_version: str | None, settings: Settings | None
                ) -> dict[str, Any]:
    """The skeleton of every case's record (a skipped row until the worker fills it in)."""
    train = case.mode == "train" and settings is not None
    return dict(new_case_record(
        case.backend, case.spec.name, case.spec.to_dict(), case.mode, case.device,
        case.batch_size, backend_version=backend_version, variant=case.variant,
        optimizer=optimizer_dict(settings.optimizer) if train else None,
        skip_reason=case.skip_reason), **case.dists())


def pool_records(records: list[dict[str, Any]], batch_size: int) -> dict[str, Any]:
    """One record from the same case measured in several processes: pooled samples."""
    out = dict(records[0])
    out["throughput"] = pool(r["throughput"]["samples"] for r in records)
    median = out["throughput"]["median"]
    out["step_ms"] = 1000 * batch_size / median
    if out.get("flops_per_sample"):
        out["gflops"] = out["flops_per_sample"] * median / 1e9
    if out.get("peak_gflops") and out.get("gflops"):
        out["efficiency"] = out["gflops"] / out["peak_gflops"]
    out["processes"] = len(records)
    out["process_medians"] = [r["throughput"]["median"] for r in records]
    return out


def case_key(backend: str, variant: str | None, model: str, params: Any, mode: str,
             device: str, batch_size: int) -> tuple:
    """What identifies a case across runs (``--resume``, comparisons)."""
    return (backend, variant, model, json.dumps(params, sort_keys=True), mode, device,
            batch_size)


def key_of_record(record: dict[str, Any]) -> tuple:
    return case_key(record["backend"], record.get("variant"), record["model"],
                    (record.get("spec") or {}).get("params", {}), record["mode"],
                    record["device"], record["batch_size"])


def input_shape_for(settings: Settings) -> tuple[tuple[int, int, int], int]:
    """(input shape, classes) the models are built for, given the data set."""
    return ((8, 8, 1), 10) if settings.data == "digits" else (DEFAULT_INPUT, 10)


def plan(registry: Registry, settings: Settings) -> list[Case]:
    """Validate the settings against what is installed and expand them into cases."""
    settings.validate()
    backends, explicit = planning.selected_backends(registry, settings.backends)
    shape, classes = input_shape_for(settings)
    models = settings.models or [(n, {}) for n in registry.models]
    batch = max(settings.batch_sizes)
    specs = [planning.build_spec(registry, n, p, shape, classes, batch) for n, p in models]
    wanted = planning.check_device(settings.device)
    every = settings.device == "all"
    have = {b.name: planning.devices(registry, b, wanted, explicit, every) for b in backends}
    variants = planning.variants(backends, settings.variants)
    facts = planning.backend_facts(registry, backends)
    return [Case(mode, dev, bs, backend=b.name, spec=spec, variant=var,
                 skip_reason=planning.skip_reason(b, spec, dev, have[b.name], var),
                 settings=settings, model_dist=registry.dist_of_model(spec.name),
                 **facts[b.name])
            for spec in specs for mode in settings.modes for dev in wanted
            for bs in _batch_sizes(mode, settings.batch_sizes)
            for b in backends for var in variants[b.name]]


def _batch_sizes(mode: str, sizes: tuple[int, ...]) -> tuple[int, ...]:
    """Latency is measured at batch 1, whatever the throughput batch sizes are."""
    return (1,) if mode == "latency" else sizes


def remaining(cases: list[Case], doc: dict[str, Any]) -> list[Case]:
    """The cases an interrupted run still lacks. A ``lost`` row (its Ray node died mid-case) is
    not a result; per-node Ray runs get the whole plan and skip, node by node, what each did."""
    if doc["settings"].get("placement") == "per-node":
        return cases
    done = {key_of_record(c) for c in doc["cases"] if c["status"] != "lost"}
    return [c for c in cases if c.key() not in done]


def done_on_node(doc: dict[str, Any]):
    """For a resumed per-node Ray run: whether ``doc`` has a result of a case from a node (a
    record of the same node id, or of the same host name when that id is gone: the cluster
    was restarted)."""
    def done(case: Case, node: dict[str, Any], ids_now: set[str]) -> bool:
        key = case.key()
        for r in doc["cases"]:
            tag = r.get("node") or {}
            if r["status"] == "lost" or key_of_record(r) != key:
                continue
            if tag.get("id") == node["id"] or (
                    tag.get("id") not in ids_now and tag.get("hostname") == node["hostname"]):
                return True
        return False
    return done
