"""``benchsuite ab``: two environments' workers in turns, paired statistics, verdicts, exit
codes. The environments are this Python, or a wrapper script around it that sets
FAKE_SLOWDOWN (fake-sleep's steps take that much longer): an injected slowdown."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from benchsuite import ab, api, cli, stats
from benchsuite.cases import Settings
from benchsuite.cli import common
from benchsuite.cli.ab import table
from benchsuite.execution.pool import WorkerPool
from tests.test_runner import reg  # noqa: F401 - the fixture

ROOT = Path(__file__).resolve().parent.parent
#: One tiny fake-sleep case: 2 ms steps, 10 rounds of >= 10 ms a side.
CASE = ["-b", "fake-sleep", "-m", "tiny", "--mode", "train", "--batch-size", "4",
        "--min-time", "0.01", "--threads", "1"]


def wrapper(tmp_path: Path, name: str, env: str) -> Path:
    """A 'python' that is this one with ``env`` (shell assignments) set."""
    path = tmp_path / name
    path.write_text(f'#!/bin/sh\n{env} exec "{sys.executable}" "$@"\n')
    path.chmod(0o755)
    return path


@pytest.fixture(autouse=True)
def _importable_here(monkeypatch):
    """The workers of another Python do not see the current folder (nor this process's
    sys.path): this checkout and its test plugins are theirs through PYTHONPATH."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [
        str(ROOT), os.environ.get("PYTHONPATH")])))


def cli_ab(reg, monkeypatch, tmp_path, base, new, *extra):  # noqa: F811
    monkeypatch.setattr(common, "registry", lambda: reg)
    return cli.main(["ab", "--base-python", str(base), "--python", str(new), *CASE,
                     "-o", str(tmp_path / "out"), *extra])


def document(tmp_path: Path) -> dict:
    [path] = (tmp_path / "out").glob("*.json")
    return json.loads(path.read_text())


# -- statistics ---------------------------------------------------------------------------

def test_holm_multiplies_the_kth_smallest_p_by_the_hypotheses_left_and_stays_monotone():
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert stats.holm([0.5, 0.001]) == pytest.approx([0.5, 0.002])
    assert stats.holm([0.3, 0.9]) == pytest.approx([0.6, 0.9])
    assert stats.holm([0.6, 0.9]) == [1.0, 1.0]  # at most 1, and monotone
    assert stats.holm([]) == []


def test_signed_rank_p_of_per_round_log_ratios():
    assert stats.signed_rank_p([0.1] * 10) == pytest.approx(2 / 2**10)
    assert stats.signed_rank_p([0.0] * 10) == 1.0  # no change at all: no evidence
    assert stats.signed_rank_p([0.1]) == 1.0
    mixed = [0.01, -0.02, 0.03, -0.01, 0.02, -0.03, 0.015, -0.015]
    assert stats.signed_rank_p(mixed) > 0.5


def test_paired_logs_pair_samples_by_round():
    logs = stats.paired_logs([1.0, 2.0, 4.0], [0, 1, 2], [2.0, 2.0], [2, 0])
    assert np.exp(logs) == pytest.approx([2.0, 0.5])  # rounds 0 and 2, in round order


@pytest.mark.parametrize("ratio, low, high, p, expected", [
    (1.00, 0.99, 1.01, 0.5, "same"),            # CI inside ±3%
    (0.98, 0.975, 0.985, 0.001, "same"),        # significant, but smaller than the margin
    (0.99, 0.96, 1.02, 0.5, "inconclusive"),    # CI across the margin, not significant
    (0.97, 0.95, 0.99, 0.2, "inconclusive"),    # below 1 but not significant after Holm
    (0.95, 0.94, 0.96, 0.01, "slower"),
    (0.97, 0.95, 0.99, 0.01, "slower"),         # straddles the margin, significant
    (1.10, 1.05, 1.15, 0.01, "faster"),
    (1.00, 0.90, 1.10, 0.01, "inconclusive"),   # "significant" but the CI contains 1
])
def test_verdict(ratio, low, high, p, expected):
    assert ab.verdict(ratio, low, high, p, margin=0.03) == expected


def test_a_wider_margin_turns_inconclusive_into_same():
    assert ab.verdict(0.99, 0.96, 1.02, 0.5, margin=0.03) == "inconclusive"
    assert ab.verdict(0.99, 0.96, 1.02, 0.5, margin=0.05) == "same"


def _record(env, samples, status="ok", contended=False, backend="b", mode="train"):
    return {"env": env, "backend": backend, "variant": None, "model": "m", "mode": mode,
            "device": "cpu", "batch_size": 4, "spec": {"params": {}}, "status": status,
            "error": None if status == "ok" else "boom",
            "throughput": {"median": float(np.median(samples)), "samples": samples},
            "interleaving": {"group": "g", "contestants": 2,
                             "rounds": list(range(len(samples)))},
            "contention": {"contended": contended}}


