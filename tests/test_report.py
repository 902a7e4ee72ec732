from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from benchsuite import cli, report, results
from tests.resultdocs import GOLDEN, make_run, write

HOSTILE = "<script>alert('x')</script>\"quoted\" & " + "long" * 60


@pytest.fixture
def two_backends(tmp_path):
    cases = []
    for backend, scale in (("numpy", 1.0), ("torch", 2.0)):
        for model in ("logreg", "mlp"):
            for bs in (16, 64):
                cases.append({"backend": backend, "model": model, "batch_size": bs,
                              "samples": [scale * bs * 100 + i for i in range(5)],
                              "parity_dev": 1e-7 * scale * bs})
    cases.append({"backend": HOSTILE, "model": "mlp", "status": "failed", "error": HOSTILE})
    return write(make_run(cases), tmp_path / "run.json")


def test_tables(two_backends):
    df = results.load(two_backends)
    titles = dict(report.tables(df))
    assert "Throughput, samples/s [95% CI of the median]" in titles
    speed = titles["Speed-up against numpy"]
    assert (speed["numpy"] == "1.00×").all()  # three figures each: never "1.0" beside "8.731"
    assert speed["torch"].tolist() == ["2.00×"] * 4
    problems = titles["Failed and skipped cases"]
    assert list(problems["status"]) == ["failed"] and problems["error"][0] == HOSTILE
    tp = titles["Throughput, samples/s [95% CI of the median]"]
    assert tp.loc[("train", "cpu", 64, "mlp"), "torch"].startswith("12.8k [")
    phases = titles["Phases (import per worker; steady = one step)"]
    assert phases["steady step"].str.endswith(("µs", "ms")).all()  # never "0.0" seconds


def test_report_folder_is_complete_self_contained_and_escaped(two_backends, tmp_path):
    out = tmp_path / "rep"
    written, _ = report.write_report([two_backends], out)
    names = sorted(p.name for p in out.iterdir())
    assert {"index.html", "report.md", "results.csv", "throughput.png",
            "scaling.png"} <= set(names)
    page = written["html"].read_text()
    assert page.count('src="data:image/png;base64,') >= 2
    assert "http://" not in page and "https://" not in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    md = written["md"].read_text()
    assert "<script>" not in md and "&lt;script&gt;" in md and "![Throughput](throughput.png)" in md
    assert len(pd.read_csv(written["csv"])) == 9
    csvs = sorted(p.name for p in (out / "tables").iterdir())
    assert csvs[:2] == ["01-fastest-backend-per-case.csv", "02-every-backend-ranked.csv"]
    assert "03-throughput-samples-s-95.csv" in csvs
    assert pd.read_csv(out / "tables" / "03-throughput-samples-s-95.csv").columns.tolist()[:4] == [
        "mode", "device", "batch_size", "model"]


def test_same_input_same_files(two_backends, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    report.write_report([two_backends], a)
    report.write_report([two_backends], b)
    for name in ("throughput.png", "parity.png", "report.md", "index.html"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_report_and_export_commands(two_backends, tmp_path, capsys):
    assert cli.main(["report", str(two_backends), "-o", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "html: " in out and (tmp_path / "r" / "index.html").exists()
    assert cli.main(["export", str(two_backends), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 9 and rows[0]["backend"] == "numpy"
    assert cli.main(["export", str(two_backends), "--format", "parquet", "-o",
                     str(tmp_path / "r.parquet")]) == 0
    assert len(pd.read_parquet(tmp_path / "r.parquet")) == 9
    assert cli.main(["export", str(GOLDEN)]) == 0
    assert capsys.readouterr().out.startswith("run_id,file,backend")


@pytest.mark.parametrize("content, message", [
    ("", "empty file"),
    ('{"schema_version": 1, "cases": [', "not valid JSON"),
    ("not json", "not valid JSON"),
    ('{"schema_version": 2, "cases": []}', "schema_version 2 is not supported"),
])
@pytest.mark.invalid_results
def test_bad_results_files_are_one_line_exit_2(tmp_path, capsys, content, message):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    for args in (["report", str(bad), "-o", str(tmp_path / "r")], ["export", str(bad)],
                 ["compare", str(bad), str(GOLDEN)]):
        assert cli.main(args) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0] and str(bad) in err[0]


def _imports(path: Path, module: str, known: set[str]) -> set[str]:
    """benchsuite modules ``module`` imports anywhere (in functions, under TYPE_CHECKING);
    ``from pkg import mod`` counts as importing pkg.mod when that is a module."""
    out = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            subs = {f"{base}.{a.name}" for a in node.names} & known
            out |= subs or {base}
    return {m for m in out if m in known and m != module}


def test_report_package_and_stats_are_in_no_import_cycle():
    root = Path(report.__file__).parents[1]
    files = {".".join(p.relative_to(root.parent).with_suffix("").parts).removesuffix(
        ".__init__"): p for p in root.rglob("*.py")}
    graph = {m: _imports(p, m, set(files)) for m, p in files.items()}

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), list(graph[start])
        while todo:
            m = todo.pop()
            if m == goal:
                return True
            if m not in seen:
                seen.add(m)
                todo += graph[m]
        return False

    ours = [m for m in graph if m.startswith("benchsuite.report") or m == "benchsuite.stats"]
    assert len(ours) >= 7
    assert [m for m in ours if reaches(m, m)] == []
    assert graph["benchsuite.stats"] == set()  # a leaf: every layer may use it


def test_importing_the_report_api_does_not_load_matplotlib():
    """``compare --markdown`` and ``train``'s summary use the tables: they must not pay for
    matplotlib and seaborn, which only ``write_report`` needs."""
    code = ("import sys; from benchsuite.report import to_markdown, tables, learning; "
            "print(sorted(m for m in ('matplotlib', 'seaborn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
