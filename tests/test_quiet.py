"""Framework log noise (TensorFlow/XLA/absl/CUDA probing) stays out of the console for every
command: a backend's worker writes it to the worker's log, and ``list --probe`` probes in a
worker; where a framework loads into the CLI's own process (``--in-process``) its loggers are
quieted first."""

from __future__ import annotations

import logging
import os
from importlib.metadata import EntryPoint

import pytest

from benchsuite import cli
from benchsuite.cli import common
from benchsuite.execution import WorkerSettings
from benchsuite.execution.pool import WorkerPool
from benchsuite.execution.worker import devices_of
from benchsuite.plugins import load_registry
from tests.plugins.noisy_backend import NOISE

EPS = [EntryPoint("numpy", "benchsuite_numpy", "benchsuite"),
       EntryPoint("noisy", "tests.plugins.noisy_backend", "benchsuite")]


@pytest.fixture(scope="module")
def reg():
    return load_registry(EPS)


def test_a_workers_noise_goes_to_its_log_not_the_console(reg, capfd):
    pool = WorkerPool(reg, WorkerSettings(timeout=60.0))
    try:
        kind, devices = pool.call("fake-noisy", devices_of)
        log = "".join(p.read_text() for p in pool.log_dir.iterdir())
    finally:
        pool.close()
    out, err = capfd.readouterr()
    assert (kind, devices) == ("result", ["cpu"])
    assert NOISE not in out + err and "retracing" not in out + err
    assert log.count(NOISE) == 4 and "retracing (fake) in devices" in log  # python, C, twice


def test_list_probe_keeps_the_console_clean(reg, capfd, monkeypatch):
    monkeypatch.setattr(common, "registry", lambda: reg)
    assert cli.main(["list", "--probe", "--json"]) == 0
    out, err = capfd.readouterr()
    assert NOISE not in out + err and "retracing" not in out + err
    assert '"devices_found": [\n        "cpu"\n      ]' in out


def test_a_framework_loaded_in_process_is_quieted_first(reg, monkeypatch):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")  # so that the test's change is undone
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL")
    monkeypatch.setattr(logging.getLogger("tensorflow"), "level", logging.NOTSET)
    pool = WorkerPool(reg, WorkerSettings(isolate=False))
    try:
        assert pool.call("numpy", devices_of) == ("result", ["cpu"])
    finally:
        pool.close()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"
    assert logging.getLogger("tensorflow").level == logging.ERROR
