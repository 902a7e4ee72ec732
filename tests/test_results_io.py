"""Results files under hostile conditions (issue 13): a backend describing itself with values
JSON cannot hold, a disk that fills up mid-run, files that are not results files at all
(not UTF-8, nested 100,000 deep, a FIFO, /dev/zero, a symbolic link loop, wrong types), and
saving through a symbolic link or over a file with its own permissions."""

from __future__ import annotations

import contextlib
import copy
import errno
import json
import os
import threading
from importlib.metadata import EntryPoint

import numpy as np
import pytest

from benchsuite import api, cli, fileio, results
from benchsuite.cases import Settings
from benchsuite.errors import ResultsError, SaveError
from benchsuite.plugins import load_registry
from tests.resultdocs import GOLDEN

EPS = [EntryPoint("fakes", "tests.plugins.fake_backends", "benchsuite"),
       EntryPoint("hostile", "tests.plugins.hostile_env", "benchsuite")]
FAST = {"repeats": 2, "min_time": 0.001, "batch_sizes": (8,), "threads": 1, "gemm_size": 16,
        "parity": False, "models": [("tiny", {})], "modes": ("train",)}


@pytest.fixture(scope="module")
def reg():
    return load_registry(EPS)


def golden() -> dict:
    return json.loads(GOLDEN.read_text())


# -- item 7: every value the file receives is JSON-safe ---------------------------------------

def test_json_safe_turns_what_json_cannot_hold_into_what_it_can():
    loop: list = []
    loop.append(loop)
    value = {"nan": float("nan"), "inf": float("inf"), "set": {3, 1, 2}, "mixed": {1, "a"},
             "bytes": b"\xff", "np": np.float32(0.5), "npint": np.int64(7), (1, 2): "tuple key",
             None: 1, "deep": [[[[]]]], "loop": loop, "big": 10**5000, "ok": [1, "a", True]}
    safe = fileio.json_safe(value)
    json.dumps(safe, allow_nan=False)  # nothing left that JSON cannot hold
    assert safe["nan"] is None and safe["inf"] is None
    assert safe["set"] == [1, 2, 3] and sorted(map(str, safe["mixed"])) == ["1", "a"]
    assert safe["bytes"] == "b'\\xff'" and safe["np"] == 0.5 and safe["npint"] == 7
    assert safe["(1, 2)"] == "tuple key" and safe["null"] == 1
    assert safe["loop"] == ["<cycle>"] and safe["big"] == "<integer of 16610 bits>"
    assert safe["ok"] == [1, "a", True] and safe["deep"] == [[[[]]]]


def test_save_writes_nan_as_null_and_objects_as_repr(tmp_path):
    run = golden()
    run["environment"]["backends"] = {"x": {"version": "1", "nan": float("nan"),
                                            "set": {"b", "a"}, "obj": object()}}
    path = results.save(run, tmp_path / "r.json")
    back = results.read(path)
    info = back["environment"]["backends"]["x"]
    assert info["nan"] is None and info["set"] == ["a", "b"]
    assert info["obj"].startswith("<object object at")


@pytest.mark.parametrize("isolate", [False, True], ids=["in-process", "worker"])
def test_a_backend_with_a_hostile_environment_is_a_row_not_a_lost_run(reg, tmp_path, isolate):
    outcome = api.run(Settings(backends=["hostile-env", "fake"], isolate=isolate, **FAST),
                      output=tmp_path, registry=reg)
    doc = results.read(outcome.path)
    assert doc["status"] == "complete"
    assert [(c["backend"], c["status"]) for c in doc["cases"]] == [
        ("hostile-env", "ok"), ("fake", "ok")]
    info = doc["environment"]["backends"]["hostile-env"]
    assert info["nan"] is None and info["inf"] is None and info["set"] == [1, 2, 3]
    assert info["bytes"] == "b'\\xff\\x00'" and info["object"] == "<Opaque thing>"
    assert info["tuple_key"] == {"(1, 2)": "pair"} and info["np"] == 0.5
    assert info["fn"].startswith("<function") and info["loop"] == ["<cycle>"]
    # recorded sanitised: the document in memory is as safe as the file
    json.dumps(outcome.document, allow_nan=False)


