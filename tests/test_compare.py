from __future__ import annotations

import json

import pytest

from benchsuite import cli
from benchsuite.compare import compare
from tests.resultdocs import make_run, write

SAMPLES = [1000.0, 1010.0, 990.0, 1005.0, 995.0, 1002.0, 998.0]


def side(tmp_path, name, cases, **env):
    return write(make_run(cases, **env), tmp_path / f"{name}.json")


def cases(scale_torch=1.0, extra=()):
    return [{"backend": "numpy", "samples": SAMPLES},
            {"backend": "torch", "samples": [s * scale_torch for s in SAMPLES]}, *extra]


def verdicts(result):
    return dict(zip(result.rows["backend"], result.rows["verdict"]))


def test_identical_runs_are_the_same(tmp_path):
    r = compare([side(tmp_path, "a", cases())], [side(tmp_path, "b", cases())])
    assert verdicts(r) == {"numpy": "same", "torch": "same"}
    assert r.threshold == 0.05 and not len(r.regressions)


@pytest.mark.parametrize("scale, verdict", [(0.5, "slower"), (2.0, "faster"), (1.02, "same")])
def test_significant_changes_beyond_the_threshold(tmp_path, scale, verdict):
    r = compare([side(tmp_path, "a", cases())], [side(tmp_path, "b", cases(scale))])
    row = r.rows[r.rows["backend"] == "torch"].iloc[0]
    assert row["verdict"] == verdict
    assert row["ci_low"] <= row["ratio"] <= row["ci_high"]
    assert row["ratio"] == pytest.approx(scale, rel=0.01)


def test_missing_new_and_failed(tmp_path):
    base = side(tmp_path, "a", cases(extra=[{"backend": "tensorflow", "samples": SAMPLES}]))
    new = side(tmp_path, "b", [
        {"backend": "numpy", "samples": SAMPLES},
        {"backend": "torch", "status": "crashed", "error": "worker killed by signal SIGSEGV"},
        {"backend": "jax", "samples": SAMPLES}])
    r = compare([base], [new])
    assert verdicts(r) == {"numpy": "same", "torch": "failed", "tensorflow": "missing",
                           "jax": "new"}
    assert list(r.regressions["backend"]) == ["torch"]


def test_a_case_measured_under_contention_gets_no_verdict(tmp_path, capsys):
    """Halved throughput beside a busy process is not a regression of the code: no verdict,
    and the gate does not fail on it (it says why instead)."""
    base = side(tmp_path, "a", cases())
    new = side(tmp_path, "b", [{"backend": "numpy", "samples": SAMPLES},
                               {"backend": "torch", "samples": [s / 2 for s in SAMPLES],
                                "contended": True}])
    r = compare([base], [new])
    assert verdicts(r) == {"numpy": "same", "torch": "contended"}
    assert not len(r.regressions)
    row = r.rows[r.rows["backend"] == "torch"].iloc[0]
    assert row["error"] == "measured under contention in NEW: no verdict"
    assert cli.main(["compare", str(base), str(new)]) == 0
    assert "contended: 1" in capsys.readouterr().out
    uncontended = side(tmp_path, "c", cases(0.5, extra=()))
    assert verdicts(compare([base], [uncontended]))["torch"] == "slower"


def test_cli_exit_codes_markdown_and_environment_warning(tmp_path, capsys):
    a = side(tmp_path, "a", cases())
    b = side(tmp_path, "b", cases(0.5), cpu="Another CPU")
    assert cli.main(["compare", str(a), str(b), "--markdown"]) == 1
    out = capsys.readouterr()
    assert "| torch |" in out.out and "slower" in out.out and "-50.0%" in out.out
    assert "different environments or settings (cpu)" in out.err
    assert cli.main(["compare", str(a), str(a), "--threshold", "5%"]) == 0
    assert cli.main(["compare", str(a), str(b), "--threshold", "60%"]) == 0  # below threshold


def test_too_few_samples_are_flagged(tmp_path, capsys):
    a = side(tmp_path, "a", [{"backend": "numpy", "samples": SAMPLES[:3]}])
    b = side(tmp_path, "b", [{"backend": "numpy", "samples": [s / 2 for s in SAMPLES[:3]]}])
    assert cli.main(["compare", str(a), str(b)]) == 0  # halved, but 3 vs 3 proves nothing
    assert "only 3 samples a side" in capsys.readouterr().err


def test_no_shared_case_and_bad_threshold(tmp_path, capsys):
    a = side(tmp_path, "a", [{"backend": "numpy", "samples": SAMPLES}])
    b = side(tmp_path, "b", [{"backend": "torch", "samples": SAMPLES}])
    assert cli.main(["compare", str(a), str(b)]) == 2
    err = capsys.readouterr().err
    assert "share no case" in err and str(a) in err and str(b) in err
    assert cli.main(["compare", str(a), str(a), "--threshold", "lots"]) == 2
    assert "--threshold must look like 5%" in capsys.readouterr().err


