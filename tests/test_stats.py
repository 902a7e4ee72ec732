"""benchsuite.stats against known answers: order statistics, exact Mann-Whitney p-values, and
the coverage of the bootstrap intervals on distributions whose median is known."""

from __future__ import annotations

import ast
import subprocess
import sys
from math import comb
from pathlib import Path

import numpy as np
import pytest

from benchsuite import stats


def test_summarize_known_samples():
    data = [100.0, 101.0, 102.0, 103.0, 104.0]
    s = stats.summarize(data)
    assert s["median"] == 102.0
    assert s["iqr"] == 2.0
    assert s["cv"] == pytest.approx(np.std(data, ddof=1) / 102)
    assert 100.0 <= s["ci_low"] <= 102.0 <= s["ci_high"] <= 104.0
    assert s["samples"] == data and s["unstable"] is False


def test_unstable_when_cv_above_ten_percent():
    assert stats.summarize([1.0, 2.0, 1.0, 2.0, 1.5])["unstable"]
    assert not stats.summarize([100.0, 105.0, 95.0, 100.0])["unstable"]


def test_bootstrap_ci_is_reproducible_and_narrows_with_more_data():
    rng = np.random.default_rng(0)
    few, many = list(rng.normal(100, 5, 5)), list(rng.normal(100, 5, 200))
    assert stats.bootstrap_ci(few) == stats.bootstrap_ci(few)
    lo_f, hi_f = stats.bootstrap_ci(few)
    lo_m, hi_m = stats.bootstrap_ci(many)
    assert hi_m - lo_m < hi_f - lo_f
    assert stats.bootstrap_ci([3.0]) == (3.0, 3.0)
    assert stats.bootstrap_ci([7.0] * 6) == (7.0, 7.0)  # all tied: no NaN


def test_bootstrap_ci_covers_the_true_median_at_about_the_nominal_rate():
    """20 samples of lognormal(0, 0.3) (median 1): the 95% interval covers 1 in about 95% of
    200 independent draws (binomial sd ~1.5%; the percentile bootstrap runs a little low)."""
    rng = np.random.default_rng(42)
    hits = sum(lo <= 1.0 <= hi for lo, hi in
               (stats.bootstrap_ci(rng.lognormal(0, 0.3, 20), seed=t) for t in range(200)))
    assert 0.88 <= hits / 200 <= 0.99
    lo, hi = stats.bootstrap_ci(rng.lognormal(0, 0.3, 20), confidence=0.5)
    wide = stats.bootstrap_ci(rng.lognormal(0, 0.3, 20), confidence=0.99)
    assert wide[1] - wide[0] > hi - lo  # the confidence level is honoured


def test_ratio_ci_covers_the_true_ratio():
    """new = 1.5 × base in distribution: the interval of median(new)/median(base) covers 1.5
    in about 95% of draws and is centred near it."""
    rng = np.random.default_rng(7)
    hits = 0
    for t in range(200):
        base, new = rng.normal(1000, 30, 15), 1.5 * rng.normal(1000, 30, 15)
        lo, hi = stats.ratio_ci(base, new, seed=t)
        hits += lo <= 1.5 <= hi
    assert 0.88 <= hits / 200 <= 0.99
    lo, hi = stats.ratio_ci([10.0, 10.0, 10.0], [20.0, 20.0, 20.0])
    assert lo == hi == 2.0


def test_mann_whitney_exact_p_values():
    # Completely separated samples: the exact two-sided p is 2 / C(m + n, n).
    assert stats.p_value([1, 2, 3], [4, 5, 6]) == pytest.approx(2 / comb(6, 3))  # 0.1
    assert stats.p_value([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]) == pytest.approx(2 / comb(10, 5))
    # One swap (U = 1 of 25): P(U <= 1) = 2 arrangements of 252, doubled.
    assert stats.p_value([1, 2, 3, 4, 6], [5, 7, 8, 9, 10]) == pytest.approx(4 / comb(10, 5))
    assert stats.p_value([1.0, 2.0], [1.0, 2.0]) == pytest.approx(1.0)
    assert stats.p_value([1.0], [5.0, 6.0, 7.0]) == 1.0  # one sample: no evidence


