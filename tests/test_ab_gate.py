"""benchmarks/ab_gate.py, the pull-request gate, for real: a repository whose ``main`` is this
working tree (the pull request) and whose other branches are bases made from it, two thin
environments over this Python, ``benchsuite ab`` on one tiny numpy case."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import benchsuite

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path("benchmarks", "ab_gate.py")
#: One tiny case, 3 rounds a side: a Wilcoxon p is never below 0.25, so never `slower`.
TINY = ["-b", "numpy", "-m", "logreg", "--mode", "infer", "--batch-size", "8",
        "--repeats", "3", "--min-time", "0.01", "--threads", "1"]
NUMPY_ENV = 'return {"version": self.version(), "blas": blas}'


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout


def branch(repo: Path, name: str, edits: dict[str, tuple[str, str]]) -> None:
    """Branch ``name`` off main with each file's (old, new) replacement committed."""
    git(repo, "checkout", "-q", "-b", name, "main")
    for rel, (old, new) in edits.items():
        path = repo / rel
        text = path.read_text()
        assert old in text, f"{rel} no longer holds {old!r}: update this test"
        path.write_text(text.replace(old, new))
    git(repo, "commit", "-q", "-am", name)
    git(repo, "checkout", "-q", "main")


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """main: this working tree (committed or not); base: the same with a marker in the numpy
    worker's environment block and its own version; pre-ab: a benchsuite without the worker
    entry point ab starts; old-protocol: a worker entry point that cannot serve this driver."""
    repo = tmp_path_factory.mktemp("gate") / "repo"
    listed = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            (repo / name).write_bytes((ROOT / name).read_bytes())
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "gate@example.invalid")
    git(repo, "config", "user.name", "gate test")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "the pull request")
    version = f'__version__ = "{benchsuite.__version__}"'
    branch(repo, "base", {
        "benchsuite/__init__.py": (version, '__version__ = "0.0.1+base"'),
        "plugins/benchsuite_numpy/backend.py": (
            NUMPY_ENV, NUMPY_ENV.replace("blas}", 'blas, "gate_marker": "base"}'))})
    branch(repo, "pre-ab", {"benchsuite/execution/worker.py": ("def serve(", "def _gone(")})
    branch(repo, "old-protocol", {"benchsuite/execution/worker.py": (
        "conn = Connection(fd)", 'raise SystemExit("protocol v0")')})
    return repo


def gate(repo: Path, tmp_path: Path, monkeypatch, *args: str) -> subprocess.CompletedProcess:
    """The script from ``repo`` (its own copy), temporary files in tmp_path/tmp."""
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=repo, capture_output=True,
                          text=True, timeout=240)


def assert_cleaned(repo: Path, tmp_path: Path) -> None:
    assert not list((tmp_path / "tmp").iterdir())  # its folder, pip's, ab's worker logs
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert git(repo, "status", "--porcelain") == ""  # nothing built into the checkout


@pytest.mark.slow
def test_gate_runs_each_checkout_in_its_own_environment(repo, tmp_path, monkeypatch):
    done = gate(repo, tmp_path, monkeypatch, "base", *TINY, "-o", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "| backend" in done.stdout and "| verdict" in done.stdout  # the markdown table
    summary = (tmp_path / "summary.md").read_text()
    assert summary.startswith("### benchsuite ab: this pull request against base, ")
    assert "| numpy" in summary and summary.rstrip().endswith("exit status 0")
    assert "|\n\nresults: " in summary  # the line after the table is not one of its rows

    [path] = (tmp_path / "out").glob("*.json")
    doc = json.loads(path.read_text())
    envs = doc["environments"]
    assert envs["base"]["benchsuite_version"] == "0.0.1+base"
    assert envs["new"]["benchsuite_version"] == benchsuite.__version__
    for side, venv in (("base", "base"), ("new", "pr")):  # each side its own thin venv
        exe = Path(envs[side]["executable"])
        assert exe.parent.parent.name == venv and exe.parents[2].name.startswith("ab-gate-")
    # the workers ran their own checkout's plugin code
    assert envs["base"]["backends"]["numpy"]["gate_marker"] == "base"
    assert "gate_marker" not in envs["new"]["backends"]["numpy"]
    [verdict] = doc["ab"]["verdicts"]
    assert verdict["verdict"] in ("same", "inconclusive") and verdict["rounds"] == 3
    assert_cleaned(repo, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("base, why", [
    ("pre-ab", "has no worker serve() (it predates ab)"),
    ("old-protocol", "cannot run the pull request's ab workers (base: "),
])
def test_a_base_that_cannot_serve_ab_workers_is_no_gate(repo, tmp_path, monkeypatch, base,
                                                        why):
    done = gate(repo, tmp_path, monkeypatch, base, *TINY, "-o", str(tmp_path / "out"))
    assert done.returncode == 3, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"ab_gate: no gate: the base ({base}, ") and why in last
    assert done.stderr.count("no gate") == 1
    assert "no gate" in (tmp_path / "summary.md").read_text()
    assert not (tmp_path / "out").exists()
    assert_cleaned(repo, tmp_path)


def test_an_unknown_base_ref_is_one_line(repo, tmp_path, monkeypatch):
    done = gate(repo, tmp_path, monkeypatch, "no-such-ref", *TINY)
    assert done.returncode == 2
    assert done.stderr.startswith("ab_gate: error: BASE_REF 'no-such-ref' is not a commit")
    assert done.stderr.count("\n") == 1 and done.stdout == ""
    assert_cleaned(repo, tmp_path)


@pytest.mark.slow
def test_sigterm_while_gating_stops_ab_and_cleans_up(repo, tmp_path, monkeypatch):
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    proc = subprocess.Popen([sys.executable, str(SCRIPT), "base", *TINY, "--repeats", "500",
                             "-o", str(tmp_path / "out")], cwd=repo, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for line in proc.stderr:
            if "gating" in line:  # ab is starting: its workers, its rounds
                break
        else:
            pytest.fail("the gate never started ab")
        time.sleep(1.5)
        proc.send_signal(signal.SIGTERM)
        rest = proc.stderr.read()
        assert proc.wait(90) == 130, rest
    finally:
        proc.kill()
    assert rest.strip().splitlines()[-1].startswith("ab_gate: interrupted")
    [path] = (tmp_path / "out").glob("*.json")  # ab kept what it finished
    assert json.loads(path.read_text())["status"] == "interrupted"
    assert_cleaned(repo, tmp_path)


def test_base_ref_comes_first(repo, tmp_path, monkeypatch):
    done = gate(repo, tmp_path, monkeypatch, "--full", "-b", "numpy")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert done.stderr.startswith("ab_gate: error: usage: python benchmarks/ab_gate.py BASE_REF")
