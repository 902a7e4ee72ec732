"""Should ``benchsuite.stats`` bootstrap with ``scipy.stats.bootstrap`` or with numpy? Measured:

- import cost in a fresh process: ``summarize`` runs in every worker process, so whatever it
  imports is paid at every worker start;
- per-call cost of the median CI (once per case) and of the ratio CI (once per compared pair),
  the previous hand-rolled code, scipy's percentile bootstrap, and ``benchsuite.stats``;
- ``compare`` end to end over 2 x 240 cases, with scipy's ratio CI patched in and without;
- calibration: coverage of the true median of a lognormal by the 95% interval at the sample
  sizes benchmarks have (5-20 repeats), percentile against scipy's default BCa, and what BCa
  does with tied samples (a stable case's throughputs often tie).

``write_report`` calls no bootstrap (it reads the stored CIs), so it is not timed here.

Run from the repository root: ``PYTHONPATH=. python benchmarks/stats_speed.py``; quote the
medians with the load average printed first and last (the machine is shared: timings are
noisy).
"""

from __future__ import annotations

import os
import subprocess
import sys
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
    bm = np.median(rng.choice(b, (resamples, len(b))), axis=1)
    nm = np.median(rng.choice(n, (resamples, len(n))), axis=1)
    r = nm / bm
    return float(np.quantile(r, 0.025)), float(np.quantile(r, 0.975))


def scipy_ci(samples, seed=0, method="percentile"):
    res = sps.bootstrap((np.asarray(samples, float),), np.median, n_resamples=RESAMPLES,
                        vectorized=True, method=method, rng=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def scipy_ratio(base, new, seed=0):
    res = sps.bootstrap((np.asarray(base, float), np.asarray(new, float)),
                        lambda b, n, axis: np.median(n, axis=axis) / np.median(b, axis=axis),
                        n_resamples=RESAMPLES, vectorized=True, method="percentile",
                        rng=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def median_ms(fn, *args, calls=200):
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t0)
    return 1000 * float(np.median(times))


def import_cost(runs: int = 5) -> None:
    def fresh(code: str) -> float:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout
        return float(out)

    timer = "import time; t = time.perf_counter(); {}; print(time.perf_counter() - t)"
    for what in ("import numpy", "import numpy, scipy.stats", "import benchsuite.execution.worker"):
        ms = [1000 * fresh(timer.format(what)) for _ in range(runs)]
        print(f"  {what:28s} {np.median(ms):6.0f} ms (median of {runs} fresh processes)")


def speed() -> None:
    rng = np.random.default_rng(1)
    print("per-call median, ms (200 calls each): previous code / scipy / benchsuite.stats")
    for n in (5, 10, 50):
        x = list(rng.normal(1000, 20, n))
        print(f"  median CI n={n:3d}: {median_ms(hand_ci, x):.3f} / {median_ms(scipy_ci, x):.3f}"
              f" / {median_ms(stats.bootstrap_ci, x):.3f}")
    b, m = list(rng.normal(1000, 20, 7)), list(rng.normal(900, 20, 7))
    print(f"  ratio CI  n=  7: {median_ms(hand_ratio, b, m):.3f} / "
          f"{median_ms(scipy_ratio, b, m):.3f} / {median_ms(stats.ratio_ci, b, m):.3f}")


def same_intervals(trials: int = 200) -> None:
    """How far benchsuite.stats' intervals are from the previous code's (same seeds)."""
    rng = np.random.default_rng(5)
    worst = {"median CI": 0.0, "ratio CI": 0.0}
    for _ in range(trials):
        n = int(rng.integers(3, 30))
        x, y = rng.normal(100, 5, n), rng.normal(100, 5, n)
        for name, ours, before in (("median CI", stats.bootstrap_ci(x), hand_ci(x)),
                                   ("ratio CI", stats.ratio_ci(x, y), hand_ratio(x, y))):
            gap = max(abs(a - b) / abs(b) for a, b in zip(ours, before))
            worst[name] = max(worst[name], gap)
    print(f"  largest relative difference from the previous code over {trials} inputs: "
          + ", ".join(f"{k} {v:.1e}" for k, v in worst.items()))


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
        ours = median_ms(cmp.compare, [a], [b], calls=calls)
        cmp.ratio_ci = scipy_ratio  # same call, scipy's bootstrap
        with_scipy = median_ms(cmp.compare, [a], [b], calls=calls)
    print(f"  compare of 2 x {cases} cases, median of {calls}: benchsuite.stats {ours:.0f} ms, "
          f"scipy ratio CI {with_scipy:.0f} ms")


def coverage(trials: int = 300) -> None:
    true = 1.0  # the median of lognormal(0, sigma)
    print(f"coverage of the true median by the 95% CI ({trials} trials, lognormal sigma 0.2)")
    rng = np.random.default_rng(2)
    for n in (5, 7, 10, 20):
        hits = {"percentile": 0, "BCa": 0}
        for t in range(trials):
            x = rng.lognormal(0, 0.2, n)
            lo, hi = stats.bootstrap_ci(x, seed=t)
            hits["percentile"] += lo <= true <= hi
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                lo, hi = scipy_ci(x, t, method="BCa")
            hits["BCa"] += lo <= true <= hi
        print(f"  n={n:2d}: percentile {hits['percentile'] / trials:.3f}   "
              f"BCa {hits['BCa'] / trials:.3f}")
    tied = [1000.0, 1000.0, 1000.0, 1001.0, 1000.0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lo, hi = scipy_ci(tied, 0, method="BCa")
    print(f"  tied samples {tied}: BCa ({lo}, {hi}), warnings: "
          f"{sorted({type(w.message).__name__ for w in caught})}; "
          f"percentile {stats.bootstrap_ci(tied)}")


if __name__ == "__main__":
    print("load average:", " ".join(f"{v:.2f}" for v in os.getloadavg()))
    print("import cost")
    import_cost()
    speed()
    same_intervals()
    compare_end_to_end()
    coverage()
    print("load average:", " ".join(f"{v:.2f}" for v in os.getloadavg()))