def test_analyse_pairs_base_and_new_and_corrects_across_cases():
    base = [100.0 + i for i in range(10)]
    rows = ab.analyse([
        _record("base", base), _record("new", [x * 0.8 for x in base]),
        _record("base", base, mode="infer"), _record("new", base, mode="infer"),
        _record("base", base, backend="c"), _record("new", base, "crashed", backend="c"),
        _record("base", base, backend="d"), _record("new", base, contended=True, backend="d"),
    ])
    by = {(r["backend"], r["mode"]): r for r in rows}
    slow = by[("b", "train")]
    assert slow["verdict"] == "slower" and slow["ratio"] == pytest.approx(0.8)
    assert slow["p_value"] == pytest.approx(2 / 2**10)
    assert slow["p_adjusted"] == pytest.approx(2 * slow["p_value"])  # 2 cases judged
    assert by[("b", "infer")]["verdict"] == "same"
    assert by[("c", "train")]["verdict"] == "failed"
    assert by[("c", "train")]["error"] == "new: crashed: boom"
    assert by[("d", "train")]["verdict"] == "contended"
    assert by[("d", "train")]["p_adjusted"] is None
    assert slow["detectable"] == pytest.approx(0, abs=1e-9)  # the same ratio every round
    assert by[("d", "train")]["detectable"] is None and "_logs" not in slow


def test_detectable_follows_the_round_to_round_noise_and_the_round_count():
    """Noisier rounds, a larger detectable change; 5 rounds cannot reach p < 0.05 at all;
    more judged cases (Holm) ask more of each."""
    rng = np.random.default_rng(1)
    base = list(100 + rng.normal(0, 1, 10))
    noise = list(np.exp(rng.normal(0, 0.05, 10)))
    quiet = [b * (1 + 0.1 * (k - 1)) for b, k in zip(base, noise)]
    noisy = [b * k for b, k in zip(base, noise)]
    rows = ab.analyse([_record("base", base), _record("new", quiet),
                       _record("base", base, backend="n"), _record("new", noisy, backend="n"),
                       _record("base", base[:5], backend="f"),
                       _record("new", noisy[:5], backend="f")])
    d = {r["backend"]: r["detectable"] for r in rows}
    assert 0 < d["b"] < d["n"] < 0.2 and d["f"] is None
    sd = np.log(noise).std(ddof=1)
    assert d["n"] == pytest.approx(stats.detectable_paired(np.log(noise), 0.05 / 3))
    assert d["n"] > stats.detectable_paired(np.log(noise), 0.05) > 2 * sd / np.sqrt(10)


# -- the command ----------------------------------------------------------------------------

def test_aa_same_python_twice_is_never_slower_and_exits_0(reg, monkeypatch, tmp_path,  # noqa: F811
                                                         capsys):
    assert cli_ab(reg, monkeypatch, tmp_path, sys.executable, sys.executable) == 0
    out = capsys.readouterr().out
    doc = document(tmp_path)
    [row] = doc["ab"]["verdicts"]
    assert row["verdict"] in ("same", "inconclusive") and row["rounds"] == 10
    assert doc["kind"] == "ab" and [c["env"] for c in doc["cases"]] == ["base", "new"]
    assert set(doc["environments"]) == {"base", "new"}
    assert "fake-sleep" in doc["environments"]["new"]["backends"]
    lines = out.splitlines()
    assert lines[0].split() == ["case", "base/s", "new/s", "change", "95%", "CI", "p(adj)",
                                "detect", "verdict"]
    assert lines[1].startswith("fake-sleep t") and lines[1].endswith(row["verdict"])
    assert all(len(line) <= 80 for line in lines[:-1])
    assert lines[-1].startswith("results: ")


def test_an_injected_slowdown_is_slower_and_exits_1(reg, monkeypatch, tmp_path,  # noqa: F811
                                                   capsys):
    slow = wrapper(tmp_path, "slow-python", "FAKE_SLOWDOWN=1.5")
    assert cli_ab(reg, monkeypatch, tmp_path, sys.executable, slow, "--markdown") == 1
    out = capsys.readouterr().out
    [row] = document(tmp_path)["ab"]["verdicts"]
    assert row["verdict"] == "slower" and 0.6 < row["ratio"] < 0.75
    assert out.startswith("| backend | variant | model |")
    assert "| slower |" in out and "| detectable |" in out
    assert 0 <= row["detectable"] < 0.2  # fake-sleep's rounds are steady: 10 of them see it
    # compare cannot tell the two environments' cases apart: it refuses the file.
    [path] = (tmp_path / "out").glob("*.json")
    assert cli.main(["compare", str(path), str(path)]) == 2
    assert capsys.readouterr().err == (f"benchsuite: error: BASE: {path} is a benchsuite ab "
                                       "file, judged when it ran (its 'ab' verdicts): compare "
                                       "takes benchsuite run files\n")
    # The other way round the new environment is faster: nothing to gate on.
    (tmp_path / "out").rename(tmp_path / "first")
    assert cli_ab(reg, monkeypatch, tmp_path, slow, sys.executable) == 0
    assert document(tmp_path)["ab"]["verdicts"][0]["verdict"] == "faster"


