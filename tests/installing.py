"""Helpers for tests that pip-install a plugin distribution and drive the real CLI on it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PIP_INSTALL_BUDGET_S = 30.0


def pip_install(source: Path, target: Path) -> float:
    """Install ``source`` into ``target``; returns the seconds it took. The build runs on a
    copy, so setuptools' build/ and egg-info never land in the source tree."""
    with tempfile.TemporaryDirectory(prefix="benchsuite-build-") as tmp:
        copy = Path(tmp) / source.name
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns(
            "build", "*.egg-info", "__pycache__"))
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                              "--no-build-isolation", "--no-index", "--target", str(target),
                              str(copy)], capture_output=True, text=True, timeout=120)
        seconds = time.perf_counter() - t0
    assert out.returncode == 0, out.stderr
    return seconds


def benchsuite(target: Path, *args: str, cwd: Path, check: int | None = 0, timeout=120):
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run([sys.executable, "-m", "benchsuite", *args], capture_output=True,
                         text=True, env=env, cwd=cwd, timeout=timeout)
    if check is not None:
        assert out.returncode == check, f"{args}: {out.stdout}\n{out.stderr}"
    return out


def run_pytest(target: Path, tests: Path, cwd: Path) -> None:
    """A plugin's own test suite, run against the installed plugin."""
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          str(tests)], capture_output=True, text=True, env=env, cwd=cwd,
                         timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