def test_mann_whitney_rejects_at_about_alpha_under_the_null():
    rng = np.random.default_rng(3)
    p = [stats.p_value(rng.normal(0, 1, 10), rng.normal(0, 1, 10)) for _ in range(400)]
    assert 0.02 <= np.mean(np.array(p) < 0.05) <= 0.09
    shifted = [stats.p_value(rng.normal(0, 1, 10), rng.normal(2, 1, 10)) for _ in range(100)]
    assert np.mean(np.array(shifted) < 0.05) > 0.9


def test_noise_threshold_follows_the_median_cv_with_a_floor():
    assert stats.noise_threshold([0.01, 0.02, 0.03]) == 0.05  # quiet runs: the floor
    assert stats.noise_threshold([0.04, 0.05, 0.30]) == pytest.approx(0.10)
    assert stats.noise_threshold([float("nan"), None, 0.06]) == pytest.approx(0.12)
    assert stats.noise_threshold([]) == 0.05


def test_pool_summarizes_every_process_sample():
    groups = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    pooled = stats.pool(groups)
    assert pooled["median"] == 3.5 and pooled["samples"] == [1, 2, 3, 4, 5, 6]
    assert pooled == stats.summarize([1, 2, 3, 4, 5, 6])
    assert stats.pool(iter([[10.0], [10.0]]))["cv"] == 0.0  # a generator works too


def test_latency_summary_of_known_latencies():
    seconds = [i / 1000 for i in range(1, 102)]  # 1..101 ms
    s = stats.latency_summary(seconds)
    assert s["p50_ms"] == pytest.approx(51) and s["p90_ms"] == pytest.approx(91)
    assert s["p99_ms"] == pytest.approx(100) and s["mean_ms"] == pytest.approx(51)
    assert s["n"] == 101 and len(s["quantiles_ms"]) == 99
    assert s["quantiles_ms"] == sorted(s["quantiles_ms"]) and s["quantiles_ms"][0] == 2


def test_stats_is_a_leaf():
    """Every layer may use it, so it may import nothing from benchsuite."""
    tree = ast.parse(Path(stats.__file__).read_text())
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert not [n for n in names if n.split(".")[0] == "benchsuite"]


