"""Statistics of benchmark samples, in one place: the summary of one case (median, bootstrap
CI, IQR, CV), pooling of several processes' samples, latency percentiles, and what ``compare``
needs (a bootstrap CI of a ratio of medians, Mann-Whitney U, the noise threshold), the
paired ratio of two cases measured in turns (a bootstrap over rounds), and the smallest change
each judgement could have detected (``compare``'s, ``ab``'s and ``calibrate``'s, one formula).

A leaf: it imports nothing from benchsuite, so every layer may use it. The percentile
bootstrap is numpy's resampling, not ``scipy.stats.bootstrap``: ``summarize`` runs in every
worker process, and importing ``scipy.stats`` there costs 1.2-2.9 s per worker start (it made
worker start-ups miss 1 s timeouts), while numpy's costs about the same per call as scipy's
and gives the intervals the code before this module gave, to the last bit or so
(``benchmarks/stats_speed.py``). The Mann-Whitney test is scipy's (its exact small-sample
distribution is not worth rewriting), imported only when ``compare`` asks for a p-value.
Percentile, not BCa: BCa's jackknife gives NaN on tied samples, common for a stable case.
Resampling is seeded: the same samples always give the same interval.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from statistics import NormalDist

import numpy as np

UNSTABLE_CV = 0.10  # a case whose repeats vary more than this is flagged unstable
CONFIDENCE = 0.95
RESAMPLES = 2000
MIN_THRESHOLD = 0.05  # compare: the smallest change that can count, whatever the noise
POWER = 0.80  # "detectable": caught at least this often
#: The median of n normal samples varies this much more than their mean (asymptotically
#: sqrt(pi/2); 1.20 for n = 5): compare's threshold applies to a ratio of medians.
MEDIAN_SE = math.sqrt(math.pi / 2)
#: Rank tests (Mann-Whitney, Wilcoxon) need sqrt(pi/3) times the t-test's standard error on
#: normal data for the same power (asymptotic relative efficiency 3/pi).
RANK_SE = math.sqrt(math.pi / 3)


def bootstrap_ci(samples: Sequence[float], confidence: float = CONFIDENCE,
                 resamples: int = RESAMPLES, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the median (one sample: that value)."""
    data = np.asarray(samples, dtype=float)
    if len(data) < 2:
        return float(data[0]), float(data[0])
    return _percentile_bootstrap((data,), _median, confidence, resamples, seed)


