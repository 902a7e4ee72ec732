"""The conformance kit: correct backends pass, each contract breach fails the check naming it."""

from __future__ import annotations

import sys
import time
from importlib.metadata import EntryPoint

import pytest

from benchsuite import cli
from benchsuite.plugins import load_registry
from benchsuite.spec import Activation, Dense, Flatten
from benchsuite.testing import assert_backend_conforms, check_backend, format_results
from tests.plugins.fake_backends import FakeBackend

EPS = [EntryPoint("numpy", "benchsuite_numpy", "benchsuite"),
       EntryPoint("null", "benchsuite_null", "benchsuite"),
       EntryPoint("broken", "tests.plugins.broken_backends", "benchsuite"),
       EntryPoint("fakes", "tests.plugins.fake_backends", "benchsuite")]


@pytest.fixture(scope="module")
def registry():
    return load_registry(EPS)


def by_name(results):
    return {r.name: r for r in results}


CONVENTIONS = ("stage returns a pair", "set_weights resets optimizer", "relu'(0) = 0",
               "max-pool ties", "training epoch")


def test_the_numpy_oracle_passes_every_check(registry):
    results = assert_backend_conforms("numpy", registry=registry, isolate=False)
    names = set(by_name(results))
    assert {"registration", "capabilities", "weights round-trip", "train_step/predict shapes",
            "determinism", "gradients", "synchronize blocks", *CONVENTIONS,
            "parity layer MaxPool2D", "parity model convnet (adam)"} <= names
    assert all(r.status == "pass" for r in results), format_results(results)


def test_null_backend_passes_and_skips_what_it_cannot_compute(registry):
    results = by_name(assert_backend_conforms("null", registry=registry, isolate=False))
    assert results["parity model mlp (sgd+momentum)"].status == "skip"
    assert "computes=False" in results["gradients"].detail
    assert "computes=False" in results["max-pool ties"].detail
    assert results["training epoch"].status == results["stage returns a pair"].status == "pass"


@pytest.mark.parametrize("name, check, reason", [
    ("broken-layout", "weights round-trip",
     "logreg: weights[0] (layer 1 kernel) has shape (10, 64), canonical is (64, 10)"),
    ("broken-grad-sign", "gradients",
     "gradient of weights[0] (Dense kernel of layer 1) has the wrong sign"),
    ("broken-no-bias-grad", "gradients",
     "gradient of weights[1] (Dense bias of layer 1) is missing"),
    ("broken-sync", "synchronize blocks", "synchronize() returned before the work was done"),
])
def test_each_contract_breach_fails_the_check_that_names_it(registry, name, check, reason):
    results = by_name(check_backend(name, registry=registry, isolate=False))
    assert results[check].status == "fail"
    assert reason in results[check].detail
    if name != "broken-sync":  # wrong numbers are caught by parity too
        assert results["parity model logreg (sgd+momentum)"].status == "fail"
    else:
        assert results["parity model logreg (sgd+momentum)"].status == "pass"


@pytest.mark.parametrize("name, failing, reason", [
    # the JAX backend written from docs/plugins.md passed every check, then failed train
    ("broken-stage", {"stage returns a pair", "training epoch"},
     "logreg: stage(x) returned ndarray of shape (8, 8, 8, 1); it must return the pair "
     "(x, None)"),
    ("broken-fixed-batch", {"training epoch"}, "tiny: an epoch as `benchsuite train` runs it "
     "raised ValueError: predict was compiled for batch 48, got 16"),
    ("broken-keeps-state", {"set_weights resets optimizer"},
     "logreg (sgd+momentum): a step after set_weights differs from the same step on a fresh "
     "model"),
    ("broken-relu-grad", {"relu'(0) = 0"}, "mlp: gradient of weights[0] (Dense kernel of layer "
     "1) deviates from the oracle's by 3.1 (tolerance 0.0001): with relu inputs exactly 0, "
     "relu'(0) must be 0"),
    ("broken-pool-last", {"max-pool ties"}, "pool: gradient of weights[0] (Conv2D kernel of "
     "layer 0) deviates from the oracle's"),
], ids=["stage", "fixed-batch", "keeps-state", "relu-grad", "pool-last"])
def test_what_random_inputs_miss_fails_only_the_check_that_names_it(registry, monkeypatch, name,
                                                                    failing, reason):
    _scripted_attempts(monkeypatch, [(0.2, 0.0)] * 3)  # synchronize is not what these break
    results = by_name(check_backend(name, registry=registry, isolate=False))
    failed = {n for n, r in results.items() if r.status == "fail"}
    assert failed == failing, format_results(results.values())
    assert reason in results[min(failing)].detail