def test_timing_code_does_not_import_scipy():
    """summarize runs in every worker; importing scipy.stats there costs over a second per
    worker start (measured: benchmarks/stats_speed.py), so only compare's p-value loads it."""
    code = ("import sys; import benchsuite.execution.worker, benchsuite.bench, benchsuite.measure; "
            "import benchsuite.stats as s; "
            "s.summarize([1.0, 2.0, 3.0]); s.ratio_ci([1.0, 2.0], [2.0, 3.0]); "
            "print('scipy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


# -- the smallest detectable change, against simulation ------------------------------------

def _compare_rule_power(change: float, n: int, cv: float, threshold: float, trials: int,
                        rng) -> float:
    """How often compare's rule (Mann-Whitney p < 0.05 and a ratio of medians beyond the
    threshold) calls NEW slower when it is ``change`` slower in truth (lognormal samples)."""
    from scipy.stats import mannwhitneyu

    base = np.exp(rng.normal(0, cv, (trials, n)))
    new = np.exp(rng.normal(np.log1p(-change), cv, (trials, n)))
    p = mannwhitneyu(base, new, alternative="two-sided", axis=1, method="exact").pvalue
    ratio = np.median(new, axis=1) / np.median(base, axis=1)
    return float(np.mean((p < 0.05) & (ratio < 1 - threshold)))


@pytest.mark.parametrize("n, cv, threshold", [(5, 0.05, 0.05), (10, 0.05, 0.05),
                                              (5, 0.01, 0.05), (7, 0.10, 0.20)])
def test_compare_detectable_change_is_caught_about_80_percent_of_the_time(n, cv, threshold):
    """Seeded simulation of compare's own rule: the detectable change is caught with about
    80% power (the normal approximation of a 5-sample test is not exact: 0.7-0.93), half of
    it well under that, and never below the threshold."""
    rng = np.random.default_rng(11)
    d = stats.detectable_independent(cv, n, cv, n, threshold)
    assert d >= threshold
    assert 0.70 <= _compare_rule_power(d, n, cv, threshold, 2000, rng) <= 0.93
    assert _compare_rule_power(d / 2, n, cv, threshold, 2000, rng) < 0.5


def test_what_a_rank_test_cannot_reach_is_undetectable():
    assert stats.mann_whitney_min_p(3, 3) == pytest.approx(0.1)
    assert stats.mann_whitney_min_p(5, 5) == pytest.approx(2 / comb(10, 5))
    assert stats.detectable_independent(0.01, 3, 0.01, 3) == float("inf")  # p >= 0.1 always
    assert np.isfinite(stats.detectable_independent(0.01, 4, 0.01, 4))  # 2/70 < 0.05
    assert stats.signed_rank_min_p(5) == 0.0625
    assert stats.detectable_paired([0.01, -0.02, 0.03, 0.0, 0.01]) == float("inf")
    assert stats.detectable_paired([0.01] * 10) == pytest.approx(0, abs=1e-12)  # no noise
    # More noise, fewer samples, a stricter alpha: a larger detectable change.
    assert stats.detectable_independent(0.1, 5, 0.1, 5) > stats.detectable_independent(
        0.05, 5, 0.05, 5) > stats.detectable_independent(0.05, 20, 0.05, 20)
    logs = np.random.default_rng(0).normal(0, 0.1, 10)
    assert stats.detectable_paired(logs, 0.01) > stats.detectable_paired(logs, 0.05)
    # Between-run noise (a calibration) raises compare's detectable change.
    assert stats.detectable_independent(0.01, 5, 0.01, 5, 0.05, between_sd=0.05) > 0.10 > \
        stats.detectable_independent(0.01, 5, 0.01, 5, 0.05)


@pytest.mark.parametrize("rounds, sd", [(10, 0.05), (20, 0.15)])
def test_ab_detectable_change_is_caught_about_80_percent_of_the_time(rounds, sd):
    """The Wilcoxon signed-rank test on per-round log ratios, simulated: a slowdown of the
    detectable size (from a sample whose sd is exactly ``sd``) is significant in about 80% of
    trials."""
    from scipy.stats import wilcoxon

    rng = np.random.default_rng(5)
    x = rng.normal(0, 1, rounds)
    d = stats.detectable_paired((x - x.mean()) / x.std(ddof=1) * sd)
    logs = rng.normal(np.log1p(-d), sd, (2000, rounds))
    power = np.mean(wilcoxon(logs, axis=1, method="exact").pvalue < 0.05)
    assert 0.72 <= power <= 0.92


def test_aa_threshold_is_exceeded_by_one_percent_of_aa_pairs():
    rng = np.random.default_rng(9)
    sd = 0.04
    thr = stats.aa_threshold(sd)
    diff = rng.normal(0, sd, 200_000) - rng.normal(0, sd, 200_000)
    assert np.mean(np.abs(diff) > np.log1p(thr)) == pytest.approx(0.01, abs=0.002)
    # compare's rule, |ratio - 1| > threshold, alarms less often on the slow side: at most 1%.
    assert 0.004 <= np.mean(np.abs(np.expm1(diff)) > thr) <= 0.01
    assert stats.aa_threshold(sd, 0.05) < thr
    # The sd estimated from 5 runs: the t prediction bound keeps new A/A pairs at 1%.
    s = rng.normal(0, sd, (40_000, 5)).std(axis=1, ddof=1)  # 40,000 calibrations of 5 runs
    new_pair = rng.normal(0, sd, 40_000) - rng.normal(0, sd, 40_000)  # and a pair after each
    per_sd_t = np.log1p(stats.aa_threshold(1.0, dof=4))  # the log threshold is linear in sd
    per_sd_z = np.log1p(stats.aa_threshold(1.0))
    assert np.mean(np.abs(new_pair) > per_sd_t * s) == pytest.approx(0.01, abs=0.002)
    assert np.mean(np.abs(new_pair) > per_sd_z * s) > 0.02  # a known-sd bound: too many
