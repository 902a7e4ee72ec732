from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from benchsuite import results
from benchsuite.errors import ResultsError, SaveError

GOLDEN = Path(__file__).parent / "data" / "results_v1.json"


def test_golden_v1_file_loads_as_tidy_frame():
    df = results.load(GOLDEN)
    assert list(df.columns) == list(results.COLUMNS)
    assert len(df) == 4
    assert set(df["model"]) == {"logreg", "mlp"} and set(df["mode"]) == {"train", "infer"}
    assert (df["status"] == "ok").all() and (df["throughput"] > 0).all()
    assert (df["ci_low"] <= df["throughput"]).all() and (df["throughput"] <= df["ci_high"]).all()
    assert (df["n_samples"] == 3).all()
    assert json.loads(df.loc[df["model"] == "mlp", "model_params"].iloc[0])["width"] == 8


def test_save_read_round_trip_is_atomic(tmp_path):
    run = json.loads(GOLDEN.read_text())
    path = results.save(run, tmp_path / "r.json")
    assert results.read(path) == run
    run["cases"].append(dict(run["cases"][0], status="failed", error="boom", throughput=None))
    results.save(run, path)
    assert results.read(path)["cases"][-1]["error"] == "boom"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temp files left behind


def test_a_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "r.json"
    run = json.loads(GOLDEN.read_text())
    results.save(run, path)

    def full(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(results.os, "fsync", full)
    with pytest.raises(SaveError, match=f"^cannot save {path}: No space left on device$"):
        results.save({**run, "status": "complete"}, path)
    monkeypatch.undo()
    assert results.read(path) == run
    assert len(list(tmp_path.iterdir())) == 1


def test_load_accepts_folders_and_several_files(tmp_path):
    shutil.copy(GOLDEN, tmp_path / "a.json")
    shutil.copy(GOLDEN, tmp_path / "b.json")
    assert len(results.load(tmp_path)) == 8
    assert len(results.load([tmp_path / "a.json", GOLDEN])) == 8


@pytest.mark.parametrize("content, message", [
    ("", "empty file"),
    ('{"schema_version": 1, "cases": [', "not valid JSON"),
    ("hello", "not valid JSON"),
    ("[1, 2]", "no schema_version"),
    ('{"schema_version": 99, "cases": []}', "schema_version 99 is not supported"),
    ('{"schema_version": 1, "cases": {}}', "'cases' must be a list"),
    ('{"schema_version": 1, "cases": [{"backend": "x"}]}', "case 0 lacks model"),
])
@pytest.mark.invalid_results
def test_bad_files_are_rejected_with_one_clear_line(tmp_path, content, message):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    with pytest.raises(ResultsError) as err:
        results.load(bad)
    assert message in str(err.value) and str(bad) in str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_status_and_bad_throughput(tmp_path):
    run = json.loads(GOLDEN.read_text())
    run["cases"][0]["status"] = "great"
    with pytest.raises(ResultsError, match="unknown status 'great'"):
        results.validate(run)
    run["cases"][0].update(status="ok", throughput={"median": 1.0})
    with pytest.raises(ResultsError, match="throughput needs"):
        results.validate(run)


def test_missing_paths_and_empty_folders(tmp_path):
    with pytest.raises(ResultsError, match="no such file"):
        results.load(tmp_path / "nope.json")
    with pytest.raises(ResultsError, match="no results files"):
        results.load(tmp_path)
