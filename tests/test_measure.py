from __future__ import annotations

import pytest

from benchsuite import measure, stats


def test_measure_reexports_the_case_statistics():
    """The timing code summarizes with benchsuite.stats, not a copy of it."""
    assert measure.summarize is stats.summarize
    assert measure.latency_summary is stats.latency_summary


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
