"""What ``benchsuite run`` and ``train`` print while and after they run: the progress (a bar on
a terminal, plain ``[n/N]`` lines otherwise, never both) and the run table, which fits the
terminal.

The table fits by moving what is the same in every row (device, batch size, a single mode or
variant, an all-``ok`` status) into its title, by abbreviating numbers to three figures with
units (:mod:`benchsuite.units`), and by letting only the secondary columns wrap: the
backend, model and samples/s columns never wrap or get cut. The null backend (the harness's
own cost) is not a row: one line under the table says what it measured.
"""

from __future__ import annotations

import sys
from typing import IO, Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from benchsuite.records import is_contended
from benchsuite.units import percent, rate, seconds, sig

#: Columns that must stay whole (never wrapped, never cut).
KEY_COLUMNS = ("backend", "model", "samples/s")
#: The order columns are given up in when the terminal is too narrow for all of them (the
#: first ones go first); the key columns and mode/status are always kept.
DROPPED_FIRST = ("node", "GFLOP/s", "variant", "95% CI", "parity", "step", "cv")


def console_for(stream: IO[str]) -> Console:
    """A rich console on ``stream``: the terminal's width on a terminal; 160 columns
    otherwise (CI logs, pipes), so that tables do not wrap there."""
    return Console(file=stream, width=None if stream.isatty() else 160, highlight=False)


class Progress:
    """Run progress on ``stream`` (stderr): on a terminal a rich progress bar (cases
    done/total, current case, ETA) and nothing else; otherwise one plain line per finished
    case."""

    def __init__(self, total: int, stream: IO[str] | None = None) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.bar = None
        if self.stream.isatty():
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
                           console=console_for(self.stream), transient=True)
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
        if self.bar is not None:  # the bar says it all; the table follows
            self.bar.advance(self.task)
            return
        print(f"[{i + 1}/{self.total}] {case.label}: {record['status']} {_detail(record)}"
              .rstrip(), file=self.stream, flush=True)


def _detail(record: dict[str, Any]) -> str:
    tp = record.get("throughput")
    if record["status"] == "ok" and tp:
        return f"{rate(tp['median'], 'samples/s')} (cv {percent(tp['cv'])})"
    if record["status"] == "ok" and record.get("final_test_accuracy") is not None:
        return (f"test accuracy {sig(100 * record['final_test_accuracy'])}% after "
                f"{seconds(record['train_s'])} of training")
    return record.get("error") or ""


def _parity(p: dict[str, Any] | None) -> str:
    if not p:
        return "-"
    dev = p["max_deviation"]
    return f"{'ok' if p['passed'] else 'FAIL'} {dev:.0e}" if dev is not None else "FAIL inf"


def _cells(c: dict[str, Any]) -> dict[str, str]:
    tp = c.get("throughput")
    node = c.get("node") or {}
    return {
        "backend": c["backend"], "variant": c.get("variant") or "-", "model": c["model"],
        "mode": c["mode"], "device": c["device"], "batch": str(c["batch_size"]),
        "status": "contended" if _contended(c) else c["status"],
        "samples/s": rate(tp["median"]) if tp else "-",
        "95% CI": f"{rate(tp['ci_low'])}–{rate(tp['ci_high'])}" if tp else "-",
        "step": seconds(c["step_ms"] / 1000) if c.get("step_ms") else "-",
        "GFLOP/s": sig(c["gflops"]) if c.get("gflops") else "-",
        "cv": (percent(tp["cv"]) + (" !" if tp.get("unstable") else "")) if tp else "-",
        "parity": _parity(c.get("parity")),
        "node": f"{node.get('hostname')}/{str(node.get('id'))[:6]}" if node else "",
    }


def _contended(c: dict[str, Any]) -> bool:
    return c["status"] == "ok" and is_contended(c)


