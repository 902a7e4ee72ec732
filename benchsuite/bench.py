"""One case, measured in the current process: build, load the shared weights, check parity,
warm up, time. Whatever the backend does wrong becomes the case's row, never an exception."""

from __future__ import annotations

import itertools
import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from benchsuite import data, measure, parity
from benchsuite.backend import Backend
from benchsuite.optim import optimizer_dict

if TYPE_CHECKING:
    from benchsuite.runner import Case, Settings

STAGED_BATCHES = 4  # distinct batches cycled through, so no step can reuse a cached result
PARITY_STEPS = 2
PARITY_BATCH = 8
PARITY_SEEDS = (0, 1, 2)


class NonFinite(RuntimeError):
    """The loss (or logits) stopped being finite."""


def case_batches(case: Case, settings: Settings) -> list[tuple[np.ndarray, np.ndarray]]:
    """The case's batches, identical for every backend (seeded)."""
    n = case.batch_size * STAGED_BATCHES
    if settings.data == "digits":
        ds = data.digits(seed=settings.seed)
        reps = math.ceil(n / len(ds.x_train))
        x, y = np.concatenate([ds.x_train] * reps), np.concatenate([ds.y_train] * reps)
    else:
        x, y = data.synthetic(case.spec.input_shape, case.spec.classes, n, settings.seed)
    return list(data.batches(x, y, case.batch_size, seed=settings.seed))[:STAGED_BATCHES]


def base_record(case: Case, backend_version: str | None, settings: Settings) -> dict[str, Any]:
    return {
        "backend": case.backend, "backend_version": backend_version,
        "variant": case.variant, "model": case.spec.name, "spec": case.spec.to_dict(),
        "mode": case.mode, "device": case.device, "batch_size": case.batch_size,
        "optimizer": optimizer_dict(settings.optimizer) if case.mode == "train" else None,
        "status": "skipped", "error": case.skip_reason, "throughput": None,
    }


def run_case(case: Case, backend: Backend, settings: Settings,
             reference: parity.Reference | None = None,
             parity_cache: dict | None = None) -> dict[str, Any]:
    """Measure one case. ``reference`` (the NumPy oracle's float64 traces) enables the quick
    parity check, done once per model/device/variant and cached in ``parity_cache``."""
    record = base_record(case, backend.version(), settings)
    if case.skip_reason:
        return record
    try:
        if reference is not None and settings.parity:
            record["parity"] = _quick_parity(case, backend, reference, settings, parity_cache)
        record.update(measure_case(case, backend, settings))
        record["status"], record["error"] = "ok", None
    except Exception as exc:
        record["status"], record["error"] = "failed", f"{type(exc).__name__}: {exc}"
    return record


def _quick_parity(case, backend, reference, settings, cache) -> dict[str, Any]:
    key = (case.spec, case.device, case.variant)
    if cache is None or key not in cache:
        seeds = tuple(settings.seed + s for s in PARITY_SEEDS)
        checks = parity.check(backend, reference, case.spec, case.device, case.variant,
                              settings.optimizer, steps=PARITY_STEPS, batch_size=PARITY_BATCH,
                              seeds=seeds)
        result = dict(parity.summary(checks), steps=PARITY_STEPS, batch_size=PARITY_BATCH,
                      seeds=len(seeds))
        if cache is None:
            return result
        cache[key] = result
    return cache[key]


def measure_case(case: Case, backend: Backend, settings: Settings) -> dict[str, Any]:
    t0 = time.perf_counter()
    model = backend.build(case.spec, case.device, settings.optimizer, case.variant)
    model.set_weights(case.spec.init_weights(settings.seed))
    backend.synchronize(case.device)
    build_s = time.perf_counter() - t0
    staged = [model.stage(x, y) for x, y in case_batches(case, settings)]
    feed = itertools.cycle(staged)
    last: list[Any] = [None]
    count, checked = [0], [0]
    train = case.mode == "train"

    def step() -> None:
        count[0] += 1
        last[0] = model.train_step(*next(feed)) if train else model.predict(next(feed)[0])

    def check() -> None:
        value = model.to_numpy(last[0])
        if not np.all(np.isfinite(value)):
            what = "loss" if train else "logits"
            first = checked[0] + 1  # every warm-up step is checked; a repeat as a whole
            where = f"step {first}" if first == count[0] else f"a step in {first}..{count[0]}"
            raise NonFinite(f"{what} became NaN/inf at {where}")
        checked[0] = count[0]

    def sync() -> None:
        backend.synchronize(case.device)

    timing = measure.measure(step, sync, case.batch_size, settings.repeats, settings.min_time,
                             after_repeat=check)
    summary = measure.summarize(timing.throughput)
    flops = case.spec.flops()
    per_sample = flops.train if train else flops.forward
    out: dict[str, Any] = {
        "throughput": summary,
        "step_ms": 1000 * case.batch_size / summary["median"],
        "flops_per_sample": per_sample,
        "gflops": per_sample * summary["median"] / 1e9,
        "phases": {"build_s": build_s, "first_step_s": timing.warmup.first_step_s,
                   "warmup_steps": timing.warmup.steps,
                   "steps_per_repeat": timing.steps_per_repeat},
    }
    if train:
        out["final_loss"] = float(model.to_numpy(last[0]))
    return out
