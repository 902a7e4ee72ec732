"""The case matrix and its execution.

Cases are planned up front (so bad names fail before anything runs); a case that cannot run
here (framework missing, device or variant missing, layer unsupported) becomes a ``skipped``
row with the reason. Cases are ordered with the backend innermost, so that backends alternate
(A B C A B C) and drift hits all of them alike; each backend runs in its own worker process
(:mod:`benchsuite.worker`). The results file is rewritten atomically after every case, so an
interrupted run keeps every finished case.
"""

from __future__ import annotations

import inspect
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchsuite import __version__, results
from benchsuite.backend import DEVICES, Backend
from benchsuite.bench import base_record
from benchsuite.environment import fingerprint
from benchsuite.errors import SpecError, UsageError
from benchsuite.optim import SGD, Optimizer, optimizer_dict
from benchsuite.plugins import Registry
from benchsuite.records import new_document
from benchsuite.spec import DEFAULT_INPUT, ModelSpec
from benchsuite.worker import InProcessWorker, SubprocessWorker, WorkerError

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
        from benchsuite.optim import OPTIMIZERS

        opt = dict(d["optimizer"])
        kw = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        kw.update(optimizer=OPTIMIZERS[opt.pop("name")](**opt),
                  models=[(n, p) for n, p in d["models"]], modes=tuple(d["modes"]),
                  batch_sizes=tuple(d["batch_sizes"]), variants=tuple(d.get("variants", ())))
        return cls(**kw)

    def to_dict(self) -> dict[str, Any]:
        return {"backends": self.backends, "models": [[n, p] for n, p in self.models],
                "modes": list(self.modes), "device": self.device,
                "batch_sizes": list(self.batch_sizes), "repeats": self.repeats,
                "min_time": self.min_time, "threads": self.threads, "seed": self.seed,
                "optimizer": optimizer_dict(self.optimizer), "data": self.data,
                "variants": list(self.variants), "parity": self.parity,
                "isolate": self.isolate, "timeout": self.timeout,
                "memory_limit_gib": self.memory_limit_gib, "gemm_size": self.gemm_size,
                "processes": self.processes, "executor": self.executor,
                "placement": self.placement, "ray_address": self.ray_address}


@dataclass
class Case:
    backend: str
    spec: ModelSpec
    mode: str
    device: str
    batch_size: int
    variant: str | None = None
    skip_reason: str | None = None

    @property
    def label(self) -> str:
        variant = f" [{self.variant}]" if self.variant not in (None, "default") else ""
        return (f"{self.backend}{variant} {self.spec.name} {self.mode} {self.device} "
                f"b{self.batch_size}")


def parse_model(text: str) -> tuple[str, dict[str, Any]]:
    """``"mlp:depth=10,activation=sigmoid"`` → ``("mlp", {"depth": 10, "activation": "sigmoid"})``.

    Values are int, float, or strings; ``a/b/c`` gives a list of ints (convnet filters).
    """
    name, _, rest = text.partition(":")
    params: dict[str, Any] = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise UsageError(f"bad model parameter {item!r} in {text!r} (expected key=value)")
        params[key.strip()] = _parse_value(value.strip())
    return name.strip(), params


def _parse_value(value: str) -> Any:
    if "/" in value:
        return [_parse_value(v) for v in value.split("/")]
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def input_shape_for(settings: Settings) -> tuple[tuple[int, int, int], int]:
    """(input shape, classes) the models are built for, given the data set."""
    return ((8, 8, 1), 10) if settings.data == "digits" else (DEFAULT_INPUT, 10)


def build_spec(registry: Registry, name: str, params: dict[str, Any],
               input_shape: tuple[int, int, int], classes: int) -> ModelSpec:
    entry = registry.model(name)
    accepted = inspect.signature(entry.factory).parameters
    unknown = sorted(set(params) - set(accepted) | ({"input_shape", "classes"} & set(params)))
    if unknown:
        valid = [p for p in accepted if p not in ("input_shape", "classes")]
        raise SpecError(f"model {name!r} has no parameter {', '.join(unknown)} "
                        f"(parameters: {', '.join(valid) or 'none'})")
    try:
        return entry.factory(input_shape=input_shape, classes=classes, **params)
    except (TypeError, ValueError) as exc:
        raise SpecError(f"model {name!r} with {params}: {exc}") from None


