"""The Python API: what each ``benchsuite`` command does, without the command line.

::

    from benchsuite.api import run, train, verify, check_plugin, report, compare, export
    from benchsuite.cases import Settings

    outcome = run(Settings(backends=["numpy"], models=[("mlp", {})], repeats=3))
    outcome.document["cases"], outcome.path, outcome.failed

Every function validates its settings here (the CLI only parses), raises
:class:`~benchsuite.errors.BenchsuiteError` subclasses for anything a user can fix, and
:class:`~benchsuite.errors.Interrupted` when Ctrl-C stops a run (the results file keeps every
finished record; ``run(resume=path)`` completes it). ``progress(total)`` is an optional
factory of a context manager with ``start(i, job)`` and ``done(i, job, record)`` methods.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchsuite import cases, contention, learning, recording
from benchsuite.cases import Settings
from benchsuite.errors import Interrupted, UsageError
from benchsuite.execution.pool import WorkerPool, local_executor, recorder
from benchsuite.interleave import InterleavedExecutor
from benchsuite.learning import LearnSettings
from benchsuite.plugins import Registry, load_registry
from benchsuite.values import check_number

__all__ = ["LearnSettings", "Outcome", "Settings", "ab", "calibrate", "check_plugin", "compare",
           "export", "report", "run", "schema", "train", "verify"]


log = logging.getLogger("benchsuite")


@dataclass
class Outcome:
    """A finished run: its results document, the file it is in, and the records that make
    the command fail (failed, crashed, timed out… or, for training, missed targets)."""

    document: dict[str, Any]
    path: Path
    failed: list[dict[str, Any]] = field(default_factory=list)


def _execute(executor, jobs, doc, path: Path, records: str, progress, total: int,
             command: str, stopped: str = "{n} finished {command} record(s) kept in {path}; "
             "complete it with: benchsuite {command} --resume {path}") -> None:
    with progress(total) if progress else contextlib.nullcontext(None) as bar:
        try:
            recording.execute(executor, jobs, doc, path, records,
                              on_start=bar.start if bar else None,
                              on_done=bar.done if bar else None)
        except KeyboardInterrupt:
            raise Interrupted(stopped.format(n=len(doc[records]), command=command, path=path),
                              path) from None


def run(settings: Settings | None = None, *, output: Path | str = "results",
        resume: Path | str | None = None, registry: Registry | None = None,
        progress: Callable[[int], Any] | None = None, threads_from_node: bool = False,
        ray_address: str | None = None) -> Outcome:
    """``benchsuite run``: the case matrix of ``settings`` into a new results file in
    ``output``, or the cases an interrupted file ``resume`` still lacks."""
    registry = registry or load_registry()
    with contextlib.ExitStack() as owned:  # the results file is this run's until it ends
        if resume is not None:
            path = Path(resume)
            owned.enter_context(recording.claim(path))
            doc = recording.reopen(path)
            settings = recording.settings_of(doc, path, Settings)
            settings.ray_address = ray_address or settings.ray_address
            jobs = cases.remaining(cases.plan(registry, settings), doc)
        else:
            settings = settings or Settings()
            jobs = cases.plan(registry, settings)
            doc = recording.new_document(settings.to_dict(), backends=_backends(registry, jobs))
            path = recording.output_path(Path(output), doc)
            owned.enter_context(recording.claim(path))
        if settings.executor == "local":  # a Ray cluster's nodes are not this machine
            doc["idle_check"] = contention.idle_check()
            if warning := contention.idle_warning(doc["idle_check"]):
                log.warning(warning)
        executor = _executor(registry, settings, doc, threads_from_node)
        _execute(executor, jobs, doc, path, "cases", progress, executor.expected(jobs), "run")
    # A lost case that was retried on another node has that retry's row to speak for it.
    failed = [c for c in doc["cases"] if (c["status"] not in ("ok", "skipped")
              and not c.get("retried")) or (c.get("parity") or {}).get("passed") is False]
    return Outcome(doc, path, failed)


def _backends(registry: Registry, jobs: list[Any]) -> list[Any]:
    """The backends ``jobs`` run on (whose framework packages the results record)."""
    return [registry.backends[name] for name in dict.fromkeys(j.backend for j in jobs)]


def _executor(registry: Registry, settings: Settings, doc: dict[str, Any],
              threads_from_node: bool):
    if settings.executor == "ray":  # Ray is imported only here, only when asked for
        from benchsuite.execution.ray import RayExecutor

        return RayExecutor(registry, settings.worker_settings(), doc, settings.placement,
                           settings.ray_address, threads_from_node, cases.done_on_node(doc))
    return InterleavedExecutor(WorkerPool(registry, settings.worker_settings(), recorder(doc)))


def ab(settings: Settings | None, base_python: Path | str, python: Path | str, *,
       margin: float = 0.03, output: Path | str = "results", registry: Registry | None = None,
       progress: Callable[[int], Any] | None = None) -> Outcome:
    """``benchsuite ab``: the matrix of ``settings`` in two environments (``base_python``,
    ``python``) in turns; ``document["ab"]["verdicts"]`` judges each case, the outcome's
    ``failed`` lists the ``slower`` and ``failed`` ones (:mod:`benchsuite.ab`)."""
    from benchsuite import ab as ab_run
    from benchsuite.results import save

    registry = registry or load_registry()
    settings = settings or Settings()
    check_number("--margin", margin, exclusive=True)
    if margin >= 1 or settings.executor != "local" or settings.processes != 1 \
            or not settings.isolate:
        raise UsageError("ab needs --margin below 100% and runs here, one worker process per "
                         "backend and environment (no --executor ray, --processes, --in-process)")
    pythons = {"base": str(base_python), "new": str(python)}
    envs = ab_run.check_pythons(pythons)
    jobs = ab_run.jobs(cases.plan(registry, settings))
    doc = recording.new_document(settings.to_dict(), kind="ab",
                                 backends=_backends(registry, jobs))
    doc["environments"] = envs
    path = recording.output_path(Path(output), doc)

    def note(name, info: dict[str, Any]) -> None:
        envs[name[1]].setdefault("backends", {})[name[0]] = info

    with recording.claim(path):
        doc["idle_check"] = contention.idle_check()
        if warning := contention.idle_warning(doc["idle_check"]):
            log.warning(warning)
        pool = WorkerPool(registry, settings.worker_settings(), note, pythons=pythons)
        _execute(ab_run.Stamped(InterleavedExecutor(pool)), jobs, doc, path, "cases", progress,
                 len(jobs), "ab", "ab interrupted: {n} finished record(s) kept in {path}, "
                 "no verdicts")
        doc["ab"] = ab_run.block(ab_run.analyse(doc["cases"], margin), margin)
        save(doc, path)
    failed = [v for v in doc["ab"]["verdicts"] if v["verdict"] in ab_run.REGRESSIONS]
    return Outcome(doc, path, failed)


def train(settings: LearnSettings | None = None, *, output: Path | str = "results",
          resume: Path | str | None = None, registry: Registry | None = None,
          progress: Callable[[int], Any] | None = None) -> Outcome:
    """``benchsuite train``: every model trained on every backend; the outcome's ``failed``
    lists failed runs (missed targets are the report's to judge: see ``console``)."""
    from benchsuite import data

    registry = registry or load_registry()
    with contextlib.ExitStack() as owned:  # the results file is this run's until it ends
        if resume is not None:
            path = Path(resume)
            owned.enter_context(recording.claim(path))
            doc = recording.reopen(path, kind="learning")
            settings = recording.settings_of(doc, path, LearnSettings)
        settings = settings or LearnSettings()
        learning.validate(settings, list(registry.models))
        ds = data.load(settings.dataset, settings.data_dir, check=True, limit=settings.limit)
        learning.check_data(settings, ds)
        jobs = learning.plan(registry, settings, ds.input_shape, ds.classes)
        if resume is not None:
            jobs = learning.remaining(jobs, doc)
        else:
            doc = recording.new_document(settings.to_dict(), kind="learning",
                                         dataset=learning.dataset_block(ds),
                                         backends=_backends(registry, jobs))
            path = recording.output_path(Path(output), doc)
            owned.enter_context(recording.claim(path))
        _execute(local_executor(registry, settings.worker_settings(), doc), jobs, doc, path,
                 "learning", progress, len(jobs), "train")
    failed = [r for r in doc["learning"] if r["status"] not in ("ok", "skipped")]
    return Outcome(doc, path, failed)


def verify(settings: Settings | None = None, *, steps: int = 10, seeds: int = 3,
           timeout: float | None = None, registry: Registry | None = None,
           on_done: Callable[[int, Any, Any], None] | None = None) -> list[dict[str, Any]]:
    """``benchsuite verify``: parity rows of every backend against the oracle (a row's
    ``passed`` is False on a deviation, a failure, a crash or a timeout)."""
    from benchsuite.verify import DEFAULT_TIMEOUT_S, run_verify

    if steps < 1 or seeds < 1:
        raise UsageError("--steps and --seeds must be >= 1")
    timeout = DEFAULT_TIMEOUT_S if timeout is None else timeout
    check_number("--timeout", timeout, exclusive=True)
    settings = settings or Settings(data="digits", batch_sizes=(16,))
    settings.validate()  # the seed, threads, batch size… as for run
    return run_verify(registry or load_registry(), settings, steps, seeds,
                      isolate=settings.isolate, timeout=timeout, on_done=on_done)


def check_plugin(name: str, *, devices: list[str] | None = None, variant: str | None = None,
                 timeout: float = 300.0, isolate: bool = True,
                 registry: Registry | None = None, on_result=None) -> list[Any]:
    """``benchsuite check-plugin``: the contract checks of backend ``name``
    (:class:`~benchsuite.conformance.CheckResult` rows)."""
    from benchsuite.planning import check_device
    from benchsuite.testing import check_backend

    registry = registry or load_registry()
    backend = registry.backend(name)
    for device in devices or ():
        check_device(device)
    check_number("--timeout", timeout, exclusive=True)
    wanted = list(backend.supported_devices) if "all" in (devices or ()) else devices or None
    return check_backend(name, registry=registry, devices=wanted, variant=variant,
                         isolate=isolate, timeout=timeout, on_result=on_result)


def report(paths: list[Path | str], output: Path | str = "report",
           baseline: str | None = None):
    """``benchsuite report``: the files written (kind → path) and the tables shown. They are
    rendered into a temporary folder inside ``output`` and moved into place once all are
    written: a report that fails midway leaves ``output`` as it was, never half old, half new."""
    from benchsuite.fileio import reason, staged_folder
    from benchsuite.report import write_report

    output = Path(output)
    try:
        with staged_folder(output) as stage:
            written, parts = write_report([Path(p) for p in paths], stage, baseline)
    except OSError as exc:
        raise UsageError(f"cannot write the report to {output}: {reason(exc)}") from None
    return {kind: output / path.relative_to(stage) for kind, path in written.items()}, parts


def export(paths: list[Path | str], fmt: str | None = None, output: Path | str | None = None):
    """``benchsuite export``: results files or folders as one DataFrame, a row per case; with
    ``fmt`` (csv, json, parquet) that frame as text or bytes, written to ``output`` if given
    (atomically; CSV cells a spreadsheet would run as formulas neutralised)."""
    from benchsuite import results
    from benchsuite.fileio import reason, write_atomic

    df = results.load([Path(p) for p in paths])
    if fmt is None:
        return df
    if fmt == "parquet":
        try:
            data = df.to_parquet(None, index=False)
        except ImportError:
            raise UsageError("parquet needs pyarrow: pip install pyarrow") from None
    elif fmt == "csv":
        data = results.to_csv(df)
    elif fmt == "json":
        data = df.to_json(orient="records", indent=1) + "\n"
    else:
        raise UsageError(f"unknown export format {fmt!r} (valid: csv, json, parquet)")
    if output is not None:
        try:
            write_atomic(output, data)
        except OSError as exc:
            raise UsageError(f"cannot write {output}: {reason(exc)}") from None
    return data


def compare(base: list[Path | str], new: list[Path | str], threshold: float | None = None,
            calibration: Path | str | None = None):
    """``benchsuite compare``: a :class:`~benchsuite.compare.Comparison` of NEW against BASE;
    per-case thresholds from a ``calibration`` file (``calibrate``) when given."""
    from benchsuite import calibration as cal
    from benchsuite.compare import compare as compare_runs

    return compare_runs([Path(p) for p in base], [Path(p) for p in new], threshold,
                        None if calibration is None else cal.load(calibration))


def calibrate(settings: Settings | None = None, runs: int = 3, *,
              output: Path | str = "calibration", registry: Registry | None = None,
              progress: Callable[[int], Any] | None = None) -> tuple[dict[str, Any], Path]:
    """``benchsuite calibrate``: the matrix of ``settings`` run ``runs`` times, back to back,
    into ``output``/runs/; the calibration document and its file in ``output``."""
    from benchsuite import calibration

    check_number("--runs", runs, integer=True, minimum=2)
    registry, settings = registry or load_registry(), settings or Settings()
    paths = [run(copy.deepcopy(settings), output=Path(output) / "runs", registry=registry,
                 progress=progress).path for _ in range(runs)]
    return calibration.save(calibration.derive(paths), Path(output))


def schema() -> dict[str, Any]:
    """The JSON Schema of results files (``benchsuite schema``)."""
    from benchsuite import records

    return records.schema()
