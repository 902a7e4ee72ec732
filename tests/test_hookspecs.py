"""Meta-test: every hook is typed, documented in its docstring and the README, and exercised."""

from __future__ import annotations

import inspect
from pathlib import Path

from benchsuite import hookspecs

ROOT = Path(__file__).resolve().parent.parent


def hooks():
    return [(name, fn) for name, fn in vars(hookspecs).items()
            if name.startswith("benchsuite_") and callable(fn)]


def test_there_are_hooks_and_all_have_the_prefix_docstring_and_types():
    found = hooks()
    assert {name for name, _ in found} >= {"benchsuite_register_backends",
                                           "benchsuite_register_models"}
    for name, fn in found:
        assert inspect.getdoc(fn), f"{name} has no docstring"
        sig = inspect.signature(fn)
        assert all(p.annotation is not inspect.Parameter.empty for p in sig.parameters.values())


def test_every_hook_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    missing = [name for name, _ in hooks() if f"`{name}(" not in readme]
    assert not missing, f"hooks missing from README.md: {missing}"


def test_every_hook_is_exercised_by_a_test_plugin():
    sources = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("*.py")
                        if p.name != Path(__file__).name)
    missing = [name for name, _ in hooks() if f"def {name}(" not in sources]
    assert not missing, f"hooks no test plugin implements: {missing}"
