"""``benchsuite compare BASE NEW``: per matching case, is NEW faster, slower or the same?

For each case present on both sides (same backend, variant, model and parameters, mode,
device, batch size) the ratio NEW/BASE of the median throughputs gets a bootstrap 95% CI
(resampling each side's raw samples) and a Mann-Whitney U test on the raw samples. The verdict
is ``faster``/``slower`` only when the difference is both significant (p < 0.05) and larger
than the threshold; otherwise ``same`` or ``inconclusive`` (below). Cases on one side only
are ``missing``/``new``; a case that was ok in BASE and is not in NEW is ``failed``. A case
measured under contention on either side (other processes took the CPU in more repeats than
could be re-run) gets no verdict: ``contended``. The default threshold follows the noise the
two runs measured (like asv's factor): max(5%, 2 × the median CV of their cases); with a
calibration (``benchsuite calibrate``, ``--calibration FILE``) each case it covers takes the
threshold that kept A/A false alarms at 1% between separate runs on this machine.

Every judged case also gets ``detectable``: the smallest slowdown (a fraction of throughput)
this comparison would have called ``slower`` with 80% power
(:func:`benchsuite.stats.detectable_independent`: both sides' sample counts and CVs, the
Mann-Whitney test's alpha, the threshold, and the calibration's between-run noise when there
is one; never below the threshold; infinite when the sample counts cannot reach p < 0.05).
A case with neither a significant change nor one beyond the threshold is ``same`` only when a
change of twice its threshold would have been detected (``detectable`` <= 2 × threshold);
otherwise it is ``inconclusive``: no change was seen, but one that matters could have been
missed. ``inconclusive`` is not a regression: the exit code (1 only
for ``slower``/``failed``) is what it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from benchsuite import results
from benchsuite.errors import ResultsError
from benchsuite.stats import detectable_independent, noise_threshold, p_value, ratio_ci
from benchsuite.units import percent_or_none

KEY = ["backend", "variant", "model", "model_params", "mode", "device", "batch_size"]
ALPHA = 0.05
REGRESSIONS = ("slower", "failed")
#: ``same`` needs a detectable change of at most this many thresholds (else ``inconclusive``).
SAME_WITHIN = 2.0


MIN_SIGNIFICANT_SAMPLES = 4  # Mann-Whitney, two-sided: 3 vs 3 cannot go below p = 0.1


@dataclass
class Comparison:
    rows: pd.DataFrame
    threshold: float
    environment_differences: list[str]
    fewest_samples: int = 0
    calibration: str | None = None  # the file the per-case thresholds came from
    uncalibrated: int = 0  # judged cases the calibration did not cover (default threshold)

    @property
    def warnings(self) -> list[str]:
        out = []
        if self.environment_differences:
            out.append("BASE and NEW ran on different environments or settings "
                       f"({', '.join(self.environment_differences)})")
        if 0 < self.fewest_samples < MIN_SIGNIFICANT_SAMPLES:
            out.append(f"some cases have only {self.fewest_samples} samples a side: no change "
                       "in them can be significant (run with --repeats 5 or more)")
        if self.calibration and self.uncalibrated:
            out.append(f"{self.uncalibrated} case(s) are not in {self.calibration}: they take "
                       f"the default threshold {100 * self.threshold:.1f}%")
        return out

    @property
    def detectable_summary(self) -> str:
        """"smallest change this comparison could detect: median X% (cases: a%–b%)"."""
        values = pd.to_numeric(self.rows.get("detectable", pd.Series(dtype=float)),
                               errors="coerce").dropna()
        if values.empty:
            return "smallest change this comparison could detect: no case was judged"
        return (f"smallest change this comparison could detect: median "
                f"{percent_or_none(values.median())} (cases: {percent_or_none(values.min())}–"
                f"{percent_or_none(values.max())})")

    @property
    def regressions(self) -> pd.DataFrame:
        return self.rows[self.rows["verdict"].isin(REGRESSIONS)]


def _ok_cvs(*frames: pd.DataFrame) -> pd.Series:
    """The CVs of the cases that ran, on both sides: the noise the threshold follows."""
    return pd.concat([f.loc[f["status"] == "ok", "cv"] for f in frames])


def _side(paths: list[Path], name: str
          ) -> tuple[pd.DataFrame, list[dict[str, Any]], list[tuple[Path, dict[str, Any]]]]:
    """A side's cases, its fingerprints (with the settings that change what a number means)
    and its runs as read."""
    df, runs = results.load_runs(paths)
    for file, run in runs:
        if run.get("kind") == "ab":  # both environments' cases, under the same keys
            raise ResultsError(f"{name}: {file} is a benchsuite ab file, judged when it ran "
                               "(its 'ab' verdicts): compare takes benchsuite run files")
    if df.empty:
        raise ResultsError(f"{name}: no cases in {', '.join(str(f) for f, _ in runs)}")
    return df, [{**run.get("environment", {}),
                 **{k: (run.get("settings") or {}).get(k) for k in MEASURED_WITH}}
                for _, run in runs], runs


#: The run settings that change what a number means (``--threads idle`` picks a count from the
#: load): two sides that differ in them are compared with a warning, like two machines.
MEASURED_WITH = ("threads", "repeats", "min_time", "precision")


def environment_differences(base_envs, new_envs) -> list[str]:
    """Fingerprint fields and measuring settings that differ between the two sides (a
    comparison across machines, software versions or thread counts is still made, with a
    warning)."""
    fields = ("cpu", "cores_usable", "memory_gib", "python", "packages", "gpus", "thread_env",
              *MEASURED_WITH)
    out = []
    for key in fields:
        b = {repr(e.get(key)) for e in base_envs}
        n = {repr(e.get(key)) for e in new_envs}
        if b != n:
            out.append(key)
    return out


def compare(base: list[Path], new: list[Path], threshold: float | None = None,
            calibration: Any = None) -> Comparison:
    """NEW against BASE. ``calibration``: a :class:`benchsuite.calibration.Calibration` (its
    ``check(runs)`` refuses runs it was not measured for; ``case(key)`` gives a case's
    threshold and modelled between-run sd, or None); an explicit ``threshold`` overrides it."""
    bdf, benv, bruns = _side(base, "BASE")
    ndf, nenv, nruns = _side(new, "NEW")
    if calibration is not None:
        calibration.check([*bruns, *nruns])
    thr = noise_threshold(_ok_cvs(bdf, ndf)) if threshold is None else threshold
    bk = {tuple(r[k] for k in KEY): r for r in bdf.to_dict("records")}
    nk = {tuple(r[k] for k in KEY): r for r in ndf.to_dict("records")}
    if not set(bk) & set(nk):
        raise ResultsError(f"{', '.join(map(str, base))} and {', '.join(map(str, new))} share "
                           "no case (same backend, variant, model, mode, device, batch size): "
                           "nothing to compare")
    cal = calibration if threshold is None else None
    rows = [_row(key, bk.get(key), nk.get(key), thr, cal and cal.case(key))
            for key in sorted(set(bk) | set(nk), key=repr)]
    both = [min(bk[k]["n_samples"], nk[k]["n_samples"]) for k in set(bk) & set(nk)
            if bk[k]["status"] == "ok" and nk[k]["status"] == "ok"]
    judged = [r for r in rows if r["detectable"] is not None]
    return Comparison(pd.DataFrame(rows), thr, environment_differences(benv, nenv),
                      min(both, default=0), cal and cal.source,
                      sum(not r["calibrated"] for r in judged) if cal else 0)


def _row(key, b, n, thr: float, calibrated: tuple[float, float] | None = None
         ) -> dict[str, Any]:
    """One case's verdict; ``calibrated``: its (threshold, noise_sd: between-run sd)."""
    row = dict(zip(KEY, key))
    row.update(base=None, new=None, ratio=None, ci_low=None, ci_high=None, p_value=None,
               threshold=None, detectable=None, calibrated=calibrated is not None)
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
    thr, between = calibrated or (thr, None)
    detectable = detectable_independent(_cv(b), len(b["samples"]), _cv(n), len(n["samples"]),
                                        thr, ALPHA, between_sd=between)
    verdict = "same" if detectable <= SAME_WITHIN * thr else "inconclusive"
    if p < ALPHA and abs(ratio - 1) > thr:
        verdict = "faster" if ratio > 1 else "slower"
    return {**row, "base": b["throughput"], "new": n["throughput"], "ratio": ratio,
            "ci_low": lo, "ci_high": hi, "p_value": p, "threshold": thr,
            "detectable": detectable, "verdict": verdict}


def _cv(r: dict[str, Any]) -> float:
    """A side's CV (the sd of log throughput, near enough); from its samples when the file
    has none."""
    cv = r.get("cv")
    if cv is None or pd.isna(cv):
        s = pd.Series(r["samples"], dtype=float)
        cv = float(s.std() / s.mean()) if len(s) > 1 and s.mean() else float("inf")
    return float(cv)
