"""The case matrix and its execution: build, load shared weights, warm up, time, record.

Cases are planned up front (so bad names fail before anything runs); a case that cannot run
here (framework missing, device missing, layer unsupported) becomes a ``skipped`` row with the
reason, one that raises or produces a non-finite loss a ``failed`` row. The results file is
rewritten atomically after every case, so an interrupted run keeps every finished case.
"""

from __future__ import annotations

import inspect
import itertools
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchsuite import __version__, data, measure, results
from benchsuite.backend import DEVICES, Backend
from benchsuite.environment import fingerprint
from benchsuite.errors import SpecError, UsageError
from benchsuite.optim import SGD, Optimizer, optimizer_dict
from benchsuite.plugins import Registry
from benchsuite.spec import DEFAULT_INPUT, ModelSpec

MODES = ("train", "infer")
DATASETS = ("synthetic", "digits")
STAGED_BATCHES = 4  # distinct batches cycled through, so no step can reuse a cached result


@dataclass
class Settings:
    """Everything that defines a run; recorded verbatim in the results file."""

    backends: list[str] = field(default_factory=list)  # empty: every registered backend
    models: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # empty: all
    modes: tuple[str, ...] = MODES
    device: str = "cpu"  # "cpu", "cuda" or "all"
    batch_sizes: tuple[int, ...] = (128,)
    repeats: int = 5
    min_time: float = 0.2
    threads: int = 1
    seed: int = 0
    optimizer: Optimizer = field(default_factory=SGD)
    data: str = "synthetic"

    def to_dict(self) -> dict[str, Any]:
        return {"backends": self.backends, "models": [[n, p] for n, p in self.models],
                "modes": list(self.modes), "device": self.device,
                "batch_sizes": list(self.batch_sizes), "repeats": self.repeats,
                "min_time": self.min_time, "threads": self.threads, "seed": self.seed,
                "optimizer": optimizer_dict(self.optimizer), "data": self.data}


@dataclass
class Case:
    backend: str
    spec: ModelSpec
    mode: str
    device: str
    batch_size: int
    skip_reason: str | None = None

    @property
    def label(self) -> str:
        return f"{self.backend} {self.spec.name} {self.mode} {self.device} b{self.batch_size}"


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
    if settings.repeats < 1 or settings.threads < 1 or not settings.min_time > 0:
        raise UsageError("--repeats and --threads must be >= 1 and --min-time > 0")
    if settings.data not in DATASETS:
        raise UsageError(f"unknown data set {settings.data!r} (valid: {', '.join(DATASETS)})")
    explicit = bool(settings.backends)
    names = list(dict.fromkeys(settings.backends)) or list(registry.backends)
    backends = [registry.backend(n) for n in names]
    shape, classes = input_shape_for(settings)
    models = settings.models or [(n, {}) for n in registry.models]
    specs = [build_spec(registry, n, p, shape, classes) for n, p in models]
    wanted = list(DEVICES) if settings.device == "all" else [settings.device]
    device_lists = {b.name: _devices(b, wanted, explicit, settings.device == "all")
                    for b in backends}
    return [Case(b.name, spec, mode, dev, bs, _skip(b, spec, dev, device_lists[b.name]))
            for b in backends for spec in specs for mode in settings.modes
            for dev in wanted for bs in settings.batch_sizes]


def _devices(backend: Backend, wanted: list[str], explicit: bool, every: bool) -> list[str]:
    """Devices of ``backend`` usable now. A backend named on the command line that is not
    installed, or lacks the one device asked for, is a usage error rather than a skip."""
    if not backend.is_available():
        if explicit:
            raise UsageError(f"backend {backend.name!r} is unavailable ({backend.install_hint})")
        return []
    have = backend.devices()
    missing = [d for d in wanted if d not in have]
    if explicit and not every and missing:
        raise UsageError(f"backend {backend.name!r} has no {missing[0]} device here "
                         f"(available: {', '.join(have) or 'none'})")
    return have


def _skip(backend: Backend, spec: ModelSpec, device: str, have: list[str]) -> str | None:
    if not backend.is_available():
        return f"unavailable ({backend.install_hint})"
    if device not in have:
        return f"{backend.name} has no {device} device here (available: {', '.join(have)})"
    return backend.unsupported_reason(spec)


class NonFiniteLoss(RuntimeError):
    pass


