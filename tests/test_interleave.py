"""Interleaved measurement: contestants built and warm at once, repeats taken in turns."""

from __future__ import annotations

import math

import pytest

from benchsuite import api, contention, stats
from benchsuite.cases import plan
from benchsuite.execution.pool import WorkerPool
from benchsuite.interleave import groups, precise, rotation
from tests.test_runner import reg, settings  # noqa: F401 - the fixture

CONTESTANTS = ["numpy", "fake", "fake-sleep"]


def test_the_order_rotates_round_by_round():
    assert [rotation(["A", "B", "C"], r) for r in range(4)] == [
        ["A", "B", "C"], ["B", "C", "A"], ["C", "A", "B"], ["A", "B", "C"]]
    assert rotation([], 3) == []


def test_contestants_are_the_cases_that_differ_only_in_backend(reg):  # noqa: F811
    s = settings(backends=CONTESTANTS, models=[("tiny", {}), ("logreg", {})],
                 modes=("train", "infer"))
    contests = list(groups(plan(reg, s)))
    assert len(contests) == 4  # 2 models × 2 modes
    for contest in contests:
        assert [c.backend for c in contest] == CONTESTANTS
        assert len({(c.spec.name, c.mode, c.batch_size) for c in contest}) == 1


def _calls(monkeypatch):
    """Every job function the pool runs, as (backend, function name)."""
    seen = []
    real = WorkerPool.call

    def call(self, name, fn, args=()):
        seen.append((name, fn.rpartition(":")[2] if isinstance(fn, str) else fn.__name__))
        return real(self, name, fn, args)

    monkeypatch.setattr(WorkerPool, "call", call)
    return seen


def test_all_contestants_warm_first_then_take_turns_in_rotating_order(reg, tmp_path,  # noqa: F811
                                                                       monkeypatch):
    seen = _calls(monkeypatch)
    s = settings(backends=CONTESTANTS, models=[("tiny", {})], modes=("train",), repeats=3,
                 isolate=False, parity=False)
    doc = api.run(s, output=tmp_path, registry=reg).document
    assert [c["status"] for c in doc["cases"]] == ["ok"] * 3
    starts = [b for b, fn in seen if fn == "start_case"]
    repeats = [b for b, fn in seen if fn == "repeat_case"]
    assert starts == CONTESTANTS
    assert seen.index(("numpy", "repeat_case")) > seen.index(("fake-sleep", "start_case"))
    assert repeats == ["numpy", "fake", "fake-sleep", "fake", "fake-sleep", "numpy",
                       "fake-sleep", "numpy", "fake"]
    groups_of = {c["interleaving"]["group"] for c in doc["cases"]}
    assert len(groups_of) == 1
    for case in doc["cases"]:
        assert case["interleaving"]["rounds"] == [0, 1, 2]
        assert case["interleaving"]["contestants"] == 3
        assert len(case["throughput"]["samples"]) == 3


def test_a_contestant_that_fails_mid_way_leaves_the_others_measured(reg, tmp_path):  # noqa: F811
    s = settings(backends=["numpy", "fake-raise", "fake-nan"], models=[("tiny", {})],
                 modes=("train",), repeats=3, isolate=False, parity=False)
    doc = api.run(s, output=tmp_path, registry=reg).document
    status = {c["backend"]: c["status"] for c in doc["cases"]}
    assert status == {"numpy": "ok", "fake-raise": "failed", "fake-nan": "failed"}
    numpy = next(c for c in doc["cases"] if c["backend"] == "numpy")
    assert len(numpy["throughput"]["samples"]) == 3


def test_a_round_under_contention_is_taken_again(reg, tmp_path, monkeypatch):  # noqa: F811
    """The second round is contended: a fourth round replaces it, and the samples kept are
    the clean rounds' (so both contestants' samples still pair up)."""
    flags = iter([False, False, True, False, False, False, False, False])  # then: the peak
    monkeypatch.setattr(contention, "idle_check", lambda: None)
    monkeypatch.setattr(contention, "settle", lambda max_s=1.0: 0.0)
    monkeypatch.setattr(contention, "read", lambda: object())

    def usage(before, after):
        busy = next(flags, False)
        return contention.Usage(0.1, 1.0 if busy else 0.0, 0.0, 1.0, busy)

    monkeypatch.setattr(contention, "usage", usage)
    s = settings(backends=["numpy", "fake"], models=[("tiny", {})], modes=("infer",),
                 repeats=3, isolate=False, parity=False)
    doc = api.run(s, output=tmp_path, registry=reg).document
    for case in doc["cases"]:
        assert case["status"] == "ok", case["error"]
        assert case["interleaving"]["rounds"] == [0, 2, 3], case["interleaving"]
        assert case["contention"]["contended"] is False
        assert case["contention"]["repeats_taken"] == 4
        assert case["contention"]["repeats_contended"] == 1


