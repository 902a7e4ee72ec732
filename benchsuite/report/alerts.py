"""The report's second section, **Warnings**: what should make a reader doubt a number, in
plain words, one line each: unstable cases, contended cases, efficiencies above the measured
peak, parity failures, and the cases and training runs that failed or were skipped.

A long list is cut at :data:`LIMIT` lines per kind with a count of the rest (the details
tables hold every case).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from benchsuite.units import percent

LIMIT = 10


def _name(r: Any, several: frozenset[str] = frozenset()) -> str:
    """"torch mlp infer cpu b128"; ``torch[compiled]`` when torch ran in ``several`` variants."""
    backend = f"{r['backend']}[{r.get('variant')}]" if r["backend"] in several else r["backend"]
    return f"{backend} {r['model']} {r['mode']} {r['device']} b{r['batch_size']}"


def _cut(lines: list[str], what: str) -> list[str]:
    if len(lines) <= LIMIT:
        return lines
    return [*lines[:LIMIT], f"… and {len(lines) - LIMIT} more {what} (see the tables below)"]


def speed_warnings(df: pd.DataFrame) -> list[str]:
    """One line per doubtful speed result, grouped by kind."""
    if df.empty:
        return []
    several = frozenset(b for b, n in df.groupby("backend")["variant"].nunique().items()
                        if n > 1)
    rows = [{**r, "name": _name(r, several)} for r in df.to_dict("records")]
    ok = [r for r in rows if r["status"] == "ok" and not r.get("null_backend")]
    contended = [f"{r['name']}: contended: other work used the CPU while it was measured; its "
                 "numbers are not comparable" for r in rows if r.get("contended")]
    unstable = [f"{r['name']}: unstable, CV {percent(r['cv'])} across repeats (over 10%): its "
                "interval is wide and its rank may not hold" for r in ok if r.get("unstable")]
    above = [f"{r['name']}: efficiency {percent(r['efficiency'])} of the measured GEMM peak: "
             "above 100% means the peak was measured low (a busy or throttled machine), so "
             "this run's efficiencies cannot be trusted" for r in ok
             if r.get("efficiency") is not None and not pd.isna(r["efficiency"])
             and r["efficiency"] > 1]
    parity = [f"{r['name']}: parity FAILED: largest deviation from the float64 oracle "
              f"{r['parity_max_deviation']}" for r in ok if r.get("parity_passed") is False]
    bad = [f"{r['name']}: {r['status']}: {r['error'] or 'no reason given'}" for r in rows
           if r["status"] != "ok"]
    return (_cut(contended, "contended cases") + _cut(unstable, "unstable cases")
            + _cut(above, "cases above the peak") + _cut(parity, "parity failures")
            + _cut(bad, "failed or skipped cases"))


def learning_warnings(learned: pd.DataFrame) -> list[str]:
    """Training runs that failed or were skipped."""
    if learned.empty:
        return []
    bad = [f"training {r['task']} {r['backend']} {r['model']} seed {r['seed']}: {r['status']}: "
           f"{r['error'] or 'no reason given'}"
           for r in learned.to_dict("records") if r["status"] != "ok"]
    return _cut(bad, "failed or skipped training runs")


def machine_of(df: pd.DataFrame, runs: list[tuple[Path, dict[str, Any]]]) -> str:
    """The machine(s) the results come from, for figure titles: "host (hardware)"."""
    if not df.empty and "machine" in df:
        pairs = df[["machine", "hardware"]].drop_duplicates().fillna("?").values.tolist()
    else:
        pairs = [((d.get("environment") or {}).get("hostname", "?"), "") for _, d in runs]
    names = [f"{m} ({h})" if h else str(m) for m, h in dict.fromkeys(map(tuple, pairs))]
    return "; ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