@pytest.mark.parametrize("name", ["broken-no-decay", "broken-adamw"])
def test_a_backend_with_the_wrong_weight_decay_fails_only_the_l2_parity_rows(registry, name):
    results = by_name(check_backend(name, registry=registry, isolate=False))
    failed = [name for name, r in results.items() if r.status == "fail"]
    assert "parity model logreg (adam+l2)" in failed, format_results(results.values())
    assert all(f.startswith("parity model logreg (") and "+l2)" in f for f in failed), failed
    assert "weights" in results["parity model logreg (adam+l2)"].detail


def test_an_asynchronous_backend_whose_synchronize_waits_passes(registry):
    results = by_name(check_backend("async-ok", registry=registry, isolate=False))
    assert results["synchronize blocks"].status == "pass", results["synchronize blocks"]
    assert all(r.status == "pass" for r in results.values()), format_results(results.values())


def test_assert_helper_names_the_failed_check(registry):
    with pytest.raises(AssertionError) as info:
        assert_backend_conforms("broken-sync", registry=registry, isolate=False)
    message = str(info.value)
    assert "1 benchsuite contract check(s) failed" in message
    assert "synchronize blocks  FAIL  synchronize() returned before" in message


def test_undeclared_layers_are_skipped_with_the_reason(registry):
    results = by_name(check_backend("fake-dense-only", registry=registry, isolate=False))
    assert results["capabilities"].status == "pass"
    assert "refuses Conv2D, MaxPool2D" in results["capabilities"].detail
    convnet = results["parity model convnet (sgd+momentum)"]
    assert convnet.status == "skip"
    assert convnet.detail == "fake-dense-only does not support layer(s): Conv2D, MaxPool2D"
    assert results["max-pool ties"].status == "skip"
    assert results["max-pool ties"].detail == convnet.detail


def test_a_backend_that_does_not_refuse_undeclared_layers_fails_capabilities(registry):
    class Lax(FakeBackend):
        supported_layers = frozenset({Flatten, Dense, Activation})

        def unsupported_reason(self, spec):
            return None

    results = by_name(check_backend(Lax("lax"), registry=registry))
    assert results["capabilities"].status == "fail"
    assert "with Conv2D (undeclared) is not refused" in results["capabilities"].detail
    assert "given directly" in results["registration"].detail


def test_a_crashing_backend_is_a_failed_row_and_the_rest_still_run(registry):
    t0 = time.perf_counter()
    results = by_name(check_backend("fake-abort", registry=registry, timeout=60))
    assert results["registration"].status == "pass"
    crashed = results["synchronize blocks"]
    assert crashed.status == "fail"
    assert "worker killed by signal SIGABRT" in crashed.detail
    assert "fake: about to abort" in crashed.detail  # the tail of the worker's log
    assert "parity model convnet (adam)" in results  # checked in a fresh worker
    assert time.perf_counter() - t0 < 30


def test_cli_prints_the_table_and_exits_1_on_a_breach(monkeypatch, capsys):
    monkeypatch.setattr(cli.common, "registry", lambda: load_registry(EPS))
    assert cli.main(["check-plugin", "broken-layout", "--in-process"]) == 1
    out = capsys.readouterr().out
    assert "weights round-trip" in out and "FAIL" in out and "canonical is (64, 10)" in out
    assert "broken-layout: FAILED (" in out


