"""Results files: plain JSON with a schema version, written atomically; loaded as a DataFrame.

A results file holds one run of ``benchsuite run``::

    {"schema_version": 1, "run_id": ..., "started": ..., "finished": ..., "status": ...,
     "benchsuite_version": ..., "settings": {...}, "environment": {...}, "cases": [...]}

and each case at least ``backend, model, mode, device, batch_size, status, error`` and
``throughput = {median, ci_low, ci_high, samples}`` in samples per second (null unless the
case ran). A ``benchsuite train`` file has ``"kind": "learning"``, an empty ``cases`` list and
a ``learning`` list of training runs (see :mod:`benchsuite.learning`). The records are typed
in :mod:`benchsuite.records` and published as a JSON Schema (:func:`schema`); :func:`validate`
(:mod:`benchsuite.validation`) checks, with one-line errors, only what the readers here rely
on. The file on disk is always complete JSON: every write goes to a temporary file in the
same folder, is flushed to disk, then renamed over the old one (:mod:`benchsuite.fileio`).
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from benchsuite.environment import hardware
from benchsuite.errors import ResultsError, SaveError
from benchsuite.fileio import json_safe, read_regular, reason, write_atomic
from benchsuite.records import (  # noqa: F401 - re-exported
    CASE_KEYS,
    LEARNING_KEYS,
    SCHEMA_VERSION,
    STATUSES,
    THROUGHPUT_KEYS,
    is_contended,
    schema,
)
from benchsuite.validation import validate

#: Columns of :func:`load`'s DataFrame, one row per case (documented in the README).
COLUMNS = (
    "run_id", "file", "backend", "backend_version", "variant", "model", "model_params", "mode",
    "device", "batch_size", "status", "error", "throughput", "ci_low", "ci_high", "iqr", "cv",
    "unstable", "contended", "n_samples", "samples", "step_ms", "gflops", "flops_per_sample",
    "peak_gflops",
    "efficiency", "n_params", "threads", "optimizer", "import_s", "build_s", "first_step_s",
    "warmup_steps", "peak_rss_mib", "peak_device_mib", "latency_p50_ms", "latency_p90_ms",
    "latency_p99_ms", "latency_quantiles_ms", "parity_passed", "parity_max_deviation",
    "null_backend", "started", "node_id", "machine", "hardware", "pair_group", "rounds",
)


def save(run: dict[str, Any], path: str | Path) -> Path:
    """Write ``run`` to ``path`` atomically (temp file + fsync + rename; a link is written
    through, the file's mode kept). Every value is made JSON-safe first when it must be
    (NaN/inf → null, sets → sorted lists, objects → repr): a backend's odd value never costs
    the run. A write that fails (a full disk) is a :class:`SaveError`; the file on disk is
    then the last complete save."""
    try:
        text = json.dumps(run, indent=1, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        text = json.dumps(json_safe(run), indent=1, allow_nan=False)
    try:
        return write_atomic(path, text + "\n")
    except OSError as exc:
        raise SaveError(f"cannot save {path}: {reason(exc)}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def read(path: str | Path) -> dict[str, Any]:
    """Load and validate one results file; any problem is a one-line :class:`ResultsError`.
    Only regular files are opened (a FIFO or /dev/zero would hang or fill memory)."""
    path = Path(path)
    try:
        raw = read_regular(path)
    except OSError as exc:
        raise ResultsError(f"{path}: cannot read ({reason(exc)})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ResultsError(f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset "
                           f"{exc.start}); not a benchsuite results file") from None
    if not text.strip():
        raise ResultsError(f"{path}: empty file, not a benchsuite results file")
    try:
        doc = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg}); "
                           "truncated or not a benchsuite results file") from None
    except ValueError as exc:
        raise ResultsError(f"{path}: not valid JSON ({exc}); "
                           "not a benchsuite results file") from None
    except RecursionError:
        raise ResultsError(f"{path}: JSON nested too deeply to read; "
                           "not a benchsuite results file") from None
    validate(doc, str(path))
    return doc


def expand(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given, folders as their ``*.json`` files (sorted)."""
    files: list[Path] = []
    for p in map(Path, paths):
        try:
            is_dir = stat.S_ISDIR(os.stat(p).st_mode)
        except FileNotFoundError:
            broken = " (a symbolic link to a missing file)" if p.is_symlink() else ""
            raise ResultsError(f"{p}: no such file or folder{broken}") from None
        except OSError as exc:  # a symbolic link loop, a name too long, no permission
            raise ResultsError(f"{p}: cannot read ({reason(exc)})") from None
        if is_dir:
            found = sorted(f for f in p.glob("*.json") if not f.name.startswith("."))
            if not found:
                raise ResultsError(f"{p}: no results files (*.json) in this folder")
            files += found
        else:
            files.append(p)
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
    pairing = case.get("interleaving") or {}
    return {
        "run_id": run.get("run_id"), "file": file, "backend": case["backend"],
        "backend_version": case.get("backend_version"), "variant": case.get("variant"),
        "model": case["model"],
        "model_params": json.dumps(spec.get("params", {}), sort_keys=True),
        "mode": case["mode"], "device": case["device"], "batch_size": case["batch_size"],
        "status": case["status"], "error": case["error"], "throughput": tp.get("median"),
        "ci_low": tp.get("ci_low"), "ci_high": tp.get("ci_high"), "iqr": tp.get("iqr"),
        "cv": tp.get("cv"), "unstable": tp.get("unstable"),
        "contended": is_contended(case),
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
        "pair_group": pairing.get("group"), "rounds": pairing.get("rounds"),
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


#: A text cell beginning with one of these is a formula to a spreadsheet (tab and CR can hide
#: one): CSV files get a ``'`` in front of it, so that it opens as the text it is.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER_TEXT = re.compile(r"[+-]?(?:\d[\d,]*)?\.?\d+(?:e[+-]?\d+)?%?", re.IGNORECASE)


def csv_cell(value: Any) -> Any:
    """``value`` as a CSV cell may hold it: text a spreadsheet would run gets a leading ``'``;
    numbers, and text that is only a number ("-3.5%"), are left alone. A carriage return
    becomes a line feed: pandas quotes a cell holding "\\n", not one holding only "\\r",
    which a reader would take for the end of the row (and the rest for a new, unguarded cell)."""
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_START) and not _NUMBER_TEXT.fullmatch(value):
        value = "'" + value
    return value.replace("\r\n", "\n").replace("\r", "\n")


def to_csv(df, path: str | Path | None = None) -> str | None:
    """``df`` as CSV without its index, every text cell and column name through
    :func:`csv_cell` (numbers stay numbers): the text, or None once written to ``path``.
    Every CSV benchsuite writes (export, the report's) goes through here."""
    import pandas as pd

    safe = df.rename(columns=csv_cell)
    for i, dtype in enumerate(safe.dtypes):
        if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
            safe.isetitem(i, safe.iloc[:, i].map(csv_cell))
    return safe.to_csv(path, index=False)
