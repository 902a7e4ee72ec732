"""The layering of ``benchsuite/`` (docs/architecture.md), enforced: no import cycle anywhere,
counting imports inside functions and under TYPE_CHECKING, and no module importing from a
layer above its own. Also: no module over 300 lines, and one worker implementation."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "benchsuite"

#: Lowest first. A module may import its own layer and the layers below; a sub-package's
#: modules take the layer of the package unless named themselves.
LAYERS: list[tuple[str, set[str]]] = [
    ("contract", {"benchsuite", "benchsuite.errors", "benchsuite.backend", "benchsuite.spec",
                  "benchsuite.optim", "benchsuite.hookspecs", "benchsuite.stats",
                  "benchsuite.layers", "benchsuite.fileio", "benchsuite.units",
                  "benchsuite.records", "benchsuite.runinfo", "benchsuite.caseinfo",
                  "benchsuite.abinfo",
                  "benchsuite.values"}),
    ("discovery and inputs", {"benchsuite.builtin", "benchsuite.plugins", "benchsuite.data",
                              "benchsuite.datafiles", "benchsuite.download",
                              "benchsuite.environment"}),
    ("execution", {"benchsuite.execution"}),
    ("experiments", {"benchsuite.planning", "benchsuite.cases", "benchsuite.bench",
                     "benchsuite.measure", "benchsuite.contention", "benchsuite.interleave",
                     "benchsuite.parity",
                     "benchsuite.verify",
                     "benchsuite.checks", "benchsuite.checkspec", "benchsuite.synccheck",
                     "benchsuite.conventions",
                     "benchsuite.conformance", "benchsuite.testing",
                     "benchsuite.learning", "benchsuite.training", "benchsuite.scaffold"}),
    ("results and report", {"benchsuite.results", "benchsuite.validation",
                            "benchsuite.recording", "benchsuite.compare", "benchsuite.ab",
                            "benchsuite.calibration",
                            "benchsuite.report",
                            "benchsuite.schema"}),
    ("api", {"benchsuite.api"}),
    ("cli", {"benchsuite.cli", "benchsuite.console", "benchsuite.runview",
             "benchsuite.__main__"}),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def layer_of(module: str) -> int:
    name = module
    while name:
        for i, (_, members) in enumerate(LAYERS):
            if name in members:
                return i
        name = name.rpartition(".")[0]
    raise AssertionError(f"{module} is in no layer: add it to LAYERS and docs/architecture.md")


def imports_of(module: str) -> set[str]:
    """Every benchsuite module ``module`` imports, wherever the import statement is."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in MODULES else base)
    return {m for m in found if m in MODULES and m != module}


GRAPH = {m: imports_of(m) for m in MODULES}


def test_every_module_is_in_a_layer():
    for module in MODULES:
        layer_of(module)


def test_no_module_imports_from_a_layer_above_its_own():
    upward = [f"{m} ({LAYERS[layer_of(m)][0]}) imports {d} ({LAYERS[layer_of(d)][0]})"
              for m, deps in GRAPH.items() for d in deps if layer_of(d) > layer_of(m)]
    assert not upward, "\n".join(upward)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_there_is_no_import_cycle():
    assert cycles(GRAPH) == []


def test_the_cycle_finder_finds_cycles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_imports_inside_functions_and_type_checking_blocks_are_seen():
    assert "benchsuite.execution.pool" in GRAPH["benchsuite.planning"]  # inside a function
    assert "benchsuite.backend" in GRAPH["benchsuite.hookspecs"]  # under TYPE_CHECKING


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_small(module):
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= 300, f"{module} has {lines} lines: split it"


def test_one_worker_implementation():
    """Processes are spawned in one place only (the execution layer's worker)."""
    out = subprocess.run(["git", "grep", "--untracked", "-l", "-E",
                          r"get_context\(|ProcessPoolExecutor|mp\.Process|multiprocessing\.Process",
                          "--", "benchsuite"], cwd=ROOT, capture_output=True, text=True)
    if out.returncode not in (0, 1):
        pytest.skip(f"git grep unavailable: {out.stderr.strip()}")
    assert out.stdout.split() == ["benchsuite/execution/worker.py"]