def plan(registry: Registry, settings: Settings) -> list[Case]:
    """Validate the settings against what is installed and expand them into cases."""
    if settings.device not in (*DEVICES, "all"):
        raise UsageError(f"unknown device {settings.device!r} (valid: {', '.join(DEVICES)}, all)")
    bad_modes = [m for m in settings.modes if m not in MODES]
    if bad_modes or not settings.modes:
        raise UsageError(f"unknown mode {bad_modes[0] if bad_modes else ''!r} "
                         f"(valid: {', '.join(MODES)})")
    for b in settings.batch_sizes:
        if b < 1:
            raise UsageError(f"batch size must be a positive integer, got {b}")
    if settings.repeats < 1 or settings.threads < 1 or settings.processes < 1:
        raise UsageError("--repeats, --threads and --processes must be >= 1")
    if settings.processes > 1 and not settings.isolate:
        raise UsageError("--processes needs worker processes (drop --in-process)")
    if not (settings.min_time > 0 and settings.timeout > 0):
        raise UsageError("--min-time and --timeout must be > 0")
    if settings.memory_limit_gib is not None and not settings.memory_limit_gib > 0:
        raise UsageError("--memory-limit must be > 0 (GiB)")
    if settings.executor not in EXECUTORS or settings.placement not in PLACEMENTS:
        raise UsageError(f"unknown executor {settings.executor!r} or placement "
                         f"{settings.placement!r} (valid: {', '.join(EXECUTORS)}; "
                         f"{', '.join(PLACEMENTS)})")
    if settings.executor != "ray" and (settings.placement != "spread" or settings.ray_address):
        raise UsageError("--per-node and --ray-address need --executor ray")
    if settings.data not in DATASETS:
        raise UsageError(f"unknown data set {settings.data!r} (valid: {', '.join(DATASETS)})")
    explicit = bool(settings.backends)
    names = list(dict.fromkeys(settings.backends)) or list(registry.backends)
    backends = [registry.backend(n) for n in names]
    shape, classes = input_shape_for(settings)
    models = settings.models or [(n, {}) for n in registry.models]
    specs = [build_spec(registry, n, p, shape, classes) for n, p in models]
    wanted = list(DEVICES) if settings.device == "all" else [settings.device]
    device_lists = {b.name: _devices(registry, b, wanted, explicit, settings.device == "all")
                    for b in backends}
    variants = _variants(backends, settings.variants)
    return [Case(b.name, spec, mode, dev, bs, var,
                 _skip(b, spec, dev, device_lists[b.name], var))
            for spec in specs for mode in settings.modes for dev in wanted
            for bs in _batch_sizes(mode, settings.batch_sizes)
            for b in backends for var in variants[b.name]]


def _batch_sizes(mode: str, sizes: tuple[int, ...]) -> tuple[int, ...]:
    """Latency is measured at batch 1, whatever the throughput batch sizes are."""
    return (1,) if mode == "latency" else sizes


def case_key(backend: str, variant: str | None, model: str, params: Any, mode: str,
             device: str, batch_size: int) -> tuple:
    """What identifies a case across runs (``--resume``, comparisons)."""
    return (backend, variant, model, json.dumps(params, sort_keys=True), mode, device,
            batch_size)


def key_of(case: Case) -> tuple:
    return case_key(case.backend, case.variant, case.spec.name, dict(case.spec.params),
                    case.mode, case.device, case.batch_size)


def key_of_record(record: dict[str, Any]) -> tuple:
    return case_key(record["backend"], record.get("variant"), record["model"],
                    (record.get("spec") or {}).get("params", {}), record["mode"],
                    record["device"], record["batch_size"])


def _variants(backends: list[Backend], wanted: tuple[str, ...]) -> dict[str, list[str]]:
    """Per backend the variants to run: its default, or each one asked for."""
    known = {v for b in backends for v in b.variants}
    for v in wanted:
        if v not in known:
            raise UsageError(f"unknown variant {v!r} (valid: {', '.join(sorted(known))})")
    return {b.name: list(wanted) or [b.variants[0]] for b in backends}