def test_base_and_new_take_turns_round_by_round(reg, tmp_path, monkeypatch):  # noqa: F811
    seen = []
    real = WorkerPool.call

    def call(self, name, fn, args=()):
        if fn.endswith("repeat_case"):
            seen.append(name)
        return real(self, name, fn, args)

    monkeypatch.setattr(WorkerPool, "call", call)
    s = Settings(backends=["fake-sleep"], models=[("tiny", {})], modes=("train",),
                 batch_sizes=(4,), repeats=4, min_time=0.005, threads=1, parity=False)
    outcome = api.ab(s, sys.executable, sys.executable, output=tmp_path, registry=reg)
    base, new = ("fake-sleep", "base"), ("fake-sleep", "new")
    assert seen == [base, new, new, base, base, new, new, base]
    assert [c["env"] for c in outcome.document["cases"]] == ["base", "new"]


def test_workers_of_another_python_die_and_time_out_as_any_worker(reg, monkeypatch,  # noqa: F811
                                                                 tmp_path, capsys):
    monkeypatch.setattr(common, "registry", lambda: reg)
    code = cli.main(["ab", "--base-python", sys.executable, "--python", sys.executable,
                     "-b", "fake-abort", "-b", "fake-hang", "-m", "tiny", "--mode", "train",
                     "--batch-size", "4", "--min-time", "0.01", "--timeout", "1",
                     "-o", str(tmp_path / "out")])
    assert code == 1
    by = {c["backend"]: c for c in document(tmp_path)["cases"] if c["env"] == "new"}
    assert by["fake-abort"]["status"] == "crashed"
    assert "SIGABRT" in by["fake-abort"]["error"]
    assert by["fake-hang"]["status"] == "timeout"
    verdicts = {v["backend"]: v for v in document(tmp_path)["ab"]["verdicts"]}
    assert {v["verdict"] for v in verdicts.values()} == {"failed"}
    assert verdicts["fake-hang"]["error"].startswith("base: timeout: no result after 1 s")
    assert "  fake-abort tiny train b4: base: crashed: " in capsys.readouterr().out


def test_the_table_fits_80_columns_shortening_the_case():
    row = {"backend": "a-backend-with-a-very-long-name", "variant": "compiled",
           "model": "mlp", "mode": "train", "batch_size": 128, "base": 12345.0,
           "new": 11000.0, "ratio": 0.891, "ci_low": 0.8512, "ci_high": 0.9321,
           "p_value": 0.0039, "p_adjusted": 0.0039, "detectable": 0.0712,
           "verdict": "inconclusive", "error": None}
    lines = table([row, {**row, "detectable": None}], 0.03)
    assert max(map(len, lines[:3])) == 80
    assert lines[1].startswith("a-backend-w…   12.3k")
    assert lines[1].split()[1:] == ["12.3k", "11.0k", "-10.9%", "-14.9%..-6.8%", "0.004",
                                    "7.1%", "inconclusive"]
    assert lines[2].split()[-2] == "none"  # its rounds could not detect any change
    assert lines[-1] == "inconclusive: 2 (margin ±3%, Holm-adjusted Wilcoxon p < 0.05)"


@pytest.mark.parametrize("python, message", [
    ("missing", "--python {path}: No such file or directory"),
    ("shadowed", "--python {path}: cannot import benchsuite (ImportError: not this one)"),
])
def test_a_python_that_cannot_run_benchsuite_is_one_line_and_exit_2(
        reg, monkeypatch, tmp_path, capsys, python, message):  # noqa: F811
    path = tmp_path / "nope" / "python"
    if python == "shadowed":  # a Python whose 'benchsuite' is not benchsuite
        (tmp_path / "shadow" / "benchsuite").mkdir(parents=True)
        (tmp_path / "shadow" / "benchsuite" / "__init__.py").write_text(
            "raise ImportError('not this one')\n")
        path = wrapper(tmp_path, "python", f"PYTHONPATH={tmp_path / 'shadow'}:$PYTHONPATH")
    assert cli_ab(reg, monkeypatch, tmp_path, sys.executable, path) == 2
    err = capsys.readouterr().err
    assert err == f"benchsuite: error: {message.format(path=path)}\n"
    assert not (tmp_path / "out").exists()  # refused before anything ran


def test_a_bad_margin_is_one_line_and_exit_2(reg, monkeypatch, tmp_path, capsys):  # noqa: F811
    assert cli_ab(reg, monkeypatch, tmp_path, sys.executable, sys.executable,
                  "--margin", "ten") == 2
    assert capsys.readouterr().err == ("benchsuite: error: --margin must look like 5% or "
                                       "0.05, got 'ten'\n")
