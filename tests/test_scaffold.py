"""``benchsuite new-backend``: the skeleton installs, is discovered, and passes check-plugin."""

from __future__ import annotations

import json

import pytest

from benchsuite import cli, scaffold
from tests.installing import PIP_INSTALL_BUDGET_S, benchsuite, pip_install, run_pytest


def test_skeleton_installs_is_discovered_and_passes_check_plugin(tmp_path, capsys):
    assert cli.main(["new-backend", "my-fw", "-o", str(tmp_path)]) == 0
    root = tmp_path / "benchsuite-my-fw"
    assert "next: pip install -e" in capsys.readouterr().out
    assert (root / "src" / "benchsuite_my_fw" / "backend.py").is_file()
    site = tmp_path / "site"
    assert pip_install(root, site) < PIP_INSTALL_BUDGET_S
    listing = json.loads(benchsuite(site, "list", "--json", cwd=tmp_path).stdout)
    plugin = next(p for p in listing["plugins"] if p["name"] == "my-fw")
    assert plugin["status"] == "ok" and plugin["source"] == "benchsuite-my-fw"
    assert plugin["backends"] == ["my-fw"]
    out = benchsuite(site, "check-plugin", "my-fw", cwd=tmp_path).stdout
    assert "my-fw: conforms (" in out and "0 failed" in out
    assert "parity model logreg (adam)" in out
    run_pytest(site, root / "tests", cwd=tmp_path)  # the generated test, using benchsuite.testing


def test_names_become_distribution_package_and_class():
    assert scaffold.names("jax-cpu") == {
        "name": "jax-cpu", "package": "benchsuite_jax_cpu", "dist": "benchsuite-jax-cpu",
        "cls": "JaxCpuBackend", "cls_model": "JaxCpuModel"}


@pytest.mark.parametrize("name", ["Bad Name", "1x", "a--b", "", "ünï"])
def test_bad_names_are_one_line_exit_2(tmp_path, capsys, name):
    assert cli.main(["new-backend", name, "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "must be lowercase letters and digits" in err[0]
    assert not any(tmp_path.iterdir())


def test_an_existing_folder_is_never_overwritten(tmp_path, capsys):
    (tmp_path / "benchsuite-mine").mkdir()
    assert cli.main(["new-backend", "mine", "-o", str(tmp_path)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert not any((tmp_path / "benchsuite-mine").iterdir())


def test_the_minimal_backend_in_the_plugin_guide_is_what_new_backend_writes():
    import re
    from pathlib import Path

    guide = (Path(__file__).resolve().parent.parent / "docs" / "plugins.md").read_text()
    section = guide.split("## A complete minimal backend")[1].split("\n## ")[0]
    shown = dict(re.findall(r"^`([^`\n]+)`:\n\n```\w+\n(.*?)^```$", section, re.M | re.S))
    written = {p: t for p, t in scaffold.render("mybackend").items() if not p.endswith(".md")}
    assert shown == written, "docs/plugins.md is out of date: regenerate its skeleton blocks"


def test_the_name_of_an_installed_backend_is_refused(tmp_path, capsys):
    assert cli.main(["new-backend", "numpy", "-o", str(tmp_path)]) == 2
    assert "a backend named 'numpy' is already installed" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
