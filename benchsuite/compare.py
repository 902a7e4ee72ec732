"""``benchsuite compare BASE NEW``: per matching case, is NEW faster, slower or the same?

For each case present on both sides (same backend, variant, model and parameters, mode,
device, batch size) the ratio NEW/BASE of the median throughputs gets a bootstrap 95% CI
(resampling each side's raw samples) and a Mann-Whitney U test on the raw samples. The verdict
is ``faster``/``slower`` only when the difference is both significant (p < 0.05) and larger
than the threshold; otherwise ``same``. Cases on one side only are ``missing``/``new``; a case
that was ok in BASE and is not in NEW is ``failed``. A case measured under contention on
either side (other processes took the CPU in more repeats than could be re-run) gets no
verdict: ``contended``. The default threshold follows the noise the
two runs measured (like asv's factor): max(5%, 2 × the median CV of their cases).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from benchsuite import results
from benchsuite.errors import ResultsError
from benchsuite.stats import noise_threshold, p_value, ratio_ci

KEY = ["backend", "variant", "model", "model_params", "mode", "device", "batch_size"]
ALPHA = 0.05
REGRESSIONS = ("slower", "failed")


MIN_SIGNIFICANT_SAMPLES = 4  # Mann-Whitney, two-sided: 3 vs 3 cannot go below p = 0.1


@dataclass
class Comparison:
    rows: pd.DataFrame
    threshold: float
    environment_differences: list[str]
    fewest_samples: int = 0

    @property
    def warnings(self) -> list[str]:
        out = []
        if self.environment_differences:
            out.append("BASE and NEW ran on different environments "
                       f"({', '.join(self.environment_differences)})")
        if 0 < self.fewest_samples < MIN_SIGNIFICANT_SAMPLES:
            out.append(f"some cases have only {self.fewest_samples} samples a side: no change "
                       "in them can be significant (run with --repeats 5 or more)")
        return out

    @property
    def regressions(self) -> pd.DataFrame:
        return self.rows[self.rows["verdict"].isin(REGRESSIONS)]


def _ok_cvs(*frames: pd.DataFrame) -> pd.Series:
    """The CVs of the cases that ran, on both sides: the noise the threshold follows."""
    return pd.concat([f.loc[f["status"] == "ok", "cv"] for f in frames])


def _side(paths: list[Path], name: str) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    df, runs = results.load_runs(paths)
    for file, run in runs:
        if run.get("kind") == "ab":  # both environments' cases, under the same keys
            raise ResultsError(f"{name}: {file} is a benchsuite ab file, judged when it ran "
                               "(its 'ab' verdicts): compare takes benchsuite run files")
    if df.empty:
        raise ResultsError(f"{name}: no cases in {', '.join(str(f) for f, _ in runs)}")
    return df, [run.get("environment", {}) for _, run in runs]


def environment_differences(base_envs, new_envs) -> list[str]:
    """Fingerprint fields that differ between the two sides (a comparison across machines or
    software versions is still made, with a warning)."""
    fields = ("cpu", "cores_usable", "memory_gib", "python", "packages", "gpus", "thread_env")
    out = []
    for key in fields:
        b = {repr(e.get(key)) for e in base_envs}
        n = {repr(e.get(key)) for e in new_envs}
        if b != n:
            out.append(key)
    return out


def compare(base: list[Path], new: list[Path], threshold: float | None = None) -> Comparison:
    bdf, benv = _side(base, "BASE")
    ndf, nenv = _side(new, "NEW")
    thr = noise_threshold(_ok_cvs(bdf, ndf)) if threshold is None else threshold
    bk = {tuple(r[k] for k in KEY): r for r in bdf.to_dict("records")}
    nk = {tuple(r[k] for k in KEY): r for r in ndf.to_dict("records")}
    if not set(bk) & set(nk):
        raise ResultsError(f"{', '.join(map(str, base))} and {', '.join(map(str, new))} share "
                           "no case (same backend, variant, model, mode, device, batch size): "
                           "nothing to compare")
    rows = [_row(key, bk.get(key), nk.get(key), thr) for key in sorted(set(bk) | set(nk),
                                                                       key=repr)]
    both = [min(bk[k]["n_samples"], nk[k]["n_samples"]) for k in set(bk) & set(nk)
            if bk[k]["status"] == "ok" and nk[k]["status"] == "ok"]
    return Comparison(pd.DataFrame(rows), thr, environment_differences(benv, nenv),
                      min(both, default=0))


def _row(key, b, n, thr: float) -> dict[str, Any]:
    row = dict(zip(KEY, key))
    row.update(base=None, new=None, ratio=None, ci_low=None, ci_high=None, p_value=None)
    if n is None:
        return {**row, "verdict": "missing"}
    if b is None or b["status"] != "ok":
        return {**row, "new": n["throughput"], "verdict": "new"}
    if n["status"] != "ok":
        return {**row, "base": b["throughput"], "verdict": "failed",
                "error": f"{n['status']}: {n['error']}"}
    if b.get("contended") or n.get("contended"):
        sides = " and ".join(name for name, r in (("BASE", b), ("NEW", n)) if r.get("contended"))
        return {**row, "base": b["throughput"], "new": n["throughput"],
                "ratio": n["throughput"] / b["throughput"], "verdict": "contended",
                "error": f"measured under contention in {sides}: no verdict"}
    lo, hi = ratio_ci(b["samples"], n["samples"])
    p = p_value(b["samples"], n["samples"])
    ratio = n["throughput"] / b["throughput"]
    verdict = "same"
    if p < ALPHA and abs(ratio - 1) > thr:
        verdict = "faster" if ratio > 1 else "slower"
    return {**row, "base": b["throughput"], "new": n["throughput"], "ratio": ratio,
            "ci_low": lo, "ci_high": hi, "p_value": p, "verdict": verdict}
