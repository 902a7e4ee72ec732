"""The one worker implementation: where a backend's jobs run. Frameworks never share a process.

:class:`SubprocessWorker` runs one backend in a ``spawn``-ed child that leads its own process
group, loads the same plugins, applies the run's thread count, then runs the jobs it is sent,
one at a time. A child that dies (segfault, abort, the kernel's OOM killer) or overruns the
timeout is classified (``crashed``, ``oom``, ``timeout``) with the exit signal and the tail of
its log, and its whole process group is killed, so a backend's own children die with it.
:class:`InProcessWorker` has the same interface without the isolation (``--in-process``).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import re
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchsuite.backend import Backend
from benchsuite.execution import WorkerSettings
from benchsuite.execution.failures import classify, describe_exit, one_line, with_log_tail
from benchsuite.fileio import json_safe
from benchsuite.plugins import Registry, rebuild_registry

#: What quiets the frameworks' own loggers (TensorFlow/XLA's C++ log, gRPC, glog) in the
#: CLI's process, where a framework is only imported with ``--in-process``; in a worker their
#: chatter goes to its log instead, where a crash's tail can quote it.
QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "GRPC_VERBOSITY": "ERROR", "GLOG_minloglevel": "3"}
QUIET_LOGGERS = ("tensorflow", "absl", "jax", "jax._src.xla_bridge")


class WorkerError(RuntimeError):
    """A worker that could not start (its plugins or framework failed to load); ``status``
    is the row its jobs get: ``oom`` when it ran out of memory starting, else ``failed``."""

    def __init__(self, message: str, status: str = "failed") -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Session:
    """What a job function receives in its worker: the backend, the registry it came from
    (for the oracle), the backend's environment description, and a cache that lives as long
    as the worker (parity references, calibrated peaks, loaded data sets)."""

    backend: Backend
    registry: Registry
    info: dict[str, Any]
    cache: dict[Any, Any] = field(default_factory=dict)


def prepare(backend: Backend, settings: WorkerSettings) -> dict[str, Any]:
    """Apply the thread count (first: TF only accepts it before its runtime starts), then
    describe the backend for the results' environment block. A backend whose description
    raises still runs: the error is recorded instead; one whose description JSON cannot hold
    (NaN, a set, bytes, an object) is recorded as :func:`~benchsuite.fileio.json_safe` makes it."""
    t0 = time.perf_counter()
    threads = backend.set_threads(settings.threads)  # first framework import happens here
    try:
        info = json_safe(dict(backend.environment()))
    except Exception as exc:
        info = {"environment_error": f"{type(exc).__name__}: {exc}"}
    info["threads_in_effect"] = threads
    info["pid"] = os.getpid()
    info["import_s"] = time.perf_counter() - t0
    return info


def resolve(fn: Callable[..., Any] | str) -> Callable[..., Any]:
    """A job function given as ``"package.module:function"`` (so that planners need not import
    the worker-side module), or the function itself."""
    if not isinstance(fn, str):
        return fn
    import importlib

    module, _, name = fn.partition(":")
    return getattr(importlib.import_module(module), name)


def devices_of(session: Session) -> list[str]:
    """A job function: the devices the backend finds in its worker."""
    return list(session.backend.devices())


class InProcessWorker:
    """Jobs of one backend run in this process; exceptions become ``failed`` outcomes."""

    alive = True

    def __init__(self, registry: Registry, backend: str | Backend,
                 settings: WorkerSettings) -> None:
        instance = registry.backend(backend) if isinstance(backend, str) else backend
        self.session = Session(instance, registry, prepare(instance, settings))
        self.info = self.session.info

    def call(self, fn: Callable[..., Any] | str, args: tuple[Any, ...] = ()
             ) -> tuple[str, Any]:
        """``("result", fn(session, *args))`` or ``("failed", message)``; ``fn`` is a
        function or its ``"module:name"``."""
        try:
            return "result", resolve(fn)(self.session, *args)
        except Exception as exc:
            return "failed", one_line(exc)

    def stop(self) -> None:
        pass


def quiet_frameworks() -> None:
    """Before a framework is imported into the CLI's own process: its C++ logs below errors
    off (unless the user set them), its Python loggers at ERROR."""
    import logging

    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def redirect_output(log_path: str) -> None:
    """In a worker: stdout and stderr to ``log_path``, so framework chatter goes to the log,
    not over the parent's table (its tail is quoted when the worker dies)."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)


def log_name(backend: str) -> str:
    """A file name for ``backend``'s log that stays inside the log folder, whatever the name."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", backend).lstrip(".")[:40] or "backend"
    return f"{safe}-{time.monotonic_ns()}.log"


def _child(conn, backend: str, entry_points, settings: WorkerSettings, log_path: str) -> None:
    """Body of the worker process."""
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)  # its own process group: killing the worker kills its children too
    redirect_output(log_path)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if settings.memory_limit_gib:
        import resource

        limit = int(settings.memory_limit_gib * 2**30)
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    try:
        worker = InProcessWorker(rebuild_registry(entry_points), backend, settings)
    except BaseException as exc:
        conn.send(("oom" if classify(exc) == "oom" else "error", one_line(exc)))
        return
    conn.send(("ready", worker.info))
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg[0] == "stop":
            return
        outcome = worker.call(msg[1], msg[2])
        try:
            conn.send(outcome)
        except Exception as exc:  # a result that cannot be pickled
            conn.send(("failed", f"the result could not be sent back: {one_line(exc)}"))


class SubprocessWorker:
    """One backend's spawned worker process and its pipe."""

    def __init__(self, registry: Registry, backend: str, settings: WorkerSettings,
                 log_dir: Path) -> None:
        self.name, self.settings = backend, settings
        self.log_path = Path(log_dir) / log_name(backend)
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_child, daemon=True, name="benchsuite-worker",
                                args=(child, backend, registry.entry_points, settings,
                                      str(self.log_path)))
        self.proc.start()
        child.close()
        kind, payload = self._receive(max(settings.timeout, settings.start_timeout))
        if kind != "ready":
            self.stop()
            if kind == "oom" and settings.memory_limit_gib:
                payload += f" (its --memory-limit is {settings.memory_limit_gib:g} GiB)"
            raise WorkerError(f"{backend} worker did not start: {payload}",
                              "oom" if kind == "oom" else "failed")
        self.info: dict[str, Any] = payload

    @property
    def alive(self) -> bool:
        return self.proc.is_alive()

    def call(self, fn: Callable[..., Any] | str, args: tuple[Any, ...] = ()
             ) -> tuple[str, Any]:
        """``fn(session, *args)`` in the worker (``fn`` importable, arguments picklable):
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
                return "timeout", with_log_tail(f"no result after {timeout:g} s (--timeout)",
                                                self.log_path)

    def _death(self) -> tuple[str, str]:
        """A worker that died by itself: SIGKILL is what the kernel's OOM killer sends."""
        self._kill_group()  # whatever it started dies with it
        code = self.proc.exitcode
        message = describe_exit(code)
        if code == -signal.SIGKILL:
            return "oom", with_log_tail(f"{message} (likely the out-of-memory killer)",
                                        self.log_path)
        return "crashed", with_log_tail(message, self.log_path)

    def _kill_group(self) -> None:
        """SIGKILL to the worker's process group (its id is the worker's pid; the group lives
        on while any process the worker started is alive)."""
        with contextlib.suppress(OSError, TypeError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def kill(self) -> None:
        self._kill_group()
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
