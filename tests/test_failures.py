"""What a failure leaves (issue 13): a failed row keeps the traceback tail of its error (shown
by ``--debug``); a worker that runs out of memory starting is an ``oom`` row with a message; a
driver killed outright leaves no worker log folder behind for long."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from benchsuite import cli, results
from benchsuite.bench import failure
from benchsuite.execution import WorkerSettings
from benchsuite.execution.pool import LOG_PREFIX, WorkerPool, sweep_logs
from benchsuite.plugins import load_registry

FAST = ["--mode", "train", "--repeats", "2", "--min-time", "0.005", "--batch-size", "8",
        "--no-parity"]


@pytest.fixture
def with_fakes(monkeypatch):
    eps = [EntryPoint("numpy", "benchsuite_numpy", "benchsuite"),
           EntryPoint("fakes", "tests.plugins.fake_backends", "benchsuite")]
    monkeypatch.setattr(cli.common, "registry", lambda: load_registry(eps))


def test_a_failed_row_keeps_its_traceback_and_debug_shows_it(with_fakes, tmp_path, capsys):
    args = ["run", "-b", "fake-raise", "-m", "tiny", *FAST]
    assert cli.main([*args, "-o", str(tmp_path / "plain")]) == 1
    assert "Traceback" not in capsys.readouterr().err  # without --debug: the table's line
    [row] = results.read(next((tmp_path / "plain").glob("*.json")))["cases"]
    assert row["status"] == "failed" and row["error"] == "RuntimeError: fake kernel exploded"
    lines = row["traceback"].splitlines()
    assert lines[-1] == "RuntimeError: fake kernel exploded"
    assert any("in train_step" in line for line in lines)  # the frame in the backend
    assert len(lines) <= 20
    assert cli.main(["--debug", *args, "-o", str(tmp_path / "debug")]) == 1
    err = capsys.readouterr().err
    assert "--- fake-raise tiny train cpu 8: failed\n" in err and "in train_step" in err


def test_a_bare_memory_error_is_oom_with_a_readable_error():
    row = failure(MemoryError())
    assert (row["status"], row["error"]) == ("oom", "MemoryError")
    assert row["traceback"].endswith("MemoryError")


def test_a_worker_out_of_memory_at_start_is_an_oom_row(tmp_path, capsys):
    code = cli.main(["run", "-b", "numpy", "-m", "logreg", *FAST, "--memory-limit", "0.001",
                     "-o", str(tmp_path)])
    assert code == 1
    [row] = results.read(next(tmp_path.glob("*.json")))["cases"]
    assert row["status"] == "oom", row
    assert row["error"] == ("numpy worker did not start: MemoryError (its --memory-limit is "
                            "0.001 GiB)")


def test_log_folders_of_a_killed_driver_are_swept_by_the_next_pool(tmp_path, monkeypatch):
    # A driver that made its log folder and was then SIGKILLed (as the OOM killer does).
    driver = textwrap.dedent(f"""
        import os, signal, tempfile
        tempfile.tempdir = {str(tmp_path)!r}
        from benchsuite.execution import WorkerSettings
        from benchsuite.execution.pool import WorkerPool
        from benchsuite.plugins import load_registry
        pool = WorkerPool(load_registry([]), WorkerSettings())
        (pool.log_dir / "numpy.log").write_text("worker chatter")
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", driver], timeout=60)
    assert proc.returncode == -signal.SIGKILL
    [left] = tmp_path.glob(f"{LOG_PREFIX}*")
    assert left.name[len(LOG_PREFIX):].partition("-")[0].isdigit()  # named after its pid
    mine = tmp_path / f"{LOG_PREFIX}{os.getpid()}-live"  # a pool of a process still alive
    mine.mkdir()
    legacy = tmp_path / f"{LOG_PREFIX}abcd1234"  # an older benchsuite's: whose, unknown
    legacy.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    pool = WorkerPool(load_registry([]), WorkerSettings())
    new = pool.log_dir
    assert not left.exists() and mine.exists() and legacy.exists()
    assert new.name.startswith(f"{LOG_PREFIX}{os.getpid()}-")
    pool.close()
    assert not new.exists()
    assert sweep_logs(Path(tmp_path)) == []
