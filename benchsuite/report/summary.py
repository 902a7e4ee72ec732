"""The report's first section: which backend is fastest for each case, by how much, and
whether the difference is real; and the same for the learning results.

A *case* here is model × mode × device × batch size. Its backends are ranked by median
throughput; each one's speed-up over it comes with its 95% CI. When the two were measured in
turns (one run, interleaved: the same ``interleaving.group``), the speed-up is paired: the
geometric mean of the per-round ratios, its CI a bootstrap over rounds
(:func:`benchsuite.stats.paired_ratio`), so the drift and load both saw cancel. Otherwise
(several runs pooled, or files from before interleaving) it is the ratio of medians with a
bootstrap CI over the two sample sets taken as independent (:func:`speedup`). Both are seeded:
the same results give the same report.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from benchsuite import stats
from benchsuite.report.speed import ok_rows
from benchsuite.units import rate, rate_ci, seconds, sig, times

CASE = ["model", "mode", "device", "batch_size"]
NOISE = "no difference beyond noise"


def speedup(fast: Sequence[float], slow: Sequence[float]) -> tuple[float, float, float]:
    """How many times ``fast``'s median exceeds ``slow``'s (throughputs: higher is faster),
    with the 95% CI of that ratio (independent samples, seeded bootstrap)."""
    fast, slow = [float(x) for x in fast], [float(x) for x in slow]
    nan = float("nan")
    if not fast or not slow or float(pd.Series(slow).median()) <= 0:
        return nan, nan, nan  # nothing to divide by: no claim
    ratio = float(pd.Series(fast).median()) / float(pd.Series(slow).median())
    if len(fast) < 2 or len(slow) < 2:
        return ratio, nan, nan  # one sample a side: no interval
    low, high = stats.ratio_ci(slow, fast)
    return ratio, low, high


def paired(group: pd.DataFrame, fast: str, slow: str) -> tuple[float, float, float] | None:
    """The paired speed-up of ``fast`` over ``slow`` when each is one row of the same
    interleaved group, else None."""
    rows = {label: group[group["label"] == label] for label in (fast, slow)}
    if any(len(r) != 1 for r in rows.values()):
        return None
    f, s = rows[fast].iloc[0], rows[slow].iloc[0]
    if not isinstance(f.get("pair_group"), str) or f.get("pair_group") != s.get("pair_group"):
        return None
    out = stats.paired_ratio(s["samples"], s["rounds"], f["samples"], f["rounds"])
    return None if out is None else out[:3]


def verdict(fast: str, slow: str, ratio: float, low: float, high: float,
            what: str = "faster") -> str:
    """Plain words: "torch 1.24× faster than tensorflow [1.18, 1.30]", or that the interval
    holds 1 (or there is none): "no difference beyond noise"."""
    if not (low > 1):  # NaN (no interval) included
        return NOISE
    return f"{fast} {times(ratio)} {what} than {slow} [{sig(low)}, {sig(high)}]"


def _pooled(group: pd.DataFrame) -> dict[str, list[float]]:
    """label → every sample of that label in the case (several runs of a case pooled)."""
    out: dict[str, list[float]] = {}
    for label, samples in zip(group["label"], group["samples"]):
        out.setdefault(label, []).extend(float(s) for s in samples or [])
    return {k: v for k, v in out.items() if v}


def speed_ranking(df: pd.DataFrame) -> pd.DataFrame:
    """One row per case × backend, fastest first within each case: median samples/s with its
    CI, the fastest's speed-up over it with its CI (numbers: ``ratio``, ``low``, ``high``),
    and the verdict."""
    ok = ok_rows(df)
    rows = []
    if ok.empty:
        return pd.DataFrame()
    for key, group in ok.groupby(CASE, sort=True):
        pooled = _pooled(group)
        medians = {k: float(pd.Series(v).median()) for k, v in pooled.items()}
        ranked = sorted(medians, key=lambda k: -medians[k])
        for rank, label in enumerate(ranked, 1):
            ratio, low, high = (1.0, 1.0, 1.0) if rank == 1 else (
                paired(group, ranked[0], label) or speedup(pooled[ranked[0]], pooled[label]))
            lo_hi = stats.bootstrap_ci(pooled[label])
            rows.append({**dict(zip(CASE, key)), "rank": rank, "backend": label,
                         "median": medians[label], "ci_low": lo_hi[0], "ci_high": lo_hi[1],
                         "ratio": ratio, "low": low, "high": high,
                         "verdict": "fastest" if rank == 1 else
                         verdict(ranked[0], label, ratio, low, high)})
    return pd.DataFrame(rows)


def _case_name(r) -> str:
    return f"{r['model']} {r['mode']} {r['device']} b{r['batch_size']}"


def fastest_table(ranking: pd.DataFrame) -> pd.DataFrame:
    """One line per case: the fastest backend, its samples/s, and the verdict against the
    runner-up (the closest contender: if that one is a tie, the case has no clear winner)."""
    if ranking.empty:
        return pd.DataFrame()
    rows = []
    for _, g in ranking.groupby(CASE, sort=True):
        first = g.iloc[0]
        second = g.iloc[1] if len(g) > 1 else None
        rows.append({"case": _case_name(first), "fastest": first["backend"],
                     "samples/s": rate(first["median"]),
                     "against the runner-up": "only backend" if second is None
                     else second["verdict"] if second["verdict"] != NOISE
                     else f"{NOISE} with {second['backend']}" + (
                         f" ({times(second['ratio'])})" if second["ratio"] == second["ratio"]
                         else "")})
    return pd.DataFrame(rows)


def ranking_table(ranking: pd.DataFrame) -> pd.DataFrame:
    """The ranking as displayed: every backend of every case, numbers to 3 figures."""
    if ranking.empty:
        return pd.DataFrame()
    return pd.DataFrame({
        "case": ranking.apply(_case_name, axis=1), "rank": ranking["rank"],
        "backend": ranking["backend"],
        "samples/s [95% CI]": [rate_ci(m, lo, hi) for m, lo, hi in
                               zip(ranking["median"], ranking["ci_low"], ranking["ci_high"])],
        "fastest is [95% CI]": ["" if r == 1 else f"{times(x)} [{sig(lo)}, {sig(hi)}]"
                                if lo == lo else times(x) for r, x, lo, hi in
                                zip(ranking["rank"], ranking["ratio"], ranking["low"],
                                    ranking["high"])],
        "verdict": ranking["verdict"]})


def learning_table(learned: pd.DataFrame) -> pd.DataFrame:
    """Per data set × model: backends ranked by median time to the target accuracy (those
    that never reached it last), their accuracy, and the verdict against the quickest."""
    if learned.empty:
        return pd.DataFrame()
    ok = learned[(learned["task"] == "accuracy") & (learned["status"] == "ok")]
    rows = []
    for (dataset, model), g in ok.groupby(["dataset", "model"], sort=True):
        runs = {b: s for b, s in g.groupby("backend")}
        reach = {b: s["time_to_target_s"].dropna().astype(float).tolist()
                 for b, s in runs.items()}
        median = {b: float(pd.Series(t).median()) if 2 * len(t) >= len(runs[b])
                  else float("inf") for b, t in reach.items()}  # MLPerf: the median seed
        order = sorted(runs, key=lambda b: (median[b], b))
        best = order[0]
        for rank, b in enumerate(order, 1):
            acc = 100 * runs[b]["final_test_accuracy"].astype(float).median()
            if median[b] == float("inf"):
                said = "target not reached (median seed)"
            elif b == best:
                said = "first to target"
            else:  # times: lower is faster, so the slow one's times over the quick one's
                ratio, low, high = speedup(reach[b], reach[best])
                said = verdict(best, b, ratio, low, high, "quicker to target")
            rows.append({"data set": dataset, "model": model, "rank": rank, "backend": b,
                         "test accuracy % (median)": sig(acc),
                         "time to target (median)": "" if median[b] == float("inf")
                         else seconds(median[b]), "seeds": len(runs[b]), "verdict": said})
    return pd.DataFrame(rows)
