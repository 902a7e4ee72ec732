"""One live worker per backend, and the local executor over it.

:class:`WorkerPool` starts a backend's worker on its first job, keeps it for the next ones,
replaces it after it dies, and remembers a backend whose worker cannot start (every later job
of it gets a ``failed`` record with the reason, at once). :class:`LocalExecutor` runs jobs
here, in order, through a pool.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from benchsuite.backend import Backend
from benchsuite.execution import Job, WorkerSettings
from benchsuite.execution.failures import one_line
from benchsuite.execution.logs import quiet_frameworks
from benchsuite.execution.worker import (
    InProcessWorker,
    SubprocessWorker,
    WorkerError,
)
from benchsuite.plugins import Registry


def recorder(doc: dict[str, Any]) -> Callable[[str, dict[str, Any]], None]:
    """An ``on_worker_start`` that writes each started worker's description into the results
    document ``doc`` (``environment.backends[name]``)."""
    def note(name: str, info: dict[str, Any]) -> None:
        doc["environment"].setdefault("backends", {})[name] = info
    return note


def local_executor(registry: Registry, settings: WorkerSettings, doc: dict[str, Any]
                   ) -> LocalExecutor:
    """Jobs run here, each backend's worker recorded in ``doc`` as it starts."""
    return LocalExecutor(WorkerPool(registry, settings, recorder(doc)))


class WorkerPool:
    """Workers by backend name. ``instances`` are backends given as objects rather than by
    registered name: they can only run in this process. ``on_worker_start(name, info)`` is
    told each started worker's environment description."""

    def __init__(self, registry: Registry, settings: WorkerSettings,
                 on_worker_start: Callable[[str, dict[str, Any]], None] | None = None,
                 instances: dict[str, Backend] | None = None,
                 pythons: dict[str, str] | None = None) -> None:
        self.registry, self.settings = registry, settings
        self.pythons = pythons or {}  # environment name → its Python (workers keyed (b, env))
        self.on_worker_start = on_worker_start
        self.instances = instances or {}
        self.workers: dict[str, Any] = {}
        self.broken: dict[str, tuple[str, str]] = {}  # name → (status, message)
        self._log_dir: Path | None = None

    def run(self, job: Job) -> Any:
        """The job's record: skipped jobs, and jobs of a broken backend, never start a
        worker; ``job.processes`` > 1 runs it in that many fresh workers and lets the job
        combine their records."""
        refused = self.refused(job)
        if refused is not None:
            return refused
        fresh = getattr(job, "processes", 1)
        if fresh <= 1:
            return self._once(job)
        records = []
        for _ in range(fresh):
            self.retire(self.key(job))
            records.append(self._once(job))
            if records[-1].get("status") != "ok":  # no point repeating a failure
                break
        self.retire(self.key(job))
        return job.combine(records)

    @staticmethod
    def key(job: Job) -> str | tuple[str, str]:
        """Which worker runs ``job``: its backend's, or with an ``env`` (``benchsuite ab``)
        its backend's in that environment."""
        env = getattr(job, "env", None)
        return job.backend if env is None else (job.backend, env)

    @staticmethod
    def refused(job: Job) -> Any:
        """The record of a job that never starts a worker (skipped, or its backend broken),
        else None."""
        if getattr(job, "broken", None):  # its backend cannot say whether it is installed
            return job.record("failed", job.broken)
        if job.skip_reason:
            return job.record("skipped", job.skip_reason)
        return None

    def _once(self, job: Job) -> Any:
        fn, args = job.call()
        kind, payload = self.call(self.key(job), fn, args)
        return payload if kind == "result" else job.record(kind, payload)

    def call(self, name: str | tuple[str, str], fn: Callable[..., Any],
             args: tuple[Any, ...] = ()
             ) -> tuple[str, Any]:
        """``fn(session, *args)`` in backend ``name``'s worker: ``("result", value)`` or
        ``(status, message)``; a worker that died is replaced by the next call."""
        worker = self.workers.get(name) or self._start(name)
        if worker is None:
            return self.broken[name]
        outcome = worker.call(fn, args)
        if not worker.alive:
            self.retire(name)
        return outcome

    def retire(self, name: str | tuple[str, str]) -> None:
        worker = self.workers.pop(name, None)
        if worker is not None:
            worker.stop()

    def _start(self, name: str | tuple[str, str]):
        if name in self.broken:
            return None
        backend, env = name if isinstance(name, tuple) else (name, None)
        try:
            if env is not None:  # a backend of another environment: never in this process
                worker = SubprocessWorker(self.registry, backend, self.settings, self.log_dir,
                                          self.pythons[env])
            elif self.settings.isolate and name not in self.instances:
                worker = SubprocessWorker(self.registry, name, self.settings, self.log_dir)
            else:
                quiet_frameworks()  # the framework loads into this process
                worker = InProcessWorker(self.registry, self.instances.get(name, name),
                                         self.settings)
        except WorkerError as exc:
            self.broken[name] = exc.status, str(exc)
            return None
        except Exception as exc:  # in-process: the backend's own set-up failed
            self.broken[name] = ("oom" if isinstance(exc, MemoryError) else "failed",
                                 f"{name} worker did not start: {one_line(exc)}")
            return None
        self.workers[name] = worker
        if self.on_worker_start:
            self.on_worker_start(name, worker.info)
        return worker

    @property
    def log_dir(self) -> Path:
        """The workers' log folder, named after this process (see :func:`sweep_logs`)."""
        if self._log_dir is None:
            sweep_logs()
            self._log_dir = Path(tempfile.mkdtemp(prefix=f"{LOG_PREFIX}{os.getpid()}-"))
        return self._log_dir

    def close(self) -> None:
        for worker in self.workers.values():
            worker.stop()
        self.workers.clear()
        if self._log_dir is not None:
            shutil.rmtree(self._log_dir, ignore_errors=True)


LOG_PREFIX = "benchsuite-workers-"


def sweep_logs(folder: Path | None = None) -> list[Path]:
    """Remove the worker log folders that pools of dead processes left in ``folder`` (the
    temporary folder): a driver killed by SIGKILL or the OOM killer never ran its
    :meth:`WorkerPool.close`. A folder is its pool's while the process named in it lives."""
    removed = []
    for path in Path(folder or tempfile.gettempdir()).glob(f"{LOG_PREFIX}*"):
        pid = path.name[len(LOG_PREFIX):].partition("-")[0]
        if not pid.isdigit() or _alive(int(pid)) or not path.is_dir():
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process: alive
        return True
    return True


class LocalExecutor:
    """The jobs in order, here, one worker process per backend."""

    def __init__(self, pool: WorkerPool) -> None:
        self.pool = pool

    def stream(self, jobs: list[Any], on_start: Callable[[int, Any], None] | None = None
               ) -> Iterator[tuple[Any, Any]]:
        for i, job in enumerate(jobs):
            if on_start:
                on_start(i, job)
            yield job, self.pool.run(job)

    def expected(self, jobs: list[Any]) -> int:
        return len(jobs)

    def close(self) -> None:
        self.pool.close()


def probe_devices(registry: Registry, name: str, settings: WorkerSettings | None = None
                  ) -> list[str]:
    """``backend.devices()`` evaluated in a throwaway worker, so that this process never
    imports a framework; a worker that fails gives no devices."""
    from benchsuite.execution.worker import devices_of

    pool = WorkerPool(registry, settings or WorkerSettings(timeout=120.0))
    try:
        kind, payload = pool.call(name, devices_of)
    finally:
        pool.close()
    return payload if kind == "result" else []
