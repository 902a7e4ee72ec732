"""Hostile inputs (issue 13): every bad value is one line and exit 2 before anything runs,
whether it came from the command line or from a tampered results file read by ``--resume``;
a model that cannot fit this machine's memory is refused before it is built."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchsuite import cli, data, recording
from benchsuite import spec as S
from benchsuite.cases import Settings
from benchsuite.cli.common import percent
from benchsuite.errors import DataError, UsageError
from benchsuite.learning import LearnSettings

# Before anything is refused these would run: keep that run tiny (numpy, one case).
ONE_CASE = ["-b", "numpy", "-m", "logreg", "--mode", "infer", "--repeats", "2",
            "--min-time", "0.005", "--batch-size", "8", "--no-parity", "--in-process"]
ONE_RUN = ["-b", "numpy", "-m", "logreg", "--epochs", "1", "--seeds", "1", "--in-process"]


def error_line(capsys, code: int) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def few_layers(monkeypatch):
    """Fail the test as soon as a model is being built with many layers: a spec of a billion
    layers must be refused from its parameters, not built to find out."""
    built = [0]
    real = S.Dense

    def counting(*args, **kw):
        built[0] += 1
        assert built[0] < 1000, "a huge model is being built"
        return real(*args, **kw)

    monkeypatch.setattr(S, "Dense", counting)


def test_run_refuses_a_model_too_big_for_memory_before_building_it(few_layers, capsys,
                                                                   tmp_path):
    code = cli.main(["run", *ONE_CASE[:2], "-m", "mlp:depth=1000000000", "-o", str(tmp_path)])
    line = error_line(capsys, code)
    assert line.startswith("benchsuite: error: model mlp:depth=1000000000 cannot fit in "
                           "memory: it needs at least ")
    assert "(6.58e+13 parameters, batch 128) and this machine has " in line
    assert not list(tmp_path.iterdir())


def test_train_refuses_depths_too_big_for_memory_before_building(few_layers, capsys,
                                                                  tmp_path):
    code = cli.main(["train", "--task", "gradients", "-b", "numpy", "--depths",
                     "2,1000000000", "--in-process", "-o", str(tmp_path)])
    assert "model mlp:width=128,depth=1000000000,activation=sigmoid cannot fit in memory" \
        in error_line(capsys, code)
    assert not list(tmp_path.iterdir())


def test_a_built_model_is_sized_too_and_activations_count(monkeypatch, capsys, tmp_path):
    from benchsuite import planning

    code = cli.main(["run", *ONE_CASE[:2], "-m", "mlp:width=100000000", "-o", str(tmp_path)])
    assert "(1e+16 parameters, batch 128)" in error_line(capsys, code)
    # logreg: 7850 parameters fit in 1 GiB; its 1578 floats a sample at batch 2**20 do not
    monkeypatch.setattr(planning, "machine_memory", lambda: 2**30)
    code = cli.main(["run", *ONE_CASE[:4], "--batch-size", str(2**20), "-o", str(tmp_path)])
    assert "model logreg cannot fit in memory: it needs at least 6.2 GiB" in error_line(
        capsys, code)


@pytest.mark.parametrize("args, message", [
    (["--timeout", "inf"], "--timeout must be a finite number > 0, got inf"),
    (["--min-time", "inf"], "--min-time must be a finite number > 0, got inf"),
    (["--lr", "inf"], "--lr must be a finite number > 0, got inf"),
    (["--lr", "nan"], "--lr must be a finite number > 0, got nan"),
    (["--memory-limit", "inf"], "--memory-limit must be a finite number > 0, got inf"),
    (["--seed", "-1"], "--seed must be an integer >= 0, got -1"),
    (["--gemm-size", "-5"], "--gemm-size must be an integer >= 1, got -5"),
    (["--gemm-size", "0"], "--gemm-size must be an integer >= 1, got 0"),
    (["--threads", "0"], "--threads must be an integer >= 1, got 0"),
    (["--threads", "-1"], "--threads must be an integer >= 1, got -1"),
    (["-m", "mlp:depth=2,depth=3"], "model parameter 'depth' given twice in "
                                    "'mlp:depth=2,depth=3'"),
    (["--quick", "--rigorous"], "--quick and --rigorous contradict each other: give one"),
    (["--precision", "0"], "--precision must be a finite number > 0 and <= 1, got 0.0"),
    (["--precision", "inf"], "--precision out of range: inf"),
    (["--precision", "-5%"], "--precision out of range: -5%"),
    (["--precision", "soon"], "--precision must look like 5% or 0.05, got 'soon'"),
    (["--precision", "5"], "--precision 5 is ambiguous: give a percent (5%) or a fraction "
                           "<= 1 (0.05)"),
    (["--max-repeats", "0"], "--max-repeats must be an integer >= 1, got 0"),
    (["--repeats", "5", "--max-repeats", "3"], "--max-repeats 3 is below --repeats 5: the "
                                               "rounds could never stop where asked"),
])
def test_run_bad_values_are_one_line_and_nothing_runs(args, message, capsys, tmp_path):
    code = cli.main(["run", *ONE_CASE, *args, "-o", str(tmp_path)])
    assert error_line(capsys, code) == f"benchsuite: error: {message}"
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("args, message", [
    (["--lr", "inf"], "--lr must be a finite number > 0, got inf"),
    (["--weight-decay", "inf"], "--weight-decay must be a finite number >= 0, got inf"),
    (["--timeout", "inf"], "--timeout must be a finite number > 0, got inf"),
    (["--threads", "0"], "--threads must be an integer >= 1, got 0"),
    (["--seed", "-1"], "--seed must be an integer >= 0, got -1"),
    (["--target", "nosuch=0.5"], "--target nosuch=0.5: unknown model 'nosuch' "
                                 "(valid: convnet, logreg, mlp)"),
    (["--target", "logreg=inf"], "--target logreg must be a finite number > 0 and <= 1, "
                                 "got inf"),
    (["--limit", "10", "--batch-size", "32"], "--batch-size 32 is larger than the 10 "
                                              "training images of digits"),
])
def test_train_bad_values_are_one_line_and_nothing_runs(args, message, capsys, tmp_path):
    code = cli.main(["train", *ONE_RUN, *args, "-o", str(tmp_path)])
    assert error_line(capsys, code) == f"benchsuite: error: {message}"
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("args, message", [
    (["--seed", "-1"], "--seed must be an integer >= 0, got -1"),
    (["--threads", "0"], "--threads must be an integer >= 1, got 0"),
    (["--timeout", "inf"], "--timeout must be a finite number > 0, got inf"),
])
def test_verify_bad_values_are_one_line_not_a_parity_failure(args, message, capsys):
    code = cli.main(["verify", "-b", "numpy", "-m", "logreg", "--steps", "1", "--seeds", "1",
                     "--in-process", *args])
    assert error_line(capsys, code) == f"benchsuite: error: {message}"


def interrupted(tmp_path, settings, tamper, **kw):
    doc = recording.new_document(settings.to_dict(), **kw)
    doc["status"] = "interrupted"
    doc["settings"].update(tamper)
    path = tmp_path / "tampered.json"
    # JSON has no infinity (the reader refuses the "Infinity" literal), but 1e400 is valid
    # JSON that reads back as inf: the settings check must catch it.
    path.write_text(json.dumps(doc).replace("Infinity", "1e400"))
    return path


@pytest.mark.parametrize("tamper, message, args", [
    ({"batch_sizes": ["eight"]}, "--batch-size must be an integer >= 1, got 'eight'", None),
    ({"batch_sizes": "8"}, "--batch-size must be a non-empty list of numbers, got '8'", None),
    ({"timeout": "abc"}, "--timeout must be a finite number > 0, got 'abc'", None),
    ({"timeout": float("inf")}, "--timeout must be a finite number > 0, got inf",
     ["--timeout", "inf"]),
    ({"seed": -1}, "--seed must be an integer >= 0, got -1", ["--seed", "-1"]),
    ({"threads": 0}, "--threads must be an integer >= 1, got 0", ["--threads", "0"]),
    ({"gemm_size": -5}, "--gemm-size must be an integer >= 1, got -5", ["--gemm-size", "-5"]),
    ({"repeats": True}, "--repeats must be an integer >= 1, got True", None),
    ({"modes": "train"}, "--mode must be a list of modes, got 'train'", None),
    ({"optimizer": {"name": "sgd", "lr": "fast", "momentum": 0.9, "weight_decay": 0.0}},
     "--lr must be a finite number > 0, got 'fast'", None),
])
@pytest.mark.invalid_results  # tampered on purpose
def test_run_resume_checks_tampered_settings_like_the_command_line(tamper, message, args,
                                                                   capsys, tmp_path):
    path = interrupted(tmp_path, Settings(backends=["numpy"], models=[("logreg", {})]), tamper)
    before = path.read_text()
    line = error_line(capsys, cli.main(["run", "--resume", str(path)]))
    assert line == f"benchsuite: error: {message}"
    assert path.read_text() == before  # nothing measured is lost
    if args:  # the same value on the command line: the same line
        code = cli.main(["run", *ONE_CASE, *args, "-o", str(tmp_path / "out")])
        assert error_line(capsys, code) == line


@pytest.mark.parametrize("tamper, message, args", [
    ({"batch_size": "eight"}, "--batch-size must be an integer >= 1, got 'eight'", None),
    ({"timeout": "abc"}, "--timeout must be a finite number > 0, got 'abc'", None),
    ({"lr": float("inf")}, "--lr must be a finite number > 0, got inf", ["--lr", "inf"]),
    ({"threads": 0}, "--threads must be an integer >= 1, got 0", ["--threads", "0"]),
    ({"targets": {"nosuch": 0.5}}, "--target nosuch=0.5: unknown model 'nosuch' (valid: "
     "convnet, logreg, mlp)", ["--target", "nosuch=0.5"]),
    ({"seeds": "x"}, "--seed must be a non-empty list of numbers, got 'x'", None),
    ({"tasks": "accuracy"}, "--task must be a list of tasks, got 'accuracy'", None),
    ({"depths": [2, "deep"]}, "--depths must be an integer >= 1, got 'deep'", None),
])
@pytest.mark.invalid_results  # tampered on purpose
def test_train_resume_checks_tampered_settings_like_the_command_line(tamper, message, args,
                                                                     capsys, tmp_path):
    block = {"name": "digits", "train": 1347, "test": 450, "input_shape": [8, 8, 1],
             "classes": 10}
    path = interrupted(tmp_path, LearnSettings(backends=["numpy"], models=[("logreg", {})]),
                       tamper, kind="learning", dataset=block)
    line = error_line(capsys, cli.main(["train", "--resume", str(path)]))
    assert line == f"benchsuite: error: {message}"
    if args:
        code = cli.main(["train", *ONE_RUN, *args, "-o", str(tmp_path / "out")])
        assert error_line(capsys, code) == line


def test_threshold_is_a_percent_or_a_fraction_never_a_bare_number_above_1():
    assert percent("5%") == pytest.approx(0.05) and percent("0.05") == 0.05
    assert percent("1") == 1.0
    with pytest.raises(UsageError) as err:
        percent("5")
    assert str(err.value) == ("--threshold 5 is ambiguous: give a percent (5%) or a fraction "
                              "<= 1 (0.05)")


def test_a_data_set_without_images_is_refused():
    x, y = np.zeros((3, 8, 8, 1), np.float32), np.zeros(3, np.int64)
    with pytest.raises(DataError, match=r"^empty train: no images$"):
        data.Dataset("empty", x[:0], y[:0], x, y, 10)
    with pytest.raises(DataError, match=r"^empty test: no images$"):
        data.Dataset("empty", x, y, x[:0], y[:0], 10)
