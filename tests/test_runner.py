from __future__ import annotations

import os
from importlib.metadata import EntryPoint

import pytest

from benchsuite import api, recording, results
from benchsuite.cases import Settings
from benchsuite.cases import plan as cases_of
from benchsuite.errors import Interrupted, SpecError, UnknownNameError, UsageError
from benchsuite.execution.pool import WorkerPool
from benchsuite.planning import parse_model
from benchsuite.plugins import load_registry

FAST_THREADS = 1
FAST = {"repeats": 2, "min_time": 0.005, "batch_sizes": (8,), "threads": FAST_THREADS,
        "gemm_size": 64}


@pytest.fixture(scope="module")
def reg():
    eps = [EntryPoint("numpy", "benchsuite_numpy", "benchsuite"),
           EntryPoint("fakes", "tests.plugins.fake_backends", "benchsuite")]
    return load_registry(eps)


def settings(**kw):
    return Settings(**{**FAST, **kw})


def run(reg, tmp_path, **kw):
    outcome = api.run(settings(**kw), output=tmp_path, registry=reg)
    return outcome.document, outcome.path


def test_parse_model():
    assert parse_model("mlp") == ("mlp", {})
    assert parse_model("mlp:depth=10,activation=sigmoid,lr=0.5") == (
        "mlp", {"depth": 10, "activation": "sigmoid", "lr": 0.5})
    assert parse_model("convnet:filters=8/16") == ("convnet", {"filters": [8, 16]})
    with pytest.raises(UsageError, match="expected key=value"):
        parse_model("mlp:depth")


def test_numpy_run_writes_a_valid_file_for_all_three_models(reg, tmp_path):
    canonical = [(m, {}) for m in ("logreg", "mlp", "convnet")]
    out, path = run(reg, tmp_path, backends=["numpy"], models=canonical, data="digits")
    assert out["status"] == "complete"
    doc = results.read(path)
    assert [(c["model"], c["mode"]) for c in doc["cases"]] == [
        (m, mode) for m in ("logreg", "mlp", "convnet") for mode in ("train", "infer")]
    for case in doc["cases"]:
        assert case["status"] == "ok", case["error"]
        tp = case["throughput"]
        assert len(tp["samples"]) == 2 and tp["ci_low"] <= tp["median"] <= tp["ci_high"]
        assert case["gflops"] > 0 and case["spec"]["input_shape"] == [8, 8, 1]
    assert doc["environment"]["backends"]["numpy"]["threads_in_effect"]
    trained = [c["final_loss"] for c in doc["cases"] if c["mode"] == "train"]
    assert all(0 < loss < 10 for loss in trained)


def test_failures_and_skips_are_rows_and_the_run_goes_on(reg, tmp_path):
    backends = ["fake-raise", "fake-nan", "fake-dense-only", "fake"]
    _, path = run(reg, tmp_path, backends=backends, models=[("tiny", {}), ("convnet", {})],
                    modes=("train",))
    by = {(c["backend"], c["model"]): c for c in results.read(path)["cases"]}
    assert by[("fake-raise", "tiny")]["status"] == "failed"
    assert by[("fake-raise", "tiny")]["error"] == "RuntimeError: fake kernel exploded"
    assert by[("fake-nan", "tiny")]["status"] == "failed"
    assert by[("fake-nan", "tiny")]["error"] == "NonFinite: loss became NaN/inf at step 1"
    skipped = by[("fake-dense-only", "convnet")]
    assert skipped["status"] == "skipped" and "Conv2D" in skipped["error"]
    assert by[("fake-dense-only", "tiny")]["status"] == "ok"
    assert by[("fake", "convnet")]["status"] == "ok"


def test_synchronize_brackets_every_timed_region(reg, tmp_path):
    backend = reg.backend("fake")
    before = backend.synced
    run(reg, tmp_path, backends=["fake"], models=[("tiny", {})], modes=("infer",),
        isolate=False)
    # build + every warm-up step + every repeat are synchronized
    assert backend.synced - before >= 1 + 10 + 2


def test_default_backends_skip_what_is_missing(reg, tmp_path):
    cases = cases_of(reg, settings(models=[("tiny", {})], modes=("train",)))
    by = {c.backend: c for c in cases}
    assert by["fake-missing"].skip_reason == "unavailable (pip install fake-framework)"
    assert by["numpy"].skip_reason is None


def test_device_all_and_cuda(reg):
    cases = cases_of(reg, settings(backends=["numpy", "fake-gpu"], device="all",
                                      models=[("tiny", {})], modes=("train",)))
    got = {(c.backend, c.device): c.skip_reason for c in cases}
    assert got[("fake-gpu", "cuda")] is None and got[("numpy", "cpu")] is None
    assert "numpy has no cuda device" in got[("numpy", "cuda")]
    only = cases_of(reg, settings(backends=["fake-gpu"], device="cuda",
                                     models=[("tiny", {})]))
    assert {c.device for c in only} == {"cuda"}