def _devices(registry: Registry, backend: Backend, wanted: list[str], explicit: bool,
             every: bool) -> list[str]:
    """Devices of ``backend`` usable now. A backend named on the command line that is not
    installed, or lacks the one device asked for, is a usage error rather than a skip.

    The CPU needs no probe; anything else is probed in a short-lived subprocess, so that this
    process never imports a framework (frameworks never share a process)."""
    if not backend.is_available():
        if explicit:
            raise UsageError(f"backend {backend.name!r} is unavailable ({backend.install_hint})")
        return []
    static = list(backend.supported_devices)
    needs_probe = any(d != "cpu" and d in static for d in wanted)
    have = probe_devices(registry, backend.name) if needs_probe else [
        d for d in static if d == "cpu"]
    missing = [d for d in wanted if d not in have]
    if explicit and not every and missing:
        raise UsageError(f"backend {backend.name!r} has no {missing[0]} device here "
                         f"(available: {', '.join(have) or 'none'})")
    return have


def _probe(entry_points, name: str) -> list[str]:
    from benchsuite.plugins import rebuild_registry

    return rebuild_registry(entry_points).backend(name).devices()


def probe_devices(registry: Registry, name: str) -> list[str]:
    """``backend.devices()`` evaluated in a throwaway spawned process."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(_probe, registry.entry_points, name).result()


def _skip(backend: Backend, spec: ModelSpec, device: str, have: list[str],
          variant: str) -> str | None:
    if not backend.is_available():
        return f"unavailable ({backend.install_hint})"
    if device not in have:
        return f"{backend.name} has no {device} device here (available: {', '.join(have)})"
    if variant not in backend.variants:
        return f"{backend.name} has no variant {variant!r} ({', '.join(backend.variants)})"
    return backend.unsupported_reason(spec)


def new_run(settings: Settings) -> dict[str, Any]:
    return dict(new_document(settings.to_dict(), fingerprint(), __version__))


def output_path(folder: Path, run: dict[str, Any]) -> Path:
    """A fresh file name in ``folder``, which is created and checked for writing now."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{run['run_id']}"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"cannot write results to {folder}: {exc.strerror or exc}") from None
    return folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{run['run_id']}.json"


