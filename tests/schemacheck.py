"""The published JSON Schema as a test oracle: every results document the tests write must
match it (see the ``results_schema_check`` fixture in conftest.py)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema

from benchsuite import records


@functools.cache
def validator() -> jsonschema.Draft202012Validator:
    schema = records.schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@functools.cache
def calibration_validator() -> jsonschema.Draft202012Validator:
    from benchsuite import calibration

    schema = calibration.schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def problems(doc: Any, source: str = "document") -> list[str]:
    """One line per way ``doc``, as JSON would hold it (tuples become lists), breaks the
    schema (none: it is valid): the calibration schema for a calibration file, else the
    results schema."""
    doc = json.loads(json.dumps(doc))
    check = calibration_validator() if isinstance(doc, dict) and "calibration_version" in doc \
        else validator()
    errors = sorted(check.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{source}: {e.json_path}: {e.message}" for e in errors]


class SchemaCheck:
    """Collects the schema problems of the results files one test writes."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.checked = 0
        self._seen: dict[Path, int] = {}  # file → mtime when checked, so scan skips it

    def wrap(self, save: Callable[..., Path]) -> Callable[..., Path]:
        """``results.save`` that also checks the file it wrote, as it is on disk."""
        @functools.wraps(save)
        def checked_save(run: Any, path: str | Path) -> Path:
            written = save(run, path)
            self.check_file(written, f"{written} (status {run.get('status')!r})")
            return written
        return checked_save

    def check_file(self, path: Path, source: str | None = None) -> None:
        path = Path(path)
        self.checked += 1
        self.problems += problems(json.loads(path.read_text(encoding="utf-8")), source or str(path))
        self._seen[path.resolve()] = path.stat().st_mtime_ns

    def scan(self, folder: Path) -> None:
        """Results files left in ``folder`` (written by a ``benchsuite`` subprocess, say)."""
        for path in sorted(folder.rglob("*.json")):
            if self._seen.get(path.resolve()) == path.stat().st_mtime_ns:
                continue  # checked when it was saved, unchanged since
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                continue  # not a results file
            if isinstance(doc, dict) and ("schema_version" in doc
                                          or "calibration_version" in doc):
                self.checked += 1
                self.problems += problems(doc, str(path))
