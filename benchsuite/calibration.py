"""``benchsuite calibrate``: how much separate runs of the same code differ on this machine,
and the ``compare`` thresholds that follow from it.

A calibration is K runs of one matrix, back to back, each its own results file (``api``
runs them; this module reads them). Per case (``compare``'s key) it derives:

- ``within_cv``: the median of the runs' CVs (the noise ``compare``'s default rule sees), and
  ``within_sd``, what that noise alone makes a median of n samples vary by (MEDIAN_SE x CV /
  sqrt(n), in log throughput);
- ``between_sd``: the sd of log(median throughput) across the runs, as measured: the noise
  two separate runs really differ by, which the CV understates (drift, memory layout, a
  neighbour). With K = 3 it rests on 2 degrees of freedom, too few to set a threshold on;
- ``noise_sd``: so the model is each case's own within-run noise plus one drift the machine
  adds between runs, pooled over every case (``summary.drift_sd``, the mean excess of
  between_sd^2 over within_sd^2, with the sum of runs - 1 degrees of freedom):
  noise_sd = sqrt(within_sd^2 + drift_sd^2);
- ``threshold``: the change two new A/A runs' medians exceed, either way, 1% of the time
  (:func:`benchsuite.stats.aa_threshold`: t_0.995 x sqrt(2) x noise_sd, t with the pooled
  degrees of freedom, since the drift is itself estimated);
- ``aa_false_alarms`` of ``aa_pairs``: the ``slower``/``faster`` verdicts ``compare``'s
  default rule gave this case over the K(K-1)/2 pairs of runs (all A/A: each one is false);
- ``detectable``: the change ``compare`` with this calibration would catch with 80% power
  in two runs like these (:func:`benchsuite.stats.detectable_independent`).

Only runs in which a case was ``ok`` and not contended count; a case with fewer than 2 such
runs is left out (``summary.left_out``), and ``compare`` gives it its default threshold.

The t quantile is what the estimate costs: 8 cases of 3 runs (16 degrees of freedom) pay 1.13
times what a known sd would (2.92 against 2.58), 2 cases of 2 runs 25 times (63.7). A
threshold of 100% or more gates nothing (no slowdown passes it): calibrate with more runs.

The file (JSON, ``calibration_version`` 1, schema
``benchsuite/schema/calibration-v1.schema.json``) records the settings and the machine it
was measured with; :meth:`Calibration.check` refuses runs with other ones.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from importlib import resources
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from benchsuite import compare, results, stats
from benchsuite.errors import ResultsError, UsageError
from benchsuite.fileio import json_safe, read_regular, reason, write_atomic

VERSION = 1
SCHEMA_FILE = "calibration-v1.schema.json"
FALSE_ALARMS = 0.01  # the A/A false-alarm rate a calibrated threshold allows, per case
#: What the runs compared must share with the calibration's, or its thresholds do not apply.
SETTINGS = ("repeats", "min_time", "threads", "processes", "precision")
MACHINE = ("cpu", "cores_usable")


def _key(row: dict[str, Any]) -> tuple:
    return tuple(row[k] for k in compare.KEY)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def derive(paths: list[Path]) -> dict[str, Any]:
    """The calibration document of the K results files ``paths`` (runs of one matrix)."""
    df, runs = results.load_runs(paths)
    verdicts: dict[tuple, list[str]] = {}
    for a, b in combinations(paths, 2):  # compare's default rule on every A/A pair
        for r in compare.compare([a], [b]).rows.to_dict("records"):
            verdicts.setdefault(_key(r), []).append(r["verdict"])
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for row in df.to_dict("records"):  # a contended median is the neighbour's, not noise
        clean = row["status"] == "ok" and not row["contended"]
        groups.setdefault(_key(row), []).extend([row] if clean else [])
    cases = [_case(dict(zip(compare.KEY, key)), group, verdicts.get(key, []))
             for key, group in groups.items() if len(group) >= 2]  # 1 run: no spread
    dof = sum(c["runs"] - 1 for c in cases)
    excess = sum((c["runs"] - 1) * (c["between_sd"]**2 - c["within_sd"]**2) for c in cases)
    drift = math.sqrt(max(0.0, excess / dof)) if dof else 0.0
    for c in cases:
        c["noise_sd"] = math.hypot(c["within_sd"], drift)
        c["threshold"] = stats.aa_threshold(c["noise_sd"], FALSE_ALARMS, dof=dof)
        c["detectable"] = _finite(stats.detectable_independent(
            c["within_cv"], c["n_samples"], c["within_cv"], c["n_samples"], c["threshold"],
            compare.ALPHA, between_sd=c["noise_sd"]))
    first = runs[0][1]
    thresholds = [c["threshold"] for c in cases]
    alarms = sum(c["aa_false_alarms"] for c in cases)
    return {
        "calibration_version": VERSION, "benchsuite_version": first["benchsuite_version"],
        "created": runs[-1][1].get("finished") or runs[-1][1]["started"], "runs": len(runs),
        "files": [str(f) for f, _ in runs], "false_alarm_target": FALSE_ALARMS,
        "alpha": compare.ALPHA, "power": stats.POWER,
        "settings": first["settings"], "environment": first["environment"], "cases": cases,
        "summary": {"cases": len(cases), "left_out": len(groups) - len(cases),
                    "drift_sd": drift, "degrees_of_freedom": dof,
                    "median_threshold": float(np.median(thresholds)) if cases else None,
                    "aa_false_alarms": alarms,
                    "aa_verdicts": sum(c["aa_pairs"] for c in cases)},
    }


def _case(key: dict[str, Any], group: list[dict[str, Any]], verdicts: list[str]
          ) -> dict[str, Any]:
    medians = np.asarray([r["throughput"] for r in group], dtype=float)
    cv = float(np.nanmedian(np.asarray([r["cv"] for r in group], dtype=float)))
    n = int(np.median([r["n_samples"] for r in group]))
    judged = [v for v in verdicts if v not in ("contended", "failed", "missing", "new")]
    return {**key, "runs": len(group), "n_samples": n, "within_cv": cv,
            "within_sd": stats.MEDIAN_SE * cv / math.sqrt(n),  # a median of n samples' sd
            "between_sd": float(np.log(medians).std(ddof=1)),
            "aa_false_alarms": sum(v in ("slower", "faster") for v in judged),
            "aa_pairs": len(judged)}


def save(doc: dict[str, Any], folder: Path) -> tuple[dict[str, Any], Path]:
    """Write the calibration into ``folder`` as calibration-<time>.json (atomically); the
    document and the file."""
    stamp = "".join(ch for ch in doc["created"][:19] if ch.isdigit())
    path = Path(folder) / f"calibration-{stamp[:8]}-{stamp[8:]}.json"
    try:
        text = json.dumps(doc, indent=1, allow_nan=False)
    except ValueError:  # a NaN CV, an infinite number: null
        text = json.dumps(json_safe(doc), indent=1, allow_nan=False)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return doc, write_atomic(path, text + "\n")
    except OSError as exc:
        raise UsageError(f"cannot write the calibration to {path}: {reason(exc)}") from None


def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of calibration files."""
    return json.loads(resources.files("benchsuite").joinpath("schema", SCHEMA_FILE)
                      .read_text("utf-8"))


