"""Hostile plugins and a second writer (issue 13): nothing breaks, nothing is lost, nobody takes
over the oracle or another run's results file."""

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

import benchsuite
from benchsuite import cli, recording, results
from benchsuite.learning import LearnSettings
from benchsuite.plugins import load_registry

FAST = ["--mode", "train", "--repeats", "2", "--min-time", "0.005", "--batch-size", "8",
        "--gemm-size", "32", "--in-process"]
NUMPY = EntryPoint("numpy", "benchsuite_numpy", "benchsuite")
BENCHSUITE = {"name": "benchsuite", "version": benchsuite.__version__}


def plugins(monkeypatch, *modules: str) -> None:
    """The CLI sees the built-in NumPy backend and the test plugins ``modules``."""
    eps = [EntryPoint(m, f"tests.plugins.{m}", "benchsuite") for m in modules]
    monkeypatch.setattr(cli.common, "registry", lambda: load_registry([*eps, NUMPY]))


def error_line(capsys, code: int) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def ran(capsys, tmp_path: Path, *args: str, code: int = 0) -> dict:
    assert cli.main(["run", *args, *FAST, "-o", str(tmp_path)]) == code, capsys.readouterr()
    (path,) = tmp_path.glob("*.json")
    return results.read(path)


# -- item 2: the built-in backends keep their names; the oracle is the in-tree NumPy ----------

def test_a_plugin_claiming_numpy_does_not_replace_the_oracle(tmp_path, capsys, monkeypatch):
    """'aaa' loads before 'numpy' by name; before, its fake was recorded as numpy and failed
    parity (it computes zeros)."""
    plugins(monkeypatch, "duplicate_backend")
    doc = ran(capsys, tmp_path, "-b", "numpy", "-m", "logreg")
    (case,) = doc["cases"]
    assert case["status"] == "ok" and case["parity"]["passed"] is True
    assert case["backend_dist"] == BENCHSUITE


# -- item 3: a plugin's model is recorded under its registered name ---------------------------

def test_a_model_is_recorded_under_the_name_it_was_registered_as(tmp_path, capsys,
                                                                  monkeypatch):
    plugins(monkeypatch, "provenance")
    doc = ran(capsys, tmp_path, "-b", "numpy", "-m", "mine", "-m", "logreg")
    assert [c["model"] for c in doc["cases"]] == ["mine", "logreg"]
    assert doc["cases"][0]["spec"]["name"] == "mine"


# -- item 4: which distribution provided each backend and model; framework packages -----------

def test_cases_name_the_distributions_of_their_backend_and_model(tmp_path, capsys,
                                                                  monkeypatch):
    plugins(monkeypatch, "provenance")
    doc = ran(capsys, tmp_path, "-b", "framework-fake", "-b", "numpy", "-m", "mine",
              "--no-parity")
    plugin = {"name": "tests.plugins.provenance", "version": None}
    assert [(c["backend_dist"], c["model_dist"]) for c in doc["cases"]] == [
        (plugin, plugin), (BENCHSUITE, plugin)]
    from importlib.metadata import version

    assert doc["environment"]["packages"]["click"] == version("click")


# -- item 6: a backend whose is_available() or version() raises is contained ------------------

def test_list_shows_a_backend_whose_probe_raises_as_broken(capsys, monkeypatch):
    plugins(monkeypatch, "fake_backends", "raising_probe")
    assert cli.main(["list", "--json"]) == 0
    status = {b["name"]: b["status"] for b in json.loads(capsys.readouterr().out)["backends"]}
    assert status["raise-available"] == \
        "broken (is_available() raised RuntimeError: is_available exploded)"
    assert status["raise-version"] == "broken (version() raised RuntimeError: version exploded)"
    assert status["fake"] == status["numpy"] == "available"


def test_run_records_a_raising_backend_failed_and_the_others_measured(tmp_path, capsys,
                                                                       monkeypatch):
    plugins(monkeypatch, "fake_backends", "raising_probe")
    doc = ran(capsys, tmp_path, "-b", "raise-available", "-b", "raise-version", "-b", "fake",
              "-m", "tiny", "--no-parity", code=1)
    assert doc["status"] == "complete"
    assert [(c["backend"], c["status"], c["error"]) for c in doc["cases"]] == [
        ("raise-available", "failed", "is_available() raised RuntimeError: is_available exploded"),
        ("raise-version", "failed", "version() raised RuntimeError: version exploded"),
        ("fake", "ok", None)]


