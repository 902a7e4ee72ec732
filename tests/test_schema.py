"""The results schema: the JSON Schema file, the typed records, and the files benchsuite writes."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from benchsuite import cli, records, results
from benchsuite.environment import fingerprint
from benchsuite.learning import LearnSettings
from tests.schemacheck import SchemaCheck, problems, validator

GOLDEN = Path(__file__).parent / "data" / "results_v1.json"

#: Each typed record and the schema object that describes it ("": the document itself).
DEFS = {
    records.RunDocument: "", records.CaseRecord: "case", records.Spec: "spec",
    records.Throughput: "throughput", records.Phases: "phases", records.Memory: "memory",
    records.Contention: "contention", records.IdleCheck: "idleCheck",
    records.Interleaving: "interleaving",
    records.Latency: "latency", records.Parity: "parity", records.NodeTag: "nodeTag",
    records.Node: "node", records.TrainingRecord: "trainingRun",
    records.CurvePoint: "curvePoint", records.Optimizer: "optimizer",
    records.RunSettings: "runSettings", records.LearnSettings: "learnSettings",
    records.Environment: "environment", records.BackendInfo: "backendInfo",
    records.Gpu: "gpu", records.Executor: "executor", records.Dataset: "dataset",
    records.Dist: "dist", records.AbEnvironment: "abEnvironment",
    records.AbVerdict: "abVerdict", records.AbBlock: "ab",
}


def golden() -> dict:
    return json.loads(GOLDEN.read_text())


def learning_doc() -> dict:
    dataset = {"name": "digits", "train": 10, "test": 5, "input_shape": [8, 8, 1], "classes": 10}
    return records.new_document(LearnSettings().to_dict(), fingerprint(), "0.1.0",
                                kind="learning", dataset=dataset)


def test_the_schema_is_valid_draft_2020_12_and_printed_by_the_cli(capsys):
    schema = records.schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    validator()  # check_schema raises on a malformed schema
    assert results.schema() == schema
    assert cli.main(["schema"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out) == schema and out.startswith('{\n  "$schema"')


@pytest.mark.parametrize("typed, name", list(DEFS.items()), ids=lambda v: getattr(v, "__name__", v))
def test_typed_records_and_schema_name_the_same_keys(typed, name):
    schema = records.schema()
    node = schema["$defs"][name] if name else schema
    assert set(typed.__annotations__) == set(node["properties"])
    assert set(typed.__required_keys__) == set(node.get("required", ()))


def test_one_definition_of_statuses_and_the_keys_loading_checks():
    schema = records.schema()
    assert set(schema["$defs"]) - set(DEFS.values()) == {"status"}  # every object is typed
    assert schema["$defs"]["status"]["enum"] == list(records.STATUSES)
    assert schema["properties"]["status"]["enum"] == list(records.RUN_STATUSES)
    assert schema["properties"]["schema_version"]["const"] == records.SCHEMA_VERSION
    assert results.SCHEMA_VERSION is records.SCHEMA_VERSION
    assert results.STATUSES is records.STATUSES and results.CASE_KEYS is records.CASE_KEYS
    # What loading checks is part of what every writer writes.
    assert set(records.CASE_KEYS) <= records.CaseRecord.__required_keys__
    assert set(records.THROUGHPUT_KEYS) == records.Throughput.__required_keys__
    assert set(records.LEARNING_KEYS) <= records.TrainingRecord.__required_keys__


def test_golden_file_and_fresh_documents_are_valid():
    assert problems(golden()) == []
    run = records.new_document({**golden()["settings"]}, fingerprint(), "0.1.0")
    assert run["status"] == "running" and run["finished"] is None and "kind" not in run
    assert problems(run) == []
    assert problems(learning_doc()) == []
    ab = records.new_document({**golden()["settings"]}, fingerprint(), "0.1.0", kind="ab")
    assert ab["kind"] == "ab" and ab["environments"] == {} and problems(ab) == []
    with pytest.raises(ValueError):
        records.new_document({}, {}, "0.1.0", kind="abc")


def _without(d: dict, key: str) -> dict:
    d.pop(key)
    return d


@pytest.mark.parametrize("mistake, expected", [
    (lambda d: _without(d["cases"][0], "status"), "'status' is a required property"),
    (lambda d: d["cases"][1].update(status="great"), "'great' is not one of"),
    (lambda d: _without(d["cases"][0]["throughput"], "median"),
     "'median' is a required property"),
    (lambda d: d["cases"][0].update(throughput=None), "None is not of type 'object'"),
    (lambda d: d["cases"][0]["throughput"].update(samples="many"), "'many' is not of type"),
    (lambda d: d.update(status="done"), "'done' is not one of"),
    (lambda d: d.update(schema_version=2), "1 was expected"),
    (lambda d: d.update(kind="speed"), "'speed' is not one of ['learning', 'ab']"),
    (lambda d: _without(d, "environment"), "'environment' is a required property"),
])
def test_the_schema_rejects_real_mistakes(mistake, expected):
    doc = golden()
    mistake(doc)
    found = problems(doc)
    assert any(expected in p for p in found), found


@pytest.mark.parametrize("mistake, expected", [
    (lambda d: _without(d, "learning"), "'learning' is a required property"),
    (lambda d: _without(d, "dataset"), "'dataset' is a required property"),
    (lambda d: d["learning"].append({"task": "accuracy", "status": "ok"}),
     "'backend' is a required property"),
])
def test_the_schema_rejects_a_broken_learning_document(mistake, expected):
    doc = learning_doc()
    mistake(doc)
    found = problems(doc)
    assert any(expected in p for p in found), found


def test_unknown_keys_are_allowed_everywhere():
    """Schema 1 is additive: a key a later writer adds must not break an older reader."""
    doc = golden()
    doc["new_top_level"] = {"x": 1}
    doc["cases"][0]["new_case_key"] = [1, 2]
    doc["cases"][0]["throughput"]["new_statistic"] = 0.5
    doc["environment"]["backends"]["numpy"]["whatever"] = True
    assert problems(doc) == []


def test_a_real_run_is_valid_at_every_save(tmp_path, capsys, results_schema_check):
    """Every record shape a speed run writes: train, infer and latency cases, the null
    backend, parity and the GEMM peak; each save while running is checked by the fixture."""
    code = cli.main(["run", "-b", "numpy", "-b", "null", "-m", "logreg", "--mode", "train",
                     "--mode", "infer", "--mode", "latency", "--quick", "--repeats", "2",
                     "--min-time", "0.01", "--batch-size", "16", "--gemm-size", "64",
                     "-o", str(tmp_path)])
    assert code == 0, capsys.readouterr().err
    (path,) = tmp_path.glob("*.json")
    doc = results.read(path)
    assert problems(doc) == [] and doc["status"] == "complete" and len(doc["cases"]) == 6
    keys = {k for c in doc["cases"] for k in c}
    assert {"latency", "parity", "phases", "memory", "null_backend", "peak_gflops"} <= keys
    assert results_schema_check.checked == 1 + 6 + 1  # running, after each case, finished
    assert results_schema_check.problems == []


def test_a_real_training_run_is_valid_at_every_save(tmp_path, capsys, results_schema_check):
    code = cli.main(["train", "-b", "numpy", "-m", "logreg", "--task", "all", "--depths", "2",
                     "--activations", "relu", "--epochs", "1", "--seeds", "1", "--limit", "200",
                     "-o", str(tmp_path)])
    assert code in (0, 1), capsys.readouterr().err  # 1: a target missed after one epoch
    (path,) = tmp_path.glob("*.json")
    doc = results.read(path)
    assert problems(doc) == [] and doc["kind"] == "learning"
    assert [r["task"] for r in doc["learning"]] == ["accuracy", "gradients"]
    assert all(r["status"] == "ok" and r["curve"] for r in doc["learning"])
    assert results_schema_check.checked == 1 + 2 + 1
    assert results_schema_check.problems == []


@pytest.mark.invalid_results
def test_the_check_catches_bad_saves_and_bad_files_left_behind(tmp_path):
    check = SchemaCheck()
    save = check.wrap(results.save)
    run = golden()
    save(run, tmp_path / "good.json")
    assert check.checked == 1 and check.problems == []
    bad = copy.deepcopy(run)
    bad["status"] = "running"
    del bad["cases"][0]["status"]
    save(bad, tmp_path / "bad.json")
    assert check.checked == 2 and "(status 'running')" in check.problems[0]
    assert "'status' is a required property" in check.problems[0]
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "by-a-subprocess.json").write_text('{"schema_version": 1, "cases": []}')
    (tmp_path / "sub" / "not-results.json").write_text('[1, 2, {"a": 1}]')
    (tmp_path / "sub" / "broken.json").write_text("{")
    before = len(check.problems)
    check.scan(tmp_path / "sub")
    assert len(check.problems) > before
    assert all("by-a-subprocess.json" in p for p in check.problems[before:])