def ratio_ci(base: Sequence[float], new: Sequence[float], confidence: float = CONFIDENCE,
             resamples: int = RESAMPLES, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap CI of median(new) / median(base), each side resampled on its own
    (the two runs are independent)."""
    b, n = np.asarray(base, dtype=float), np.asarray(new, dtype=float)
    return _percentile_bootstrap((b, n), _median_ratio, confidence, resamples, seed)


def paired_ratio(base: Sequence[float], base_rounds: Sequence[int], new: Sequence[float],
                 new_rounds: Sequence[int], confidence: float = CONFIDENCE,
                 resamples: int = RESAMPLES, seed: int = 0
                 ) -> tuple[float, float, float, int] | None:
    """new / base from samples taken in the same rounds (interleaved measurement): the
    geometric mean of the per-round ratios, the percentile bootstrap CI over rounds (the rounds
    resampled as pairs), and how many rounds paired up; None when fewer than 2 did."""
    logs = paired_logs(base, base_rounds, new, new_rounds)
    if len(logs) < 2:
        return None
    lo, hi = _percentile_bootstrap((logs,), _mean, confidence, resamples, seed)
    return float(np.exp(logs.mean())), float(np.exp(lo)), float(np.exp(hi)), len(logs)


def half_width(ratio: float, lo: float, hi: float) -> float:
    """The relative half-width of a ratio's CI: how far, as a fraction of the ratio, its
    farther end lies (0.05: the ratio is known to within 5%)."""
    return max(hi / ratio - 1, 1 - lo / ratio)


def paired_logs(base: Sequence[float], base_rounds: Sequence[int], new: Sequence[float],
                new_rounds: Sequence[int]) -> np.ndarray:
    """log(new / base) of every round both sides have a sample of, in round order."""
    b = dict(zip(base_rounds, base))
    return np.log(np.asarray([x / b[r] for r, x in sorted(zip(new_rounds, new)) if r in b],
                             dtype=float))


def signed_rank_p(logs: Sequence[float]) -> float:
    """Two-sided Wilcoxon signed-rank test of per-round log ratios against 0 (exact for small
    samples without ties or zeros). n rounds cannot go below p = 2 / 2**n: 0.0625 for 5,
    0.002 for 10. Fewer than 2 rounds, or all ratios exactly 1: 1.0 (no evidence)."""
    x = np.asarray(logs, dtype=float)
    if len(x) < 2 or not np.any(x):
        return 1.0
    from scipy.stats import wilcoxon  # 1+ s to import: only where a verdict is given

    return float(wilcoxon(x, alternative="two-sided").pvalue)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment (family-wise error control): the k-th smallest of m
    p-values times (m - k + 1), made monotone, at most 1; in the order given."""
    order = np.argsort(np.asarray(p_values, dtype=float), kind="stable")
    m, running, out = len(order), 0.0, [1.0] * len(order)
    for k, i in enumerate(order):
        running = max(running, min(1.0, (m - k) * float(p_values[i])))
        out[i] = running
    return out


def _mean(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis)


def _median(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.median(x, axis=axis)


def _median_ratio(b: np.ndarray, n: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.median(n, axis=axis) / np.median(b, axis=axis)


def _percentile_bootstrap(data: tuple[np.ndarray, ...], statistic, confidence: float,
                          resamples: int, seed: int) -> tuple[float, float]:
    """The percentile bootstrap CI of ``statistic(*samples, axis=-1)``: each sample resampled
    with replacement on its own, ``resamples`` times, from one seeded generator."""
    rng = np.random.default_rng(seed)
    drawn = [x[rng.integers(0, len(x), (resamples, len(x)))] for x in data]
    values = statistic(*drawn, axis=-1)
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(values, [alpha, 1 - alpha])
    return float(lo), float(hi)


def p_value(base: Sequence[float], new: Sequence[float]) -> float:
    """Two-sided Mann-Whitney U (exact for small samples without ties). With n samples a side
    the smallest p is 2/C(2n, n): 0.1 for 3 vs 3, 0.008 for 5 vs 5 — fewer than 4 repeats can
    never be significant. Fewer than 2 samples on a side: 1.0 (no evidence)."""
    if len(base) < 2 or len(new) < 2:
        return 1.0
    from scipy.stats import mannwhitneyu  # 1+ s to import: not in every worker, only here

    return float(mannwhitneyu(base, new, alternative="two-sided").pvalue)


def noise_threshold(cvs: Iterable[float], floor: float = MIN_THRESHOLD,
                    factor: float = 2.0) -> float:
    """The smallest relative change that counts, from the noise the runs measured (like asv's
    factor): max(floor, factor × the median CV of their cases). NaN CVs are ignored."""
    values = np.asarray(list(cvs), dtype=float)  # None becomes NaN
    values = values[~np.isnan(values)]
    return max(floor, factor * float(np.median(values))) if len(values) else floor


def summarize(samples: Sequence[float]) -> dict[str, object]:
    """Median, bootstrap 95% CI, IQR, CV (sample std / mean), the unstable flag and the raw
    samples, JSON-ready: the ``throughput`` record of a case."""
    data = np.asarray(samples, dtype=float)
    lo, hi = bootstrap_ci(data)
    mean = float(data.mean())
    cv = float(data.std(ddof=1) / mean) if len(data) > 1 and mean else 0.0
    q1, q3 = np.quantile(data, [0.25, 0.75])
    return {
        "median": float(np.median(data)),
        "ci_low": lo,
        "ci_high": hi,
        "iqr": float(q3 - q1),
        "cv": cv,
        "unstable": cv > UNSTABLE_CV,
        "samples": [float(s) for s in data],
    }


def pool(groups: Iterable[Sequence[float]]) -> dict[str, object]:
    """One summary of the same case measured in several processes: the samples pooled (each
    process's repeats count as repeats of the case), summarized as by :func:`summarize`."""
    return summarize([float(s) for group in groups for s in group])


def latency_summary(seconds: Sequence[float]) -> dict[str, object]:
    """p50/p90/p99 and mean of per-step latencies, in milliseconds, the count, and the 1st..99th
    percentiles (the distribution, compactly, for plots)."""
    ms = np.asarray(seconds, dtype=float) * 1000
    p50, p90, p99 = np.percentile(ms, [50, 90, 99])
    return {"p50_ms": float(p50), "p90_ms": float(p90), "p99_ms": float(p99),
            "mean_ms": float(ms.mean()), "n": len(ms),
            "quantiles_ms": [float(q) for q in np.percentile(ms, np.arange(1, 100))]}


def _quantile(q: float, df: float | None = None) -> float:
    """The normal quantile, or Student's t with ``df`` degrees of freedom (small samples)."""
    if df is None or df > 200:
        return NormalDist().inv_cdf(q)
    from scipy.stats import t  # only where a detectable change is computed

    return float(t.ppf(q, df))


def mann_whitney_min_p(n_base: int, n_new: int) -> float:
    """The smallest two-sided p an exact Mann-Whitney U test of n vs m samples can give:
    2 / C(n + m, n) (0.1 for 3 vs 3, 0.008 for 5 vs 5)."""
    return 1.0 if min(n_base, n_new) < 2 else min(1.0, 2 / math.comb(n_base + n_new, n_base))


def signed_rank_min_p(n: int) -> float:
    """The smallest two-sided p an exact Wilcoxon signed-rank test of n pairs can give:
    2 / 2**n (0.0625 for 5 rounds, 0.002 for 10)."""
    return 1.0 if n < 2 else min(1.0, 2 / 2**n)


def slowdown(d: float) -> float:
    """A detectable difference of logs as the slowdown it is (0.10: throughput down 10%, a
    ratio new/base of 0.90, what the gate is for); inf stays inf (nothing was detectable)."""
    return math.inf if not math.isfinite(d) else -math.expm1(-d)


def detectable_independent(cv_base: float, n_base: int, cv_new: float, n_new: int,
                           threshold: float = 0.0, alpha: float = 0.05,
                           power: float = POWER, between_sd: float | None = None) -> float:
    """``compare``'s smallest detectable change: the true slowdown (:func:`slowdown`) that
    two runs of n_base and n_new samples (their CVs ~ the sd of log throughput) show as
    ``slower`` with probability ``power`` (a speed-up of the same log size as ``faster``,
    near enough), under its rule (Mann-Whitney p < ``alpha`` and a ratio of medians beyond
    ``threshold``). A normal approximation on log throughput:

    - the test: (t_{1-alpha/2} + t_power) x RANK_SE x sqrt(cv_b^2/n_b + cv_n^2/n_n), t with
      min(n_b, n_n) - 1 degrees of freedom (Welch's conservative bound: the exact test's
      attainable levels are coarse with 5 samples, and n_b + n_n - 2 gave 70% power there
      in simulation); inf when the exact test's smallest p is not below ``alpha`` (3 vs 3
      samples: nothing is ever significant);
    - the threshold: the observed log ratio of medians (standard error MEDIAN_SE x the same
      root, or sqrt(2) x ``between_sd`` when the runs' medians are known, from a
      calibration, to vary that much from run to run) must pass the threshold, -log(1 -
      threshold) for a slowdown: that + z_power x se.

    The larger of the two, never below ``threshold``; inf: no change could have been."""
    if mann_whitney_min_p(n_base, n_new) >= alpha or threshold >= 1 or not (
            math.isfinite(cv_base) and math.isfinite(cv_new)):
        return math.inf  # (a threshold of 100% or more: no slowdown ever passes it)
    root = math.sqrt(cv_base**2 / n_base + cv_new**2 / n_new)
    df = min(n_base, n_new) - 1  # Welch's conservative degrees of freedom
    test = (_quantile(1 - alpha / 2, df) + _quantile(power, df)) * RANK_SE * root
    se = max(MEDIAN_SE * root, math.sqrt(2) * (between_sd or 0.0))
    # A slowdown must pass the larger log threshold: a ratio below 1 - threshold.
    beyond = -math.log1p(-min(threshold, 0.999)) + _quantile(power) * se
    return max(threshold, slowdown(max(test, beyond)))


def detectable_paired(logs: Sequence[float], alpha: float = 0.05,
                      power: float = POWER) -> float:
    """``ab``'s smallest detectable slowdown of one case: from the sd s of its per-round log
    ratios and their count n, (t_{1-alpha/2} + t_power) x RANK_SE x s / sqrt(n), t with
    n - 1 degrees of freedom (a normal approximation of the Wilcoxon signed-rank test);
    inf when the exact test's smallest p, 2 / 2**n, is not below ``alpha`` (with 5 rounds no
    change is detectable at 0.05). ``alpha``: the level the case's p must reach (ab's alpha
    over the number of judged cases: Holm's first step, when one case changed)."""
    x = np.asarray(logs, dtype=float)
    if signed_rank_min_p(len(x)) >= alpha:
        return math.inf
    n, s = len(x), float(x.std(ddof=1))
    return slowdown((_quantile(1 - alpha / 2, n - 1) + _quantile(power, n - 1))
                    * RANK_SE * s / math.sqrt(n))


def aa_threshold(between_sd: float, false_alarms: float = 0.01, dof: int | None = None
                 ) -> float:
    """The relative change two new A/A runs' medians exceed (either way) with probability
    ``false_alarms``, when one run's log median varies with sd ``between_sd``: their
    difference has sd sqrt(2) x between_sd, so q_{1 - false_alarms/2} x that. When the sd
    was estimated with ``dof`` degrees of freedom, q is Student's t (a prediction bound: the
    estimate's own error counted; 9.92 for 2, 2.92 for 16, against the normal 2.58 of a
    known sd)."""
    return math.expm1(_quantile(1 - false_alarms / 2, dof) * math.sqrt(2) * between_sd)