def test_paired_ratio_uses_the_rounds_both_sides_have():
    base = [100.0, 200.0, 100.0, 400.0]
    new = [110.0, 220.0, 110.0]
    ratio, lo, hi, n = stats.paired_ratio(base, [0, 1, 2, 5], new, [0, 1, 2])
    assert n == 3 and ratio == pytest.approx(1.1) and lo == pytest.approx(1.1)
    assert hi == pytest.approx(1.1)
    # drift common to both sides cancels: each round's ratio is what counts
    drift = [1.0, 0.5, 1.3, 0.8, 1.1]
    b = [1000 * d for d in drift]
    n_ = [1200 * d * (1 + 0.01 * (-1) ** i) for i, d in enumerate(drift)]
    ratio, lo, hi, _ = stats.paired_ratio(b, range(5), n_, range(5))
    assert lo < 1.2 < hi and hi / lo < 1.03 and math.isclose(ratio, 1.2, rel_tol=0.01)
    assert stats.paired_ratio([1.0], [0], [1.0], [0]) is None


def test_a_machine_that_stays_busy_is_waited_on_once_then_only_glanced_at(reg, tmp_path,  # noqa: F811
                                                                          monkeypatch):
    """A co-tenant never lets the machine settle: the first turn waits the full second, the
    next ones only a glance, until a wait ends early again."""
    waits = []

    def settle(max_s=1.0):
        waits.append(max_s)
        return max_s if len(waits) <= 3 else 0.0  # busy for three turns, then quiet

    monkeypatch.setattr(contention, "settle", settle)
    s = settings(backends=["numpy", "fake"], models=[("tiny", {})], modes=("infer",),
                 repeats=3, isolate=False, parity=False)
    api.run(s, output=tmp_path, registry=reg)
    glance = 2 * contention.SETTLE_WINDOW_S
    assert waits[:6] == [contention.SETTLE_MAX_S, glance, glance, glance,
                         contention.SETTLE_MAX_S, contention.SETTLE_MAX_S]


@pytest.mark.parametrize("precision, rounds", [(1.0, 3), (1e-9, 6)])
def test_rounds_go_on_until_the_paired_ratios_are_precise_or_the_cap(reg, tmp_path,  # noqa: F811
                                                                    precision, rounds):
    """Within 100% after the 3 repeats: no more rounds. Within 1e-9: never, so up to the cap,
    and every round taken is kept (the samples still pair up)."""
    s = settings(backends=["numpy", "fake-sleep"], models=[("tiny", {})], modes=("train",),
                 repeats=3, precision=precision, max_repeats=6, isolate=False, parity=False)
    doc = api.run(s, output=tmp_path, registry=reg).document
    for case in doc["cases"]:
        assert case["status"] == "ok"
        assert case["interleaving"]["rounds"] == list(range(rounds))
        assert len(case["throughput"]["samples"]) == rounds
    assert doc["settings"]["precision"] == precision and doc["settings"]["max_repeats"] == 6


def test_precise_asks_every_pair_for_a_narrow_paired_ratio():
    rounds = list(range(8))
    steady = {r: 100.0 for r in rounds}
    close = {r: 50.0 * (1 + 0.001 * (-1) ** r) for r in rounds}  # ±0.1% round to round
    wild = {r: 50.0 * (1 + 0.4 * (-1) ** r) for r in rounds}  # ±40%
    assert precise({"a": steady, "b": close}, rounds, 0.05)
    assert not precise({"a": steady, "b": wild}, rounds, 0.05)
    assert not precise({"a": steady, "b": close, "c": wild}, rounds, 0.05)  # one pair is enough
    assert precise({"a": steady, "b": wild}, rounds, None)  # no target: the repeats suffice
    assert precise({"a": wild}, rounds, 0.05)  # a contest of one has no ratio to narrow
    # Contestants without samples are left out: a worker of an older benchsuite (ab's base
    # side), the null backend (computes nothing: its speed is no one's to narrow down).
    assert precise({"a": steady, "b": {}}, rounds, 0.05)
    assert precise({"a": steady, "b": close, "null": {}}, rounds, 0.05)
    assert not precise({"a": steady, "b": wild, "null": {}}, rounds, 0.05)


def test_settings_default_to_twice_the_repeats_while_chasing_precision():
    from benchsuite.cases import Settings

    assert Settings(repeats=5).most_rounds() == 5
    assert Settings(repeats=5, precision=0.05).most_rounds() == 10
    assert Settings(repeats=5, precision=0.05, max_repeats=8).most_rounds() == 8