# -- item 12: a full disk while saving -----------------------------------------------------

def _disk_full_after(monkeypatch, saves: int) -> None:
    """Every fsync after the first ``saves`` fails as a full disk does."""
    real, calls = os.fsync, []

    def fsync(fd):
        calls.append(fd)
        if len(calls) > saves:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd)
    monkeypatch.setattr(fileio.os, "fsync", fsync)


def test_disk_full_mid_run_keeps_the_file_and_says_how_to_resume(reg, tmp_path, monkeypatch,
                                                                  capsys):
    monkeypatch.setattr(cli.common, "registry", lambda: reg)
    _disk_full_after(monkeypatch, 2)  # the empty document, then the first case
    code = cli.main(["run", "-b", "fake", "-b", "fake-gpu", "-m", "tiny", "--mode", "train",
                     "--repeats", "2", "--min-time", "0.001", "--batch-size", "8",
                     "--no-parity", "--in-process", "-o", str(tmp_path)])
    err = capsys.readouterr().err
    [path] = tmp_path.glob("*.json")
    assert code == 2 and "Traceback" not in err and err.count("error") == 1, err
    assert err.strip().splitlines()[-1] == (
        f"benchsuite: error: cannot save {path}: No space left on device; the file there is "
        "intact (its last complete save): free some space, then complete it with: "
        f"benchsuite run --resume {path}")
    doc = results.read(path)  # valid, with the case saved before the disk filled
    assert doc["status"] == "running" and [c["backend"] for c in doc["cases"]] == ["fake"]
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left
    monkeypatch.undo()
    done = api.run(resume=path, registry=reg).document
    assert done["status"] == "complete" and len(done["cases"]) == 2


def test_disk_full_before_anything_ran(reg, tmp_path, monkeypatch):
    _disk_full_after(monkeypatch, 0)
    with pytest.raises(SaveError, match="nothing has run yet: free some space"):
        api.run(Settings(backends=["fake"], isolate=False, **FAST), output=tmp_path,
                registry=reg)
    assert not list(tmp_path.iterdir())


# -- item 17: saving keeps the file's mode and writes through a symbolic link -----------------

def test_saving_keeps_the_mode_and_writes_through_a_link(tmp_path):
    run = golden()
    real = tmp_path / "store" / "r.json"
    real.parent.mkdir()
    results.save(run, real)
    real.chmod(0o640)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    run["status"] = "complete"
    results.save(run, link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert results.read(real)["status"] == "complete"
    assert real.stat().st_mode & 0o777 == 0o640
    fresh = results.save(run, tmp_path / "new.json")
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~fileio.umask()


# -- item 14: files that are not results files ---------------------------------------------

def _hostile(run: dict, change) -> dict:
    run = copy.deepcopy(run)
    change(run)
    return run


def _set_tp(key, value):
    return lambda r: r["cases"][0]["throughput"].__setitem__(key, value)


@pytest.mark.parametrize("change, message", [
    (lambda r: r.__setitem__("environment", None), "'environment' must be an object, got null"),
    (_set_tp("samples", ["a", "b"]),
     "case 0 throughput 'samples[0]' must be a number of samples/s from 0 to 1e+15, got 'a'"),
    (_set_tp("median", -5.0),
     "case 0 throughput 'median' must be a number of samples/s from 0 to 1e+15, got -5.0"),
    (_set_tp("ci_high", 1e308),
     "case 0 throughput 'ci_high' must be a number of samples/s from 0 to 1e+15, got 1e+308"),
    (_set_tp("samples", "fast"), "case 0 throughput 'samples' must be a list, got 'fast'"),
    (lambda r: r["cases"][1].__setitem__("batch_size", "16"),
     "case 1 'batch_size' must be a positive integer, got '16'"),
    (lambda r: r["cases"][1].__setitem__("phases", "quick"),
     "case 1 'phases' must be an object, got 'quick'"),
    (lambda r: r["cases"][1].__setitem__("step_ms", "0.1"),
     "case 1 'step_ms' must be a finite number or null, got '0.1'"),
    (lambda r: r["cases"][2].__setitem__("backend", ["numpy"]),
     "case 2 'backend' must be a string, got a list"),
])
@pytest.mark.invalid_results
def test_wrong_types_are_one_line_for_every_reader(tmp_path, capsys, change, message):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_hostile(golden(), change)))
    for args in (["export", str(bad)], ["report", str(bad), "-o", str(tmp_path / "rep")],
                 ["compare", str(bad), str(GOLDEN)]):
        assert cli.main(args) == 2, args
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [f"benchsuite: error: {bad}: {message}"]
    assert not (tmp_path / "rep").exists()


