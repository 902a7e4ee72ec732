"""The speed tables of a report (pandas), from the case rows of ``results.load``: which rows
ran, how backends are labelled, and one table per question (throughput, speed-up, efficiency,
phases, latency, memory, parity, harness overhead, failures). Pandas only: no figures here.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from benchsuite.units import percent, rate_ci, seconds, sig, times

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
    ok["value"] = [rate_ci(m, lo, hi) for m, lo, hi in
                   zip(ok["throughput"], ok["ci_low"], ok["ci_high"])]
    return ok.pivot_table(index=KEYS, columns="label", values="value", aggfunc="first")


def speedup_table(df: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Throughput relative to ``baseline`` (its label), same mode/device/batch/model, as
    "1.00×", "8.73×" (three figures each)."""
    ok = ok_rows(df)
    wide = ok.pivot_table(index=KEYS, columns="label", values="throughput", aggfunc="median")
    if baseline not in wide.columns:
        return pd.DataFrame()
    return _shown(wide.div(wide[baseline], axis=0), times)


def _shown(t: pd.DataFrame, fmt: Callable[[float], str]) -> pd.DataFrame:
    """Every cell through ``fmt`` (missing cells stay empty)."""
    return t.apply(lambda col: col.map(lambda v: "" if pd.isna(v) else fmt(v)))


def _pivot(df: pd.DataFrame, value: str, fmt: Callable[[float], str] = sig,
           scale: float = 1.0) -> pd.DataFrame:
    """``value`` × ``scale``, model × backend (median of repeated cases), shown by ``fmt``."""
    ok = ok_rows(df)
    if ok.empty or ok[value].isna().all():
        return pd.DataFrame()
    ok[value] = ok[value].astype(float) * scale
    return _shown(ok.pivot_table(index=KEYS, columns="label", values=value,
                                 aggfunc="median"), fmt)


def phases_table(df: pd.DataFrame) -> pd.DataFrame:
    """Import, build, first step and one steady step per case, each in the unit that fits."""
    ok = ok_rows(df)
    if ok.empty:
        return pd.DataFrame()
    ok["steady step"] = ok["step_ms"] / 1000
    cols = {"import_s": "import", "build_s": "build", "first_step_s": "first step",
            "steady step": "steady step"}
    t = ok.set_index(["label", *KEYS])[list(cols)].astype(float).sort_index()
    return _shown(t.rename(columns=cols), seconds)


def latency_table(df: pd.DataFrame) -> pd.DataFrame:
    """p50/p90/p99 per-step latency at batch 1, in the unit that fits."""
    ok = ok_rows(df)
    ok = ok[ok["mode"] == "latency"]
    if ok.empty:
        return pd.DataFrame()
    cols = {"latency_p50_ms": "p50", "latency_p90_ms": "p90", "latency_p99_ms": "p99"}
    t = ok.set_index(["label", "device", "model"])[list(cols)].astype(float) / 1000
    return _shown(t.sort_index().rename(columns=cols), seconds)


def overhead_table(df: pd.DataFrame) -> pd.DataFrame:
    """The null backend's step time: what the harness itself costs per step."""
    ok = ok_rows(df, include_null=True)
    null = ok[ok["null_backend"].astype(bool)]
    if null.empty:
        return pd.DataFrame()
    null = null.assign(step_s=null["step_ms"] / 1000)
    return _shown(null.pivot_table(index=["mode", "device", "batch_size"], columns="model",
                                   values="step_s", aggfunc="median"), seconds)


def problems_table(df: pd.DataFrame) -> pd.DataFrame:
    """The cases that did not run, with status and error."""
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
        ("Efficiency, % of the framework's own GEMM peak", _pivot(df, "efficiency", percent)),
        ("Phases (import per worker; steady = one step)", phases_table(df)),
        ("Inference latency at batch 1", latency_table(df)),
        ("Peak RSS of the worker, MiB", _pivot(df, "peak_rss_mib")),
        ("Parity: largest median deviation from the float64 oracle (tolerance 1e-4)",
         _pivot(df, "parity_max_deviation", lambda v: f"{v:.1e}")),
        ("Harness overhead: the null backend's step", overhead_table(df)),
        ("Failed and skipped cases", problems_table(df)),
    ]
    return [(title, t) for title, t in out if not t.empty]


def _default_baseline(df: pd.DataFrame) -> str | None:
    """numpy (the oracle) when it ran, else the first label."""
    ok = ok_rows(df)
    names = list(dict.fromkeys(ok["label"])) if not ok.empty else []
    return "numpy" if "numpy" in names else (names[0] if names else None)