def _title(run: dict[str, Any], constant: dict[str, str]) -> str:
    parts = [f"{constant[k]}" if k != "batch" else f"batch {constant[k]}"
             for k in ("mode", "device", "batch", "variant") if k in constant]
    if constant.get("status") == "ok":
        parts.append("all ok")
    threads = run["settings"].get("threads")
    return f"benchsuite run {run['run_id']}: " + ", ".join([*parts, f"{threads} threads"])


def run_table(run: dict[str, Any], width: int | None = None) -> tuple[Table | None, list[str]]:
    """The cases of a run (the null backend's aside), columns constant across the run moved
    into the title, and the columns left out to fit ``width`` (none when it is None); the
    table is None when only the null backend ran."""
    cases = [c for c in run["cases"] if not c.get("null_backend")]
    if not cases:
        return None, []
    rows = [_cells(c) for c in cases]
    names = [k for k in rows[0] if k != "node" or any(r["node"] for r in rows)]
    movable = ("mode", "device", "batch", "variant", "status")
    constant = {k: rows[0][k] for k in movable if len({r[k] for r in rows}) == 1}
    columns = [k for k in names if k not in constant]
    title = _title(run, constant)
    table, left_out = _table(title, columns, rows), []
    for name in DROPPED_FIRST:
        if width is None or _width(table) <= width:
            break
        if name in columns:
            columns.remove(name)
            left_out.append(name)
            table = _table(title, columns, rows)
    return table, left_out


def _table(title: str, columns: list[str], rows: list[dict[str, str]]) -> Table:
    t = Table(title=escape(title), box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    numeric = ("samples/s", "95% CI", "step", "GFLOP/s", "cv", "batch")
    for k in columns:
        t.add_column(k, justify="right" if k in numeric else "left",
                     no_wrap=k in KEY_COLUMNS, overflow="fold")
    for r in rows:
        t.add_row(*(escape(r[k]) for k in columns))
    return t


def _width(table: Table) -> int:
    """The width ``table`` takes when nothing in it wraps."""
    from rich.measure import Measurement

    wide = Console(width=10_000)
    return Measurement.get(wide, wide.options, table).maximum


def print_results(run: dict[str, Any], out: Console | None = None) -> None:
    """The run table, one line per case that did not run, and the null backend's line."""
    out = out or console_for(sys.stdout)
    table, left_out = run_table(run, out.width)
    if table is not None:
        out.print(table)
    if left_out:
        out.print(escape(f"({', '.join(left_out)}: left out to fit {out.width} columns; "
                         "the results file and `benchsuite report` have them)"))
    for c in run["cases"]:
        if c.get("error"):
            out.print(escape(f"{c['backend']} {c['model']} {c['mode']} {c['device']} "
                             f"b{c['batch_size']}: {c['status']}: {c['error']}"))
    busy = [c for c in run["cases"] if _contended(c)]
    if busy:
        most = max(max(c["contention"].get("others_cores") or [0.0]) for c in busy)
        out.print(escape(f"{len(busy)} case(s) measured while other processes took the CPU "
                         f"(up to {most:.2f} cores) in more repeats than could be re-run: "
                         "their numbers are not comparable; rerun them on a quiet machine"))
    line = harness_overhead(run["cases"])
    if line:
        out.print(escape(line))


def harness_overhead(cases: list[dict[str, Any]]) -> str | None:
    """The null backend in one line: its step time (the harness's own cost per step) against
    the fastest real case's step time."""
    null = [c for c in cases if c["status"] == "ok" and c.get("null_backend")]
    real = [c for c in cases if c["status"] == "ok" and not c.get("null_backend")
            and c.get("step_ms")]
    if not null:
        return None
    per_step = max(c["step_ms"] for c in null) / 1000
    head = f"harness overhead (null backend): {seconds(per_step)}/step"
    if not real:
        return head
    fastest = min(real, key=lambda c: c["step_ms"])
    return (f"{head} = {percent(per_step * 1000 / fastest['step_ms'])} of the fastest real "
            f"case ({fastest['backend']} {fastest['model']} {fastest['mode']}, "
            f"{seconds(fastest['step_ms'] / 1000)}/step)")
