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
from benchsuite.execution.failures import classify, error_text, traceback_tail
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


def run_case(session: Session, case: Case, settings: Settings) -> dict[str, Any]:
    """A job function: measure one case in this worker. Whatever the backend does wrong
    becomes the row's status and error."""
    record, live = _start(session, case, settings)
    if live is None:
        return record
    try:
        values, usage = contention.timed_clean(live.repeat, settings.repeats)
        return _finish(session, record, live, values, contention.summary(usage,
                                                                         settings.repeats))
    except Exception as exc:
        return _failed(record, exc)


def _start(session: Session, case: Case, settings: Settings
           ) -> tuple[dict[str, Any], LiveCase | None]:
    """The case's record, and the case built and warm (None: skipped, or failed already)."""
    backend = session.backend
    record = base_record(case, backend.version(), settings)
    if not backend.computes:
        record["null_backend"] = True
    if case.skip_reason:
        return record, None
    try:
        reference = parity.reference_of(session)
        if reference is not None and settings.parity and backend.computes:
            record["parity"] = _quick_parity(case, backend, reference, session.cache, settings)
        return record, LiveCase(case, backend, settings)
    except Exception as exc:
        return _failed(record, exc), None


def _finish(session: Session, record: dict[str, Any], live: LiveCase, values: list[Any],
            block: dict[str, Any] | None) -> dict[str, Any]:
    """The record of a measured case: its repeats' ``values`` summarised, the GEMM peak."""
    record.update(live.result(values))
    record["contention"] = block
    record["status"], record["error"] = "ok", None
    record["phases"]["import_s"] = session.info.get("import_s")
    peak = _peak(live.backend, live.case.device, session.cache, live.settings)
    if peak and record["gflops"]:
        record["peak_gflops"] = peak
        record["efficiency"] = record["gflops"] / peak
    return record


def _failed(record: dict[str, Any], exc: Exception) -> dict[str, Any]:
    record.update(failure(exc))
    return record


def failure(exc: BaseException) -> dict[str, Any]:
    """What a row keeps of an exception in its job: the status (``oom`` or ``failed``), the
    error on one line, and the tail of the traceback (``--debug`` shows it)."""
    return {"status": classify(exc), "error": error_text(exc), "traceback": traceback_tail(exc)}


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