def test_cli_exits_0_for_a_conforming_backend_json(monkeypatch, capsys):
    monkeypatch.setattr(cli.common, "registry", lambda: load_registry(EPS))
    assert cli.main(["check-plugin", "numpy", "--json", "--in-process"]) == 0
    assert '"status": "fail"' not in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["check-plugin", "jax"], "unknown backend 'jax'"),
    (["check-plugin", "fake-missing"], "unavailable (pip install fake-framework)"),
    (["check-plugin", "numpy", "--device", "tpu"], "unknown device 'tpu'"),
    (["check-plugin", "numpy", "--variant", "xla"], "has no variant 'xla'"),
    (["check-plugin", "numpy", "--timeout", "0"], "--timeout must be a finite number > 0, got 0"),
])
def test_cli_bad_input_is_one_line_and_exit_2(monkeypatch, capsys, args, message):
    monkeypatch.setattr(cli.common, "registry", lambda: load_registry(EPS))
    assert cli.main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("benchsuite: error: ") and message in err[0]


@pytest.mark.parametrize("isolate, reason", [
    (True, "fake-broken-setup worker did not start: RuntimeError: fake runtime failed"),
    (False, "fake-broken-setup worker did not start: RuntimeError: fake runtime failed"),
])
def test_a_backend_that_cannot_start_fails_every_check_with_the_reason(registry, isolate,
                                                                        reason):
    results = check_backend("fake-broken-setup", registry=registry, isolate=isolate)
    assert len(results) > 10 and all(r.status == "fail" for r in results)
    assert all(reason in r.detail for r in results)


def test_a_model_that_cannot_be_built_at_the_check_shape_is_a_skip_row():
    from benchsuite.errors import SpecError
    from benchsuite.plugins import ModelEntry

    def big(input_shape, classes):
        raise SpecError("needs at least 32x32 inputs")

    reg = load_registry(EPS[:1])
    reg.models = {"big": ModelEntry("big", big, "", "elsewhere")}
    results = by_name(check_backend("numpy", registry=reg, isolate=False))
    assert results["parity model big (adam)"].status == "skip"
    assert "big cannot be built at (8, 8, 1): needs at least 32x32" in \
        results["parity model big (adam)"].detail
    assert results["weights round-trip"].status == "skip"  # no model left to check with


def test_a_hanging_check_times_out_as_a_row_and_the_next_runs_in_a_fresh_worker(registry):
    from benchsuite.conformance import Planned
    from benchsuite.execution import WorkerSettings
    from benchsuite.execution.pool import WorkerPool
    from benchsuite.spec import logreg
    from benchsuite.testing import _run_checks

    spec = logreg((8, 8, 1), 10)
    checks = [Planned("weights round-trip", "weights", "cpu", (spec,)),
              Planned("registration", "registration")]
    pool = WorkerPool(registry, WorkerSettings(threads=1, timeout=1.0))
    try:
        hung, after = _run_checks(pool, "fake-hang", checks, None, on_result=None)
    finally:
        pool.close()
    assert hung.status == "fail" and hung.detail.startswith("no result after 1 s")
    assert after.status == "pass" and "fake-hang 0.0-fake" in after.detail


@pytest.mark.parametrize("isolate", [False, True])
def test_every_declared_device_present_is_checked_by_default(registry, isolate):
    names = {r.name for r in check_backend("fake-gpu", registry=registry, isolate=isolate)}
    assert {"synchronize blocks [cpu]", "synchronize blocks [cuda]"} <= names
    only = {r.name for r in check_backend("fake-gpu", registry=registry, isolate=False,
                                          devices=["cuda"])}
    assert "synchronize blocks" in only and "synchronize blocks [cpu]" not in only


# -- the synchronize check is decided by its evidence, not by luck ------------------------------