def _batches(case: Case, settings: Settings) -> list[tuple[np.ndarray, np.ndarray]]:
    """The case's batches, identical for every backend (seeded)."""
    n = case.batch_size * STAGED_BATCHES
    if settings.data == "digits":
        ds = data.digits(seed=settings.seed)
        reps = math.ceil(n / len(ds.x_train))
        x, y = np.concatenate([ds.x_train] * reps), np.concatenate([ds.y_train] * reps)
    else:
        x, y = data.synthetic(case.spec.input_shape, case.spec.classes, n, settings.seed)
    return list(data.batches(x, y, case.batch_size, seed=settings.seed))[:STAGED_BATCHES]


def base_record(case: Case, backend: Backend, settings: Settings) -> dict[str, Any]:
    return {
        "backend": case.backend, "backend_version": backend.version(),
        "model": case.spec.name, "spec": case.spec.to_dict(), "mode": case.mode,
        "device": case.device, "batch_size": case.batch_size,
        "optimizer": optimizer_dict(settings.optimizer) if case.mode == "train" else None,
        "status": "skipped", "error": case.skip_reason, "throughput": None,
    }


def run_case(case: Case, backend: Backend, settings: Settings) -> dict[str, Any]:
    """Measure one case; never raises for a failure of the backend (that becomes the row)."""
    record = base_record(case, backend, settings)
    if case.skip_reason:
        return record
    try:
        record.update(_measure_case(case, backend, settings))
        record["status"], record["error"] = "ok", None
    except Exception as exc:
        record["status"], record["error"] = "failed", f"{type(exc).__name__}: {exc}"
    return record


def _measure_case(case: Case, backend: Backend, settings: Settings) -> dict[str, Any]:
    t0 = time.perf_counter()
    model = backend.build(case.spec, case.device, settings.optimizer)
    model.set_weights(case.spec.init_weights(settings.seed))
    backend.synchronize(case.device)
    build_s = time.perf_counter() - t0
    staged = [model.stage(x, y) for x, y in _batches(case, settings)]
    feed = itertools.cycle(staged)
    last: list[Any] = [None]
    if case.mode == "train":
        def step() -> None:
            last[0] = model.train_step(*next(feed))
    else:
        def step() -> None:
            last[0] = model.predict(next(feed)[0])

    def check() -> None:
        value = model.to_numpy(last[0])
        if not np.all(np.isfinite(value)):
            raise NonFiniteLoss(f"non-finite {'loss' if case.mode == 'train' else 'logits'}")

    timing = measure.measure(step, lambda: backend.synchronize(case.device), case.batch_size,
                             settings.repeats, settings.min_time, after_repeat=check)
    summary = measure.summarize(timing.throughput)
    flops = case.spec.flops()
    per_sample = flops.train if case.mode == "train" else flops.forward
    out: dict[str, Any] = {
        "throughput": summary,
        "step_ms": 1000 * case.batch_size / summary["median"],
        "flops_per_sample": per_sample,
        "gflops": per_sample * summary["median"] / 1e9,
        "phases": {"build_s": build_s, "first_step_s": timing.warmup.first_step_s,
                   "warmup_steps": timing.warmup.steps,
                   "steps_per_repeat": timing.steps_per_repeat},
    }
    if case.mode == "train":
        out["final_loss"] = float(model.to_numpy(last[0]))
    return out


def new_run(settings: Settings) -> dict[str, Any]:
    return {
        "schema_version": results.SCHEMA_VERSION,
        "run_id": uuid.uuid4().hex[:12],
        "benchsuite_version": __version__,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "finished": None,
        "status": "running",
        "settings": settings.to_dict(),
        "environment": fingerprint(),
        "cases": [],
    }


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
) -> dict[str, Any]:
    """Run ``cases`` in order, saving ``run`` to ``path`` after each one."""
    prepared: set[str] = set()
    results.save(run, path)
    try:
        for i, case in enumerate(cases):
            backend = registry.backend(case.backend)
            if case.backend not in prepared and not case.skip_reason:
                _prepare(backend, settings, run)
                prepared.add(case.backend)
            record = run_case(case, backend, settings)
            run["cases"].append(record)
            results.save(run, path)
            if on_case:
                on_case(i, case, record)
        run["status"] = "complete"
    except KeyboardInterrupt:
        run["status"] = "interrupted"
        raise
    finally:
        run["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        results.save(run, path)
    return run


def _prepare(backend: Backend, settings: Settings, run: dict[str, Any]) -> None:
    """Apply the run's thread count and record the backend's environment."""
    info = dict(backend.environment())
    info["threads_in_effect"] = backend.set_threads(settings.threads)
    run["environment"]["backends"][backend.name] = info
