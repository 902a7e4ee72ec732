"""Results files: plain JSON with a schema version, written atomically; loaded as a DataFrame.

A results file holds one run of ``benchsuite run``::

    {"schema_version": 1, "run_id": ..., "started": ..., "finished": ..., "status": ...,
     "benchsuite_version": ..., "settings": {...}, "environment": {...}, "cases": [...]}

and each case at least ``backend, model, mode, device, batch_size, status, error`` and
``throughput = {median, ci_low, ci_high, samples}`` in samples per second (null unless the
case ran). A ``benchsuite train`` file has ``"kind": "learning"``, an empty ``cases`` list and
a ``learning`` list of training runs (see :mod:`benchsuite.learning`). The records are typed
in :mod:`benchsuite.records` and published as a JSON Schema (:func:`schema`); :func:`validate`
checks, with one-line errors, only what the readers here rely on. The file on disk is always
complete JSON: every write goes to a temporary file in the same folder, is flushed to disk,
then renamed over the old one.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from benchsuite.environment import hardware
from benchsuite.errors import ResultsError
from benchsuite.records import (  # noqa: F401 - STATUSES and schema are re-exported
    CASE_KEYS,
    LEARNING_KEYS,
    SCHEMA_VERSION,
    STATUSES,
    THROUGHPUT_KEYS,
    schema,
)

#: Columns of :func:`load`'s DataFrame, one row per case (documented in the README).
COLUMNS = (
    "run_id", "file", "backend", "backend_version", "variant", "model", "model_params", "mode",
    "device", "batch_size", "status", "error", "throughput", "ci_low", "ci_high", "iqr", "cv",
    "unstable", "contended", "n_samples", "samples", "step_ms", "gflops", "flops_per_sample",
    "peak_gflops",
    "efficiency", "n_params", "threads", "optimizer", "import_s", "build_s", "first_step_s",
    "warmup_steps", "peak_rss_mib", "peak_device_mib", "latency_p50_ms", "latency_p90_ms",
    "latency_p99_ms", "latency_quantiles_ms", "parity_passed", "parity_max_deviation",
    "null_backend", "started", "node_id", "machine", "hardware",
)


def save(run: dict[str, Any], path: str | Path) -> Path:
    """Write ``run`` to ``path`` atomically (temp file + fsync + rename)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(run, fh, indent=1, allow_nan=False)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read(path: str | Path) -> dict[str, Any]:
    """Load and validate one results file; any problem is a one-line :class:`ResultsError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ResultsError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not text.strip():
        raise ResultsError(f"{path}: empty file, not a benchsuite results file")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg}); "
                           "truncated or not a benchsuite results file") from None
    validate(doc, str(path))
    return doc


def validate(doc: Any, source: str = "results") -> None:
    """Raise :class:`ResultsError` unless ``doc`` is a results document of a known schema."""
    if not isinstance(doc, dict) or "schema_version" not in doc:
        raise ResultsError(f"{source}: no schema_version, not a benchsuite results file")
    version = doc["schema_version"]
    if version != SCHEMA_VERSION:
        raise ResultsError(f"{source}: schema_version {version!r} is not supported "
                           f"(this benchsuite reads version {SCHEMA_VERSION})")
    cases = doc.get("cases")
    if not isinstance(cases, list):
        raise ResultsError(f"{source}: 'cases' must be a list")
    if doc.get("kind") == "learning":
        _validate_learning(doc.get("learning"), source)
    for i, case in enumerate(cases):
        _check_record(case, i, CASE_KEYS, "case", source)
        tp = case["throughput"]
        if tp is not None and not (isinstance(tp, dict) and all(k in tp for k in THROUGHPUT_KEYS)):
            raise ResultsError(f"{source}: case {i} throughput needs {', '.join(THROUGHPUT_KEYS)}")


def _validate_learning(records: Any, source: str) -> None:
    """A ``benchsuite train`` document: its ``learning`` list of training runs."""
    if not isinstance(records, list):
        raise ResultsError(f"{source}: 'learning' must be a list")
    for i, r in enumerate(records):
        _check_record(r, i, LEARNING_KEYS, "training run", source)


def _check_record(record: Any, i: int, keys: tuple[str, ...], what: str, source: str) -> None:
    missing = [k for k in keys if not isinstance(record, dict) or k not in record]
    if missing:
        raise ResultsError(f"{source}: {what} {i} lacks {', '.join(missing)}")
    if record["status"] not in STATUSES:
        raise ResultsError(f"{source}: {what} {i} has unknown status {record['status']!r}")


def expand(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given, folders as their ``*.json`` files (sorted)."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.glob("*.json") if not f.name.startswith("."))
            if not found:
                raise ResultsError(f"{p}: no results files (*.json) in this folder")
            files += found
        elif p.exists():
            files.append(p)
        else:
            raise ResultsError(f"{p}: no such file or folder")
    return files


def case_row(case: dict[str, Any], run: dict[str, Any], file: str) -> dict[str, Any]:
    """One case flattened into a :data:`COLUMNS` row."""
    tp = case.get("throughput") or {}
    phases = case.get("phases") or {}
    spec = case.get("spec") or {}
    samples = tp.get("samples") or []
    memory, latency = case.get("memory") or {}, case.get("latency") or {}
    par = case.get("parity") or {}
    env = run.get("environment") or {}
    node = case.get("node") or {}  # cases run on a Ray cluster carry the node they ran on
    return {
        "run_id": run.get("run_id"), "file": file, "backend": case["backend"],
        "backend_version": case.get("backend_version"), "variant": case.get("variant"),
        "model": case["model"],
        "model_params": json.dumps(spec.get("params", {}), sort_keys=True),
        "mode": case["mode"], "device": case["device"], "batch_size": case["batch_size"],
        "status": case["status"], "error": case["error"], "throughput": tp.get("median"),
        "ci_low": tp.get("ci_low"), "ci_high": tp.get("ci_high"), "iqr": tp.get("iqr"),
        "cv": tp.get("cv"), "unstable": tp.get("unstable"),
        "contended": bool((case.get("contention") or {}).get("contended", False)),
        "n_samples": len(samples),
        "samples": samples, "step_ms": case.get("step_ms"), "gflops": case.get("gflops"),
        "flops_per_sample": case.get("flops_per_sample"),
        "peak_gflops": case.get("peak_gflops"), "efficiency": case.get("efficiency"),
        "n_params": spec.get("n_params"),
        "threads": (run.get("settings") or {}).get("threads"),
        "optimizer": (case.get("optimizer") or {}).get("name"),
        "import_s": phases.get("import_s"), "build_s": phases.get("build_s"),
        "first_step_s": phases.get("first_step_s"), "warmup_steps": phases.get("warmup_steps"),
        "peak_rss_mib": memory.get("peak_rss_mib"),
        "peak_device_mib": memory.get("peak_device_mib"),
        "latency_p50_ms": latency.get("p50_ms"), "latency_p90_ms": latency.get("p90_ms"),
        "latency_p99_ms": latency.get("p99_ms"),
        "latency_quantiles_ms": latency.get("quantiles_ms"), "parity_passed": par.get("passed"),
        "parity_max_deviation": par.get("max_deviation"),
        "null_backend": bool(case.get("null_backend", False)), "started": run.get("started"),
        "node_id": node.get("id"), "machine": node.get("hostname") or env.get("hostname"),
        "hardware": node.get("hardware") or hardware(env),
    }


def load(paths: str | Path | Iterable[str | Path]):
    """Results files and/or folders → one tidy :class:`pandas.DataFrame`, a row per case."""
    return load_runs(paths)[0]


def load_runs(paths: str | Path | Iterable[str | Path]):
    """Like :func:`load`, and also each file's whole document (environment, settings), so
    that callers needing both read every file once."""
    import pandas as pd

    if isinstance(paths, (str, Path)):
        paths = [paths]
    runs = [(f, read(f)) for f in expand(paths)]
    rows = [case_row(c, run, str(f)) for f, run in runs for c in run["cases"]]
    return pd.DataFrame(rows, columns=list(COLUMNS)), runs
