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
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchsuite.backend import Backend
from benchsuite.execution import WorkerSettings
from benchsuite.execution.failures import classify, describe_exit, one_line, with_log_tail
from benchsuite.execution.logs import log_name, redirect_output
from benchsuite.fileio import json_safe
from benchsuite.plugins import Registry, rebuild_registry


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


def serve(fd: int) -> None:
    """Body of a worker of another environment's Python (:class:`EnvProcess`): the same
    worker, over the connection it inherited as file descriptor ``fd``."""
    from multiprocessing.connection import Connection

    conn = Connection(fd)
    _child(conn, *conn.recv())


#: Another environment's worker imports that environment's benchsuite and plugins, not those
#: of the folder it was started from (``-c`` and ``-m`` put the current folder first).
NO_CWD = "import sys; sys.path.pop(0)"
SERVE = "from benchsuite.execution.worker import serve; serve(int(sys.argv[1]))"


class EnvProcess:
    """A worker process of another Python (``PYTHON -c ... serve(FD)``), with the methods of
    ``multiprocessing.Process`` that :class:`SubprocessWorker` uses: a spawn would copy this
    process's ``sys.path`` and import this environment's packages."""

    def __init__(self, python: str, fd: int, log_path: Path) -> None:
        with open(log_path, "ab") as log:  # what it says before it redirects itself
            self.popen = subprocess.Popen([python, "-c", f"{NO_CWD}; {SERVE}", str(fd)],
                                          pass_fds=(fd,), stdin=subprocess.DEVNULL,
                                          stdout=log, stderr=log)
        self.pid = self.popen.pid

    @property
    def exitcode(self) -> int | None:
        return self.popen.poll()

    def is_alive(self) -> bool:
        return self.popen.poll() is None

    def join(self, timeout: float | None = None) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout)

    def kill(self) -> None:
        self.popen.kill()


def python_info(python: str) -> dict[str, str] | str:
    """What ``python`` runs (its Python's and benchsuite's versions, its executable), or
    why it cannot run benchsuite workers (missing, not runnable, no benchsuite)."""
    code = (f"{NO_CWD}; import benchsuite, benchsuite.execution.worker; "
            "print(sys.version.split()[0], benchsuite.__version__, sys.executable)")
    try:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True,
                             timeout=120, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        return getattr(exc, "strerror", None) or str(exc)
    if out.returncode:
        last = (out.stderr.strip().splitlines() or [f"exit status {out.returncode}"])[-1]
        return f"cannot import benchsuite ({last})"
    version, bench, executable = [*out.stdout.split(maxsplit=2), "", "", ""][:3]
    return {"python": python, "python_version": version, "benchsuite_version": bench,
            "executable": executable.strip()}


class SubprocessWorker:
    """One backend's spawned worker process and its pipe."""

    def __init__(self, registry: Registry, backend: str, settings: WorkerSettings,
                 log_dir: Path, python: str | None = None) -> None:
        self.name, self.settings = backend, settings
        self.log_path = Path(log_dir) / log_name(backend)
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        args = (backend, registry.entry_points, settings, str(self.log_path))
        if python is None:
            self.proc: Any = ctx.Process(target=_child, daemon=True, name="benchsuite-worker",
                                         args=(child, *args))
            self.proc.start()
        else:  # another environment: its interpreter, its sys.path, its packages
            self.proc = EnvProcess(python, child.fileno(), self.log_path)
            self.conn.send(args)
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