def test_train_records_a_raising_backend_failed(tmp_path, capsys, monkeypatch):
    plugins(monkeypatch, "fake_backends", "raising_probe")
    code = cli.main(["train", "-b", "raise-available", "-m", "tiny", "--epochs", "1",
                     "--seeds", "1", "--limit", "32", "--in-process", "-o", str(tmp_path)])
    assert code == 1, capsys.readouterr().err
    (record,) = results.read(next(tmp_path.glob("*.json")))["learning"]
    assert (record["status"], record["error"]) == (
        "failed", "is_available() raised RuntimeError: is_available exploded")


def test_check_plugin_of_a_raising_backend_is_one_line(capsys, monkeypatch):
    plugins(monkeypatch, "raising_probe")
    line = error_line(capsys, cli.main(["check-plugin", "raise-available"]))
    assert line == ("benchsuite: error: backend 'raise-available' is broken: is_available() "
                    "raised RuntimeError: is_available exploded")


# -- item 17: a blocked backend is reported blocked, not unknown ------------------------------

def test_a_blocked_backend_is_blocked_in_list_and_in_run(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("BENCHSUITE_DISABLE_PLUGINS", "numpy")
    plugins(monkeypatch)
    assert cli.main(["list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert {"name": "numpy", "status": "blocked by BENCHSUITE_DISABLE_PLUGINS"}.items() <= \
        next(b for b in listing["backends"] if b["name"] == "numpy").items()
    line = error_line(capsys, cli.main(["run", "-b", "numpy", "-o", str(tmp_path)]))
    assert line == "benchsuite: error: backend 'numpy' is blocked by BENCHSUITE_DISABLE_PLUGINS"


# -- item 1: one writer per results file ------------------------------------------------------

FIRST_WRITER = textwrap.dedent("""
    import sys
    from importlib.metadata import EntryPoint
    from benchsuite import api
    from benchsuite.cases import Settings
    from benchsuite.plugins import load_registry

    reg = load_registry([EntryPoint("fakes", "tests.plugins.fake_backends", "benchsuite")])
    api.run(Settings(backends=["fake-sleep"], models=[("tiny", {})], modes=("train",),
                     batch_sizes=(8,), repeats=2, min_time=0.005, parity=False,
                     isolate=False), output=sys.argv[1], registry=reg)
""")


def test_a_second_writer_of_a_results_file_is_refused(tmp_path, capsys, monkeypatch):
    """A run is writing FILE (its steps take 0.5 s); ``run --resume FILE`` meanwhile is one
    line and exit 2 and leaves FILE alone; once the first dies (SIGKILL: no clean-up) the
    file is free again."""
    plugins(monkeypatch, "fake_backends")
    env = {**os.environ, "FAKE_STEP_S": "0.5",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]), *sys.path])}
    first = subprocess.Popen([sys.executable, "-c", FIRST_WRITER, str(tmp_path)], env=env)
    try:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob("*.json")) and time.monotonic() < deadline:
            time.sleep(0.05)
        (path,) = tmp_path.glob("*.json")
        before = path.read_bytes()
        line = error_line(capsys, cli.main(["run", "--resume", str(path)]))
        assert line == (f"benchsuite: error: {path} is being written by another benchsuite "
                        f"process (pid {first.pid}); wait for it to finish")
        assert path.read_bytes() == before or first.poll() is None
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    assert cli.main(["run", "--resume", str(path)]) == 0, capsys.readouterr().err
    doc = results.read(path)
    assert doc["status"] == "complete" and [c["status"] for c in doc["cases"]] == ["ok"]
    assert not Path(f"{path}.lock").exists()


def test_train_resume_of_a_file_another_process_owns_is_refused(tmp_path, capsys):
    dataset = {"name": "digits", "train": 10, "test": 5, "input_shape": [8, 8, 1],
               "classes": 10}
    doc = recording.new_document(LearnSettings(models=[("tiny", {})]).to_dict(),
                                 kind="learning", dataset=dataset)
    doc["status"] = "interrupted"
    path = tmp_path / "train.json"
    results.save(doc, path)
    before = path.read_bytes()
    with recording.claim(path):  # another open file description: as good as another process
        line = error_line(capsys, cli.main(["train", "--resume", str(path)]))
    assert line.startswith(f"benchsuite: error: {path} is being written by another "
                           f"benchsuite process (pid {os.getpid()})")
    assert path.read_bytes() == before
