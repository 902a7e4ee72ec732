"""Proof by example: the separately installable backend in examples/ is pip-installed into a
temporary location, then found, checked, benchmarked and reported like any backend.

``pip install --target`` (no dependencies, no build isolation: no network, no torch) gives a
real installed distribution — package plus dist-info with its ``benchsuite`` entry point —
that the subprocesses see through PYTHONPATH, next to this environment's benchsuite.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.installing import PIP_INSTALL_BUDGET_S, benchsuite, pip_install, run_pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "benchsuite-example-backend"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    seconds = pip_install(EXAMPLE, target)
    assert seconds < PIP_INSTALL_BUDGET_S, f"pip install took {seconds:.1f} s"
    assert (target / "benchsuite_example").is_dir()
    return target


def test_installed_example_is_listed_from_its_own_distribution(installed, tmp_path):
    listing = json.loads(benchsuite(installed, "list", "--json", cwd=tmp_path).stdout)
    plugins = {p["name"]: p for p in listing["plugins"]}
    assert plugins["example"]["status"] == "ok"
    assert plugins["example"]["source"] == "benchsuite-example-backend"
    backend = next(b for b in listing["backends"] if b["name"] == "example")
    assert backend["available"] and backend["variants"] == ["float64"]


def test_installed_example_passes_check_plugin(installed, tmp_path):
    out = benchsuite(installed, "check-plugin", "example", cwd=tmp_path).stdout
    assert "example: conforms (" in out and "0 failed" in out
    assert "does not support layer(s): Conv2D, MaxPool2D" in out


def test_installed_example_runs_and_is_reported(installed, tmp_path):
    benchsuite(installed, "run", "-b", "example", "-m", "logreg", "-m",
               "convnet", "--mode", "train", "--batch-size", "8", "--repeats", "2",
               "--min-time", "0.01", "--gemm-size", "64", "--data", "digits", "-o", "results",
               cwd=tmp_path)
    doc = json.loads(next((tmp_path / "results").glob("*.json")).read_text())
    cases = {(c["backend"], c["model"]): c for c in doc["cases"]}
    assert cases["example", "logreg"]["status"] == "ok"
    assert cases["example", "logreg"]["parity"]["passed"] is True
    assert cases["example", "convnet"]["status"] == "skipped"
    assert "Conv2D" in cases["example", "convnet"]["error"]
    benchsuite(installed, "report", "results", "-o", "report", cwd=tmp_path)
    assert "example" in (tmp_path / "report" / "report.md").read_text()


def test_the_example_s_own_test_suite_passes(installed, tmp_path):
    run_pytest(installed, EXAMPLE / "tests", cwd=tmp_path)
