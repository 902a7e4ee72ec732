"""``benchsuite run``'s terminal output: the table fits 80 and 200 columns with the key
columns whole, the null backend is one line under it, and the progress is a bar on a
terminal or plain lines otherwise, never both."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from rich.console import Console

from benchsuite import runview
from tests.resultdocs import make_run

BACKENDS = {"jax": ("jit", 1.13e6), "numpy": ("default", 2.69e6),
            "tensorflow": ("function", 1.62e5), "torch": ("eager", 6.30e5)}


@pytest.fixture
def run() -> dict:
    cases = [{"backend": b, "variant": v, "model": m, "mode": mode, "batch_size": 128,
              "samples": [scale / k * (1 + 0.01 * i) for i in range(5)], "parity_dev": 3e-7}
             for m, k in (("logreg", 1), ("mlp", 17), ("convnet", 500))
             for mode in ("train", "infer") for b, (v, scale) in BACKENDS.items()]
    cases += [{"backend": "null", "model": m, "mode": "train", "batch_size": 128,
               "samples": [675172513.0 + i for i in range(5)]} for m in ("logreg", "mlp")]
    doc = make_run(cases)
    for c in doc["cases"]:
        c["null_backend"] = c["backend"] == "null"
        c["gflops"] = 12.345
    return doc


def _render(run: dict, width: int) -> str:
    out = Console(width=width, record=True, highlight=False, file=io.StringIO())
    runview.print_results(run, out)
    return out.export_text()


@pytest.mark.parametrize("width", [80, 200])
def test_the_run_table_fits_the_terminal_with_its_key_columns_whole(run, width):
    text = _render(run, width)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    assert "…" not in text
    rows = [line.split() for line in lines if line.split()[:1] and line.split()[0] in BACKENDS]
    assert len(rows) == 24  # one line per case: nothing wrapped
    for row in rows:
        assert row[0] in BACKENDS and row[1 if width == 80 else 2] in ("logreg", "mlp",
                                                                       "convnet")
    assert "2.69M" in text and "5.38k" in text  # samples/s, three figures
    title = lines[0]
    assert "cpu, batch 128" in title  # constant across the run: in the title, not a column
    header = next(line for line in lines if "backend" in line).split()
    assert "device" not in header and "batch" not in header and "status" not in header
    if width == 200:
        assert {"variant", "95%", "GFLOP/s"} <= set(header)


def test_the_null_backend_is_one_line_under_the_table(run):
    text = _render(run, 120)
    assert not any(line.split()[:1] == ["null"] for line in text.splitlines())
    assert "675M" not in text
    lines = [line for line in text.splitlines() if "null backend" in line]
    assert len(lines) == 1 and lines[0].startswith("harness overhead (null backend): ")


def test_a_contended_case_says_so_in_its_row_and_under_the_table(run):
    torch = next(c for c in run["cases"] if c["backend"] == "torch" and c["model"] == "mlp")
    torch["contention"] = {"contended": True, "others_cores": [0.98, 1.02, 0.99]}
    text = _render(run, 80)
    row = next(line for line in text.splitlines() if line.split()[:2] == ["torch", "mlp"])
    assert "contended" in row
    assert ("1 case(s) measured while other processes took the CPU (up to 1.02 cores) in more "
            "repeats than could be re-run") in " ".join(text.split())
    assert "all ok" not in text.splitlines()[0]


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize("tty", [True, False])
def test_progress_is_a_bar_on_a_terminal_and_plain_lines_otherwise(run, tty):
    stream = _Stream(tty)
    cases = [SimpleNamespace(label=f"numpy mlp train cpu b{i}") for i in range(3)]
    with runview.Progress(len(cases), stream=stream) as progress:
        for i, case in enumerate(cases):
            progress.start(i, case)
            progress.done(i, case, run["cases"][0])
    text = stream.getvalue()
    plain = [line for line in text.splitlines() if line.startswith("[")]
    if tty:
        assert progress.bar is not None and plain == [] and "[1/3]" not in text
    else:
        assert progress.bar is None
        assert [line.split(":")[0] for line in plain] == [
            f"[{i + 1}/3] numpy mlp train cpu b{i}" for i in range(3)]
        assert "samples/s" in plain[0]
