"""The learning figures of a report (``benchsuite train`` results): curves, accuracy against
time and depth, time to target, gradient norms by layer. Medians of seeds; one colour per
backend, the speed figures' palette. Saved cropped to what is drawn (facet grids put their
title above and their legend beside the axes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.ticker import MaxNLocator, NullLocator, ScalarFormatter

from benchsuite.report.learning import curves, gradient_norms
from benchsuite.report.style import captioned, drawn, palette, plt, save, sns


def write_figures(runs, learned: pd.DataFrame, out_dir: Path, colors: dict[str, Any],
                  machine: str | None = None) -> dict[str, tuple[str, Path]]:
    """Every learning figure the results support: name → (title, PNG path), each captioned
    with the ``machine`` it ran on. ``learned`` is ``learning.frame`` of ``runs``, which the
    caller has already built."""
    cur, norms = curves(runs), gradient_norms(runs)
    if cur.empty:
        return {}
    colors = {**palette(cur["backend"]), **colors}
    with captioned(machine):
        return _draw(cur, norms, learned, out_dir, colors)


def _draw(cur: pd.DataFrame, norms: pd.DataFrame, learned: pd.DataFrame, out_dir: Path,
          colors: dict[str, Any]) -> dict[str, tuple[str, Path]]:
    return drawn({
        "learning_curves": ("Learning curves", _curves(cur, out_dir / "learning_curves.png",
                                                       colors)),
        "accuracy_vs_time": ("Accuracy against training time",
                             _accuracy_vs_time(cur, out_dir / "accuracy_vs_time.png")),
        "time_to_target": ("Time to target accuracy",
                           _time_to_target(learned, out_dir / "time_to_target.png",
                                           colors)),
        "gradient_norms": ("Gradient norm by layer",
                           _gradient_norms(norms, out_dir / "gradient_norms.png")),
        "accuracy_vs_depth": ("Accuracy against depth",
                              _accuracy_vs_depth(learned, out_dir / "accuracy_vs_depth.png",
                                                 colors)),
    })


def _median_curve(cur: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The curves' median over seeds, epoch by epoch."""
    return cur.groupby([*keys, "epoch"], as_index=False)[
        ["train_s", "loss", "test_accuracy", "train_accuracy"]].median()


def _curves(cur: pd.DataFrame, path: Path, colors) -> Path | None:
    """Loss and test accuracy per epoch, one line per backend, a column per model."""
    acc = cur[cur["task"] == "accuracy"]
    if acc.empty:
        return None
    data = _median_curve(acc, ["backend", "model"])
    long = data.melt(id_vars=["backend", "model", "epoch"], value_vars=["loss", "test_accuracy"],
                     var_name="metric")
    grid = sns.relplot(data=long, x="epoch", y="value", hue="backend", col="model",
                       row="metric", kind="line", palette=colors, height=2.8, aspect=1.3,
                       facet_kws={"sharey": "row", "sharex": "col"})
    for ax in grid.axes[0]:
        ax.set_yscale("log")
    grid.axes[0][0].set_ylabel("training loss (log)")
    grid.axes[1][0].set_ylabel("test accuracy")
    grid.set_titles("{col_name}")
    grid.figure.suptitle("Training loss (log) and test accuracy per epoch, median of seeds",
                         y=1.02)
    return save(grid.figure, path, crop=True)


def _accuracy_vs_time(cur: pd.DataFrame, path: Path) -> Path | None:
    """Logreg vs MLP vs ConvNet: test accuracy against training seconds, per backend."""
    acc = cur[cur["task"] == "accuracy"]
    if acc.empty:
        return None
    data = _median_curve(acc, ["backend", "model"])
    grid = sns.relplot(data=data, x="train_s", y="test_accuracy", hue="model", col="backend",
                       kind="line", marker="o", height=3, aspect=1.2,
                       facet_kws={"sharex": False})
    grid.set(xscale="log")
    grid.set_axis_labels("training time, s (log)", "test accuracy")
    grid.figure.suptitle("Feature learning: accuracy against time, median of seeds", y=1.04)
    return save(grid.figure, path, crop=True)


def _time_to_target(df: pd.DataFrame, path: Path, colors) -> Path | None:
    """Seconds to the target accuracy per model and backend (median bar, min–max line)."""
    ok = df[(df["task"] == "accuracy") & df["time_to_target_s"].notna()]
    if ok.empty:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    sns.barplot(data=ok, x="model", y="time_to_target_s", hue="backend", palette=colors,
                estimator="median", errorbar=("pi", 100), ax=ax)
    ax.set_ylabel("training seconds to target\n(median; line: min–max)")
    ax.set_title("Time to target test accuracy")
    return save(fig, path, crop=True)


def _gradient_norms(norms: pd.DataFrame, path: Path) -> Path | None:
    """Gradient norm per layer (log), a panel per backend × depth, a line per activation."""
    if norms.empty:
        return None
    data = norms.groupby(["backend", "depth", "activation", "when", "layer"],
                         as_index=False)["norm"].median()
    grid = sns.relplot(data=data, x="layer", y="norm", hue="activation", style="when",
                       col="depth", row="backend", kind="line", marker="o", height=2.6,
                       aspect=1.2, facet_kws={"sharex": False})
    grid.set(yscale="log")
    for ax in grid.axes.flat:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    grid.set_axis_labels("Dense layer (1 = first)", "‖∂loss/∂W‖ (log)")
    grid.figure.suptitle("Vanishing gradients: gradient norm by layer, median of seeds",
                         y=1.02)
    return save(grid.figure, path, crop=True)


def _accuracy_vs_depth(df: pd.DataFrame, path: Path, colors) -> Path | None:
    """Test accuracy after the budget against MLP depth, a line per activation."""
    ok = df[(df["task"] == "gradients") & (df["status"] == "ok")]
    if ok.empty:
        return None
    data = ok.groupby(["backend", "activation", "depth"], as_index=False)[
        "final_test_accuracy"].median()
    grid = sns.relplot(data=data, x="depth", y="final_test_accuracy", hue="activation",
                       col="backend", kind="line", marker="o", height=3, aspect=1.1)
    grid.set(xscale="log")
    for ax in grid.axes.flat:
        ax.set_xticks(sorted(data["depth"].unique()))
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_locator(NullLocator())
    grid.set_axis_labels("hidden layers (log scale)", "test accuracy after the budget")
    grid.figure.suptitle("Accuracy against depth, median of seeds", y=1.04)
    return save(grid.figure, path, crop=True)
