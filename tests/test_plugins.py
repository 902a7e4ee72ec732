from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from importlib.metadata import EntryPoint

import pytest

from benchsuite.errors import PluginError
from benchsuite.plugins import ENTRY_POINT_GROUP, load_registry


def ep(name: str, module: str) -> EntryPoint:
    return EntryPoint(name=name, value=f"tests.plugins.{module}", group=ENTRY_POINT_GROUP)


def test_builtin_numpy_backend_comes_through_the_entry_point_group():
    reg = load_registry()
    assert reg.plugins["numpy"].status == "ok"
    assert reg.plugins["numpy"].source == "benchsuite"  # the installed distribution
    assert reg.plugins["numpy"].backends == ["numpy"]
    assert set(reg.models) >= {"logreg", "mlp", "convnet"}


def test_fake_plugin_registers_backends_and_models():
    reg = load_registry([ep("fakes", "fake_backends")])
    assert {"fake", "fake-missing", "fake-gpu"} <= set(reg.backends)
    assert reg.models["tiny"].plugin == "fakes"


@pytest.mark.parametrize("module, message", [
    ("broken_import", "ModuleNotFoundError: No module named 'frobnicate_not_installed'"),
    ("raising_hook", "RuntimeError: registration blew up"),
    ("misspelled_hook", "benchsuite_register_backend"),
    ("duplicate_backend", "backend 'numpy' is already registered by 'numpy'"),
    ("bad_register", "needs a named Backend instance"),
])
def test_broken_plugins_are_reported_not_fatal(module, message, caplog):
    numpy = EntryPoint(name="numpy", value="benchsuite_numpy", group=ENTRY_POINT_GROUP)
    reg = load_registry([numpy, ep("bad", module)])
    info = reg.plugins["bad"]
    assert info.status == "broken"
    assert message in info.error
    assert "plugin 'bad' is broken" in caplog.text
    assert "half-registered" not in reg.backends  # partial registrations are dropped
    assert "logreg" in reg.models  # the rest still loads


def test_a_broken_plugin_does_not_stop_the_next_one():
    reg = load_registry([ep("bad", "broken_import"), ep("fakes", "fake_backends")])
    assert reg.plugins["bad"].status == "broken"
    assert "fake" in reg.backends


def test_disable_plugins_blocks_by_name(monkeypatch):
    monkeypatch.setenv("BENCHSUITE_DISABLE_PLUGINS", " fakes , other")
    reg = load_registry([ep("fakes", "fake_backends"), ep("raisers", "raising_probe")])
    assert reg.plugins["fakes"].status == "blocked"
    assert "fake" not in reg.backends
    assert reg.plugins["raisers"].status == "ok"


def test_a_blocked_backend_is_reported_blocked_not_unknown(monkeypatch):
    monkeypatch.setenv("BENCHSUITE_DISABLE_PLUGINS", "torch")
    reg = load_registry([EntryPoint("torch", "benchsuite_torch", ENTRY_POINT_GROUP)])
    with pytest.raises(PluginError) as caught:
        reg.backend("torch")
    assert str(caught.value) == "backend 'torch' is blocked by BENCHSUITE_DISABLE_PLUGINS"


NUMPY = EntryPoint("numpy", "benchsuite_numpy", ENTRY_POINT_GROUP)


def test_built_in_backends_load_first_and_keep_their_names():
    """A plugin that claims 'numpy' and sorts first ('aaa') does not take the oracle's place."""
    reg = load_registry([ep("aaa", "duplicate_backend"), NUMPY])
    assert list(reg.plugins) == ["builtin", "numpy", "aaa"]
    assert reg.plugins["aaa"].status == "broken"
    assert "backend 'numpy' is already registered by 'numpy'" in reg.plugins["aaa"].error
    assert type(reg.backends["numpy"]).__module__ == "benchsuite_numpy.backend"
    assert reg.oracle() is reg.backends["numpy"]


def test_a_built_in_name_stays_reserved_when_the_built_in_is_blocked(monkeypatch):
    monkeypatch.setenv("BENCHSUITE_DISABLE_PLUGINS", "numpy")
    reg = load_registry([ep("aaa", "duplicate_backend"), NUMPY])
    assert reg.plugins["aaa"].status == "broken"
    assert "backend 'numpy' is reserved for the built-in one" in reg.plugins["aaa"].error
    assert "numpy" not in reg.backends and reg.oracle() is None


def test_a_second_entry_point_of_a_taken_name_is_broken_not_in_its_place():
    fake = EntryPoint("numpy", "tests.plugins.duplicate_backend", ENTRY_POINT_GROUP)
    reg = load_registry([fake, NUMPY])
    assert reg.plugins["numpy"].status == "ok" and reg.plugins["numpy"].builtin
    impostor = reg.plugins["numpy (tests.plugins.duplicate_backend)"]
    assert impostor.status == "broken"
    assert impostor.error == "PluginError: entry point name 'numpy' is already taken by benchsuite"
    assert reg.oracle() is reg.backends["numpy"]


def test_plugins_name_their_distribution_and_version():
    import benchsuite

    reg = load_registry([NUMPY, ep("fakes", "fake_backends")])
    assert reg.dist_of_backend("numpy") == {"name": "benchsuite",
                                            "version": benchsuite.__version__}
    assert reg.dist_of_model("logreg") == {"name": "benchsuite",
                                           "version": benchsuite.__version__}
    assert reg.dist_of_model("tiny") == {"name": "tests.plugins.fake_backends", "version": None}


def test_strict_plugins_reraises(monkeypatch):
    monkeypatch.setenv("BENCHSUITE_STRICT_PLUGINS", "1")
    with pytest.raises(ModuleNotFoundError):
        load_registry([ep("bad", "broken_import")])


def test_unknown_names_list_the_valid_ones():
    reg = load_registry([])
    with pytest.raises(Exception, match=r"unknown model 'resnet' \(valid: convnet, logreg, mlp\)"):
        reg.model("resnet")
    with pytest.raises(Exception, match="unknown backend 'jax'"):
        reg.backend("jax")


def test_real_entry_point_discovery_of_a_third_party_distribution(tmp_path):
    """A distribution found on sys.path (dist-info + entry_points.txt), like a pip install."""
    (tmp_path / "thirdparty_bench.py").write_text(textwrap.dedent("""
        from benchsuite import hookimpl

        @hookimpl
        def benchsuite_register_models(register):
            from benchsuite.spec import logreg
            register("thirdparty-logreg", logreg, "from a third-party dist")
    """))
    (tmp_path / "broken_bench.py").write_text("raise ImportError('framework missing')\n")
    info = tmp_path / "thirdparty_bench-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty-bench\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[benchsuite]\nthirdparty = thirdparty_bench\nbroken = broken_bench\n")
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "benchsuite", "list", "--json"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    listing = json.loads(out.stdout)
    plugins = {p["name"]: p for p in listing["plugins"]}
    assert plugins["thirdparty"]["status"] == "ok"
    assert plugins["thirdparty"]["source"] == "thirdparty-bench"
    assert plugins["thirdparty"]["version"] == "1.0"
    assert plugins["broken"]["status"] == "broken"
    assert "framework missing" in plugins["broken"]["error"]
    assert "warning: plugin 'broken' is broken" in out.stderr
    assert "thirdparty-logreg" in {m["name"] for m in listing["models"]}
