"""Tables rendered as GitHub Markdown and HTML, the environment summary, and the
``benchsuite report`` folder: a self-contained index.html, report.md, results.csv,
tables/*.csv and the PNGs.

Both documents answer the question first: **Summary** (the fastest backend per case and by
how much, :mod:`~benchsuite.report.summary`), then **Warnings** (what to doubt,
:mod:`~benchsuite.report.alerts`), then the details tables, the figures and the environment.

Every string that comes from results or plugins (names, errors, environment) is escaped in
HTML and Markdown: a results file is data, never markup.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

import pandas as pd

from benchsuite import results
from benchsuite.report import summary
from benchsuite.report.alerts import learning_warnings, machine_of, speed_warnings
from benchsuite.report.learning import frame as learning_frame
from benchsuite.report.learning import tables as learning_tables
from benchsuite.report.speed import tables as speed_tables

Figures = dict[str, tuple[str, Path]]  # name → (title, PNG path)
Tables = list[tuple[str, pd.DataFrame]]
#: Figures shown in the Summary (the rest follow the details tables).
SUMMARY_FIGURES = ("speedups",)
SUMMARY_NOTE = ("Backends ranked by median throughput in each case (model, mode, device, "
                "batch size). \"fastest is\" = how many times faster the fastest is than "
                "this backend, with the 95% bootstrap CI: for backends measured in turns "
                "(interleaved, one run) the geometric mean of the per-round ratios, else the "
                "ratio of medians; a difference whose CI holds 1 is \"no difference beyond "
                "noise\".")


def _flat(t: pd.DataFrame) -> pd.DataFrame:
    """The table with its index as ordinary columns (how every renderer shows it)."""
    flat = t.reset_index() if not isinstance(t.index, pd.RangeIndex) else t.copy()
    flat.columns.name = None  # a pivot's column-axis name would print as an empty column
    return flat


def _md_cell(value: Any) -> str:
    """One Markdown cell: HTML-escaped (quotes kept: they are text here), pipes escaped, on
    one line."""
    text = "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    return html.escape(text, quote=False).replace("|", "\\|").replace("\n", " ")


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
            "packages": _versions(env.get("packages") or {}),
            "backends": _versions({k: (v or {}).get("version") for k, v in
                                   (env.get("backends") or {}).items()}),
            "gpus": ", ".join(str(g.get("name")) for g in env.get("gpus") or []) or "none",
    }


def _versions(names: dict[str, Any]) -> str:
    """{"numpy": "2.4.6", ...} as "numpy 2.4.6, torch 2.13.0" (no JSON for a person to read)."""
    return ", ".join(f"{k} {v}" if v else k for k, v in sorted(names.items()))


CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}
table{border-collapse:collapse;margin:1em 0;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}img{max-width:100%;border:1px solid #eee;margin:1em 0}
h2{margin-top:2em}.warn{color:#a00}.note{color:#555;max-width:60em}
.scroll{overflow-x:auto;max-width:100%}td{white-space:nowrap}
figure{margin:1em 0}figcaption{color:#555;font-size:13px}
p,li,h2,h3,figcaption{overflow-wrap:anywhere}"""


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
    ranking = summary.speed_ranking(df)
    figures = write_all(df, out_dir, machine_of(df, runs), ranking)
    parts = speed_tables(df, baseline)
    learned = learning_frame(runs)
    if not learned.empty:
        written["learning_csv"] = out_dir / "learning.csv"
        results.to_csv(learned, written["learning_csv"])
        figures.update(write_figures(runs, learned, out_dir, backend_colors(df),
                                     machine_of(df, runs)))
        parts += learning_tables(learned)
    front = _summary_tables(ranking, learned)
    _write_table_csvs(front + parts, out_dir / "tables")
    warnings = speed_warnings(df) + learning_warnings(learned)
    env = pd.DataFrame(environment_summary(runs))
    written["md"] = out_dir / "report.md"
    written["md"].write_text(_markdown(front, warnings, parts, env, figures), encoding="utf-8")
    written["html"] = out_dir / "index.html"
    written["html"].write_text(_html(front, warnings, parts, env, figures), encoding="utf-8")
    return written, front + parts


