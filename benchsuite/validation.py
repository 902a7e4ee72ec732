"""What a results document must hold before anything reads it: each problem is one
:class:`~benchsuite.errors.ResultsError` line naming the file, the record and the field.

Only what the readers (tables, figures, compare, export) rely on is checked, and only its
type and range: required keys, known statuses, objects where readers call ``.get``, strings
where they group, numbers where they compute. A file breaking none of these is read, whatever
else it holds (fields were added over time within schema 1).
"""

from __future__ import annotations

import math
from typing import Any

from benchsuite.errors import ResultsError
from benchsuite.records import CASE_KEYS, LEARNING_KEYS, SCHEMA_VERSION, STATUSES, THROUGHPUT_KEYS

#: No measured throughput comes near this many samples/s (the null backend's is ~1e7); a
#: value beyond it is a broken file, and would overflow the statistics computed from it.
MAX_THROUGHPUT = 1e15
#: Top-level fields that, when present, must be objects.
DOC_OBJECTS = ("settings", "environment", "nodes", "dataset")
#: Case fields that, when present and not null, must be objects.
CASE_OBJECTS = ("spec", "phases", "memory", "latency", "parity", "node", "optimizer")
#: Case fields, by the object holding them ("" is the case itself), that must be numbers or null.
CASE_NUMBERS = {
    "": ("step_ms", "gflops", "flops_per_sample", "peak_gflops", "efficiency", "final_loss"),
    "throughput": ("iqr", "cv"), "phases": ("import_s", "build_s", "first_step_s"),
    "memory": ("peak_rss_mib", "peak_device_mib"), "latency": ("p50_ms", "p90_ms", "p99_ms"),
    "parity": ("max_deviation",), "spec": ("n_params",),
}


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
    for key in DOC_OBJECTS:
        if key in doc and not isinstance(doc[key], dict):
            raise ResultsError(f"{source}: '{key}' must be an object, got {_kind(doc[key])}")
    if doc.get("kind") == "learning":
        _validate_learning(doc.get("learning"), source)
    for i, case in enumerate(cases):
        _check_record(case, i, CASE_KEYS, "case", source)
        _check_case(case, f"{source}: case {i}")


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
    for key in ("backend", "model"):
        if not isinstance(record[key], str):
            raise ResultsError(f"{source}: {what} {i} '{key}' must be a string, "
                               f"got {_kind(record[key])}")
    if record["error"] is not None and not isinstance(record["error"], str):
        raise ResultsError(f"{source}: {what} {i} 'error' must be a string or null, "
                           f"got {_kind(record['error'])}")


def _check_case(case: dict[str, Any], where: str) -> None:
    for key in ("mode", "device"):
        if not isinstance(case[key], str):
            raise ResultsError(f"{where} '{key}' must be a string, got {_kind(case[key])}")
    if not _is_int(case["batch_size"]) or case["batch_size"] < 1:
        raise ResultsError(f"{where} 'batch_size' must be a positive integer, "
                           f"got {_kind(case['batch_size'])}")
    for key in CASE_OBJECTS:
        if case.get(key) is not None and not isinstance(case[key], dict):
            raise ResultsError(f"{where} '{key}' must be an object, got {_kind(case[key])}")
    tp = case["throughput"]
    if tp is not None:
        if not (isinstance(tp, dict) and all(k in tp for k in THROUGHPUT_KEYS)):
            raise ResultsError(f"{where} throughput needs {', '.join(THROUGHPUT_KEYS)}")
        _check_rates(tp, where)
    for parent, keys in CASE_NUMBERS.items():
        block = case.get(parent) or {} if parent else case
        for key in keys:
            value = block.get(key)
            if value is not None and not _is_number(value):
                name = f"{parent}.{key}" if parent else key
                raise ResultsError(f"{where} '{name}' must be a finite number or null, "
                                   f"got {_kind(value)}")


def _check_rates(tp: dict[str, Any], where: str) -> None:
    """Throughputs in samples/s: finite numbers from 0 to :data:`MAX_THROUGHPUT`."""
    samples = tp["samples"]
    if not isinstance(samples, list):
        raise ResultsError(f"{where} throughput 'samples' must be a list, got {_kind(samples)}")
    named = [(k, tp[k]) for k in ("median", "ci_low", "ci_high")]
    for name, value in named + [(f"samples[{j}]", v) for j, v in enumerate(samples)]:
        if not (_is_number(value) and 0 <= value <= MAX_THROUGHPUT):
            raise ResultsError(f"{where} throughput '{name}' must be a number of samples/s "
                               f"from 0 to {MAX_THROUGHPUT:g}, got {_kind(value)}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value)


def _kind(value: Any) -> str:
    """A value as an error message shows it: short, on one line."""
    if value is None:
        return "null"
    if isinstance(value, (dict, list)):
        return f"{'an object' if isinstance(value, dict) else 'a list'}"
    text = " ".join(repr(value).split())
    return text if len(text) <= 60 else text[:59] + "…"
