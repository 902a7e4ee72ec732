"""``benchsuite verify``: every backend against the NumPy oracle's exact (float64) trajectory.

For each backend × model × optimizer (SGD with momentum, plain SGD, Adam) it compares the
logits at step 0, the loss at steps 1 and N and the weights after N steps (see
:mod:`benchsuite.parity`). Each case is an execution job in its backend's worker process,
like a benchmark: a backend that crashes or hangs past the timeout gives rows with that
status, and the next case starts in a fresh worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from benchsuite import parity
from benchsuite.cases import Case, Settings, plan
from benchsuite.execution import WorkerSettings
from benchsuite.execution.pool import LocalExecutor, WorkerPool
from benchsuite.execution.worker import Session
from benchsuite.optim import SGD, Adam, Optimizer
from benchsuite.plugins import Registry

OPTIMIZERS: tuple[tuple[str, Optimizer], ...] = (
    ("sgd+momentum", SGD(lr=0.01, momentum=0.9)),
    ("sgd", SGD(lr=0.01, momentum=0.0)),
    ("adam", Adam(lr=0.001)),
)
DEFAULT_TIMEOUT_S = 600.0


def _row(case: Case, optimizer: str, check: str, passed: bool | None, error: str | None,
         deviation: float | None = None, worst: float | None = None) -> dict[str, Any]:
    return {"backend": case.backend, "variant": case.variant, "device": case.device,
            "model": case.spec.name, "optimizer": optimizer, "check": check,
            "deviation": deviation, "worst": worst, "passed": passed, "error": error}


@dataclass
class VerifyJob:
    """One case's parity rows, computed in its backend's worker."""

    case: Case
    steps: int
    batch: int
    seeds: tuple[int, ...]
    skip_reason: str | None = field(default=None)

    @property
    def backend(self) -> str:
        return self.case.backend

    @property
    def label(self) -> str:
        return f"{self.case.backend} {self.case.spec.name}"

    @property
    def broken(self) -> str | None:
        return self.case.broken

    def call(self) -> tuple[str, tuple[Any, ...]]:
        return "benchsuite.verify:verify_case", (self,)

    def record(self, status: str, error: str | None) -> list[dict[str, Any]]:
        if status == "skipped":
            return [_row(self.case, "-", "skipped", None, error)]
        message = error if status == "failed" else f"{status}: {error}"
        return [_row(self.case, "-", "all", False, message)]


def verify_case(session: Session, job: VerifyJob) -> list[dict[str, Any]]:
    """A job function: the parity rows of one case, every optimizer."""
    reference = parity.reference_of(session)
    if reference is None:
        return job.record("failed", f"the built-in {parity.ORACLE!r} oracle backend is not "
                                    "installed")
    case, rows = job.case, []
    for opt_name, opt in OPTIMIZERS:
        try:
            checks = parity.check(session.backend, reference, case.spec, case.device,
                                  case.variant, opt, steps=job.steps, batch_size=job.batch,
                                  seeds=job.seeds)
        except Exception as exc:
            rows.append(_row(case, opt_name, "all", False, f"{type(exc).__name__}: {exc}"))
            continue
        rows += [_row(case, opt_name, c.name, c.passed, None, c.deviation, c.worst)
                 for c in checks]
    return rows


def jobs(registry: Registry, settings: Settings, steps: int, seeds: int) -> list[VerifyJob]:
    """One job per case of ``settings`` (train mode, first batch size); a backend that
    computes nothing is skipped with the reason."""
    parity_settings = replace(settings, modes=("train",), batch_sizes=settings.batch_sizes[:1])
    seed_list = tuple(settings.seed + s for s in range(seeds))
    out = []
    for case in plan(registry, parity_settings):
        reason = case.skip_reason
        if reason is None and not registry.backend(case.backend).computes:
            reason = f"{case.backend} computes nothing: no parity to check"
        out.append(VerifyJob(case, steps, parity_settings.batch_sizes[0], seed_list, reason))
    return out


def run_verify(registry: Registry, settings: Settings, steps: int, seeds: int,
               isolate: bool = True, timeout: float = DEFAULT_TIMEOUT_S,
               on_done=None) -> list[dict[str, Any]]:
    """Rows of (backend, variant, device, model, optimizer, check) → deviation, pass/fail;
    skipped cases become one row with the reason, a case whose worker failed, crashed or
    timed out one failing row with the status."""
    pool = WorkerPool(registry, WorkerSettings(settings.threads, timeout, None, isolate))
    executor = LocalExecutor(pool)
    rows: list[dict[str, Any]] = []
    try:
        for i, (job, part) in enumerate(executor.stream(jobs(registry, settings, steps,
                                                              seeds))):
            rows += part
            if on_done:
                on_done(i, job, part)
    finally:
        executor.close()
    return rows
