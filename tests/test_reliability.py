"""Fault injection: a run over a backend whose cases raise, abort, hang, exhaust memory or
produce NaN, next to the NumPy backend, must finish, keep every good case, label every bad one,
and leave valid JSON; a run interrupted by SIGINT keeps what finished and resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from benchsuite import api, results
from benchsuite.cases import Settings
from benchsuite.cases import plan as cases_of
from benchsuite.plugins import load_registry

EPS = [EntryPoint("numpy", "benchsuite_numpy", "benchsuite"),
       EntryPoint("null", "benchsuite_null", "benchsuite"),
       EntryPoint("fakes", "tests.plugins.fake_backends", "benchsuite")]
FAST = {"repeats": 2, "min_time": 0.005, "batch_sizes": (8,), "threads": 1, "gemm_size": 64}


@pytest.fixture(scope="module")
def reg():
    return load_registry(EPS)


def test_every_fault_is_a_labelled_row_and_good_cases_survive(reg, tmp_path):
    backends = ["fake-raise", "fake-abort", "fake-hang", "fake-hog", "fake-nan", "numpy"]
    s = Settings(backends=backends, models=[("tiny", {}), ("logreg", {})],
                        modes=("train",), timeout=3.0, memory_limit_gib=2.0, **FAST)
    cases = cases_of(reg, s)
    path = api.run(s, output=tmp_path, registry=reg).path
    doc = results.read(path)  # valid JSON, complete
    assert doc["status"] == "complete" and len(doc["cases"]) == len(cases) == 12
    by = {(c["backend"], c["model"]): c for c in doc["cases"]}
    expected = {"fake-raise": ("failed", "fake kernel exploded"),
                "fake-abort": ("crashed", "signal SIGABRT"),
                "fake-hang": ("timeout", "no result after 3 s"),
                "fake-hog": ("oom", "MemoryError"),
                "fake-nan": ("failed", "loss became NaN/inf at step 1")}
    for model in ("tiny", "logreg"):
        for backend, (status, text) in expected.items():
            case = by[(backend, model)]
            assert case["status"] == status and text in case["error"], case
        assert by[("numpy", model)]["status"] == "ok"
        assert by[("numpy", model)]["throughput"]["median"] > 0


def test_null_backend_measures_the_harness_overhead(reg, tmp_path):
    from benchsuite.runview import harness_overhead

    s = Settings(backends=["null", "numpy"], models=[("logreg", {})], **FAST)
    run = api.run(s, output=tmp_path, registry=reg).document
    null = [c for c in run["cases"] if c["backend"] == "null"]
    assert all(c["status"] == "ok" and c["null_backend"] and "parity" not in c for c in null)
    numpy_step = min(c["step_ms"] for c in run["cases"] if c["backend"] == "numpy")
    assert max(c["step_ms"] for c in null) < numpy_step
    assert "harness overhead (null backend)" in harness_overhead(run["cases"])


def test_phases_memory_efficiency_and_latency_are_recorded(reg, tmp_path):
    s = Settings(backends=["numpy"], models=[("mlp", {"width": 32})],
                        modes=("train", "latency"), **FAST)
    run = api.run(s, output=tmp_path, registry=reg).document
    train, latency = run["cases"]
    assert latency["mode"] == "latency" and latency["batch_size"] == 1
    lat = latency["latency"]
    assert 0 < lat["p50_ms"] <= lat["p90_ms"] <= lat["p99_ms"] and lat["n"] >= 2
    for case in (train, latency):
        ph = case["phases"]
        assert ph["import_s"] >= 0 and ph["build_s"] > 0 and ph["first_step_s"] > 0
        assert ph["steady_step_s"] > 0
        assert case["memory"]["peak_rss_mib"] > 10 and case["memory"]["peak_device_mib"] is None
        assert case["peak_gflops"] > 0 and 0 < case["efficiency"] < 1.5
    assert run["environment"]["backends"]["numpy"]["import_s"] >= 0


def test_settings_round_trip_through_the_results_file():
    from benchsuite.optim import Adam

    s = Settings(backends=["numpy"], models=[("mlp", {"depth": 3})], modes=("infer",),
                        optimizer=Adam(lr=0.01), variants=("float64",), **FAST)
    assert Settings.from_dict(json.loads(json.dumps(s.to_dict()))) == s


def _dist_env(tmp_path: Path) -> dict[str, str]:
    """A PYTHONPATH on which the fake plugins are a real installed distribution."""
    info = tmp_path / "fakes-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakes\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[benchsuite]\nfakes = tests.plugins.fake_backends\n")
    root = Path(__file__).resolve().parent.parent
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(root)])}


def sigint_default() -> None:
    """A child's SIGINT back to the default before it starts: a shell that runs the suite in
    the background (``pytest &``) makes its children ignore SIGINT, and Python then never
    installs its KeyboardInterrupt handler. The tests that interrupt a run must not depend
    on how the suite was started."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_sigint_keeps_finished_cases_and_resume_completes_the_run(tmp_path):
    env = _dist_env(tmp_path)
    out = tmp_path / "out"
    # The infer cases finish (fake-hang hangs in train_step only); the train case of the
    # hanging backend holds the run until we interrupt it.
    args = [sys.executable, "-m", "benchsuite", "run", "-b", "numpy", "-b", "fake-hang",
            "-m", "tiny", "--mode", "infer", "--mode", "train", "--no-parity", "--repeats", "2",
            "--min-time", "0.005", "--batch-size", "8", "--gemm-size", "64", "-o", str(out)]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=sigint_default)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        files = list(out.glob("*.json"))
        if files and len(results.read(files[0])["cases"]) == 2:
            break
        time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("the run never finished its first case")
    time.sleep(0.5)  # the hanging case is in flight now
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "benchsuite run --resume" in err
    path = files[0]
    doc = results.read(path)
    assert doc["status"] == "interrupted"
    kept = [(c["backend"], c["mode"]) for c in doc["cases"]]
    assert kept == [("numpy", "infer"), ("fake-hang", "infer")]  # finished before, kept

    # Resume, with the hanging backend disabled: its remaining cases become failed rows.
    env["BENCHSUITE_DISABLE_PLUGINS"] = "fakes"
    done = subprocess.run([sys.executable, "-m", "benchsuite", "run", "--resume", str(path)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "unknown backend 'fake-hang'" in done.stderr
    del env["BENCHSUITE_DISABLE_PLUGINS"]
    bad = subprocess.run([sys.executable, "-m", "benchsuite", "run", "--resume", str(path),
                          "--repeats", "3"], env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "drop --repeats" in bad.stderr
    # Now resume for real, but make the hanging case time out quickly by editing nothing but
    # the recorded timeout: the run's own settings are what --resume uses.
    doc["settings"]["timeout"] = 2.0
    results.save(doc, path)
    done = subprocess.run([sys.executable, "-m", "benchsuite", "run", "--resume", str(path)],
                          env=env, capture_output=True, text=True, timeout=120)
    final = results.read(path)
    assert final["status"] == "complete" and len(final["resumed"]) == 1
    assert sorted((c["backend"], c["mode"]) for c in final["cases"]) == sorted(
        [("numpy", "infer"), ("fake-hang", "infer"), ("numpy", "train"), ("fake-hang", "train")])
    assert final["cases"][:2] == doc["cases"]  # the kept cases were not re-measured
    assert done.returncode == 1  # the hanging case is a timeout row
    statuses = {(c["backend"], c["mode"]): c["status"] for c in final["cases"]}
    assert statuses[("fake-hang", "train")] == "timeout"
    assert statuses[("numpy", "train")] == "ok"
    again = subprocess.run([sys.executable, "-m", "benchsuite", "run", "--resume", str(path)],
                           env=env, capture_output=True, text=True)
    assert again.returncode == 2 and "nothing to resume" in again.stderr


def test_sigterm_stops_like_ctrl_c(tmp_path):
    env = _dist_env(tmp_path)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchsuite", "run", "-b", "fake-hang", "-m", "tiny", "--mode",
         "train", "--gemm-size", "64", "-o", str(out)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(out.glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert results.read(next(out.glob("*.json")))["status"] == "interrupted"
    assert textwrap.dedent(err).count("Traceback") == 0


def test_processes_pool_samples_from_fresh_workers(reg, tmp_path):
    s = Settings(backends=["numpy"], models=[("logreg", {})], modes=("train",),
                        processes=3, **FAST)
    run = api.run(s, output=tmp_path, registry=reg).document
    (case,) = run["cases"]
    assert case["status"] == "ok" and case["processes"] == 3
    assert len(case["throughput"]["samples"]) == 3 * FAST["repeats"]
    assert len(case["process_medians"]) == 3
