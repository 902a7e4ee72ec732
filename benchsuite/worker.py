"""Workers: where a backend's cases run. Frameworks never share a process.

:class:`SubprocessWorker` runs one backend in a ``spawn``-ed child process that loads the same
plugins, applies the run's thread count, and then measures the cases it is sent, one at a
time. If the child dies (segfault, abort, OOM kill) or overruns ``Settings.timeout``, the case
in flight becomes a ``crashed`` or ``timeout`` row with the exit signal and the tail of the
child's log, and the next case gets a fresh worker. :class:`InProcessWorker` has the same
interface without the isolation (``--in-process``, for debugging).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchsuite import parity
from benchsuite.backend import Backend
from benchsuite.bench import WorkerContext, base_record, run_case
from benchsuite.parity import ORACLE
from benchsuite.plugins import Registry, rebuild_registry

if TYPE_CHECKING:
    from benchsuite.runner import Case, Settings

LOG_TAIL_LINES = 6


class WorkerError(RuntimeError):
    """A worker that could not start (its plugins or framework failed to load)."""


def prepare(backend: Backend, settings: Settings) -> dict[str, Any]:
    """Apply the run's thread count (first: TF only accepts it before its runtime starts),
    then describe the backend for the results' environment block."""
    threads = backend.set_threads(settings.threads)
    info = dict(backend.environment())
    info["threads_in_effect"] = threads
    info["pid"] = os.getpid()
    return info


class InProcessWorker:
    def __init__(self, registry: Registry, backend: str, settings: Settings) -> None:
        self.backend = registry.backend(backend)
        oracle = registry.backends.get(ORACLE)
        self.settings = settings
        t0 = time.perf_counter()
        self.info = prepare(self.backend, settings)  # first framework import happens here
        self.ctx = WorkerContext(parity.Reference(oracle) if oracle is not None else None,
                                 import_s=time.perf_counter() - t0)
        self.info["import_s"] = self.ctx.import_s

    alive = True

    def run(self, case: Case) -> dict[str, Any]:
        return run_case(case, self.backend, self.settings, self.ctx)

    def call(self, fn: Callable[..., Any], *args: Any) -> tuple[str, Any]:
        """``fn(backend, *args)`` here: ``("result", value)`` or ``("failed", message)``."""
        try:
            return "result", fn(self.backend, *args)
        except Exception as exc:
            return "failed", f"{type(exc).__name__}: {exc}"

    def stop(self) -> None:
        pass


def redirect_output(log_path: str) -> None:
    """In a worker: stdout and stderr to ``log_path``, so framework chatter goes to the log,
    not over the parent's table (its tail is quoted when the worker dies)."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)


def with_log_tail(message: str, log_path: Path | str, lines: int = LOG_TAIL_LINES) -> str:
    """``message`` followed by the last non-empty lines of a worker's log, if any."""
    try:
        text = Path(log_path).read_text(errors="replace")
    except OSError:
        text = ""
    tail = " | ".join([line.strip() for line in text.splitlines() if line.strip()][-lines:])
    return f"{message}; log: {tail}" if tail else message


def _child(conn, backend: str, entry_points, settings: Settings, log_path: str) -> None:
    """Body of the worker process."""
    redirect_output(log_path)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if settings.memory_limit_gib:
        import resource

        limit = int(settings.memory_limit_gib * 2**30)
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    try:
        worker = InProcessWorker(rebuild_registry(entry_points), backend, settings)
    except BaseException as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", worker.info))
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg[0] == "stop":
            return
        if msg[0] == "call":
            conn.send(worker.call(msg[1], *msg[2]))
        else:
            conn.send(("result", worker.run(msg[1])))


def describe_exit(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"worker killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"worker killed by signal {-code}"
    return f"worker exited with code {code}"


class SubprocessWorker:
    def __init__(self, registry: Registry, backend: str, settings: Settings,
                 log_dir: Path) -> None:
        self.name, self.settings = backend, settings
        self.version = registry.backend(backend).version()
        self.log_path = log_dir / f"{backend}-{time.monotonic_ns()}.log"
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_child, daemon=True, name=f"benchsuite-{backend}",
                                args=(child, backend, registry.entry_points, settings,
                                      str(self.log_path)))
        self.proc.start()
        child.close()
        kind, payload = self._receive(settings.timeout)
        if kind != "ready":
            self.stop()
            raise WorkerError(f"{backend} worker did not start: {payload}")
        self.info: dict[str, Any] = payload

    @property
    def alive(self) -> bool:
        return self.proc.is_alive()

    def run(self, case: Case) -> dict[str, Any]:
        self.conn.send(("case", case))
        kind, payload = self._receive(self.settings.timeout)
        if kind == "result":
            return payload
        record = base_record(case, self.version, self.settings)
        record["status"], record["error"] = kind, payload
        return record

    def call(self, fn: Callable[..., Any], *args: Any) -> tuple[str, Any]:
        """``fn(backend, *args)`` in the worker (``fn`` importable, arguments picklable):
        ``("result", value)``, or ``(status, message)`` with status failed, crashed, timeout
        or oom."""
        self.conn.send(("call", fn, args))
        return self._receive(self.settings.timeout)

    def _receive(self, timeout: float) -> tuple[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            if self.conn.poll(0.05):
                try:
                    return self.conn.recv()
                except EOFError:  # the child's end closed: it is dead or dying
                    self.proc.join(5)
                    return self._death()
            if not self.proc.is_alive():
                self.proc.join()
                return self._death()
            if time.monotonic() > deadline:
                self.kill()
                return "timeout", self._with_log(f"no result after {timeout:g} s (--timeout)")

    def _death(self) -> tuple[str, str]:
        """A worker that died by itself: SIGKILL is what the kernel's OOM killer sends."""
        code = self.proc.exitcode
        message = describe_exit(code)
        if code == -signal.SIGKILL:
            return "oom", self._with_log(f"{message} (likely the out-of-memory killer)")
        return "crashed", self._with_log(message)

    def _with_log(self, message: str) -> str:
        return with_log_tail(message, self.log_path)

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)

    def stop(self) -> None:
        if self.proc.is_alive():
            with contextlib.suppress(OSError, ValueError):
                self.conn.send(("stop",))
            self.proc.join(5)
        self.kill()
        self.conn.close()
