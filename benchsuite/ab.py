"""``benchsuite ab``: one matrix in two environments, measured in turns, judged case by case.

Every case of the plan runs twice, once in each environment's Python (``base`` and ``new``:
two virtual environments, two checkouts of a plugin; the same Python twice is an A/A test).
The two are the contestants of one interleaved contest (:mod:`benchsuite.interleave`), so
they take their timed repeats in turns (base new, new base, …) and pair up round by round.

Per case, on the per-round log ratios of throughput new/base: the geometric-mean ratio with
a paired percentile bootstrap 95% CI over rounds (:func:`benchsuite.stats.paired_ratio`) and
a two-sided Wilcoxon signed-rank p-value, Holm-adjusted across the run's judged cases. The
verdict, with margin m (``--margin``, default 3%):

- ``same``: the whole CI lies inside [1 - m, 1 + m] (checked first: a change smaller than
  the margin, however significant, is not one the gate acts on);
- ``slower`` / ``faster``: adjusted p < 0.05 and the whole CI below / above 1;
- ``inconclusive``: anything else (too few rounds, too much noise, a CI across the margin);
- ``contended`` (either side could not get clean rounds), ``failed`` (either side did not
  run), ``skipped``: no verdict.

Every judged case also gets ``detectable``: the change it would have called ``slower`` with
80% power (:func:`benchsuite.stats.detectable_paired`, from the sd of its per-round log ratios
and the round count, at alpha / the number of judged cases: the level Holm asks of a case when
it is the only one that changed; null when its rounds cannot reach that p at all, as 5 rounds
never can).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from benchsuite import stats
from benchsuite.cases import Case, key_of_record
from benchsuite.errors import UsageError
from benchsuite.execution.worker import python_info
from benchsuite.records import is_contended

ENVS = ("base", "new")
ALPHA = 0.05
MARGIN = 0.03
REGRESSIONS = ("slower", "failed")
KEY = ("backend", "variant", "model", "mode", "device", "batch_size")


def check_pythons(pythons: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Each environment's Python and what it runs (Python, benchsuite versions), or a
    one-line UsageError naming the first that cannot run benchsuite workers."""
    out = {}
    for env, python in pythons.items():
        info = python_info(python)
        if isinstance(info, str):
            option = "--base-python" if env == "base" else "--python"
            raise UsageError(f"{option} {python}: {info}")
        out[env] = info
    return out


def jobs(plan: list[Case]) -> list[Case]:
    """Each case of ``plan`` in both environments, base first (a contest of two)."""
    return [replace(case, env=env) for case in plan for env in ENVS]


class Stamped:
    """An executor whose records say which environment they ran in."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def expected(self, todo: list[Any]) -> int:
        return self.inner.expected(todo)

    def close(self) -> None:
        self.inner.close()

    def stream(self, todo: list[Case], on_start: Callable[[int, Any], None] | None = None
               ) -> Iterator[tuple[Case, dict[str, Any]]]:
        for job, record in self.inner.stream(todo, on_start):
            yield job, dict(record, env=job.env)


def verdict(ratio: float, low: float, high: float, p_adjusted: float,
            margin: float = MARGIN, alpha: float = ALPHA) -> str:
    """``same``, ``slower``, ``faster`` or ``inconclusive`` (see the module doc)."""
    if 1 - margin <= low and high <= 1 + margin:
        return "same"
    if p_adjusted < alpha and high < 1:
        return "slower"
    if p_adjusted < alpha and low > 1:
        return "faster"
    return "inconclusive"


def _pair(base: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any]:
    """The row of one case before the correction: its numbers, or the verdict it gets
    without statistics."""
    either = new or base or {}
    row: dict[str, Any] = {k: either.get(k) for k in KEY}
    row.update(base=None, new=None, ratio=None, ci_low=None, ci_high=None, rounds=0,
               p_value=None, p_adjusted=None, detectable=None, verdict=None, error=None)
    sides = (("base", base), ("new", new))
    bad = [(name, r) for name, r in sides if r is None or r["status"] not in ("ok", "skipped")]
    if bad:
        name, r = bad[0]
        return {**row, "verdict": "failed",
                "error": f"{name}: " + (f"{r['status']}: {r['error']}" if r else "no record")}
    if any(r["status"] == "skipped" for _, r in sides):
        return {**row, "verdict": "skipped", "error": (base or new or {}).get("error")}
    row.update(base=base["throughput"]["median"], new=new["throughput"]["median"])
    if is_contended(base) or is_contended(new):
        return {**row, "verdict": "contended",
                "error": "measured under contention: no verdict"}
    args = (base["throughput"]["samples"], base["interleaving"]["rounds"],
            new["throughput"]["samples"], new["interleaving"]["rounds"])
    paired = stats.paired_ratio(*args)
    if paired is None:
        return {**row, "verdict": "inconclusive", "error": "fewer than 2 paired rounds"}
    ratio, lo, hi, n = paired
    logs = stats.paired_logs(*args)
    return {**row, "ratio": ratio, "ci_low": lo, "ci_high": hi, "rounds": n,
            "p_value": stats.signed_rank_p(logs), "_logs": logs}


def analyse(records: list[dict[str, Any]], margin: float = MARGIN,
            alpha: float = ALPHA) -> list[dict[str, Any]]:
    """One row per case of an ab run's ``records``: the paired statistics and the verdict,
    p-values Holm-adjusted across the cases that have one."""
    sides: dict[tuple, dict[str, dict[str, Any]]] = {}
    for r in records:
        sides.setdefault(key_of_record(r), {})[r.get("env")] = r
    rows = [_pair(s.get("base"), s.get("new")) for s in sides.values()]
    judged = [r for r in rows if r["verdict"] is None]
    for row, p in zip(judged, stats.holm([r["p_value"] for r in judged])):
        row["p_adjusted"] = p
        row["verdict"] = verdict(row["ratio"], row["ci_low"], row["ci_high"], p, margin, alpha)
        d = stats.detectable_paired(row.pop("_logs"), alpha / len(judged))
        row["detectable"] = d if math.isfinite(d) else None
    return rows


def block(rows: list[dict[str, Any]], margin: float, alpha: float = ALPHA) -> dict[str, Any]:
    """The ``ab`` block of the results document."""
    return {"margin": margin, "alpha": alpha, "correction": "holm",
            "test": "wilcoxon signed-rank", "verdicts": rows}
