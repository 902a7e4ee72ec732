"""The speed figures of a report (seaborn on Agg, deterministic file names, one colour per
backend across every figure). Each figure function returns None when the results hold nothing
to plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from benchsuite.parity import TOLERANCE
from benchsuite.report.forest import speedups
from benchsuite.report.speed import ok_rows
from benchsuite.report.style import (
    MAX_PANELS,
    MAX_ROWS,
    captioned,
    drawn,
    first,
    palette,
    plt,
    save,
    set_theme,
    sns,
)
from benchsuite.report.summary import speed_ranking


def backend_colors(df: pd.DataFrame) -> dict[str, tuple]:
    """The colour of each backend label that ran (the learning figures reuse it)."""
    return palette(ok_rows(df)["label"]) if not df.empty else {}


def _bars(ax, data: pd.DataFrame, value: str, colors, low=None, high=None) -> None:
    """Grouped bars: models on x, one bar per backend, optional CI error bars (several runs of
    the same case: their medians)."""
    models = list(dict.fromkeys(data["model"]))
    backends = sorted(set(data["label"]))
    width = 0.8 / max(len(backends), 1)
    cols = [c for c in (value, low, high) if c is not None]
    for j, b in enumerate(backends):
        sub = (data[data["label"] == b].groupby("model")[cols].median().reindex(models))
        x = np.arange(len(models)) + (j - (len(backends) - 1) / 2) * width
        err = None
        if low is not None:
            err = [sub[value] - sub[low], sub[high] - sub[value]]
        ax.bar(x, sub[value], width, yerr=err, capsize=3, color=colors[b], label=b)
    ax.set_xticks(np.arange(len(models)), models)


def _bar_panels(data: pd.DataFrame, by: list[str], value: str, colors, title: str,
                ylabel: str, path: Path, ci: bool = False, log: bool = False) -> Path:
    """One panel of grouped bars per combination of ``by`` (mode, device, ...), four panels a
    row, at most MAX_PANELS (the title says how many were left out)."""
    groups, note = first(list(data.groupby(by)), MAX_PANELS, "panels")
    cols = min(len(groups), 4)
    rows = -(-len(groups) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 3.6 * rows), squeeze=False)
    for ax in axes.flat[len(groups):]:
        ax.set_visible(False)
    for ax, (key, g) in zip(axes.flat, groups):
        _bars(ax, g, value, colors, *(("ci_low", "ci_high") if ci else ()))
        if log:
            ax.set_yscale("log")
        ax.set_title(", ".join(f"batch {v}" if k == "batch_size" else str(v)
                               for k, v in zip(by, key)))
        ax.set_ylabel(ylabel)
    axes[0][0].legend(title="backend")
    fig.suptitle(title + note)
    return save(fig, path)


def throughput(df: pd.DataFrame, path: Path, colors) -> Path | None:
    """Median throughput with its 95% CI, a panel per mode/device/batch size."""
    ok = ok_rows(df)
    if ok.empty:
        return None
    return _bar_panels(ok, ["mode", "device", "batch_size"], "throughput", colors,
                       "Throughput by model and backend", "samples/s (log), 95% CI", path,
                       ci=True, log=True)


def scaling(df: pd.DataFrame, path: Path, colors) -> Path | None:
    """Throughput against batch size, for cases measured at two sizes or more."""
    ok = ok_rows(df)
    ok = ok[ok["mode"] != "latency"]
    sizes = ok.groupby(["label", "model", "mode"])["batch_size"].transform("nunique")
    ok = ok[sizes >= 2]  # a line needs at least two batch sizes
    if ok.empty:
        return None
    ok = ok.groupby(["label", "model", "mode", "batch_size"], as_index=False)["throughput"].median()
    ok, note = _some(ok, "model", MAX_PANELS // max(ok["mode"].nunique(), 1), "models")
    grid = sns.relplot(data=ok, x="batch_size", y="throughput", hue="label", col="model",
                       row="mode", kind="line", marker="o", palette=colors,
                       facet_kws={"sharey": False}, height=3, aspect=1.2)
    return _finish_grid(grid, ("batch size (log)", "samples/s (log)"),
                        "Batch-size scaling" + note, path, xscale="log", yscale="log")


def _some(data: pd.DataFrame, column: str, limit: int, what: str) -> tuple[pd.DataFrame, str]:
    """Rows of the first ``limit`` values of ``column`` (a facet per value), and the note."""
    kept, note = first(list(dict.fromkeys(data[column])), max(limit, 1), what)
    return data[data[column].isin(kept)], note


def _finish_grid(grid, axis_labels: tuple[str, str], title: str, path: Path, y: float = 1.02,
                 **scales: str) -> Path:
    """Scales, axis labels, a 'backend' legend and a title for a seaborn FacetGrid; saved."""
    grid.set(**scales)
    grid.set_axis_labels(*axis_labels)
    grid.legend.set_title("backend")
    grid.figure.suptitle(title, y=y)
    return save(grid.figure, path)


def latency(df: pd.DataFrame, path: Path, colors) -> Path | None:
    """ECDF of per-step latency at batch 1, from the recorded 1st..99th percentiles."""
    ok = ok_rows(df)
    ok = ok[(ok["mode"] == "latency") & ok["latency_quantiles_ms"].notna()]
    rows = []
    for r in ok.itertuples():
        rows += [{"label": r.label, "model": r.model, "ms": q, "p": (i + 1) / 100}
                 for i, q in enumerate(r.latency_quantiles_ms)]
    if not rows:
        return None
    # Several runs of a case: the median of each percentile, so each curve stays monotonic.
    data = pd.DataFrame(rows).groupby(["label", "model", "p"], as_index=False)["ms"].median()
    data, note = _some(data, "model", MAX_PANELS, "models")
    grid = sns.relplot(data=data, x="ms", y="p", hue="label", col="model", kind="line",
                       palette=colors, facet_kws={"sharex": False}, height=3, aspect=1.2,
                       sort=False, estimator=None)
    return _finish_grid(grid, ("latency per step, ms (log)", "fraction of steps"),
                        "Inference latency at batch 1 (distribution)" + note, path, y=1.04,
                        xscale="log")


def phases(df: pd.DataFrame, path: Path, colors) -> Path | None:
    """Stacked phases of each training case (median over repeated cases)."""
    ok = ok_rows(df)
    ok = ok[ok["mode"] == "train"]
    if ok.empty:
        return None
    ok = ok.assign(steady_s=ok["step_ms"] / 1000, case=ok["label"] + " " + ok["model"]
                   + " b" + ok["batch_size"].astype(str))
    parts = ["import_s", "build_s", "first_step_s", "steady_s"]
    data = ok.groupby("case")[parts].median().astype(float).fillna(0).sort_index()
    kept, note = first(list(data.index), MAX_ROWS, "cases")
    data = data.loc[kept].iloc[::-1]  # the first case on top
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(data) + 1.5))
    data.plot.barh(stacked=True, ax=ax, color=sns.color_palette("muted", len(parts)))
    ax.set_xlabel("seconds")
    ax.set_title("Phases of a training case: import, build, first step, one steady step" + note)
    return save(fig, path)


def efficiency(df: pd.DataFrame, path: Path, colors) -> Path | None:
    """Achieved GFLOP/s as % of the framework's measured GEMM peak."""
    ok = ok_rows(df)
    ok = ok[ok["efficiency"].notna()]
    if ok.empty:
        return None
    ok = ok.assign(percent=100 * ok["efficiency"].astype(float))
    return _bar_panels(ok, ["mode", "device"], "percent", colors,
                       "Efficiency: achieved GFLOP/s against the measured peak",
                       "% of the framework's GEMM peak", path)


