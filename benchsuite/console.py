"""Terminal output: rich tables for ``list`` and ``run``, one plain log line per case."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table


def _console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    # Not a terminal (CI logs, pipes): wide enough that tables do not wrap.
    return Console(file=stream, width=None if stream.isatty() else 160, highlight=False)


def _fmt_rate(tp: dict[str, Any] | None) -> str:
    if not tp:
        return "-"
    return f"{tp['median']:,.0f} [{tp['ci_low']:,.0f}, {tp['ci_high']:,.0f}]"


def _fmt_parity(p: dict[str, Any] | None) -> str:
    if not p:
        return "-"
    dev = p["max_deviation"]
    return f"{'ok' if p['passed'] else 'FAIL'} {dev:.0e}" if dev is not None else "FAIL inf"


class Progress:
    """Run progress on stderr: a rich progress bar (cases done/total, current case, ETA) on a
    terminal; otherwise (CI logs, pipes) one plain line per finished case."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.bar = None
        if sys.stderr.isatty():
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as Bar

            self.bar = Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                           TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                           console=_console(stderr=True), transient=True)
            self.task = self.bar.add_task("starting", total=total)

    def __enter__(self) -> Progress:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def start(self, i: int, case: Any) -> None:
        if self.bar is not None:
            self.bar.update(self.task, description=escape(case.label))

    def done(self, i: int, case: Any, record: dict[str, Any]) -> None:
        tp = record.get("throughput")
        if record["status"] == "ok" and tp:
            detail = f"{tp['median']:,.0f} samples/s (cv {100 * tp['cv']:.1f}%)"
        elif record["status"] == "ok" and record.get("final_test_accuracy") is not None:
            detail = (f"test accuracy {100 * record['final_test_accuracy']:.2f}% after "
                      f"{record['train_s']:.2f} s of training")
        else:
            detail = record.get("error") or ""
        line = f"[{i + 1}/{self.total}] {case.label}: {record['status']} {detail}".rstrip()
        if self.bar is None:
            print(line, file=sys.stderr, flush=True)
        else:
            self.bar.console.print(escape(line), highlight=False)
            self.bar.advance(self.task)


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


def print_results(run: dict[str, Any]) -> None:
    out = _console()
    t = Table(title=f"benchsuite run {run['run_id']} ({run['settings']['threads']} threads)")
    cols = ("backend", "variant", "model", "mode", "device", "batch", "status",
            "samples/s [95% CI]", "ms/step", "GFLOP/s", "cv", "parity")
    for col in cols:
        t.add_column(col, justify="right" if col in cols[5:] and col != "status" else "left")
    on_nodes = any(c.get("node") for c in run["cases"])  # a Ray run: say where each ran
    if on_nodes:
        t.add_column("node")
    problems = []
    for c in run["cases"]:
        tp = c.get("throughput")
        node = c.get("node") or {}
        t.add_row(escape(c["backend"]), escape(c.get("variant") or "-"), escape(c["model"]),
                  c["mode"], c["device"], str(c["batch_size"]), c["status"], _fmt_rate(tp),
                  f"{c['step_ms']:.2f}" if c.get("step_ms") else "-",
                  f"{c['gflops']:.1f}" if c.get("gflops") else "-",
                  (f"{100 * tp['cv']:.1f}%" + (" !" if tp["unstable"] else "")) if tp else "-",
                  _fmt_parity(c.get("parity")),
                  *([escape(f"{node.get('hostname')}/{str(node.get('id'))[:6]}")]
                    if on_nodes else []))
        if c.get("error"):
            problems.append(f"{c['backend']} {c['model']} {c['mode']} {c['device']} "
                            f"b{c['batch_size']}: {c['status']}: {c['error']}")
    out.print(t)
    for line in problems:
        out.print(escape(line))
    overhead = harness_overhead(run["cases"])
    if overhead:
        out.print(overhead)


def harness_overhead(cases: list[dict[str, Any]]) -> str | None:
    """The null backend's step time (the harness's own cost per step) against the fastest real
    case's step time."""
    null = [c for c in cases if c["status"] == "ok" and c.get("null_backend")]
    real = [c for c in cases if c["status"] == "ok" and not c.get("null_backend")
            and c.get("step_ms")]
    if not null or not real:
        return None
    per_step = max(c["step_ms"] for c in null)
    fastest = min(real, key=lambda c: c["step_ms"])
    return (f"harness overhead (null backend): {1000 * per_step:.2f} µs/step = "
            f"{100 * per_step / fastest['step_ms']:.2f}% of the fastest real case "
            f"({fastest['backend']} {fastest['model']} {fastest['mode']}, "
            f"{fastest['step_ms']:.3f} ms/step)")


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

    rows = []
    for r in result.rows.to_dict("records"):
        def pct(v):
            return "" if v is None or pd.isna(v) else f"{100 * (v - 1):+.1f}%"

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
                     "verdict": r["verdict"]})
    return pd.DataFrame(rows)


def print_comparison(result) -> None:
    out = _console()
    frame = comparison_frame(result)
    t = Table(title=f"NEW against BASE (threshold {100 * result.threshold:.1f}%, p < 0.05)")
    for col in frame.columns:
        t.add_column(col)
    for row in frame.itertuples(index=False):
        t.add_row(*(escape(str(v)) for v in row))
    out.print(t)
    counts = frame["verdict"].value_counts().to_dict()
    out.print(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))


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