def test_real_runs_same_code_is_same_and_a_50_percent_slowdown_is_slower(tmp_path, monkeypatch,
                                                                          capsys):
    """End to end: three real runs of a fake backend with a known step cost, the third with a
    50% slowdown injected; compare must call the first pair the same and the second slower.
    The step (5 ms of sleep) dwarfs the harness's own cost, and the slowdown the noise of a
    busy 2-core machine: with 2 ms steps and a 20% slowdown a loaded run measured -7.4%, under
    the noise threshold, and this test failed one full run in five."""
    from importlib.metadata import EntryPoint

    from benchsuite import api
    from benchsuite.cases import Settings
    from benchsuite.plugins import load_registry

    reg = load_registry([EntryPoint("fakes", "tests.plugins.fake_backends", "benchsuite")])

    def bench(name, slowdown):
        monkeypatch.setenv("FAKE_SLOWDOWN", str(slowdown))
        monkeypatch.setenv("FAKE_STEP_S", "0.005")
        s = Settings(backends=["fake-sleep"], models=[("tiny", {})], modes=("train",),
                     batch_sizes=(8,), repeats=7, min_time=0.1, threads=1, parity=False,
                     gemm_size=64)
        return api.run(s, output=tmp_path / name, registry=reg).path

    a, b, slow = bench("a", 1.0), bench("b", 1.0), bench("slow", 1.5)
    assert cli.main(["compare", str(a), str(b)]) == 0
    assert "same" in capsys.readouterr().out
    assert cli.main(["compare", str(a), str(slow)]) == 1
    out = capsys.readouterr().out
    assert "slower" in out and "-3" in out  # about -33%: 1/1.5


# -- what a comparison could have detected --------------------------------------------------

NOISY = [1000.0, 1400.0, 700.0, 1150.0, 850.0]  # CV ~26%, 5 samples


def test_detectable_column_summary_and_inconclusive_when_the_noise_hides_a_change(
        tmp_path, capsys):
    """Quiet cases can detect about the threshold: ``same``. A noisy one could only detect a
    change far beyond it: ``inconclusive`` (not a regression: exit 0)."""
    three = [{"backend": "numpy", "samples": SAMPLES}, {"backend": "torch", "samples": SAMPLES},
             {"backend": "jax", "samples": NOISY}]
    a, b = side(tmp_path, "a", three), side(tmp_path, "b", three)
    r = compare([a], [b])
    assert r.threshold == 0.05  # the median CV is the quiet cases'
    rows = r.rows.set_index("backend")
    assert verdicts(r) == {"numpy": "same", "torch": "same", "jax": "inconclusive"}
    assert 0.05 <= rows.loc["numpy", "detectable"] < 0.06
    assert rows.loc["jax", "detectable"] > 2 * 0.05
    low, high = rows["detectable"].min(), rows["detectable"].max()
    assert r.detectable_summary == (
        "smallest change this comparison could detect: median "
        f"{100 * rows['detectable'].median():.1f}% (cases: {100 * low:.1f}%–{100 * high:.1f}%)")
    assert cli.main(["compare", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "detectable" in out and "inconclusive: 1, same: 2" in out
    assert r.detectable_summary in out
    assert cli.main(["compare", str(a), str(b), "--markdown"]) == 0
    out = capsys.readouterr().out
    assert "| detectable |" in out and r.detectable_summary in out
    assert cli.main(["compare", str(a), str(b), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    by = {c["backend"]: c for c in doc["cases"]}
    assert by["jax"]["verdict"] == "inconclusive"
    assert by["jax"]["detectable"] == pytest.approx(rows.loc["jax", "detectable"])
    assert doc["summary"] == r.detectable_summary and doc["threshold"] == 0.05


def test_too_few_samples_detect_nothing(tmp_path, capsys):
    a = side(tmp_path, "a", [{"backend": "numpy", "samples": SAMPLES[:3]}])
    r = compare([a], [a])
    assert verdicts(r) == {"numpy": "inconclusive"}  # 3 vs 3: not even a halving shows
    assert r.rows["detectable"].iloc[0] == float("inf")
    assert r.detectable_summary == ("smallest change this comparison could detect: median "
                                    "none (cases: none–none)")
    assert cli.main(["compare", str(a), str(a), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cases"][0]["detectable"] is None


def test_runs_measured_with_other_threads_or_repeats_are_compared_with_a_warning(tmp_path,
                                                                               capsys):
    """``--threads idle`` picks a thread count from the load: a run on 1 thread against one
    on 2 measures something else, and compare says so (like two machines)."""
    a = make_run(cases())
    b = make_run(cases())
    b["settings"].update(threads=a["settings"]["threads"] + 1, repeats=7)
    pa, pb = write(a, tmp_path / "a.json"), write(b, tmp_path / "b.json")
    assert compare([pa], [pb]).environment_differences == ["threads", "repeats"]
    assert compare([pa], [pa]).environment_differences == []
    assert cli.main(["compare", str(pa), str(pb)]) == 0
    assert "different environments or settings (threads, repeats)" in capsys.readouterr().err
