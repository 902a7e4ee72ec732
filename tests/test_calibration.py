"""``benchsuite calibrate`` and ``compare --calibration``: thresholds from the noise between
separate runs. Synthetic runs (tests/resultdocs.py) where the medians drift between runs far
more than the repeats vary within one, and one real calibration of a tiny matrix."""

from __future__ import annotations

import json

import pytest

from benchsuite import calibration, cli, stats
from benchsuite.cli import common
from benchsuite.compare import compare
from tests.resultdocs import make_run, write
from tests.schemacheck import problems
from tests.test_runner import reg  # noqa: F401 - the fixture

SAMPLES = [1000.0, 1010.0, 990.0, 1005.0, 995.0, 1002.0, 998.0]  # CV 0.6%
DRIFT = (1.0, 1.10, 0.92)  # numpy's level in each run: separate runs differ by ~10%


def runs(tmp_path, drift=DRIFT, **env):
    """One synthetic run per drift: numpy drifts, torch does not."""
    tmp_path.mkdir(exist_ok=True)
    return [write(make_run([{"backend": "numpy", "samples": [s * k for s in SAMPLES]},
                            {"backend": "torch", "samples": SAMPLES}], **env),
                  tmp_path / f"run{i}.json") for i, k in enumerate(drift)]


def calibrate_into(tmp_path, paths):
    doc, path = calibration.save(calibration.derive(paths), tmp_path / "cal")
    return doc, path


def test_calibration_of_drifting_runs(tmp_path):
    paths = runs(tmp_path)
    doc, path = calibrate_into(tmp_path, paths)
    assert problems(json.loads(path.read_text()), str(path)) == []
    assert doc["runs"] == 3 and doc["files"] == [str(p) for p in paths]
    by = {c["backend"]: c for c in doc["cases"]}
    numpy, torch = by["numpy"], by["torch"]
    assert numpy["within_cv"] == pytest.approx(torch["within_cv"]) == pytest.approx(0.0063,
                                                                                  abs=1e-3)
    assert numpy["between_sd"] > 0.08 > 0.001 > torch["between_sd"]  # drift, not repeats
    # One drift for the machine, pooled over the cases (4 degrees of freedom): here half of
    # numpy's variance; each case's threshold adds its own within-run noise to it.
    s = doc["summary"]
    assert s["degrees_of_freedom"] == 4
    assert s["drift_sd"] == pytest.approx(
        ((numpy["between_sd"]**2 - numpy["within_sd"]**2 - torch["within_sd"]**2) / 2)**0.5)
    assert numpy["noise_sd"] == pytest.approx((numpy["within_sd"]**2 + s["drift_sd"]**2)**0.5)
    assert numpy["threshold"] == pytest.approx(stats.aa_threshold(numpy["noise_sd"], dof=4))
    assert 0.25 < numpy["threshold"] < 1
    # compare's default rule (5% here) calls every pair of the drifting case a change.
    assert (numpy["aa_false_alarms"], numpy["aa_pairs"]) == (3, 3)
    assert (torch["aa_false_alarms"], torch["aa_pairs"]) == (0, 3)
    assert s["aa_false_alarms"] == 3 and s["aa_verdicts"] == 6 and s["left_out"] == 0
    assert s["median_threshold"] == pytest.approx((numpy["threshold"] + torch["threshold"]) / 2)
    assert 1 > numpy["detectable"] > numpy["threshold"]


def test_compare_takes_each_case_threshold_from_the_calibration(tmp_path, capsys):
    doc, cal = calibrate_into(tmp_path, runs(tmp_path))
    a, b = runs(tmp_path / "later", drift=(1.0, 0.88))[:2]  # another A/A pair, as noisy
    assert cli.main(["compare", str(a), str(b)]) == 1  # the default rule: a false alarm
    capsys.readouterr()
    assert cli.main(["compare", str(a), str(b), "--calibration", str(cal)]) == 0
    out = capsys.readouterr().out
    assert f"thresholds from {cal}" in out.replace("\n", "")
    r = compare([a], [b], calibration=calibration.load(cal))
    rows = r.rows.set_index("backend")
    by = {c["backend"]: c for c in doc["cases"]}
    assert rows.loc["numpy", "threshold"] == pytest.approx(by["numpy"]["threshold"])
    assert rows.loc["numpy", "verdict"] in ("same", "inconclusive")
    assert rows.loc["numpy", "detectable"] > by["numpy"]["threshold"]
    # A slowdown beyond the calibrated threshold is still caught.
    slow = write(make_run([{"backend": "numpy", "samples": SAMPLES},
                           {"backend": "torch", "samples": [s * 0.3 for s in SAMPLES]}]),
                 tmp_path / "slow.json")
    assert cli.main(["compare", str(a), str(slow), "--calibration", str(cal)]) == 1


