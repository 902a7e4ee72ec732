"""The Summary's figure: a forest plot of speed-ups. One row per case × slower backend: how
many times faster the case's fastest backend is, with the 95% CI of that ratio, on a log
axis with a line at 1× (a bar that crosses it: no difference beyond noise)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

from benchsuite.report.style import MAX_ROWS, first, plt, save
from benchsuite.report.summary import NOISE


def speedups(ranking: pd.DataFrame, path: Path) -> Path | None:
    """The forest plot of :func:`~benchsuite.report.summary.speed_ranking`'s rows, at most
    MAX_ROWS of them (the title says how many were left out)."""
    if ranking.empty:
        return None
    rows = ranking[ranking["rank"] > 1]
    if rows.empty:
        return None
    fastest = ranking[ranking["rank"] == 1].set_index(["model", "mode", "device",
                                                       "batch_size"])["backend"]
    items, note = first(list(rows.itertuples()), MAX_ROWS, "comparisons")
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(items) + 1.6))
    for y, r in enumerate(reversed(items)):
        real = r.verdict != NOISE
        low = r.low if r.low == r.low else r.ratio  # no interval: a point
        high = r.high if r.high == r.high else r.ratio
        ax.plot([low, high], [y, y], color="0.2" if real else "0.6", linewidth=2)
        ax.plot([r.ratio], [y], "o", color="#0072b2" if real else "0.6")
    labels = [f"{r.model} {r.mode} {r.device} b{r.batch_size}: "
              f"{fastest[(r.model, r.mode, r.device, r.batch_size)]} vs {r.backend}"
              for r in reversed(items)]
    ax.set_yticks(range(len(items)), labels, fontsize=8)
    ax.axvline(1.0, color="red", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("fastest backend's samples/s ÷ this backend's (log; 95% CI)\n"
                  "grey: the interval holds 1 — no difference beyond noise")
    ax.set_title("How much faster the fastest backend is, per case" + note)
    return save(fig, path)