@pytest.mark.parametrize("content, message", [
    (b'{"schema_version": 1, "cases": [], "x": "caf\xe9"}',
     "not UTF-8 text (byte 0xe9 at offset 44); not a benchsuite results file"),
    (b"[" * 100_000 + b"]" * 100_000,
     "JSON nested too deeply to read; not a benchsuite results file"),
    (b'{"schema_version": 1, "cases": [], "x": NaN}',
     "not valid JSON (NaN is not JSON); not a benchsuite results file"),
])
@pytest.mark.invalid_results
def test_undecodable_files_are_one_line(tmp_path, content, message):
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    with pytest.raises(ResultsError) as err:
        results.load(bad)
    assert str(err.value) == f"{bad}: {message}"


@pytest.mark.timeout(20)
@pytest.mark.invalid_results  # the schema check's own scan of tmp_path would wait on the FIFO
def test_a_fifo_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "run.json"
    os.mkfifo(fifo)
    # Were the FIFO opened, this writer would feed it (so the test fails rather than hangs).
    def feed():
        with contextlib.suppress(OSError):
            fifo.write_text("{}")
    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        with pytest.raises(ResultsError) as err:
            results.load(tmp_path)
        assert str(err.value) == (f"{fifo}: cannot read (not a regular file but a named pipe "
                                  "(FIFO))")
    finally:  # let the writer finish
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        writer.join(5)
        os.close(reader)


def test_dev_zero_is_refused_before_it_is_read():
    with pytest.raises(ResultsError, match=r"^/dev/zero: cannot read \(not a regular file but "
                                           r"a character device\)$"):
        results.load("/dev/zero")


@pytest.mark.invalid_results  # the schema check's scan of tmp_path cannot resolve a loop
def test_a_symlink_loop_is_not_called_missing(tmp_path):
    (tmp_path / "a.json").symlink_to(tmp_path / "b.json")
    (tmp_path / "b.json").symlink_to(tmp_path / "a.json")
    (tmp_path / "gone.json").symlink_to(tmp_path / "nowhere.json")
    with pytest.raises(ResultsError) as err:
        results.load(tmp_path / "a.json")
    assert str(err.value) == f"{tmp_path / 'a.json'}: cannot read (Too many levels of " \
                             "symbolic links)"
    with pytest.raises(ResultsError, match="no such file or folder \\(a symbolic link to a "
                                           "missing file\\)"):
        results.load(tmp_path / "gone.json")


def test_a_large_regular_file_still_loads(tmp_path):
    run = golden()
    case = {k: run["cases"][0][k] for k in results.CASE_KEYS}
    run["cases"] = [dict(case, batch_size=1 + i % 512) for i in range(34_000)]
    path = tmp_path / "big.results"  # not *.json: the schema check would take longer than this
    path.write_text(json.dumps(run))
    assert len(results.read(path)["cases"]) == 34_000  # no size limit, only a type check
