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
    devices = devices or _present_devices(registry, instance, isolate)
    models: dict[str, ModelSpec | str] = {}
    for model in registry.models:
        try:
            models[model] = build_spec(registry, model, {}, INPUT, CLASSES)
        except BenchsuiteError as exc:  # e.g. a plugin's model that needs larger inputs
            models[model] = f"{model} cannot be built at {INPUT}: {exc}"
    checks = conformance.plan(instance, models, devices)
    if isolate:
        return _isolated(registry, backend, checks, variant, threads, timeout, on_result)
    try:
        instance.set_threads(threads)
    except Exception as exc:
        return _failed(checks, f"set_threads() raised {type(exc).__name__}: {exc}", on_result)
    ctx = _context(registry, instance, variant)
    results = []
    for check in checks:
        results.append(conformance.run_check(ctx, check))
        if on_result:
            on_result(results[-1])
    return results


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


def _present_devices(registry: Registry, backend: Backend, isolate: bool) -> list[str]:
    """Every declared device present here. Only a backend declaring more than the CPU is
    asked (``devices()`` may import its framework: in a throwaway process when isolated)."""
    declared = list(backend.supported_devices)
    if declared == ["cpu"]:
        return declared
    if isolate:
        from benchsuite.runner import probe_devices

        found = probe_devices(registry, backend.name)
    else:
        found = backend.devices()
    return [d for d in declared if d in found] or declared[:1]


def _context(registry: Registry, backend: Backend, variant: str | None) -> Context:
    owner = next((p.name for p in registry.plugins.values() if backend.name in p.backends
                  and registry.backends.get(backend.name) is backend), None)
    oracle = registry.backends.get(parity.ORACLE)
    return Context(backend, variant, oracle, owner)


# -- the worker process -----------------------------------------------------------------------

def _child(conn, entry_points, name: str, checks: list[Planned], variant, threads: int,
           log_path: str) -> None:
    redirect_output(log_path)
    try:
        registry = rebuild_registry(entry_points)
        backend = registry.backend(name)
        backend.set_threads(threads)
        ctx = _context(registry, backend, variant)
    except BaseException as exc:
        conn.send(f"{type(exc).__name__}: {exc}")
        return
    conn.send("ready")
    for check in checks:
        conn.send(conformance.run_check(ctx, check))


def _isolated(registry: Registry, name: str, checks: list[Planned], variant, threads: int,
              timeout: float, on_result) -> list[CheckResult]:
    import tempfile

    results: list[CheckResult] = []
    with tempfile.TemporaryDirectory(prefix="benchsuite-check-") as tmp:
        log = os.path.join(tmp, "worker.log")
        while len(results) < len(checks):
            results += _one_worker(registry, name, checks[len(results):], variant, threads,
                                   timeout, log, on_result)
    return results


def _one_worker(registry, name, checks, variant, threads, timeout, log, on_result):
    """Run ``checks`` in one worker until they are done or it dies or hangs: that fails the
    check in flight, and the caller starts the next worker after it. A worker that cannot
    start (the plugin or framework fails to load there) fails every check with the reason."""
    open(log, "w").close()
    ctx = mp.get_context("spawn")
    conn, child = ctx.Pipe()
    proc = ctx.Process(target=_child, daemon=True, name=f"benchsuite-check-{name}",
                       args=(child, registry.entry_points, name, checks, variant, threads, log))
    proc.start()
    child.close()
    out: list[CheckResult] = []
    try:
        ready = _receive(conn, proc, timeout)
        if ready != "ready":
            why = ready or (describe_exit(proc.exitcode) if not proc.is_alive()
                            else f"not ready after {timeout:g} s")
            return _failed(checks, f"{name} worker did not start: {with_log_tail(why, log)}",
                           on_result)
        for check in checks:
            t0 = time.perf_counter()
            result = _receive(conn, proc, timeout)
            if result is None:
                alive = proc.is_alive()
                why = f"no result after {timeout:g} s" if alive else describe_exit(proc.exitcode)
                out += _failed([check], with_log_tail(why, log), on_result,
                               time.perf_counter() - t0)
                break
            out.append(result)
            if on_result:
                on_result(result)
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        conn.close()
    return out


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
