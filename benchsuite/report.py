"""Tables from results (pandas), rendered for the terminal, GitHub Markdown, HTML and CSV, and
the ``benchsuite report`` folder: a self-contained index.html, report.md, results.csv, PNGs.

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

KEYS = ["mode", "device", "batch_size", "model"]


def ok_rows(df: pd.DataFrame, include_null: bool = False) -> pd.DataFrame:
    """Cases that ran, labelled; the null backend (harness overhead) only when asked for."""
    out = df[(df["status"] == "ok") & (include_null | ~df["null_backend"].astype(bool))].copy()
    out["label"] = labels(out) if not out.empty else []
    return out


def labels(df: pd.DataFrame) -> pd.Series:
    """``backend``, or ``backend[variant]`` when a backend appears with several variants; and
    ``@machine`` after it when the results come from more than one machine, so that numbers
    from different hardware are never merged into one."""
    several = df.groupby("backend")["variant"].nunique()
    out = df.apply(lambda r: f"{r['backend']}[{r['variant']}]"
                   if several.get(r["backend"], 1) > 1 else r["backend"], axis=1)
    machine = machines(df)
    return out + "@" + machine if machine.nunique() > 1 else out


def machines(df: pd.DataFrame) -> pd.Series:
    """Each row's machine: its host name, with the Ray node id's first 6 characters when one
    host name stands for several nodes (several raylets on one host)."""
    host = df["machine"].fillna("?").astype(str)
    node = df["node_id"].fillna("").astype(str)
    shared = node.groupby(host).transform("nunique") > 1
    return host.where(~shared, host + "/" + node.str[:6])


def machines_table(df: pd.DataFrame) -> pd.DataFrame:
    """The machines the results come from (only when there are several): hardware, cases."""
    if df.empty or machines(df).nunique() < 2:
        return pd.DataFrame()
    data = df.assign(machine_label=machines(df))
    counts = data.pivot_table(index=["machine_label", "hardware"], columns="status",
                              values="model", aggfunc="count", fill_value=0)
    counts.columns.name = None
    return counts.rename_axis(["machine", "hardware"])


def throughput_table(df: pd.DataFrame) -> pd.DataFrame:
    """Median samples/s with the 95% CI, model × backend, per mode/device/batch."""
    ok = ok_rows(df)
    if ok.empty:
        return pd.DataFrame()
    ok["value"] = ok.apply(lambda r: f"{r['throughput']:,.0f} [{r['ci_low']:,.0f}, "
                                      f"{r['ci_high']:,.0f}]", axis=1)
    return ok.pivot_table(index=KEYS, columns="label", values="value", aggfunc="first")


def speedup_table(df: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Throughput relative to ``baseline`` (its label), same mode/device/batch/model."""
    ok = ok_rows(df)
    wide = ok.pivot_table(index=KEYS, columns="label", values="throughput", aggfunc="median")
    if baseline not in wide.columns:
        return pd.DataFrame()
    return wide.div(wide[baseline], axis=0).round(3)


def _pivot(df: pd.DataFrame, value: str, scale: float = 1.0, digits: int = 3) -> pd.DataFrame:
    ok = ok_rows(df)
    if ok.empty or ok[value].isna().all():
        return pd.DataFrame()
    ok[value] = ok[value].astype(float) * scale
    return ok.pivot_table(index=KEYS, columns="label", values=value,
                          aggfunc="median").round(digits)


def phases_table(df: pd.DataFrame) -> pd.DataFrame:
    ok = ok_rows(df)
    if ok.empty:
        return pd.DataFrame()
    ok["steady_step_s"] = ok["step_ms"] / 1000
    cols = ["import_s", "build_s", "first_step_s", "steady_step_s"]
    return ok.set_index(["label", *KEYS])[cols].astype(float).round(4).sort_index()


def latency_table(df: pd.DataFrame) -> pd.DataFrame:
    ok = ok_rows(df)
    ok = ok[ok["mode"] == "latency"]
    if ok.empty:
        return pd.DataFrame()
    cols = ["latency_p50_ms", "latency_p90_ms", "latency_p99_ms"]
    return ok.set_index(["label", "device", "model"])[cols].astype(float).round(4).sort_index()


