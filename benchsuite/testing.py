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

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchsuite import conformance
from benchsuite.backend import Backend
from benchsuite.checks import CLASSES, INPUT
from benchsuite.conformance import CheckResult, Context, Planned
from benchsuite.errors import BenchsuiteError, PluginError, UsageError
from benchsuite.execution import WorkerSettings
from benchsuite.execution.pool import WorkerPool
from benchsuite.execution.worker import Session, devices_of
from benchsuite.planning import availability, build_spec
from benchsuite.plugins import Registry, load_registry
from benchsuite.spec import ModelSpec

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
    available, _, why = availability(instance)
    if why:
        raise PluginError(f"backend {instance.name!r} is broken: {why}")
    if not available:
        raise UsageError(f"backend {instance.name!r} is unavailable ({instance.install_hint})")
    if variant is not None and variant not in instance.variants:
        raise UsageError(f"backend {instance.name!r} has no variant {variant!r} "
                         f"(valid: {', '.join(instance.variants)})")
    isolate = isinstance(backend, str) if isolate is None else isolate
    if isolate and not isinstance(backend, str):
        raise UsageError("isolate=True needs the backend's registered name")
    models = _models(registry)
    settings = WorkerSettings(threads=threads, timeout=timeout, isolate=isolate)
    pool = WorkerPool(registry, settings,
                      instances={} if isolate else {instance.name: instance})
    try:
        kind, found = pool.call(instance.name, devices_of)
        declared = list(instance.supported_devices)
        present = found if kind == "result" else []
        wanted = devices or [d for d in declared if d in present] or declared[:1]
        checks = conformance.plan(instance, models, wanted)
        return _run_checks(pool, instance.name, checks, variant, on_result)
    finally:
        pool.close()


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


def _models(registry: Registry) -> dict[str, ModelSpec | str]:
    """Every registered model at the checks' input shape, or why it cannot be built there."""
    models: dict[str, ModelSpec | str] = {}
    for model in registry.models:
        try:
            models[model] = build_spec(registry, model, {}, INPUT, CLASSES)
        except BenchsuiteError as exc:  # e.g. a plugin's model that needs larger inputs
            models[model] = f"{model} cannot be built at {INPUT}: {exc}"
    return models


@dataclass
class CheckJob:
    """One contract check, run in the backend's worker (see :mod:`benchsuite.execution`)."""

    backend: str
    check: Planned
    variant: str | None

    @property
    def skip_reason(self) -> str | None:
        return self.check.skip

    @property
    def label(self) -> str:
        return self.check.name

    def call(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        return run_in_worker, (self.check, self.variant)

    def record(self, status: str, error: str | None) -> CheckResult:
        if status == "skipped":
            return CheckResult(self.check.name, "skip", error or "")
        return CheckResult(self.check.name, "fail", error or status)


def run_in_worker(session: Session, check: Planned, variant: str | None) -> CheckResult:
    """A job function: one check, with the context its worker keeps for all of them."""
    key = ("conformance", variant)
    if key not in session.cache:
        registry, backend = session.registry, session.backend
        owner = next((p.name for p in registry.plugins.values() if backend.name in p.backends
                      and registry.backends.get(backend.name) is backend), None)
        session.cache[key] = Context(backend, variant, registry.oracle(), owner)
    return conformance.run_check(session.cache[key], check)


def _run_checks(pool: WorkerPool, name: str, checks: list[Planned], variant: str | None,
                on_result: Callable[[CheckResult], None] | None) -> list[CheckResult]:
    """The checks in order in ``name``'s worker: one that kills or hangs the worker fails
    with the reason, and the next starts in a fresh worker; a worker that cannot start fails
    every check with the reason."""
    results = []
    for check in checks:
        results.append(pool.run(CheckJob(name, check, variant)))
        if on_result:
            on_result(results[-1])
    return results
