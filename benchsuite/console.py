"""Terminal output: rich tables for ``list``, ``verify``, ``check-plugin``, ``report``,
``compare`` and ``train`` (``run``'s table and the progress are :mod:`benchsuite.runview`)."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from benchsuite.runview import console_for
from benchsuite.units import percent_or_none


def _console(stderr: bool = False) -> Console:
    return console_for(sys.stderr if stderr else sys.stdout)


def print_listing(listing: dict[str, Any]) -> None:
    out = _console()
    t = Table(title="Backends")
    for col in ("name", "status", "version", "devices", "variants", "plugin"):
        t.add_column(col)
    for b in listing["backends"]:
        devices = ", ".join(b["devices"])
        if b["devices_found"] is not None:
            devices += f" (found: {', '.join(b['devices_found']) or 'none'})"
        t.add_row(escape(b["name"]), escape(b["status"]), escape(b["version"] or "-"),
                  escape(devices), escape(", ".join(b["variants"])), escape(b["plugin"] or "-"))
    out.print(t)
    for b in listing["backends"]:
        if b.get("gpu_note"):
            out.print(escape(b["gpu_note"]), soft_wrap=True)  # one line, however long
    t = Table(title="Models (input 28x28x1, 10 classes; FLOPs per sample)")
    for col in ("name", "params", "MFLOP fwd", "MFLOP train", "layers", "plugin"):
        t.add_column(col, justify="right" if col in ("params", "MFLOP fwd", "MFLOP train")
                     else "left")
    for m in listing["models"]:
        t.add_row(escape(m["name"]), f"{m['n_params']:,}", f"{m['flops_forward'] / 1e6:.2f}",
                  f"{m['flops_train'] / 1e6:.2f}", escape(m["layers"]), escape(m["plugin"]))
    out.print(t)
    t = Table(title="Plugins")
    for col in ("name", "status", "source", "registered / error"):
        t.add_column(col)
    for p in listing["plugins"]:
        what = p["error"] or ", ".join(p["backends"] + p["models"]) or "-"
        t.add_row(escape(p["name"]), escape(p["status"]), escape(p["source"]), escape(what))
    out.print(t)


def print_verify(rows: list[dict[str, Any]]) -> None:
    """backend × model × optimizer × check → median (worst) deviation and verdict."""
    out = _console()
    t = Table(title="Parity against the NumPy oracle (float64 reference, tolerance 1e-4)")
    for col in ("backend", "variant", "device", "model", "optimizer", "check",
                "median dev", "worst seed", "result"):
        t.add_column(col, justify="right" if "dev" in col or "worst" in col else "left")
    for r in rows:
        result = {None: "skipped", True: "pass", False: "FAIL"}[r["passed"]]
        t.add_row(escape(r["backend"]), escape(r["variant"] or "-"), r["device"],
                  escape(r["model"]), r["optimizer"], r["check"],
                  "-" if r["deviation"] is None else f"{r['deviation']:.1e}",
                  "-" if r["worst"] is None else f"{r['worst']:.1e}",
                  result + (f": {escape(r['error'])}" if r["error"] else ""))
    out.print(t)
    failed = sum(r["passed"] is False for r in rows)
    checked = sum(r["passed"] is not None for r in rows)
    tail = f", {failed} FAILED" if failed else ""
    out.print(f"{checked - failed}/{checked} checks passed{tail}")


def print_checks(backend: str, rows: list[dict[str, Any]]) -> None:
    """``check-plugin``: one row per contract check with its verdict and reason."""
    out = _console()
    t = Table(title=f"benchsuite contract checks: {escape(backend)}")
    for col in ("check", "result", "detail"):
        t.add_column(col)
    style = {"pass": "green", "fail": "bold red", "skip": "yellow"}
    for r in rows:
        t.add_row(escape(r["name"]), f"[{style[r['status']]}]{r['status'].upper()}[/]",
                  escape(r["detail"]))
    out.print(t)
    counts = {s: sum(r["status"] == s for r in rows) for s in ("pass", "fail", "skip")}
    verdict = "FAILED" if counts["fail"] else "conforms"
    out.print(f"{backend}: {verdict} ({counts['pass']} passed, {counts['fail']} failed, "
              f"{counts['skip']} skipped)", markup=False)


def print_tables(parts) -> None:
    """Report tables as rich tables (strings escaped)."""
    out = _console()
    for title, frame in parts:
        flat = frame.reset_index() if frame.index.name or frame.index.nlevels > 1 else frame
        t = Table(title=escape(title))
        for col in flat.columns:
            t.add_column(escape(str(col)))
        for row in flat.itertuples(index=False):
            t.add_row(*(escape("" if v is None else str(v)) for v in row))
        out.print(t)


def comparison_frame(result):
    """The comparison as a display table: ratios as percentages, verdicts."""
    import pandas as pd

    from benchsuite.units import change as pct

    rows = []
    for r in result.rows.to_dict("records"):
        rows.append({"backend": r["backend"], "variant": r["variant"], "model": r["model"],
                     "mode": r["mode"], "device": r["device"], "batch": r["batch_size"],
                     "base samples/s": "" if r["base"] is None or pd.isna(r["base"])
                     else f"{r['base']:,.0f}",
                     "new samples/s": "" if r["new"] is None or pd.isna(r["new"])
                     else f"{r['new']:,.0f}",
                     "change [95% CI]": "" if r["ratio"] is None or pd.isna(r["ratio"]) else
                     f"{pct(r['ratio'])} [{pct(r['ci_low'])}, {pct(r['ci_high'])}]",
                     "p": "" if r["p_value"] is None or pd.isna(r["p_value"])
                     else f"{r['p_value']:.3f}",
                     **({"threshold": _share(r.get("threshold"))} if result.calibration
                        else {}),
                     "detectable": _share(r.get("detectable")),
                     "verdict": r["verdict"]})
    return pd.DataFrame(rows)


def _share(value) -> str:
    """A relative change as a percent; inf: "none" (no change could have been detected)."""
    if value is None or value != value:  # None or NaN: not judged
        return ""
    return percent_or_none(value)


def comparison_json(result) -> str:
    """The comparison as JSON text: the rule, the rows (an undetectable change: null), the
    detectable summary and the warnings."""
    import json

    from benchsuite.fileio import json_safe

    return json.dumps(json_safe({  # NaN and an undetectable (infinite) change: null
        "threshold": result.threshold, "calibration": result.calibration,
        "summary": result.detectable_summary, "warnings": result.warnings,
        "cases": result.rows.to_dict("records")}),
        indent=1, allow_nan=False)


def print_comparison(result) -> None:
    out = _console()
    frame = comparison_frame(result)
    rule = (f"thresholds from {result.calibration}" if result.calibration
            else f"threshold {100 * result.threshold:.1f}%")
    t = Table(title=f"NEW against BASE ({escape(rule)}, p < 0.05)")
    for col in frame.columns:
        t.add_column(col)
    for row in frame.itertuples(index=False):
        t.add_row(*(escape(str(v)) for v in row))
    out.print(t)
    counts = frame["verdict"].value_counts().to_dict()
    out.print(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    out.print(result.detectable_summary, markup=False)


def print_learning(doc: dict[str, Any]) -> list[str]:
    """The summary tables of a ``benchsuite train`` run; returns one line per backend × model
    whose median seed never reached its target (also printed)."""
    from pathlib import Path

    from benchsuite.report import learning as learnreport

    df = learnreport.frame([(Path("."), doc)])
    print_tables(learnreport.tables(df))
    acc = learnreport.accuracy_table(df)
    missed = [] if acc.empty else [
        f"{backend} {model}: target {row['target %']}% reached by {row['reached in']} seeds "
        f"(final test accuracy {row['test accuracy % (median)']}%)"
        for (_, model, backend), row in acc.iterrows() if row["met (median)"] is False]
    out = _console()
    for line in missed:
        out.print(f"[red]target missed:[/red] {escape(line)}")
    return missed