@pytest.mark.parametrize("kw, error, message", [
    ({"backends": ["jax"]}, UnknownNameError, "unknown backend 'jax' (valid: fake"),
    ({"models": [("resnet", {})]}, UnknownNameError, "unknown model 'resnet'"),
    ({"models": [("mlp", {"depht": 3})]}, SpecError, "no parameter depht (parameters: depth"),
    ({"models": [("mlp", {"activation": "gelu"})]}, SpecError, "unknown activation"),
    ({"batch_sizes": (0,)}, UsageError, "--batch-size must be an integer >= 1, got 0"),
    ({"device": "tpu"}, UsageError, "unknown device 'tpu'"),
    ({"modes": ("fit",)}, UsageError, "unknown mode 'fit'"),
    ({"backends": ["numpy"], "device": "cuda"}, UsageError, "'numpy' has no cuda device"),
    ({"backends": ["fake-missing"]}, UsageError, "unavailable (pip install fake-framework)"),
    ({"data": "imagenet"}, UsageError, "unknown data set 'imagenet'"),
])
def test_bad_settings_fail_before_anything_runs(reg, kw, error, message):
    with pytest.raises(error) as err:
        cases_of(reg, settings(**kw))
    assert message in str(err.value)


def test_unwritable_output(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(UsageError, match="cannot write results to"):
        recording.output_path(blocker / "sub", {"run_id": "x"})


def test_interrupt_keeps_finished_cases(reg, tmp_path, monkeypatch):
    s = settings(backends=["numpy"], models=[("logreg", {}), ("tiny", {})], modes=("train",))
    real = WorkerPool.call

    def interrupt_second(self, name, fn, args=()):
        if fn == "benchsuite.bench:start_case" and args[0].spec.name == "tiny":
            raise KeyboardInterrupt
        return real(self, name, fn, args)

    monkeypatch.setattr(WorkerPool, "call", interrupt_second)
    with pytest.raises(Interrupted) as info:
        api.run(s, output=tmp_path, registry=reg)
    assert "complete it with: benchsuite run --resume" in str(info.value)
    doc = results.read(info.value.path)
    assert doc["status"] == "interrupted"
    assert [c["model"] for c in doc["cases"]] == ["logreg"]
    assert doc["cases"][0]["status"] == "ok"


def test_backends_alternate_and_run_in_their_own_processes(reg, tmp_path):
    out, _ = run(reg, tmp_path, backends=["numpy", "fake"], modes=("train",),
                 models=[("logreg", {}), ("tiny", {})])
    assert [(c["model"], c["backend"]) for c in out["cases"]] == [
        ("logreg", "numpy"), ("logreg", "fake"), ("tiny", "numpy"), ("tiny", "fake")]
    pids = {name: info["pid"] for name, info in out["environment"]["backends"].items()}
    assert len(set(pids.values())) == 2 and os.getpid() not in pids.values()
    assert out["environment"]["backends"]["fake"]["threads_in_effect"] == {"fake": FAST_THREADS}


def test_a_crashing_worker_is_a_row_and_the_run_goes_on(reg, tmp_path):
    out, _ = run(reg, tmp_path, backends=["fake-abort", "numpy"], modes=("train", "infer"),
                 models=[("tiny", {})])
    by = {(c["backend"], c["mode"]): c for c in out["cases"]}
    crashed = by[("fake-abort", "train")]
    assert crashed["status"] == "crashed"
    assert "signal SIGABRT" in crashed["error"] and "fake: about to abort" in crashed["error"]
    assert by[("fake-abort", "infer")]["status"] == "ok"  # a fresh worker took over
    assert by[("numpy", "train")]["status"] == "ok"


def test_a_hanging_case_times_out(reg, tmp_path):
    out, _ = run(reg, tmp_path, backends=["fake-hang", "numpy"], modes=("train",),
                 models=[("tiny", {})], timeout=2.0)
    by = {c["backend"]: c for c in out["cases"]}
    assert by["fake-hang"]["status"] == "timeout"
    assert "no result after 2 s" in by["fake-hang"]["error"]
    assert by["numpy"]["status"] == "ok"


def test_a_worker_that_cannot_start_fails_its_cases(reg, tmp_path):
    out, _ = run(reg, tmp_path, backends=["fake-broken-setup", "fake"], modes=("train", "infer"),
                 models=[("tiny", {})])
    broken = [c for c in out["cases"] if c["backend"] == "fake-broken-setup"]
    assert [c["status"] for c in broken] == ["failed", "failed"]
    assert "fake runtime failed to initialise" in broken[0]["error"]
    assert all(c["status"] == "ok" for c in out["cases"] if c["backend"] == "fake")