def _summary_tables(ranking: pd.DataFrame, learned: pd.DataFrame) -> Tables:
    """The Summary's tables, empty ones left out."""
    out = [("Fastest backend per case", summary.fastest_table(ranking)),
           ("Every backend, ranked", summary.ranking_table(ranking)),
           ("Learning: backends ranked by time to the target accuracy",
            summary.learning_table(learned))]
    return [(title, t) for title, t in out if not t.empty]


def _write_table_csvs(parts: list[tuple[str, pd.DataFrame]], table_dir: Path) -> None:
    """Each table as ``NN-first-four-words.csv``, numbered in report order."""
    table_dir.mkdir(exist_ok=True)
    for i, (title, t) in enumerate(parts, 1):
        results.to_csv(_flat(t), table_dir / f"{i:02d}-{_slug(title)}.csv")


def _slug(title: str) -> str:
    """The first four words of a title, for a file name."""
    words = "".join(c if c.isalnum() else " " for c in title.lower()).split()
    return "-".join(words[:4])


def _split(figures: Figures) -> tuple[Figures, Figures]:
    """The Summary's figures, and the others."""
    first = {k: v for k, v in figures.items() if k in SUMMARY_FIGURES}
    return first, {k: v for k, v in figures.items() if k not in SUMMARY_FIGURES}


def _markdown(front: Tables, warnings: list[str], parts: Tables, env: pd.DataFrame,
              figures: Figures) -> str:
    """report.md: Summary, Warnings, the details tables, the figures beside it by name, the
    environment."""
    top, rest = _split(figures)
    lines = ["# benchsuite report", "", "## Summary", "", _md_cell(SUMMARY_NOTE), ""]
    if not front:
        lines += ["No case ran: nothing to rank.", ""]
    for i, (title, t) in enumerate(front):
        lines += [f"### {_md_cell(title)}", "", to_markdown(t), ""]
        if i == 0:  # the picture of it, before the long tables
            lines += [f"![{_md_cell(title)}]({path.name})\n" for title, path in top.values()]
    lines += ["## Warnings", ""]
    lines += [f"- {_md_cell(w)}" for w in warnings] or ["None: every case ran, stably."]
    lines += ["", "## Details", ""]
    for title, t in parts:
        lines += [f"### {_md_cell(title)}", "", to_markdown(t), ""]
    lines += [f"![{_md_cell(title)}]({path.name})\n" for title, path in rest.values()]
    lines += ["## Environment", "", to_markdown(env), ""]
    return "\n".join(lines)


def _figure(title: str, path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure><img alt="{html.escape(title)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(title)}</figcaption></figure>")


def _table(title: str, t: pd.DataFrame, level: int = 3) -> list[str]:
    return [f"<h{level}>{html.escape(title)}</h{level}>",
            f'<div class="scroll">{to_html(t)}</div>']


def _html(front: Tables, warnings: list[str], parts: Tables, env: pd.DataFrame,
          figures: Figures) -> str:
    """index.html: as report.md, the figures inlined as data URIs; wide tables scroll inside
    their box, never the page."""
    top, rest = _split(figures)
    body = ["<h1>benchsuite report</h1>", "<h2>Summary</h2>",
            f'<p class="note">{html.escape(SUMMARY_NOTE)}</p>']
    if not front:
        body.append("<p>No case ran: nothing to rank.</p>")
    for i, (title, t) in enumerate(front):
        body += _table(title, t)
        if i == 0:
            body += [_figure(title, path) for title, path in top.values()]
    body += ["<h2>Warnings</h2>", "<ul class=\"warn\">" + "".join(
        f"<li>{html.escape(w)}</li>" for w in warnings) + "</ul>" if warnings
        else "<p>None: every case ran, stably.</p>", "<h2>Details</h2>"]
    for title, t in parts:
        body += _table(title, t)
    body += [_figure(title, path) for title, path in rest.values()]
    body += _table("Environment", env, 2)
    # No external resources at all: the page opens from disk, offline.
    return ("<!doctype html><html><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
            "img-src data:; style-src 'unsafe-inline'\">"
            f"<title>benchsuite report</title><style>{CSS}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")
