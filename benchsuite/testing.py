"""The conformance kit for backend authors: the checks of ``benchsuite check-plugin``, importable.

In a plugin's own test suite::

    from benchsuite.testing import assert_backend_conforms, check_backend

    def test_my_backend_honours_the_benchsuite_contract():
        assert_backend_conforms("mybackend")        # by entry-point name, or pass an instance

    results = check_backend("mybackend")            # list[CheckResult]: name, status, detail

Given a name, the checks run in a ``spawn``-ed worker process, like a benchmark: a backend
that crashes the interpreter (segfault, abort) fails the check it was running, with the exit
signal, and the remaining checks go on in a fresh worker. Given a :class:`~benchsuite.Backend`
instance (or ``isolate=False``), they run in this process; exceptions are still rows.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections.abc import Callable
from typing import Any

from benchsuite import conformance, parity
from benchsuite.backend import Backend
from benchsuite.checks import CLASSES, INPUT
from benchsuite.conformance import CheckResult, Context, Planned
from benchsuite.errors import BenchsuiteError, UsageError
from benchsuite.plugins import Registry, load_registry, rebuild_registry
from benchsuite.runner import build_spec
from benchsuite.spec import ModelSpec
from benchsuite.worker import describe_exit, redirect_output, with_log_tail

__all__ = ["CheckResult", "assert_backend_conforms", "check_backend", "format_results"]

CHECK_TIMEOUT_S = 300.0


def check_backend(
    backend: str | Backend, *, registry: Registry | None = None, devices: list[str] | None = None,
    variant: str | None = None, isolate: bool | None = None, threads: int = 1,
    timeout: float = CHECK_TIMEOUT_S, on_result: Callable[[CheckResult], None] | None = None,
) -> list[CheckResult]:
    """Run every contract check on ``backend`` (a registered name or an instance).

    ``devices`` defaults to every declared device present here; ``variant`` to the backend's
    default. Raises :class:`~benchsuite.errors.UnknownNameError` for an unknown name and
    :class:`~benchsuite.errors.UsageError` for an unavailable backend or bad variant."""
    registry = registry or load_registry()
    instance = registry.backend(backend) if isinstance(backend, str) else backend
    if not isinstance(instance, Backend):
        raise UsageError(f"check_backend needs a backend name or a Backend, got {backend!r}")
    if not instance.is_available():
        raise UsageError(f"backend {instance.name!r} is unavailable ({instance.install_hint})")
    if variant is not None and variant not in instance.variants:
        raise UsageError(f"backend {instance.name!r} has no variant {variant!r} "
                         f"(valid: {', '.join(instance.variants)})")
    isolate = isinstance(backend, str) if isolate is None else isolate
    if isolate and not isinstance(backend, str):
        raise UsageError("isolate=True needs the backend's registered name")
    models = _models(registry)

    def plan(found: list[str]) -> list[Planned]:
        """The checks, once the devices present are known (found where the checks run)."""
        declared = list(instance.supported_devices)
        wanted = devices or [d for d in declared if d in found] or declared[:1]
        return conformance.plan(instance, models, wanted)

    if isolate:
        return _isolated(registry, instance.name, plan, variant, threads, timeout, on_result)
    return _in_process(registry, instance, plan, variant, threads, on_result)


def assert_backend_conforms(backend: str | Backend, **kwargs) -> list[CheckResult]:
    """:func:`check_backend`, raising ``AssertionError`` with the table when a check fails."""
    results = check_backend(backend, **kwargs)
    failed = [r for r in results if not r.passed]
    assert not failed, (f"{len(failed)} benchsuite contract check(s) failed:\n"
                        + format_results(failed))
    return results


def format_results(results: list[CheckResult]) -> str:
    """Plain-text table: one line per check with its status and reason."""
    width = max((len(r.name) for r in results), default=5)
    return "\n".join(f"{r.name:<{width}}  {r.status.upper():<4}  {r.detail}" for r in results)


def _in_process(registry: Registry, backend: Backend, plan, variant, threads: int,
                on_result) -> list[CheckResult]:
    try:
        backend.set_threads(threads)
        found = list(backend.devices())
    except Exception as exc:
        return _failed(plan([]), f"{backend.name} did not start: {type(exc).__name__}: {exc}",
                       on_result)
    ctx = _context(registry, backend, variant)
    results = []
    for check in plan(found):
        results.append(conformance.run_check(ctx, check))
        if on_result:
            on_result(results[-1])
    return results


def _models(registry: Registry) -> dict[str, ModelSpec | str]:
    """Every registered model at the checks' input shape, or why it cannot be built there."""
    models: dict[str, ModelSpec | str] = {}
    for model in registry.models:
        try:
            models[model] = build_spec(registry, model, {}, INPUT, CLASSES)
        except BenchsuiteError as exc:  # e.g. a plugin's model that needs larger inputs
            models[model] = f"{model} cannot be built at {INPUT}: {exc}"
    return models