def overhead_table(df: pd.DataFrame) -> pd.DataFrame:
    """The null backend's step time: what the harness itself costs per step."""
    ok = ok_rows(df, include_null=True)
    null = ok[ok["null_backend"].astype(bool)]
    if null.empty:
        return pd.DataFrame()
    null = null.assign(us_per_step=1000 * null["step_ms"])
    return null.pivot_table(index=["mode", "device", "batch_size"], columns="model",
                            values="us_per_step", aggfunc="median").round(3)


def problems_table(df: pd.DataFrame) -> pd.DataFrame:
    bad = df[df["status"] != "ok"]
    return bad[["backend", "variant", "model", "mode", "device", "batch_size", "status",
                "error"]].reset_index(drop=True)


def tables(df: pd.DataFrame, baseline: str | None = None) -> list[tuple[str, pd.DataFrame]]:
    """(title, table) pairs, in report order; empty tables are left out."""
    base = baseline or _default_baseline(df)
    out = [
        ("Machines", machines_table(df)),
        ("Throughput, samples/s [95% CI of the median]", throughput_table(df)),
        (f"Speed-up against {base}", speedup_table(df, base) if base else pd.DataFrame()),
        ("Efficiency, % of the framework's own GEMM peak", _pivot(df, "efficiency", 100, 1)),
        ("Phases, seconds (import per worker; steady = one step)", phases_table(df)),
        ("Inference latency at batch 1, ms", latency_table(df)),
        ("Peak RSS of the worker, MiB", _pivot(df, "peak_rss_mib", digits=0)),
        ("Parity: largest median deviation from the float64 oracle (tolerance 1e-4)",
         _pivot(df, "parity_max_deviation", digits=9)),
        ("Harness overhead: the null backend's step, µs", overhead_table(df)),
        ("Failed and skipped cases", problems_table(df)),
    ]
    return [(title, t) for title, t in out if not t.empty]


def _default_baseline(df: pd.DataFrame) -> str | None:
    ok = ok_rows(df)
    names = list(dict.fromkeys(ok["label"])) if not ok.empty else []
    return "numpy" if "numpy" in names else (names[0] if names else None)


# -- renderers -------------------------------------------------------------------------------

def _flat(t: pd.DataFrame) -> pd.DataFrame:
    flat = t.reset_index() if not isinstance(t.index, pd.RangeIndex) else t.copy()
    flat.columns.name = None  # a pivot's column-axis name would print as an empty column
    return flat


def _md_cell(value: Any) -> str:
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
    from benchsuite import learnreport, plots

    df, runs = results.load_runs(paths)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {"csv": out_dir / "results.csv"}
    df.to_csv(written["csv"], index=False)
    figures = plots.write_all(df, out_dir)
    parts = tables(df, baseline)
    learned = learnreport.frame(runs)
    if not learned.empty:
        written["learning_csv"] = out_dir / "learning.csv"
        learned.to_csv(written["learning_csv"], index=False)
        colors = plots.palette(ok_rows(df)["label"]) if not df.empty else {}
        figures.update(learnreport.write_figures(runs, learned, out_dir, colors))
        parts += learnreport.tables(learned)
    table_dir = out_dir / "tables"
    table_dir.mkdir(exist_ok=True)
    for i, (title, t) in enumerate(parts, 1):
        _flat(t).to_csv(table_dir / f"{i:02d}-{_slug(title)}.csv", index=False)
    env = pd.DataFrame(environment_summary(runs))
    written["md"] = out_dir / "report.md"
    written["md"].write_text(_markdown(parts, env, figures), encoding="utf-8")
    written["html"] = out_dir / "index.html"
    written["html"].write_text(_html(parts, env, figures), encoding="utf-8")
    return written, parts


def _slug(title: str) -> str:
    words = "".join(c if c.isalnum() else " " for c in title.lower()).split()
    return "-".join(words[:4])


def _markdown(parts, env: pd.DataFrame, figures: dict[str, tuple[str, Path]]) -> str:
    lines = ["# benchsuite report", ""]
    for title, t in parts:
        lines += [f"## {_md_cell(title)}", "", to_markdown(t), ""]
    for title, path in figures.values():
        lines += [f"![{_md_cell(title)}]({path.name})", ""]
    lines += ["## Environment", "", to_markdown(env), ""]
    return "\n".join(lines)


def _html(parts, env: pd.DataFrame, figures: dict[str, tuple[str, Path]]) -> str:
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