class LiveCase:
    """A case built, its weights loaded, its batches staged and its steps warm, taking timed
    repeats on demand (one after another, or in turns with other backends' cases)."""

    def __init__(self, case: Case, backend: Backend, settings: Settings) -> None:
        self.case, self.backend, self.settings = case, backend, settings
        measure.reset_peak_rss()
        backend.reset_peak_memory(case.device)
        t0 = time.perf_counter()
        self.model = backend.build(case.spec, case.device, settings.optimizer, case.variant)
        self.model.set_weights(case.spec.init_weights(settings.seed))
        backend.synchronize(case.device)
        self.build_s = time.perf_counter() - t0
        self.feed = itertools.cycle([self.model.stage(x, y)
                                     for x, y in case_batches(case, settings)])
        self.last: Any = None
        self.count = self.checked = 0
        self.train = case.mode == "train"
        self.warm = measure.warm_up(self.step, self.sync, after_step=self.check)
        self.steps = max(1, math.ceil(settings.min_time / max(self.warm.step_s, 1e-9)))

    def step(self) -> None:
        self.count += 1
        batch = next(self.feed)
        self.last = self.model.train_step(*batch) if self.train else self.model.predict(batch[0])

    def sync(self) -> None:
        self.backend.synchronize(self.case.device)

    def check(self) -> None:
        value = self.model.to_numpy(self.last)
        if not np.all(np.isfinite(value)):
            what = "loss" if self.train else "logits"
            first = self.checked + 1  # every warm-up step is checked; a repeat as a whole
            where = (f"step {first}" if first == self.count
                     else f"a step in {first}..{self.count}")
            raise NonFinite(f"{what} became NaN/inf at {where}")
        self.checked = self.count

    def repeat(self) -> Any:
        """One timed repeat: a throughput sample (samples/s), or in latency mode the seconds
        of each of its steps; its loss (or logits) checked after, outside the timing."""
        if self.case.mode == "latency":
            value: Any = [measure.timed(self.step, self.sync) for _ in range(self.steps)]
        else:
            value = measure.one_repeat(self.step, self.sync, self.case.batch_size, self.steps)
        self.check()
        return value

    def throughput(self, value: Any) -> float:
        """The samples/s of one repeat's value (in latency mode, of its steps' seconds)."""
        if self.case.mode == "latency":
            return len(value) * self.case.batch_size / sum(value)
        return value

    def result(self, values: list[Any]) -> dict[str, Any]:
        """The measurement fields of the record, from the kept repeats' values."""
        case, out = self.case, {}
        throughput = [self.throughput(v) for v in values]
        if case.mode == "latency":
            out["latency"] = measure.latency_summary([t for g in values for t in g])
        summary = measure.summarize(throughput)
        flops = case.spec.flops()
        computes = self.backend.computes
        per_sample = (flops.train if self.train else flops.forward) if computes else None
        out.update({
            "throughput": summary,
            "step_ms": 1000 * case.batch_size / summary["median"],
            "flops_per_sample": per_sample,
            "gflops": per_sample * summary["median"] / 1e9 if per_sample else None,
            "phases": {"build_s": self.build_s, "first_step_s": self.warm.first_step_s,
                       "warmup_steps": self.warm.steps, "steps_per_repeat": self.steps,
                       "steady_step_s": case.batch_size / summary["median"]},
            "memory": {"peak_rss_mib": _mib(measure.peak_rss_bytes()),
                       "peak_device_mib": _mib(self.backend.peak_memory(case.device))},
        })
        if self.train:
            out["final_loss"] = float(self.model.to_numpy(self.last))
        return out


def _mib(n: int | None) -> float | None:
    return None if n is None else round(n / 2**20, 1)


# -- in turns: job functions for :mod:`benchsuite.interleave` ---------------------------------

def start_case(session: Session, case: Case, settings: Settings) -> dict[str, Any] | None:
    """Build and warm ``case`` and keep it live in this worker: None, or the finished record
    of a case that was skipped or failed before its first repeat."""
    record, live = _start(session, case, settings)
    if live is None:
        return record
    session.cache[("live", case.key())] = (record, live, [])
    return None


def repeat_case(session: Session, key: tuple
                ) -> tuple[contention.Usage | None, float | None] | str:
    """One timed repeat of the live case ``key``, its value kept here: what other processes
    took meanwhile (None: no counters) and its throughput (samples/s; None for a backend that
    computes nothing, whose speed is no one's to narrow down), or ``"failed"`` (the record says
    why)."""
    record, live, taken = _live(session, key)
    try:
        before = contention.read()
        taken.append(live.repeat())
        value = live.throughput(taken[-1]) if live.backend.computes else None
        return contention.usage(before, contention.read()), value
    except Exception as exc:
        _failed(record, exc)
        return "failed"


def finish_case(session: Session, key: tuple, keep: list[int],
                block: dict[str, Any] | None, pairing: dict[str, Any]) -> dict[str, Any]:
    """The record of the live case ``key`` (then dropped): the repeats of rounds ``keep``,
    the contention ``block`` of the rounds, and how it was paired with the other cases."""
    record, live, taken = _live(session, key)
    del session.cache[("live", key)]
    if record["status"] not in ("ok", "skipped"):
        return record
    try:
        record = _finish(session, record, live, [taken[r] for r in keep], block)
        record["interleaving"] = dict(pairing, rounds=list(keep))
        return record
    except Exception as exc:
        return _failed(record, exc)


def _live(session: Session, key: tuple) -> tuple[dict[str, Any], LiveCase, list[Any]]:
    try:
        return session.cache[("live", key)]
    except KeyError:
        raise RuntimeError("this worker was restarted after another case in it died, and the "
                           "case it was measuring was lost with it") from None
