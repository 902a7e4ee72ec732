"""One case, measured in the current process: build, load the shared weights, check parity,
warm up, time. Whatever the backend does wrong becomes the case's row, never an exception."""

from __future__ import annotations

import itertools
import math
import time
from typing import Any

import numpy as np

from benchsuite import contention, data, measure, parity
from benchsuite.backend import Backend
from benchsuite.cases import Case, Settings, base_record
from benchsuite.execution.worker import Session

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


OOM_PATTERNS = ("out of memory", "resourceexhausted", "can't allocate memory",
                "cannot allocate memory", "failed to allocate")


def classify(exc: BaseException) -> str:
    """``oom`` for allocation failures (Python, torch, TensorFlow, CUDA), else ``failed``."""
    text = f"{type(exc).__name__}: {exc}".lower()
    if isinstance(exc, MemoryError) or any(p in text for p in OOM_PATTERNS):
        return "oom"
    return "failed"


def run_case(session: Session, case: Case, settings: Settings) -> dict[str, Any]:
    """A job function: measure one case in this worker. Whatever the backend does wrong
    becomes the row's status and error."""
    backend = session.backend
    record = base_record(case, backend.version(), settings)
    if not backend.computes:
        record["null_backend"] = True
    if case.skip_reason:
        return record
    try:
        reference = parity.reference_of(session)
        if reference is not None and settings.parity and backend.computes:
            record["parity"] = _quick_parity(case, backend, reference, session.cache, settings)
        record.update(measure_case(case, backend, settings))
        record["status"], record["error"] = "ok", None
        record["phases"]["import_s"] = session.info.get("import_s")
        peak = _peak(backend, case.device, session.cache, settings)
        if peak and record["gflops"]:
            record["peak_gflops"] = peak
            record["efficiency"] = record["gflops"] / peak
    except Exception as exc:
        record["status"], record["error"] = classify(exc), f"{type(exc).__name__}: {exc}"
    return record


def _peak(backend: Backend, device: str, cache: dict, settings: Settings):
    """GEMM peak of this backend on ``device``, calibrated once per worker."""
    key = ("peak", device, settings.gemm_size)
    if key not in cache:
        matmul = backend.matmul(device, settings.gemm_size)
        cache[key] = None if matmul is None else measure.gemm_gflops(
            matmul, lambda: backend.synchronize(device), settings.gemm_size)
    return cache[key]


def _quick_parity(case, backend, reference, cache: dict, settings) -> dict[str, Any]:
    key = ("parity", case.spec, case.device, case.variant, settings.seed,
           repr(settings.optimizer))
    if key not in cache:
        seeds = tuple(settings.seed + s for s in PARITY_SEEDS)
        checks = parity.check(backend, reference, case.spec, case.device, case.variant,
                              settings.optimizer, steps=PARITY_STEPS, batch_size=PARITY_BATCH,
                              seeds=seeds)
        cache[key] = dict(parity.summary(checks), steps=PARITY_STEPS,
                          batch_size=PARITY_BATCH, seeds=len(seeds))
    return cache[key]


def measure_case(case: Case, backend: Backend, settings: Settings) -> dict[str, Any]:
    measure.reset_peak_rss()
    backend.reset_peak_memory(case.device)
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

    out: dict[str, Any] = {}
    if case.mode == "latency":
        warm = measure.warm_up(step, sync, after_step=check)
        n = max(1, math.ceil(settings.min_time / max(warm.step_s, 1e-9)))
        groups, usage = measure.step_latencies(step, sync, n, settings.repeats,
                                               after_repeat=check)
        throughput = [len(g) * case.batch_size / sum(g) for g in groups]
        out["latency"] = measure.latency_summary([t for g in groups for t in g])
    else:
        timing = measure.measure(step, sync, case.batch_size, settings.repeats,
                                 settings.min_time, after_repeat=check)
        warm, n, throughput = timing.warmup, timing.steps_per_repeat, timing.throughput
        usage = timing.usage
    summary = measure.summarize(throughput)
    flops = case.spec.flops()
    per_sample = (flops.train if train else flops.forward) if backend.computes else None
    out.update({
        "throughput": summary,
        "step_ms": 1000 * case.batch_size / summary["median"],
        "flops_per_sample": per_sample,
        "gflops": per_sample * summary["median"] / 1e9 if per_sample else None,
        "phases": {"build_s": build_s, "first_step_s": warm.first_step_s,
                   "warmup_steps": warm.steps, "steps_per_repeat": n,
                   "steady_step_s": case.batch_size / summary["median"]},
        "contention": contention.summary(usage, settings.repeats),
        "memory": {"peak_rss_mib": _mib(measure.peak_rss_bytes()),
                   "peak_device_mib": _mib(backend.peak_memory(case.device))},
    })
    if train:
        out["final_loss"] = float(model.to_numpy(last[0]))
    return out


def _mib(n: int | None) -> float | None:
    return None if n is None else round(n / 2**20, 1)
