"""Learning results (``benchsuite train``) as tidy frames, report tables and seaborn figures.

Seeds are summarised by their median (min and max shown where they matter); figures use one
colour per backend, the same palette as the speed figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

#: Columns of :func:`frame`, one row per training run (documented in the README).
COLUMNS = (
    "run_id", "file", "task", "dataset", "backend", "backend_version", "variant", "model",
    "model_params", "depth", "activation", "seed", "optimizer", "lr", "batch_size", "epochs",
    "status", "error", "final_test_accuracy", "final_loss", "target", "time_to_target_s",
    "epochs_to_target", "train_s", "shifted_1px", "shifted_2px", "grad_first_init",
    "grad_last_init", "grad_ratio_init", "grad_ratio_epoch1",
)


def _ratio(norms: list[float] | None) -> float | None:
    return norms[0] / norms[-1] if norms and norms[-1] else None


def _row(r: dict[str, Any], doc: dict[str, Any], file: str) -> dict[str, Any]:
    import json

    spec, opt = r.get("spec") or {}, r.get("optimizer") or {}
    params = spec.get("params") or {}
    shifted, g0 = r.get("shifted_accuracy") or {}, r.get("grad_norms_init")
    return {
        "run_id": doc.get("run_id"), "file": file, "task": r["task"],
        "dataset": r.get("dataset"), "backend": r["backend"],
        "backend_version": r.get("backend_version"), "variant": r.get("variant"),
        "model": r["model"], "model_params": json.dumps(params, sort_keys=True),
        "depth": params.get("depth") if r["task"] == "gradients" else None,
        "activation": params.get("activation") if r["task"] == "gradients" else None,
        "seed": r["seed"], "optimizer": opt.get("name"), "lr": opt.get("lr"),
        "batch_size": r.get("batch_size"), "epochs": r.get("epochs"), "status": r["status"],
        "error": r["error"], "final_test_accuracy": r.get("final_test_accuracy"),
        "final_loss": r.get("final_loss"), "target": r.get("target"),
        "time_to_target_s": r.get("time_to_target_s"),
        "epochs_to_target": r.get("epochs_to_target"), "train_s": r.get("train_s"),
        "shifted_1px": shifted.get("1"), "shifted_2px": shifted.get("2"),
        "grad_first_init": g0[0] if g0 else None, "grad_last_init": g0[-1] if g0 else None,
        "grad_ratio_init": _ratio(g0), "grad_ratio_epoch1": _ratio(r.get("grad_norms_epoch1")),
    }


def _records(runs):
    for path, doc in runs:
        for r in doc.get("learning") or []:
            yield path, doc, r


def frame(runs) -> pd.DataFrame:
    """Every training run of the learning documents in ``runs`` (as from
    ``results.load_runs``): a row each, :data:`COLUMNS`."""
    rows = [_row(r, doc, str(p)) for p, doc, r in _records(runs)]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def curves(runs) -> pd.DataFrame:
    """One row per run × epoch: cumulative training seconds, loss, train/test accuracy."""
    rows = []
    for _, _, r in _records(runs):
        for point in r.get("curve") or []:
            rows.append({"task": r["task"], "backend": r["backend"], "model": r["model"],
                         "seed": r["seed"], **_depth_act(r), **point})
    return pd.DataFrame(rows)


def _depth_act(r: dict[str, Any]) -> dict[str, Any]:
    params = (r.get("spec") or {}).get("params") or {}
    return {"depth": params.get("depth"), "activation": params.get("activation")}


def gradient_norms(runs) -> pd.DataFrame:
    """One row per gradient run × Dense layer × moment (at init, after one epoch)."""
    rows = []
    for _, _, r in _records(runs):
        if r["task"] != "gradients" or r["status"] != "ok":
            continue
        for when, key in (("at init", "grad_norms_init"), ("after 1 epoch", "grad_norms_epoch1")):
            for layer, norm in enumerate(r.get(key) or [], 1):
                rows.append({"backend": r["backend"], "seed": r["seed"], **_depth_act(r),
                             "when": when, "layer": layer, "norm": norm})
    return pd.DataFrame(rows)


# -- tables --------------------------------------------------------------------------------

def accuracy_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per data set × model × backend: final test accuracy (median, min–max over seeds), the
    target, whether the median seed reached it within the budget (MLPerf's criterion) and how
    many seeds did, whether the median final accuracy is still above it, and the median time
    (and epochs) to reach it."""
    ok = df[(df["task"] == "accuracy") & (df["status"] == "ok")]
    if ok.empty:
        return pd.DataFrame()
    rows = []
    for (dataset, model, backend), g in ok.groupby(["dataset", "model", "backend"]):
        acc = 100 * g["final_test_accuracy"].astype(float)
        target = g["target"].iloc[0]
        reached = g["time_to_target_s"].notna()
        rows.append({
            "dataset": dataset, "model": model, "backend": backend,
            "test accuracy % (median)": round(acc.median(), 2),
            "min–max": f"{acc.min():.2f}–{acc.max():.2f}", "seeds": len(g),
            "target %": None if pd.isna(target) else round(100 * target, 2),
            # MLPerf's criterion: the run reaches the target within its budget (median seed)
            "met (median)": None if pd.isna(target) else bool(2 * reached.sum() >= len(g)),
            "reached in": f"{int(reached.sum())}/{len(g)}",
            "final ≥ target": None if pd.isna(target) else bool(acc.median() >= 100 * target),
            "time to target s (median)": _median_or_none(g["time_to_target_s"], 3),
            "epochs to target (median)": _median_or_none(g["epochs_to_target"], 1),
            "training s (median)": round(float(g["train_s"].median()), 3),
        })
    return pd.DataFrame(rows).set_index(["dataset", "model", "backend"])


