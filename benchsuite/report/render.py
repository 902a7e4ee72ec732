"""Tables rendered as GitHub Markdown and HTML, the environment summary, and the
``benchsuite report`` folder: a self-contained index.html, report.md, results.csv,
tables/*.csv and the PNGs.

Every string that comes from results or plugins (names, errors, environment) is escaped in
HTML and Markdown: a results file is data, never markup.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

import pandas as pd

from benchsuite import results
from benchsuite.report.learning import frame as learning_frame
from benchsuite.report.learning import tables as learning_tables
from benchsuite.report.speed import tables as speed_tables

Figures = dict[str, tuple[str, Path]]  # name → (title, PNG path)


def _flat(t: pd.DataFrame) -> pd.DataFrame:
    """The table with its index as ordinary columns (how every renderer shows it)."""
    flat = t.reset_index() if not isinstance(t.index, pd.RangeIndex) else t.copy()
    flat.columns.name = None  # a pivot's column-axis name would print as an empty column
    return flat


def _md_cell(value: Any) -> str:
    """One Markdown cell: HTML-escaped, pipes escaped, on one line."""
    text = "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    return html.escape(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(t: pd.DataFrame) -> str:
    """GitHub-flavoured Markdown (cells escaped: no markup gets through)."""
    flat = _flat(t)
    head = "| " + " | ".join(_md_cell(c) for c in flat.columns) + " |"
    rule = "|" + "|".join("---" for _ in flat.columns) + "|"
    rows = ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in flat.itertuples(False)]
    return "\n".join([head, rule, *rows])


def to_html(t: pd.DataFrame) -> str:
    """An HTML table, cells escaped, index flattened into columns."""
    return _flat(t).to_html(index=False, escape=True, na_rep="", border=0, classes="table")


def environment_summary(runs: list[tuple[Path, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The fingerprint of each results file, flattened for display."""
    out = []
    for p, run in runs:
        # A Ray run: the fingerprint of each node its cases ran on (the driver's is not one).
        threads = (run.get("settings") or {}).get("threads")
        nodes = [(f"{n.get('hostname')}/{i[:6]}", n["environment"], n.get("threads"))
                 for i, n in (run.get("nodes") or {}).items()]
        for node, env, used in nodes or [(None, run.get("environment", {}), threads)]:
            out.append(_environment_row(p, run, env, node, used))
    return out


def _environment_row(p: Path, run: dict[str, Any], env: dict[str, Any], node: str | None,
                     threads: int | None) -> dict[str, Any]:
    row = {"file": p.name, "run": run.get("run_id")}
    if node:
        row["node"] = node
    return {**row, "started": run.get("started"),
            "cpu": env.get("cpu"), "cores": env.get("cores_usable"),
            "threads": threads, "memory_gib": env.get("memory_gib"), "os": env.get("os"),
            "python": env.get("python"), "git": env.get("git_revision"),
            "packages": json.dumps(env.get("packages", {}), sort_keys=True),
            "backends": json.dumps({k: v.get("version") for k, v in
                                    (env.get("backends") or {}).items()}, sort_keys=True),
            "gpus": json.dumps(env.get("gpus")),
    }


CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}
table{border-collapse:collapse;margin:1em 0;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}img{max-width:100%;border:1px solid #eee;margin:1em 0}
h2{margin-top:2em}.warn{color:#a00}"""


def write_report(paths: list[Path], out_dir: Path, baseline: str | None = None
                 ) -> tuple[dict[str, Path], list[tuple[str, pd.DataFrame]]]:
    """Write index.html, report.md, results.csv, tables/*.csv and the PNGs into ``out_dir``;
    returns the files written and the tables (for the terminal)."""
    # The figure modules load matplotlib and seaborn: only a report that draws pays for them.
    from benchsuite.report.learning_figures import write_figures
    from benchsuite.report.speed_figures import backend_colors, write_all

    df, runs = results.load_runs(paths)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {"csv": out_dir / "results.csv"}
    results.to_csv(df, written["csv"])
    figures = write_all(df, out_dir)
    parts = speed_tables(df, baseline)
    learned = learning_frame(runs)
    if not learned.empty:
        written["learning_csv"] = out_dir / "learning.csv"
        results.to_csv(learned, written["learning_csv"])
        figures.update(write_figures(runs, learned, out_dir, backend_colors(df)))
        parts += learning_tables(learned)
    _write_table_csvs(parts, out_dir / "tables")
    env = pd.DataFrame(environment_summary(runs))
    written["md"] = out_dir / "report.md"
    written["md"].write_text(_markdown(parts, env, figures), encoding="utf-8")
    written["html"] = out_dir / "index.html"
    written["html"].write_text(_html(parts, env, figures), encoding="utf-8")
    return written, parts


def _write_table_csvs(parts: list[tuple[str, pd.DataFrame]], table_dir: Path) -> None:
    """Each table as ``NN-first-four-words.csv``, numbered in report order."""
    table_dir.mkdir(exist_ok=True)
    for i, (title, t) in enumerate(parts, 1):
        results.to_csv(_flat(t), table_dir / f"{i:02d}-{_slug(title)}.csv")


def _slug(title: str) -> str:
    """The first four words of a title, for a file name."""
    words = "".join(c if c.isalnum() else " " for c in title.lower()).split()
    return "-".join(words[:4])


def _markdown(parts, env: pd.DataFrame, figures: Figures) -> str:
    """report.md: the tables, the figures beside it by name, the environment."""
    lines = ["# benchsuite report", ""]
    for title, t in parts:
        lines += [f"## {_md_cell(title)}", "", to_markdown(t), ""]
    for title, path in figures.values():
        lines += [f"![{_md_cell(title)}]({path.name})", ""]
    lines += ["## Environment", "", to_markdown(env), ""]
    return "\n".join(lines)


def _html(parts, env: pd.DataFrame, figures: Figures) -> str:
    """index.html: the tables, the figures inlined as data URIs, the environment."""
    body = ["<h1>benchsuite report</h1>"]
    for title, t in parts:
        body += [f"<h2>{html.escape(title)}</h2>", to_html(t)]
    for title, path in figures.values():
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        body += [f"<h2>{html.escape(title)}</h2>",
                 f'<img alt="{html.escape(title)}" src="data:image/png;base64,{data}">']
    body += ["<h2>Environment</h2>", to_html(env)]
    # No external resources at all: the page opens from disk, offline.
    return ("<!doctype html><html><head><meta charset='utf-8'>"
            "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
            "img-src data:; style-src 'unsafe-inline'\">"
            f"<title>benchsuite report</title><style>{CSS}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")