def test_cases_the_calibration_lacks_take_the_default_rule_and_say_so(tmp_path, capsys):
    _, cal = calibrate_into(tmp_path, runs(tmp_path))
    three = [{"backend": "numpy", "samples": SAMPLES}, {"backend": "torch", "samples": SAMPLES},
             {"backend": "jax", "samples": SAMPLES}]
    a = write(make_run(three), tmp_path / "a.json")
    assert cli.main(["compare", str(a), str(a), "--calibration", str(cal)]) == 0
    err = capsys.readouterr().err
    assert f"warning: 1 case(s) are not in {cal}: they take the default threshold 5.0%" in err


@pytest.mark.parametrize("change, message", [
    ({"settings": {"repeats": 9}}, "was measured with repeats {repeats}, {new} with 9"),
    ({"settings": {"precision": 0.02}}, "was measured with precision "),
    ({"env": {"cpu": "Another CPU"}}, "was measured on another machine (cpu"),
])
def test_a_calibration_of_other_settings_or_another_machine_is_refused(tmp_path, capsys,
                                                                       change, message):
    _, cal = calibrate_into(tmp_path, runs(tmp_path))
    run = make_run([{"backend": "numpy", "samples": SAMPLES}], **change.get("env", {}))
    run["settings"].update(change.get("settings", {}))
    new = write(run, tmp_path / "new.json")
    base = tmp_path / "run0.json"
    assert cli.main(["compare", str(base), str(new), "--calibration", str(cal)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"benchsuite: error: {cal} ") and err.count("\n") == 1
    assert message.format(new=new, repeats=make_run([])["settings"]["repeats"]) in err


def test_a_file_that_is_no_calibration_is_one_line(tmp_path, capsys):
    base = runs(tmp_path)[0]
    assert cli.main(["compare", str(base), str(base), "--calibration", str(base)]) == 2
    assert capsys.readouterr().err == (
        f"benchsuite: error: --calibration {base}: not a benchsuite calibration file "
        "(no calibration_version 1; made by benchsuite calibrate)\n")


@pytest.mark.parametrize("k", ["0", "-1", "1", "inf", "x", "2.5"])
def test_a_bad_run_count_is_one_line_and_exit_2(tmp_path, capsys, k):
    assert cli.main(["calibrate", "--runs", k, "-o", str(tmp_path / "cal")]) == 2
    assert capsys.readouterr().err == (f"benchsuite: error: --runs must be an integer >= 2, "
                                       f"got {k!r}\n")
    assert not (tmp_path / "cal").exists()


def test_calibrate_a_tiny_matrix(reg, monkeypatch, tmp_path, capsys):  # noqa: F811
    """Two real runs of NumPy logreg inference, back to back: a valid calibration file (the
    schema check of every file a test writes includes it), its table, and a compare of the
    two runs with it (their own spread: never a change)."""
    monkeypatch.setattr(common, "registry", lambda: reg)
    out = tmp_path / "cal"
    assert cli.main(["calibrate", "--runs", "2", "-b", "numpy", "-m", "logreg", "--mode",
                     "infer", "--batch-size", "16", "--repeats", "5", "--min-time", "0.01",
                     "--threads", "1", "--gemm-size", "64", "-o", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    [path] = out.glob("calibration-*.json")
    doc = json.loads(path.read_text())
    assert problems(doc, str(path)) == []
    assert doc["runs"] == 2 and doc["settings"]["repeats"] == 5
    [case] = doc["cases"]
    assert (case["backend"], case["model"], case["mode"], case["runs"]) == (
        "numpy", "logreg", "infer", 2)
    assert case["threshold"] > 0 and case["aa_pairs"] == 1
    assert lines[0].split() == ["case", "cv", "between", "threshold", "A/A", "alarms",
                                "detectable"]
    assert lines[1].startswith("numpy logreg infer b16")
    assert lines[-3].startswith("2 runs: drift between runs ")
    assert lines[-2].startswith("compare's default rule on the 1 pairs of runs: ")
    assert lines[-1] == f"calibration: {path}"
    a, b = sorted((out / "runs").glob("*.json"))
    assert cli.main(["compare", str(a), str(b), "--calibration", str(path)]) == 0


def test_contended_and_failed_runs_of_a_case_do_not_count(tmp_path):
    """A median measured beside a busy process is the neighbour's, not the machine's noise:
    a case with fewer than 2 clean runs is left out (compare gives it the default rule)."""
    def run(i, jax):
        return write(make_run([{"backend": "numpy", "samples": SAMPLES}, jax]),
                     tmp_path / f"r{i}.json")
    paths = [run(0, {"backend": "jax", "samples": SAMPLES}),
             run(1, {"backend": "jax", "samples": [s / 3 for s in SAMPLES], "contended": True}),
             run(2, {"backend": "jax", "status": "crashed", "error": "boom"})]
    doc = calibration.derive(paths)
    assert [c["backend"] for c in doc["cases"]] == ["numpy"]
    assert doc["summary"]["left_out"] == 1
