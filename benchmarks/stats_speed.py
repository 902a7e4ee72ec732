"""scipy.stats.bootstrap against the hand-rolled bootstrap benchsuite used before, and the
percentile method against scipy's default BCa: what ``benchsuite.stats`` should use.

Speed: ``summarize`` runs once per case, ``ratio_ci`` once per compared case pair, and a report
of hundreds of cases calls neither (it reads the stored CIs), so a per-call cost in the
milliseconds is what matters. Calibration: coverage of the true median of a lognormal by the
95% interval, at the sample sizes benchmarks have (5-20 repeats), and what BCa does with tied
samples (throughputs of a stable case often tie).

End to end: ``compare`` of two results files of 240 cases each, with scipy's ratio CI and
with the hand-rolled one patched in (``summarize`` is timed per call: a run calls it once per
case, next to seconds of measuring; ``write_report`` calls no bootstrap, it reads the stored
CIs).

Run from the repository root: ``PYTHONPATH=. python benchmarks/stats_speed.py``; quote the
medians with the load average printed first and last (the machine is shared: timings are
noisy).
"""

from __future__ import annotations

import os
import time
import warnings

import numpy as np
from scipy import stats as sps

from benchsuite import stats

RESAMPLES = 2000


def hand_ci(samples, resamples=RESAMPLES, seed=0):
    """The previous benchsuite.measure.bootstrap_ci (percentile, numpy only)."""
    data = np.asarray(samples, dtype=float)
    medians = np.median(np.random.default_rng(seed).choice(data, (resamples, len(data))), axis=1)
    return float(np.quantile(medians, 0.025)), float(np.quantile(medians, 0.975))


def hand_ratio(base, new, resamples=RESAMPLES, seed=0):
    """The previous benchsuite.compare.ratio_ci."""
    rng = np.random.default_rng(seed)
    b, n = np.asarray(base, float), np.asarray(new, float)
    r = (np.median(rng.choice(n, (resamples, len(n))), axis=1)
         / np.median(rng.choice(b, (resamples, len(b))), axis=1))
    return float(np.quantile(r, 0.025)), float(np.quantile(r, 0.975))


def median_ms(fn, *args, calls=200):
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t0)
    return 1000 * float(np.median(times))


def speed() -> None:
    rng = np.random.default_rng(1)
    print("per-call median, ms (200 calls each)")
    for n in (5, 10, 50):
        x = list(rng.normal(1000, 20, n))
        print(f"  bootstrap_ci n={n:3d}: hand {median_ms(hand_ci, x):.3f}   "
              f"scipy {median_ms(stats.bootstrap_ci, x):.3f}")
    b, m = list(rng.normal(1000, 20, 7)), list(rng.normal(900, 20, 7))
    print(f"  ratio_ci     n=  7: hand {median_ms(hand_ratio, b, m):.3f}   "
          f"scipy {median_ms(stats.ratio_ci, b, m):.3f}")


def bca_ci(x, seed):
    res = sps.bootstrap((x,), np.median, n_resamples=RESAMPLES, method="BCa",
                        rng=np.random.default_rng(seed))
    return res.confidence_interval.low, res.confidence_interval.high


def coverage(trials: int = 300) -> None:
    true = 1.0  # the median of lognormal(0, sigma)
    print(f"coverage of the true median by the 95% CI ({trials} trials, lognormal sigma 0.2)")
    rng = np.random.default_rng(2)
    for n in (5, 7, 10, 20):
        hits = {"percentile": 0, "BCa": 0}
        nan = 0
        for t in range(trials):
            x = rng.lognormal(0, 0.2, n)
            lo, hi = stats.bootstrap_ci(x, seed=t)
            hits["percentile"] += lo <= true <= hi
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                lo, hi = bca_ci(x, t)
            nan += bool(np.isnan(lo) or np.isnan(hi))
            hits["BCa"] += lo <= true <= hi
        print(f"  n={n:2d}: percentile {hits['percentile'] / trials:.3f}   "
              f"BCa {hits['BCa'] / trials:.3f} (NaN intervals: {nan})")
    tied = [1000.0, 1000.0, 1000.0, 1001.0, 1000.0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lo, hi = bca_ci(tied, 0)
    print(f"  tied samples {tied}: BCa ({lo}, {hi}), warnings: "
          f"{sorted({type(w.message).__name__ for w in caught})}; "
          f"percentile {stats.bootstrap_ci(tied)}")


def compare_end_to_end(cases: int = 240, calls: int = 5) -> None:
    import tempfile
    from pathlib import Path

    from benchsuite import compare as cmp
    from tests.resultdocs import make_run, write

    rng = np.random.default_rng(4)
    specs = [{"backend": f"b{i % 3}", "model": f"m{i}", "samples": list(rng.normal(1000, 20, 7))}
             for i in range(cases)]
    with tempfile.TemporaryDirectory() as tmp:
        a = write(make_run(specs), Path(tmp) / "a.json")
        b = write(make_run(specs), Path(tmp) / "b.json")
        scipy_ms = median_ms(cmp.compare, [a], [b], calls=calls)
        cmp.ratio_ci = hand_ratio  # the previous implementation, same call
        hand = median_ms(cmp.compare, [a], [b], calls=calls)
    print(f"compare of 2 x {cases} cases, median of {calls}: hand {hand:.0f} ms   "
          f"scipy {scipy_ms:.0f} ms")


if __name__ == "__main__":
    print("load average:", " ".join(f"{v:.2f}" for v in os.getloadavg()))
    speed()
    compare_end_to_end()
    coverage()
    print("load average:", " ".join(f"{v:.2f}" for v in os.getloadavg()))
