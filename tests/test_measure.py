from __future__ import annotations

import numpy as np
import pytest

from benchsuite import measure


def test_summarize_known_samples():
    data = [100.0, 101.0, 102.0, 103.0, 104.0]
    s = measure.summarize(data)
    assert s["median"] == 102.0
    assert s["iqr"] == 2.0
    assert s["cv"] == pytest.approx(np.std(data, ddof=1) / 102)
    assert 100.0 <= s["ci_low"] <= 102.0 <= s["ci_high"] <= 104.0
    assert s["samples"] == data and s["unstable"] is False


def test_unstable_when_cv_above_ten_percent():
    assert measure.summarize([1.0, 2.0, 1.0, 2.0, 1.5])["unstable"]


def test_bootstrap_ci_is_reproducible_and_narrows_with_more_data():
    rng = np.random.default_rng(0)
    few, many = list(rng.normal(100, 5, 5)), list(rng.normal(100, 5, 200))
    assert measure.bootstrap_ci(few) == measure.bootstrap_ci(few)
    lo_f, hi_f = measure.bootstrap_ci(few)
    lo_m, hi_m = measure.bootstrap_ci(many)
    assert hi_m - lo_m < hi_f - lo_f
    assert measure.bootstrap_ci([3.0]) == (3.0, 3.0)


class Clocked:
    """A fake step whose cost is a fake clock: no real sleeping, fully deterministic."""

    def __init__(self, monkeypatch, costs):
        self.now, self.costs, self.calls, self.syncs = 0.0, list(costs), 0, 0
        monkeypatch.setattr(measure.time, "perf_counter", lambda: self.now)

    def step(self):
        self.now += self.costs[min(self.calls, len(self.costs) - 1)]
        self.calls += 1

    def sync(self):
        self.syncs += 1


def test_warm_up_waits_for_stable_steps(monkeypatch):
    # A slow first step (compile), a noisy settling phase, then steady 10 ms.
    settling = [0.1, 0.08, 0.06, 0.05, 0.04, 0.03, 0.02, 0.015, 0.012, 0.011]
    clock = Clocked(monkeypatch, [1.0, *settling] + [0.01] * 100)
    w = measure.warm_up(clock.step, clock.sync)
    assert w.first_step_s == 1.0
    assert w.steps > 11 and w.step_s == pytest.approx(0.01)
    assert clock.syncs == w.steps  # every warm-up step is synchronized


def test_measure_sizes_repeats_and_computes_throughput(monkeypatch):
    clock = Clocked(monkeypatch, [1 / 64])  # binary fractions: exact arithmetic
    checks = []
    t = measure.measure(clock.step, clock.sync, batch_size=32, repeats=5, min_time=0.25,
                        after_repeat=lambda: checks.append(1))
    assert t.warmup.steps == 10 and t.steps_per_repeat == 16
    assert t.throughput == [32 * 64.0] * 5
    assert len(checks) == 10 + 5  # after every warm-up step and every repeat
    assert clock.calls == 10 + 5 * 16
