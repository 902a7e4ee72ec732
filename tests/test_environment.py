"""The GPU probe's message when a GPU is present but a framework cannot see it (issue 15).
Nothing here needs a GPU: the "present but blind" state is faked."""

from __future__ import annotations

import json
import os
import stat
from importlib.metadata import EntryPoint

import pytest

from benchsuite import cli, environment
from benchsuite.environment import gpu_blind_reason
from benchsuite.plugins import load_registry


@pytest.mark.parametrize("framework, hint", [("jax", "jax[cuda12]"),
                                             ("tensorflow", "tensorflow[and-cuda]"),
                                             ("torch", "pytorch.org"),
                                             ("mine", "no CUDA support")])
def test_a_blind_framework_is_named_with_the_gpu_and_why(framework, hint):
    note = gpu_blind_reason(framework, ["cpu"], ["NVIDIA H100 80GB HBM3"])
    assert note.startswith(f"{framework} sees no GPU") and "NVIDIA H100 80GB HBM3" in note
    assert hint in note and "\n" not in note


@pytest.mark.parametrize("found, gpus, supported", [
    (["cpu", "cuda"], ["NVIDIA H100"], ("cpu", "cuda")),  # it sees the GPU
    (["cpu"], [], ("cpu", "cuda")),                       # no GPU on this machine
    (None, ["NVIDIA H100"], ("cpu", "cuda")),             # not probed (or unavailable)
    (["cpu"], ["NVIDIA H100"], ("cpu",)),                 # a CPU-only backend, by design
])
def test_nothing_to_say(found, gpus, supported):
    assert gpu_blind_reason("jax", found, gpus, supported) is None


def test_gpu_names_fall_back_to_nvidia_smi(tmp_path, monkeypatch):
    smi = tmp_path / "nvidia-smi"
    smi.write_text("#!/bin/sh\necho 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-1234)'\n"
                   "echo 'GPU 1: NVIDIA A10 (UUID: GPU-5678)'\n")
    smi.chmod(smi.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(environment, "gpus", lambda: None)  # nvidia-ml-py not installed
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert environment.gpu_names() == ["NVIDIA H100 80GB HBM3", "NVIDIA A10"]
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert environment.gpu_names() == []


def test_list_probe_prints_one_line_for_a_blind_framework(capsys, monkeypatch):
    reg = load_registry([EntryPoint("fakes", "tests.plugins.fake_backends", "benchsuite")])
    # fake-gpu declares cuda; its worker (where list --probe asks) finds none
    from benchsuite.execution import pool

    monkeypatch.setattr(pool, "probe_devices", lambda registry, name, settings=None: ["cpu"])
    monkeypatch.setattr(cli.common, "registry", lambda: reg)
    monkeypatch.setattr(environment, "gpu_names", lambda: ["NVIDIA H100 80GB HBM3"])
    assert cli.main(["list", "--probe"]) == 0
    notes = [line for line in capsys.readouterr().out.splitlines() if "sees no GPU" in line]
    assert notes == ["fake-gpu sees no GPU although this machine has NVIDIA H100 80GB HBM3: "
                     "its build has no CUDA support or cannot load CUDA"]
    assert cli.main(["list", "--probe", "--json"]) == 0
    listing = {b["name"]: b for b in json.loads(capsys.readouterr().out)["backends"]}
    assert listing["fake-gpu"]["gpu_note"] == notes[0] and listing["fake"]["gpu_note"] is None