def _scripted_attempts(monkeypatch, attempts):
    """Replace the timing of the synchronize check by ``attempts`` (timed, late) pairs, after
    the warm-up and calibration calls (which see 0.2 s of clean work)."""
    from benchsuite import synccheck as checks

    script = iter([(0.2, 0.0), (0.2, 0.0), *attempts])
    monkeypatch.setattr(checks, "sync_attempt", lambda *args: next(script))
    monkeypatch.setattr(checks.contention, "read", lambda: None)  # every attempt uncontended


@pytest.mark.contention
def test_a_contended_synchronize_attempt_is_retried_and_a_busy_machine_is_inconclusive(
        registry, monkeypatch):
    """An attempt during which other processes took the CPU does not count, either way: it is
    retried, and a machine that stays busy makes the check inconclusive, never a pass."""
    from benchsuite import contention
    from benchsuite import synccheck as checks

    busy = contention.Usage(0.1, 1.0, 0.0, 1.0, True)
    quiet = contention.Usage(0.1, 0.0, 0.0, 1.0, False)
    _scripted_attempts(monkeypatch, [(0.1, 0.0)] * 3 + [(0.001, 0.1)] * 3)
    monkeypatch.setattr(checks.contention, "read", lambda: object())
    # the three clean-looking attempts were contended; the three uncontended ones are late
    verdicts = iter([busy] * 3 + [quiet] * 3)
    monkeypatch.setattr(checks.contention, "usage", lambda *a: next(verdicts))
    results = by_name(check_backend("numpy", registry=registry, isolate=False))
    assert results["synchronize blocks"].status == "fail", results["synchronize blocks"]

    _scripted_attempts(monkeypatch, [(0.1, 0.0)] * checks.SYNC_MAX_TRIES)
    monkeypatch.setattr(checks.contention, "read", lambda: object())
    monkeypatch.setattr(checks.contention, "usage", lambda *a: busy)
    result = by_name(check_backend("numpy", registry=registry, isolate=False))[
        "synchronize blocks"]
    assert result.status == "skip" and result.detail.startswith("inconclusive: only 0 of 9")


@pytest.mark.parametrize("attempts, status", [
    # broken: every attempt leaves 100 ms of work; one caller stall inflated the first timing
    ([(0.5, 0.1), (0.001, 0.1), (0.001, 0.1)], "fail"),
    # broken, and lucky once: the work finished before synchronize returned in one attempt
    ([(0.1, 0.0), (0.001, 0.1), (0.001, 0.1)], "fail"),
    # correct: one 60 ms stall while reading the result is noise, not a verdict
    ([(0.1, 0.06), (0.1, 0.0), (0.1, 0.0)], "pass"),
    ([(0.1, 0.0), (0.1, 0.001), (0.1, 0.0)], "pass"),
])
def test_the_synchronize_verdict_is_the_majority_of_attempts_against_the_least_disturbed_work(
        registry, monkeypatch, attempts, status):
    _scripted_attempts(monkeypatch, attempts)
    results = by_name(check_backend("numpy", registry=registry, isolate=False))
    assert results["synchronize blocks"].status == status, results["synchronize blocks"]


def test_queued_work_cannot_run_on_a_python_thread_before_a_non_waiting_synchronize(registry):
    """The fake device is a Python thread: while the check queues steps it must not get the
    GIL, or the work can be done by the time synchronize returns (the old false pass)."""
    from benchsuite.synccheck import SYNC_QUEUE_SWITCH_S

    seen = []
    backend = registry.backend("broken-sync")
    original = backend.submit

    def submit(fn, *args):
        seen.append(sys.getswitchinterval())
        return original(fn, *args)

    backend.submit = submit
    try:
        for _ in range(3):
            results = by_name(check_backend(backend, registry=registry, isolate=False))
            assert results["synchronize blocks"].status == "fail"
            assert "3 of 3 attempts" in results["synchronize blocks"].detail
    finally:
        del backend.submit
    assert SYNC_QUEUE_SWITCH_S in seen and sys.getswitchinterval() < SYNC_QUEUE_SWITCH_S