def parity_plot(df: pd.DataFrame, path: Path, colors) -> Path | None:
    """Each case's largest deviation from the float64 oracle, with the tolerance line."""
    ok = ok_rows(df)
    ok = ok[ok["parity_max_deviation"].notna()]
    if ok.empty:
        return None
    ok = ok.assign(deviation=ok["parity_max_deviation"].astype(float).clip(lower=1e-12))
    fig, ax = plt.subplots(figsize=(7, 4))
    sns.stripplot(data=ok, x="model", y="deviation", hue="label", palette=colors, ax=ax,
                  dodge=True, size=7, jitter=False)  # no random jitter: same input, same PNG
    ax.set_yscale("log")
    ax.axhline(TOLERANCE, color="red", linestyle="--", label="tolerance")
    ax.set_ylabel("largest median deviation (log)")
    ax.set_title("Parity with the float64 NumPy oracle")
    ax.legend(title="backend")
    return save(fig, path)


def write_all(df: pd.DataFrame, out_dir: Path, machine: str | None = None,
              ranking: pd.DataFrame | None = None) -> dict[str, tuple[str, Path]]:
    """Every figure the data supports: name → (title, PNG path); each captioned with the
    ``machine`` it ran on. ``ranking``: ``summary.speed_ranking(df)``, if already computed."""
    ranking = speed_ranking(df) if ranking is None else ranking
    set_theme()
    c = backend_colors(df)
    with captioned(machine):
        return drawn({
            "speedups": ("How much faster the fastest backend is, per case (95% CI)",
                         speedups(ranking, out_dir / "speedups.png")),
            "throughput": ("Throughput", throughput(df, out_dir / "throughput.png", c)),
            "scaling": ("Batch-size scaling", scaling(df, out_dir / "scaling.png", c)),
            "latency": ("Latency distribution", latency(df, out_dir / "latency.png", c)),
            "phases": ("Phases", phases(df, out_dir / "phases.png", c)),
            "efficiency": ("Efficiency", efficiency(df, out_dir / "efficiency.png", c)),
            "parity": ("Parity", parity_plot(df, out_dir / "parity.png", c)),
        })