def execute(
    registry: Registry, cases: list[Case], settings: Settings, path: Path,
    run: dict[str, Any], on_case: Callable[[int, Case, dict[str, Any]], None] | None = None,
    on_start: Callable[[int, Case], None] | None = None, executor: Any = None,
    records: str = "cases",
) -> dict[str, Any]:
    """Run ``cases``, saving ``run`` to ``path`` after each record (appended to
    ``run[records]``; ``benchsuite train`` keeps its training runs under ``learning``).

    ``executor`` yields ``(case, record)`` pairs as cases finish (``stream``) and is closed at
    the end; the default runs them here in order, one worker process per backend. The Ray
    executor (:mod:`benchsuite.ray_executor`) streams records from a cluster's nodes instead:
    saving, interruption and ``--resume`` are the same for both."""
    pool = executor or _Workers(registry, settings, run)
    run["status"] = "running"
    results.save(run, path)
    try:
        for i, (case, record) in enumerate(pool.stream(cases, on_start)):
            run[records].append(record)
            results.save(run, path)
            if on_case:
                on_case(i, case, record)
        run["status"] = "complete"
    except KeyboardInterrupt:
        run["status"] = "interrupted"
        raise
    finally:
        pool.close()
        run["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        results.save(run, path)
    return run


def pool_records(records: list[dict[str, Any]], batch_size: int) -> dict[str, Any]:
    """One record from the same case measured in several processes: pooled samples."""
    from benchsuite.measure import summarize

    out = dict(records[0])
    samples = [s for r in records for s in r["throughput"]["samples"]]
    out["throughput"] = summarize(samples)
    median = out["throughput"]["median"]
    out["step_ms"] = 1000 * batch_size / median
    if out.get("flops_per_sample"):
        out["gflops"] = out["flops_per_sample"] * median / 1e9
    if out.get("peak_gflops") and out.get("gflops"):
        out["efficiency"] = out["gflops"] / out["peak_gflops"]
    out["processes"] = len(records)
    out["process_medians"] = [r["throughput"]["median"] for r in records]
    return out


def resume(registry: Registry, path: Path) -> tuple[dict[str, Any], Path, list[Case], Settings]:
    """An interrupted run's document, its file, the cases it still lacks, and its settings."""
    doc, settings = reopen(path, Settings)
    # A ``lost`` row (its node died mid-case, on a Ray cluster) is not a result: run it again.
    # Per-node Ray runs get the whole plan and leave out, node by node, what each node did.
    done = {key_of_record(c) for c in doc["cases"] if c["status"] != "lost"}
    cases = plan(registry, settings)
    remaining = cases if settings.placement == "per-node" else [
        c for c in cases if key_of(c) not in done]
    return doc, path, remaining, settings


def reopen(path: Path, settings_type: Any, kind: str | None = None) -> tuple[dict[str, Any], Any]:
    """An interrupted results file of ``kind`` (None: ``benchsuite run``'s; "learning":
    ``benchsuite train``'s) with this resumption's time added, and its settings."""
    doc = results.read(path)
    if doc.get("kind") != kind:
        command = "benchsuite train" if doc.get("kind") == "learning" else "benchsuite run"
        raise UsageError(f"{path}: a {command} results file; resume it with {command}")
    if doc.get("status") == "complete":
        raise UsageError(f"{path}: this run is complete; nothing to resume")
    try:
        settings = settings_type.from_dict(doc["settings"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read its settings ({exc})") from None
    doc.setdefault("resumed", []).append(time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    return doc, settings


class _Workers:
    """One live worker per backend, restarted after a crash; start failures are remembered."""

    def __init__(self, registry: Registry, settings: Settings, run: dict[str, Any]) -> None:
        self.registry, self.settings, self.run_doc = registry, settings, run
        self.workers: dict[str, Any] = {}
        self.broken: dict[str, str] = {}
        self.log_dir = Path(tempfile.mkdtemp(prefix="benchsuite-workers-"))

    def stream(self, cases: list[Case], on_start: Callable[[int, Case], None] | None = None):
        """The local executor: the cases in order, here, as ``(case, record)``."""
        for i, case in enumerate(cases):
            if on_start:
                on_start(i, case)
            yield case, self.run(case)

    def run(self, case: Case) -> dict[str, Any]:
        backend = self.registry.backend(case.backend)
        if case.skip_reason:
            return base_record(case, backend.version(), self.settings)
        if self.settings.processes > 1:
            return self._run_in_fresh_processes(case, backend)
        return self._run_once(case, backend)

    def _run_in_fresh_processes(self, case: Case, backend: Backend) -> dict[str, Any]:
        """pyperf's remedy for per-process luck (memory layout, thread placement): the same
        case in several fresh workers, their samples pooled into one summary."""
        records = []
        for _ in range(self.settings.processes):
            self._retire(case.backend)
            records.append(self._run_once(case, backend))
            if records[-1]["status"] != "ok":
                return records[-1]
        self._retire(case.backend)
        return pool_records(records, case.batch_size)

    def _retire(self, name: str) -> None:
        worker = self.workers.pop(name, None)
        if worker is not None:
            worker.stop()

    def _run_once(self, case: Case, backend: Backend) -> dict[str, Any]:
        worker = self.workers.get(case.backend) or self._start(case.backend)
        if worker is None:
            record = base_record(case, backend.version(), self.settings)
            record["status"], record["error"] = "failed", self.broken[case.backend]
            return record
        record = worker.run(case)
        if not worker.alive:
            worker.stop()
            del self.workers[case.backend]
        return record

    def call(self, name: str, fn: Callable[..., Any], *args: Any) -> tuple[str, Any]:
        """``fn(backend, *args)`` in backend ``name``'s worker (see ``SubprocessWorker.call``);
        a worker that died is replaced by the next call."""
        worker = self.workers.get(name) or self._start(name)
        if worker is None:
            return "failed", self.broken[name]
        outcome = worker.call(fn, *args)
        if not worker.alive:
            worker.stop()
            del self.workers[name]
        return outcome

    def _start(self, name: str):
        if name in self.broken:
            return None
        try:
            if self.settings.isolate:
                worker = SubprocessWorker(self.registry, name, self.settings, self.log_dir)
            else:
                worker = InProcessWorker(self.registry, name, self.settings)
        except WorkerError as exc:
            self.broken[name] = str(exc)
            return None
        except Exception as exc:  # in-process: the backend's own set-up failed
            self.broken[name] = f"{name} worker did not start: {type(exc).__name__}: {exc}"
            return None
        self.workers[name] = worker
        self.run_doc["environment"]["backends"][name] = worker.info
        return worker

    def close(self) -> None:
        for worker in self.workers.values():
            worker.stop()
        self.workers.clear()
        shutil.rmtree(self.log_dir, ignore_errors=True)
