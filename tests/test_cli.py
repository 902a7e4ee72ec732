from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from benchsuite import cli, results
from benchsuite.plugins import load_registry

FAST = ["--repeats", "2", "--min-time", "0.005", "--batch-size", "8"]


@pytest.fixture
def with_fakes(monkeypatch):
    eps = [EntryPoint("numpy", "benchsuite_numpy", "benchsuite"),
           EntryPoint("fakes", "tests.plugins.fake_backends", "benchsuite")]
    monkeypatch.setattr(cli.common, "registry", lambda: load_registry(eps))


def one_error_line(capsys, code, expected_code=2):
    err = capsys.readouterr().err
    assert code == expected_code
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("benchsuite: error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_list_json_shows_backends_models_plugins(capsys):
    assert cli.main(["list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    numpy = next(b for b in listing["backends"] if b["name"] == "numpy")
    assert numpy["available"] and numpy["devices"] == ["cpu"] and numpy["plugin"] == "numpy"
    models = {m["name"]: m for m in listing["models"]}
    assert models["logreg"]["n_params"] == 7850 and models["convnet"]["flops_train"] > 0


def test_list_table_shows_unavailable_with_install_hint(capsys, with_fakes):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "unavailable (pip install fake-framework)" in out and "convnet" in out


def test_run_numpy_writes_results_and_prints_table(tmp_path, capsys):
    code = cli.main(["run", "-b", "numpy", "-m", "logreg", "-m", "mlp:width=16", "--mode",
                     "train", *FAST, "-o", str(tmp_path)])
    out = capsys.readouterr()
    assert code == 0, out.err
    path = Path(out.out.strip().splitlines()[-1].removeprefix("results: "))
    assert path.parent == tmp_path
    doc = results.read(path)
    assert [c["model"] for c in doc["cases"]] == ["logreg", "mlp"]
    assert doc["cases"][1]["spec"]["params"]["width"] == 16
    assert "samples/s" in out.out and "[1/2] numpy logreg train cpu b8: ok" in out.err


def test_run_exits_1_when_a_case_failed(tmp_path, capsys, with_fakes):
    code = cli.main(["run", "-b", "fake-raise", "-b", "numpy", "-m", "tiny", "--mode", "train",
                     *FAST, "-o", str(tmp_path)])
    out = capsys.readouterr()
    assert code == 1
    assert "fake kernel exploded" in out.out
    doc = results.load(tmp_path)
    assert dict(zip(doc["backend"], doc["status"])) == {"fake-raise": "failed", "numpy": "ok"}


@pytest.mark.parametrize("args, message", [
    (["run", "-b", "mxnet"], "unknown backend 'mxnet' (valid: "),
    (["run", "-m", "resnet"], "unknown model 'resnet' (valid: convnet, logreg, mlp"),
    (["run", "--batch-size", "0"], "--batch-size must be an integer >= 1, got 0"),
    (["run", "--batch-size", "-3"], "--batch-size must be an integer >= 1, got -3"),
    (["run", "--batch-size", "big"], "'big' is not a valid integer"),
    (["run", "--device", "tpu"], "unknown device 'tpu'"),
    (["run", "-b", "numpy", "--device", "cuda"], "backend 'numpy' has no cuda device here"),
    (["run", "--mode", "fit"], "unknown mode 'fit'"),
    (["run", "--optimizer", "lbfgs"], "unknown optimizer 'lbfgs'"),
    (["run", "-m", "mlp:depth=-1"], "depth must be a positive integer"),
    (["run", "--frobnicate"], "--frobnicate"),
    (["launch"], "No such command 'launch'"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, capsys, tmp_path):
    line = one_error_line(capsys, cli.main([*args, "-o", str(tmp_path)] if args[0] == "run"
                                           else args))
    assert message in line
    assert not list(tmp_path.iterdir())  # nothing written for a run that never started


def test_unavailable_backend_named_explicitly(capsys, with_fakes, tmp_path):
    line = one_error_line(capsys, cli.main(["run", "-b", "fake-missing", "-o", str(tmp_path)]))
    assert "unavailable (pip install fake-framework)" in line


def test_unwritable_output_dir(capsys, tmp_path):
    (tmp_path / "file").write_text("")
    line = one_error_line(capsys, cli.main(["run", "-o", str(tmp_path / "file" / "out")]))
    assert "cannot write results to" in line


def test_console_script_errors_without_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "benchsuite", "run", "-m", "nope"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "benchsuite: error: unknown model 'nope' (valid: convnet, logreg, mlp)"]


def test_debug_shows_the_traceback(capsys):
    with pytest.raises(Exception, match="unknown model"):
        cli.main(["--debug", "run", "-m", "nope"])


def test_a_failed_parity_check_makes_run_exit_1(tmp_path, capsys, with_fakes):
    # The fake backend trains nothing and predicts zeros: it cannot match the oracle.
    code = cli.main(["run", "-b", "fake", "-m", "tiny", "--mode", "train", *FAST,
                     "-o", str(tmp_path)])
    out = capsys.readouterr()
    assert code == 1
    case = results.read(next(tmp_path.glob("*.json")))["cases"][0]
    assert case["status"] == "ok" and case["parity"]["passed"] is False
    assert "FAIL" in out.out
    assert cli.main(["run", "-b", "fake", "-m", "tiny", "--mode", "train", *FAST, "--no-parity",
                     "-o", str(tmp_path)]) == 0


def test_verify_passes_for_numpy_and_fails_for_a_wrong_backend(capsys, with_fakes):
    assert cli.main(["verify", "-b", "numpy", "-m", "logreg", "--steps", "2", "--seeds", "1",
                     "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["check"] for r in rows} == {"logits_step0", "loss_step1", "loss_step2",
                                          "weights_step2"}
    assert all(r["passed"] for r in rows) and len({r["optimizer"] for r in rows}) == 3
    assert cli.main(["verify", "-b", "fake", "-m", "tiny", "--steps", "2", "--seeds", "1"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_list_imports_no_framework():
    code = ("import sys, benchsuite_torch, benchsuite_tensorflow, benchsuite_jax; "
            "from benchsuite.cli import main; assert main(['list']) == 0; "
            "assert not {'torch', 'tensorflow', 'jax'} & set(sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_verify_a_hanging_backend_is_a_timeout_row_and_exit_1_within_the_timeout(
        with_fakes, capsys):
    import time

    t0 = time.perf_counter()
    code = cli.main(["verify", "-b", "fake-hang", "-b", "numpy", "-m", "logreg", "--steps", "2",
                     "--seeds", "1", "--timeout", "2", "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert code == 1
    hung = [r for r in rows if r["backend"] == "fake-hang"]
    assert len(hung) == 1 and hung[0]["passed"] is False
    assert hung[0]["error"].startswith("timeout: no result after 2 s")
    assert all(r["passed"] for r in rows if r["backend"] == "numpy")  # the others still ran
    assert time.perf_counter() - t0 < 60


def test_verify_refuses_a_non_positive_timeout(with_fakes, capsys):
    line = one_error_line(capsys, cli.main(["verify", "--timeout", "0"]))
    assert "--timeout must be a finite number > 0, got 0" in line
