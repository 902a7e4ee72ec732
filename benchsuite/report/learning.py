"""Learning results (``benchsuite train``) as tidy frames and report tables (pandas only; the
figures are ``learning_figures``).

Seeds are summarised by their median (min and max shown where they matter).
"""

from __future__ import annotations

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
    """One training run as a flat row of :data:`COLUMNS`."""
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
    """(path, document, training run) of every learning document in ``runs``."""
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
    """The training runs that failed or were skipped, with their errors."""
    bad = df[df["status"] != "ok"]
    return bad[["task", "backend", "model", "model_params", "seed", "status",
                "error"]].reset_index(drop=True)


def tables(df: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(title, table) pairs of the learning results, in report order; empty ones left out."""
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