@dataclass
class Calibration:
    """A calibration file, read: what ``compare --calibration`` needs of it."""

    source: str
    doc: dict[str, Any]

    def case(self, key: tuple) -> tuple[float, float] | None:
        """The (threshold, noise_sd) of a case, None when the calibration lacks it."""
        for c in self.doc["cases"]:
            if tuple(c[k] for k in compare.KEY) == tuple(key):
                return c["threshold"], c["noise_sd"]
        return None

    def check(self, runs: list[tuple[Path, dict[str, Any]]]) -> None:
        """A one-line UsageError unless every run had this calibration's settings and
        machine: a threshold measured with other repeats, or elsewhere, means nothing."""
        for file, run in runs:
            for name in SETTINGS:
                mine, theirs = self.doc["settings"].get(name), run["settings"].get(name)
                if mine != theirs:
                    raise UsageError(f"{self.source} was measured with {name} {mine!r}, "
                                     f"{file} with {theirs!r}: calibrate with the settings "
                                     "of the runs you compare")
            for name in MACHINE:
                mine, theirs = self.doc["environment"].get(name), run["environment"].get(name)
                if mine != theirs:
                    raise UsageError(f"{self.source} was measured on another machine "
                                     f"({name} {mine!r}; {file}: {theirs!r}): calibrate "
                                     "on the machine that runs the comparison")


def load(path: Path | str) -> Calibration:
    """Read a calibration file; anything but one is a one-line ResultsError."""
    path = Path(path)
    try:
        doc = json.loads(read_regular(path))
    except OSError as exc:
        raise ResultsError(f"--calibration {path}: cannot read ({reason(exc)})") from None
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError):
        raise ResultsError(f"--calibration {path}: not JSON") from None
    if not isinstance(doc, dict) or doc.get("calibration_version") != VERSION:
        raise ResultsError(f"--calibration {path}: not a benchsuite calibration file "
                           f"(no calibration_version {VERSION}; made by benchsuite calibrate)")
    try:
        for name in ("settings", "environment"):
            assert isinstance(doc[name], dict)
        for c in doc["cases"]:
            assert all(k in c for k in (*compare.KEY, "threshold", "noise_sd"))
            assert c["threshold"] >= 0 and c["noise_sd"] >= 0
    except (AssertionError, KeyError, TypeError):
        raise ResultsError(f"--calibration {path}: malformed calibration file") from None
    return Calibration(str(path), doc)
