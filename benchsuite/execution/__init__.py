"""The execution layer: where jobs run, and nothing about what they are.

A **job** (:class:`Job`) names its backend and an importable function to call there with a
:class:`~benchsuite.execution.worker.Session` (the backend, the oracle, a per-worker cache)
and its arguments; it also says what record to write when it cannot run (skipped) or when
its worker could not give one (failed, crashed, timeout, oom, lost). One worker
implementation (:mod:`~benchsuite.execution.worker`) runs jobs in a spawned process per
backend, or in this process for debugging; :class:`~benchsuite.execution.pool.WorkerPool`
keeps one live worker per backend; an **executor** yields ``(job, record)`` pairs as jobs
finish: :class:`~benchsuite.execution.pool.LocalExecutor` here, in order, and
:class:`~benchsuite.execution.ray.RayExecutor` on the nodes of a Ray cluster. Speed cases,
training runs, parity suites and conformance checks are all jobs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class WorkerSettings:
    """What a worker process needs of a run, whatever the run is."""

    threads: int = 1
    timeout: float = 900.0  # seconds per job before its worker is killed
    memory_limit_gib: float | None = None  # RLIMIT_DATA of each worker; None: no limit
    isolate: bool = True  # False: jobs run in this process (debugging)
    #: A worker's start (spawn, plugins, the framework's import) is not a job: it gets at
    #: least this long, so a short job timeout never fails a slow import on a busy machine.
    start_timeout: float = 120.0


class Job(Protocol):
    """One unit of work for a backend's worker (see the module doc)."""

    backend: str
    skip_reason: str | None  # a job may also have ``broken``: recorded failed, no worker

    @property
    def label(self) -> str: ...

    def call(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        """``(fn, args)``: the worker runs ``fn(session, *args)`` and returns its record."""

    def record(self, status: str, error: str | None) -> dict[str, Any]:
        """The row for this job when it was skipped or its worker gave none."""


class Executor(Protocol):
    """Runs jobs somewhere and yields ``(job, record)`` pairs as they finish."""

    def stream(self, jobs: list[Any], on_start: Callable[[int, Any], None] | None = None
               ) -> Iterator[tuple[Any, dict[str, Any]]]: ...

    def expected(self, jobs: list[Any]) -> int:
        """How many records :meth:`stream` yields for ``jobs`` (before retries)."""

    def close(self) -> None: ...