def _context(registry: Registry, backend: Backend, variant: str | None) -> Context:
    owner = next((p.name for p in registry.plugins.values() if backend.name in p.backends
                  and registry.backends.get(backend.name) is backend), None)
    oracle = registry.backends.get(parity.ORACLE)
    return Context(backend, variant, oracle, owner)


# -- the worker process -----------------------------------------------------------------------

def _child(conn, entry_points, name: str, variant, threads: int, log_path: str) -> None:
    """Worker body: load the plugins, report the devices present, run the checks sent."""
    redirect_output(log_path)
    try:
        registry = rebuild_registry(entry_points)
        backend = registry.backend(name)
        backend.set_threads(threads)
        found = list(backend.devices())
        ctx = _context(registry, backend, variant)
    except BaseException as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", found))
    try:
        checks = conn.recv()
    except EOFError:
        return
    for check in checks:
        conn.send(conformance.run_check(ctx, check))


def _isolated(registry: Registry, name: str, plan: Callable[[list[str]], list[Planned]],
              variant, threads: int, timeout: float, on_result) -> list[CheckResult]:
    """Run the checks in worker processes: a worker that dies or hangs fails the check in
    flight and the next check starts in a fresh worker; one that cannot start fails every
    check left, with the reason. The first worker's devices decide the plan."""
    import tempfile

    checks: list[Planned] | None = None
    results: list[CheckResult] = []
    with tempfile.TemporaryDirectory(prefix="benchsuite-check-") as tmp:
        log = os.path.join(tmp, "worker.log")
        while checks is None or len(results) < len(checks):
            worker = _Worker(registry, name, variant, threads, log)
            try:
                kind, payload = worker.ready(timeout)
                checks = plan(payload if kind == "ready" else []) if checks is None else checks
                left = checks[len(results):]
                if kind != "ready":
                    why = f"{name} worker did not start: {with_log_tail(payload, log)}"
                    return results + _failed(left, why, on_result)
                results += worker.run(left, timeout, on_result)
            finally:
                worker.stop()
    return results


class _Worker:
    """One spawned check worker and its pipe."""

    def __init__(self, registry: Registry, name: str, variant, threads: int, log: str) -> None:
        open(log, "w").close()
        self.log = log
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_child, daemon=True, name=f"benchsuite-check-{name}",
                                args=(child, registry.entry_points, name, variant, threads,
                                      log))
        self.proc.start()
        child.close()

    def ready(self, timeout: float) -> tuple[str, Any]:
        """("ready", devices found) or ("error", why)."""
        msg = _receive(self.conn, self.proc, timeout)
        return msg if msg is not None else ("error", self._why(timeout))

    def run(self, checks: list[Planned], timeout: float, on_result) -> list[CheckResult]:
        """Results of ``checks`` in order, up to and including the first that killed or hung
        the worker (a ``fail`` row)."""
        self.conn.send(checks)
        out: list[CheckResult] = []
        for check in checks:
            t0 = time.perf_counter()
            result = _receive(self.conn, self.proc, timeout)
            if result is None:
                why = with_log_tail(self._why(timeout), self.log)
                return out + _failed([check], why, on_result, time.perf_counter() - t0)
            out.append(result)
            if on_result:
                on_result(result)
        return out

    def _why(self, timeout: float) -> str:
        if self.proc.is_alive():
            return f"no result after {timeout:g} s"
        return describe_exit(self.proc.exitcode)

    def stop(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()


def _failed(checks: list[Planned], why: str, on_result, seconds: float = 0.0):
    out = [CheckResult(c.name, "fail", why, seconds) for c in checks]
    if on_result:
        for result in out:
            on_result(result)
    return out


def _receive(conn, proc, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if conn.poll(0.05):
            try:
                return conn.recv()
            except EOFError:
                proc.join(5)
                return None
        if not proc.is_alive() and not conn.poll(0):
            proc.join()
            return None
    return None
