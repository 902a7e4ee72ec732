"""Meta-test: every hook is typed, documented in its docstring and in the plugin guide
(docs/plugins.md, by name and with its signature), and exercised by a test; so is every method
and capability of the Backend/Model contract. The README links the guide."""

from __future__ import annotations

import inspect
from pathlib import Path

from benchsuite import Backend, Model, hookspecs

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


def test_every_hook_is_documented_in_the_plugin_guide():
    # The README's plugin section moved to docs/plugins.md, the page that documents the hooks.
    guide = (ROOT / "docs" / "plugins.md").read_text()
    missing = [name for name, _ in hooks() if f"`{name}(" not in guide]
    assert not missing, f"hooks missing from docs/plugins.md: {missing}"


def test_every_hook_is_exercised_by_a_test_plugin():
    sources = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("*.py")
                        if p.name != Path(__file__).name)
    missing = [name for name, _ in hooks() if f"def {name}(" not in sources]
    assert not missing, f"hooks no test plugin implements: {missing}"


def test_every_hook_is_implemented_by_a_test_plugin_that_a_test_loads():
    tests = "\n".join(p.read_text() for p in (ROOT / "tests").glob("test_*.py"))
    loaded = [p for p in (ROOT / "tests" / "plugins").glob("*.py")
              if f"tests.plugins.{p.stem}" in tests]
    missing = [name for name, _ in hooks()
               if not any(f"def {name}(" in p.read_text() for p in loaded)]
    assert not missing, f"hooks no loaded test plugin implements: {missing}"


GUIDE = ROOT / "docs" / "plugins.md"


def test_every_hook_is_documented_with_its_signature_in_the_plugin_guide():
    guide = GUIDE.read_text()
    missing = [f"{name}({', '.join(inspect.signature(fn).parameters)})" for name, fn in hooks()]
    missing = [sig for sig in missing if f"### `{sig}`" not in guide]
    assert not missing, f"hooks without a section in docs/plugins.md: {missing}"


def test_every_backend_and_model_member_is_in_the_plugin_guide():
    guide = GUIDE.read_text()
    members = [m for cls in (Backend, Model) for m in vars(cls)
               if not m.startswith("_") and m not in ("name",)] + ["name"]
    missing = [m for m in members if f"`{m}" not in guide]
    assert not missing, f"contract members missing from docs/plugins.md: {missing}"


def test_the_guide_s_model_hook_example_registers_a_working_model():
    text = GUIDE.read_text().split("### `benchsuite_register_models(register)`")[1]
    code = text.split("```python\n")[1].split("```")[0]
    namespace: dict = {}
    exec(compile(code, str(GUIDE), "exec"), namespace)
    registered = []
    namespace["benchsuite_register_models"](
        register=lambda *args, **kw: registered.append(args))
    (name, factory, description), = registered
    assert description == "one wide tanh layer"
    spec = factory(input_shape=(4, 4, 1), classes=3, width=8)
    assert name == "wide" and spec.n_params == 16 * 8 + 8 + 8 * 3 + 3


def test_readme_links_the_plugin_guide_and_its_commands():
    readme = (ROOT / "README.md").read_text()
    assert "docs/plugins.md" in readme
    assert "benchsuite check-plugin" in readme and "benchsuite new-backend" in readme
