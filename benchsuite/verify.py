"""``benchsuite verify``: every backend against the NumPy oracle's exact (float64) trajectory.

For each backend × model × optimizer (SGD with momentum, plain SGD, Adam) it compares the
logits at step 0, the loss at steps 1 and N and the weights after N steps (see
:mod:`benchsuite.parity`). Each backend runs in a worker process of its own, like a benchmark.
"""

from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import Any

from benchsuite import parity
from benchsuite.optim import SGD, Adam, Optimizer
from benchsuite.plugins import Registry, rebuild_registry
from benchsuite.runner import Case, Settings, plan

OPTIMIZERS: tuple[tuple[str, Optimizer], ...] = (
    ("sgd+momentum", SGD(lr=0.01, momentum=0.9)),
    ("sgd", SGD(lr=0.01, momentum=0.0)),
    ("adam", Adam(lr=0.001)),
)


def _rows_for(backend, reference, case: Case, steps: int, batch: int, seeds) -> list[dict]:
    rows = []
    for opt_name, opt in OPTIMIZERS:
        base = {"backend": case.backend, "variant": case.variant, "device": case.device,
                "model": case.spec.name, "optimizer": opt_name}
        try:
            checks = parity.check(backend, reference, case.spec, case.device, case.variant,
                                  opt, steps=steps, batch_size=batch, seeds=seeds)
        except Exception as exc:
            rows.append({**base, "check": "all", "deviation": None, "worst": None,
                         "passed": False, "error": f"{type(exc).__name__}: {exc}"})
            continue
        rows += [{**base, "check": c.name, "deviation": c.deviation, "worst": c.worst,
                  "passed": c.passed, "error": None} for c in checks]
    return rows


def verify_backend(entry_points, name: str, cases: list[Case], threads: int, steps: int,
                   batch: int, seeds: tuple[int, ...]) -> list[dict[str, Any]]:
    """Worker body: all checks of one backend."""
    registry = rebuild_registry(entry_points)
    backend = registry.backend(name)
    backend.set_threads(threads)
    reference = parity.Reference(registry.backend(parity.ORACLE))
    rows = []
    for case in cases:
        rows += _rows_for(backend, reference, case, steps, batch, seeds)
    return rows


def run_verify(registry: Registry, settings: Settings, steps: int, seeds: int,
               isolate: bool = True) -> list[dict[str, Any]]:
    """Rows of (backend, variant, device, model, optimizer, check) → deviation, pass/fail;
    skipped cases become one row with the reason."""
    parity_settings = replace(settings, modes=("train",), batch_sizes=settings.batch_sizes[:1])
    cases = plan(registry, parity_settings)
    batch = parity_settings.batch_sizes[0]
    seed_list = tuple(settings.seed + s for s in range(seeds))
    rows: list[dict[str, Any]] = []
    by_backend: dict[str, list[Case]] = {}
    for case in cases:
        if not case.skip_reason and not registry.backend(case.backend).computes:
            case.skip_reason = f"{case.backend} computes nothing: no parity to check"
        if case.skip_reason:
            rows.append({"backend": case.backend, "variant": case.variant,
                         "device": case.device, "model": case.spec.name, "optimizer": "-",
                         "check": "skipped", "deviation": None, "worst": None,
                         "passed": None, "error": case.skip_reason})
        else:
            by_backend.setdefault(case.backend, []).append(case)
    for name, group in by_backend.items():
        args = (registry.entry_points, name, group, settings.threads, steps, batch, seed_list)
        if not isolate:
            rows += verify_backend(*args)
            continue
        try:
            with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
                rows += pool.submit(verify_backend, *args).result()
        except (BrokenProcessPool, Exception) as exc:
            rows += [{"backend": name, "variant": c.variant, "device": c.device,
                      "model": c.spec.name, "optimizer": "-", "check": "all",
                      "deviation": None, "worst": None, "passed": False,
                      "error": f"{type(exc).__name__}: {exc}"} for c in group]
    return rows