def _median_or_none(s: pd.Series, digits: int) -> float | None:
    s = s.dropna().astype(float)
    return round(float(s.median()), digits) if len(s) else None


def shift_table(df: pd.DataFrame) -> pd.DataFrame:
    """Test accuracy on the original and on shifted test images (median over seeds, %)."""
    ok = df[(df["task"] == "accuracy") & (df["status"] == "ok") & df["shifted_1px"].notna()]
    if ok.empty:
        return pd.DataFrame()
    cols = {"final_test_accuracy": "original", "shifted_1px": "shifted 1 px",
            "shifted_2px": "shifted 2 px"}
    t = ok.groupby(["model", "backend"])[list(cols)].median().astype(float).mul(100).round(2)
    t = t.rename(columns=cols)
    t["kept at 1 px, %"] = (100 * t["shifted 1 px"] / t["original"]).round(1)
    return t


def gradients_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per activation × depth × backend: first- and last-layer gradient norms at init, their
    ratio at init and after one epoch, and the test accuracy after the budget (medians)."""
    ok = df[(df["task"] == "gradients") & (df["status"] == "ok")]
    if ok.empty:
        return pd.DataFrame()
    cols = ["grad_first_init", "grad_last_init", "grad_ratio_init", "grad_ratio_epoch1",
            "final_test_accuracy"]
    ok = ok.assign(depth=ok["depth"].astype(int))
    t = ok.groupby(["activation", "depth", "backend"])[cols].median().astype(float)
    t["final_test_accuracy"] = (100 * t["final_test_accuracy"]).round(2)
    t = t.rename(columns={"grad_first_init": "‖∇W first‖ init", "grad_last_init":
                          "‖∇W last‖ init", "grad_ratio_init": "first/last init",
                          "grad_ratio_epoch1": "first/last after 1 epoch",
                          "final_test_accuracy": "test accuracy %"})
    for c in t.columns[:4]:
        t[c] = t[c].map(lambda v: f"{v:.2e}")
    return t


def problems_table(df: pd.DataFrame) -> pd.DataFrame:
    bad = df[df["status"] != "ok"]
    return bad[["task", "backend", "model", "model_params", "seed", "status",
                "error"]].reset_index(drop=True)


def tables(df: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    if df.empty:
        return []
    out = [
        ("Learning: test accuracy and time to target (median of seeds)", accuracy_table(df)),
        ("Learning: test accuracy on shifted test images, %", shift_table(df)),
        ("Vanishing gradients: Dense-kernel gradient norms (median of seeds)",
         gradients_table(df)),
        ("Learning runs that failed or were skipped", problems_table(df)),
    ]
    return [(title, t) for title, t in out if not t.empty]


# -- figures -------------------------------------------------------------------------------

def _save(fig, path: Path) -> Path:
    """Like the speed figures, but cropped to what is drawn: facet grids put their title
    above and their legend beside the axes, which a plain tight layout cuts off."""
    from benchsuite.plots import DPI, plt

    fig.savefig(path, dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return path


def write_figures(runs, learned: pd.DataFrame, out_dir: Path,
                  colors: dict[str, Any]) -> dict[str, tuple[str, Path]]:
    """Every learning figure the results support: name → (title, PNG path). ``learned`` is
    :func:`frame` of ``runs``, which the caller has already built."""
    from benchsuite import plots

    cur, norms = curves(runs), gradient_norms(runs)
    if cur.empty:
        return {}
    colors = {**plots.palette(cur["backend"]), **colors}
    made = {
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
    }
    return {k: (title, p) for k, (title, p) in made.items() if p is not None}


def _median_curve(cur: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return cur.groupby([*keys, "epoch"], as_index=False)[
        ["train_s", "loss", "test_accuracy", "train_accuracy"]].median()


def _curves(cur: pd.DataFrame, path: Path, colors) -> Path | None:
    """Loss and test accuracy per epoch, one line per backend, a column per model."""
    import seaborn as sns


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
    return _save(grid.figure, path)


def _accuracy_vs_time(cur: pd.DataFrame, path: Path) -> Path | None:
    """Logreg vs MLP vs ConvNet: test accuracy against training seconds, per backend."""
    import seaborn as sns


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
    return _save(grid.figure, path)


def _time_to_target(df: pd.DataFrame, path: Path, colors) -> Path | None:
    import seaborn as sns

    from benchsuite.plots import plt

    ok = df[(df["task"] == "accuracy") & df["time_to_target_s"].notna()]
    if ok.empty:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    sns.barplot(data=ok, x="model", y="time_to_target_s", hue="backend", palette=colors,
                estimator="median", errorbar=("pi", 100), ax=ax)
    ax.set_ylabel("training seconds to target\n(median; line: min–max)")
    ax.set_title("Time to target test accuracy")
    return _save(fig, path)


def _gradient_norms(norms: pd.DataFrame, path: Path) -> Path | None:
    """Gradient norm per layer (log), a panel per backend × depth, a line per activation."""
    import seaborn as sns


    if norms.empty:
        return None
    data = norms.groupby(["backend", "depth", "activation", "when", "layer"],
                         as_index=False)["norm"].median()
    grid = sns.relplot(data=data, x="layer", y="norm", hue="activation", style="when",
                       col="depth", row="backend", kind="line", marker="o", height=2.6,
                       aspect=1.2, facet_kws={"sharex": False})
    from matplotlib.ticker import MaxNLocator

    grid.set(yscale="log")
    for ax in grid.axes.flat:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    grid.set_axis_labels("Dense layer (1 = first)", "‖∂loss/∂W‖ (log)")
    grid.figure.suptitle("Vanishing gradients: gradient norm by layer, median of seeds",
                         y=1.02)
    return _save(grid.figure, path)


def _accuracy_vs_depth(df: pd.DataFrame, path: Path, colors) -> Path | None:
    import seaborn as sns


    ok = df[(df["task"] == "gradients") & (df["status"] == "ok")]
    if ok.empty:
        return None
    data = ok.groupby(["backend", "activation", "depth"], as_index=False)[
        "final_test_accuracy"].median()
    grid = sns.relplot(data=data, x="depth", y="final_test_accuracy", hue="activation",
                       col="backend", kind="line", marker="o", height=3, aspect=1.1)
    from matplotlib.ticker import NullLocator, ScalarFormatter

    grid.set(xscale="log")
    for ax in grid.axes.flat:
        ax.set_xticks(sorted(data["depth"].unique()))
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_locator(NullLocator())
    grid.set_axis_labels("hidden layers (log scale)", "test accuracy after the budget")
    grid.figure.suptitle("Accuracy against depth, median of seeds", y=1.04)
    return _save(grid.figure, path)
