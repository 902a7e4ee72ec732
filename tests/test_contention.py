"""Contention accounting: what other processes took while a repeat was timed."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from benchsuite import contention, measure
from benchsuite.contention import Reading, Usage

pytestmark = pytest.mark.contention


def test_others_are_the_machines_busy_time_less_this_process_and_steal_is_apart(monkeypatch):
    monkeypatch.setattr(contention.psutil, "cpu_count", lambda: 2)
    before = Reading(wall=10.0, busy=100.0, steal=5.0, own=3.0)
    # 1 s: the machine was busy 1.9 core-seconds, 0.9 of them ours; 0.05 stolen
    used = contention.usage(before, Reading(11.0, 101.9, 5.05, 3.9))
    assert used.others_cores == pytest.approx(1.0)
    assert used.own_cores == pytest.approx(0.9)
    assert used.steal_cores == pytest.approx(0.05)
    assert used.contended
    quiet = contention.usage(before, Reading(11.0, 100.95, 5.0, 3.9))
    assert quiet.others_cores == pytest.approx(0.05) and not quiet.contended
    # the hypervisor alone can make a repeat contended
    assert contention.usage(before, Reading(11.0, 100.9, 5.8, 3.9)).contended
    assert contention.usage(None, before) is None


def test_the_threshold_allows_for_the_counters_ticks_on_short_repeats(monkeypatch):
    monkeypatch.setattr(contention.psutil, "cpu_count", lambda: 2)
    before = Reading(0.0, 0.0, 0.0, 0.0)
    # 20 ms on 2 cores: two 10 ms ticks of someone else are quantisation, not a co-tenant
    tick = contention.TICK_S
    assert not contention.usage(before, Reading(0.02, 2 * tick, 0.0, 0.0)).contended
    assert contention.usage(before, Reading(0.5, 0.5, 0.0, 0.0)).contended


def _scripted(monkeypatch, flags):
    """contention.usage returns Usage objects contended as ``flags`` says, in order."""
    it = iter(flags)
    monkeypatch.setattr(contention, "read", lambda: object())
    monkeypatch.setattr(contention, "usage",
                        lambda a, b: Usage(0.1, 1.0 if (f := next(it)) else 0.0, 0, 1, f))


def test_contended_repeats_are_replaced_within_a_bound(monkeypatch):
    calls = []

    def once():
        calls.append(len(calls))
        return float(len(calls))

    _scripted(monkeypatch, [True, False, True, False, False])
    samples, used = contention.timed_clean(once, repeats=3)
    assert samples == [2.0, 4.0, 5.0] and len(used) == 5
    block = contention.summary(used, 3)
    assert block["contended"] is False and block["repeats_contended"] == 2
    assert block["repeats_taken"] == 5

    calls.clear()
    _scripted(monkeypatch, [True] * 10)
    samples, used = contention.timed_clean(once, repeats=3, rerun_factor=1.0)
    assert len(calls) == 6 and len(samples) == 3  # 3 repeats + at most 3 re-runs
    assert contention.summary(used, 3)["contended"] is True


def test_no_counters_means_no_block_and_no_reruns(monkeypatch):
    monkeypatch.setattr(contention, "read", lambda: None)
    samples, used = contention.timed_clean(lambda: 1.0, repeats=4)
    assert samples == [1.0] * 4 and contention.summary(used, 4) is None


@pytest.fixture
def busy_process():
    """One process that keeps a core busy, as a co-tenant would."""
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    time.sleep(0.3)
    yield proc
    proc.kill()
    proc.wait()


def test_the_detector_flags_repeats_taken_beside_a_busy_process(busy_process):
    def spin():
        end = time.perf_counter() + 0.2
        while time.perf_counter() < end:
            pass
        return 1.0

    _, used = measure.timed_repeats(spin, lambda: None, 1, 1, 3)
    block = contention.summary(used, 3)
    assert block["contended"] is True, block
    assert min(block["others_cores"]) > 0.5, block
    assert block["repeats_taken"] == 6  # every re-run was contended too


@pytest.mark.parametrize("spare", [0, 1])
def test_a_case_measured_beside_a_busy_process_is_recorded_contended(busy_process, spare):
    """On every core, and with a core left for the neighbour too: measured here, one thread
    beside a busy process still ran the mlp cases 17-19% slow, so the neighbour counts."""
    from benchsuite import bench
    from benchsuite.cases import Settings, plan
    from benchsuite.execution.worker import Session
    from benchsuite.plugins import load_registry

    if contention.cores() - spare < 1:
        pytest.skip("one core: none to leave")
    registry = load_registry()
    settings = Settings(backends=["numpy"], models=[("logreg", {})], modes=("infer",),
                        batch_sizes=(8,), repeats=3, min_time=0.2, parity=False,
                        threads=contention.cores() - spare)
    (case,) = plan(registry, settings)
    record = bench.run_case(Session(registry.backend("numpy"), registry, {}), case, settings)
    assert record["status"] == "ok", record["error"]
    assert record["contention"]["contended"] is True, record["contention"]


@pytest.mark.parametrize("others, steal, usable, threads", [
    (1.0, 0.0, 4, 3), (0.1, 0.0, 4, 4), (3.9, 0.0, 4, 1), (1.4, 0.6, 4, 2), (0.0, 0.0, 2, 2)])
def test_threads_idle_takes_the_cores_the_check_found_free(monkeypatch, others, steal, usable,
                                                          threads):
    monkeypatch.setattr(contention.psutil, "cpu_count", lambda: 4)
    check = {"busy": others > 0.25, "seconds": 0.5, "others_cores": others,
             "steal_cores": steal}
    assert contention.idle_threads(check, usable) == threads
    assert contention.idle_threads(None, usable) == usable  # no counters: every usable core


def test_a_run_on_a_busy_machine_warns_first_and_records_its_idle_check(busy_process, tmp_path,
                                                                        caplog):
    from benchsuite import api
    from benchsuite.cases import Settings

    settings = Settings(backends=["null"], models=[("logreg", {})], modes=("infer",),
                        batch_sizes=(8,), repeats=2, min_time=0.01, parity=False,
                        isolate=False, threads=contention.cores())
    with caplog.at_level("WARNING", logger="benchsuite"):
        outcome = api.run(settings, output=tmp_path)
    check = outcome.document["idle_check"]
    assert check["busy"] is True and check["others_cores"] > 0.5, check
    assert "the machine is busy before the run: other processes kept" in caplog.text
    assert f"--threads idle would run on 1 of {contention.cores()} cores" in caplog.text \
        or contention.cores() > 2


def test_threads_idle_runs_on_the_free_cores_and_is_still_contended(busy_process, tmp_path,
                                                                    capsys):
    """``--threads idle`` beside one busy process: one core fewer, said first and recorded;
    the neighbour still counts as contention."""
    import json

    from benchsuite import cli

    if contention.cores() < 2:
        pytest.skip("one core: none to leave")
    code = cli.main(["run", "-b", "numpy", "-m", "logreg", "--mode", "infer", "--batch-size",
                     "8", "--repeats", "3", "--min-time", "0.1", "--no-parity", "--threads",
                     "idle", "-o", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"--threads idle: {contention.cores() - 1} of" in err
    (path,) = tmp_path.glob("*.json")
    doc = json.loads(path.read_text())
    assert doc["settings"]["threads"] == contention.cores() - 1
    assert doc["cases"][0]["contention"]["contended"] is True, doc["cases"][0]["contention"]
