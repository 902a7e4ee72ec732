"""Where benchsuite writes (issue 13): output paths that cannot be written are one line and
exit 2 for ``export -o``, ``report -o``, ``data download --data-dir`` and ``new-backend``; a
report that fails midway leaves the old one whole; CSV cells a spreadsheet would run as
formulas are neutralised."""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import os
from pathlib import Path

import pandas as pd
import pytest

from benchsuite import cli, datafiles, download, fileio, results
from benchsuite.errors import DataError
from tests.resultdocs import GOLDEN, make_run, write

LONG = "x" * 300


def one_line(capsys, code: int) -> str:
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def read_only(monkeypatch) -> None:
    """Every new file or folder fails as on a read-only mount (root ignores chmod)."""
    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))
    monkeypatch.setattr(fileio.tempfile, "mkstemp", refuse)
    monkeypatch.setattr(fileio.tempfile, "mkdtemp", refuse)
    monkeypatch.setattr(fileio.tempfile, "TemporaryFile", refuse)


@pytest.mark.parametrize("target, reason", [
    ("/dev/full", "No space left on device"),
    ("{tmp}/missing/out.csv", "No such file or directory"),
    ("{tmp}/" + LONG + ".csv", "File name too long"),
    ("{tmp}/file/out.csv", "Not a directory"),
    ("{tmp}/out.csv", "Read-only file system"),
])
@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_export_to_an_unwritable_path(tmp_path, capsys, monkeypatch, target, reason, fmt):
    (tmp_path / "file").write_text("")
    target = target.format(tmp=tmp_path)
    if reason == "Read-only file system":
        read_only(monkeypatch)
    code = cli.main(["export", str(GOLDEN), "--format", fmt, "-o", target])
    assert one_line(capsys, code) == f"benchsuite: error: cannot write {target}: {reason}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]  # no temporary file left


def test_report_to_an_unwritable_folder(tmp_path, capsys, monkeypatch):
    (tmp_path / "file").write_text("")
    for target, reason in (("/dev/full", "not a folder but a character device"),
                           (f"{tmp_path}/{LONG}", "File name too long"),
                           (f"{tmp_path}/file/r", "Not a directory")):
        code = cli.main(["report", str(GOLDEN), "-o", target])
        assert one_line(capsys, code) == (f"benchsuite: error: cannot write the report to "
                                          f"{target}: {reason}")
    read_only(monkeypatch)
    code = cli.main(["report", str(GOLDEN), "-o", str(tmp_path / "r")])
    assert one_line(capsys, code) == (f"benchsuite: error: cannot write the report to "
                                      f"{tmp_path / 'r'}: Read-only file system")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_a_report_that_fails_midway_leaves_the_old_one_whole(tmp_path, monkeypatch):
    from benchsuite import api

    out = tmp_path / "rep"
    stale = out / "tables" / "99-from-an-older-report.csv"
    api.report([GOLDEN], out)
    stale.write_text("old")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    real, calls = results.to_csv, []

    def fails_second_time(df, path=None):
        calls.append(path)
        if len(calls) == 2:  # results.csv and the figures are written by now
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(df, path)
    monkeypatch.setattr(results, "to_csv", fails_second_time)
    other = write(make_run([{"backend": "numpy", "samples": [1.0, 2.0, 3.0]}]),
                  tmp_path / "other.json")
    with pytest.raises(Exception, match="No space left on device"):
        api.report([other], out)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    monkeypatch.undo()
    written, _ = api.report([other], out)  # succeeds: every file new, stale tables gone
    assert written["csv"] == out / "results.csv" and not stale.exists()
    assert "other.json" in (out / "results.csv").read_text()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_data_download_to_an_unwritable_folder(tmp_path, capsys, monkeypatch):
    (tmp_path / "file").write_text("")
    for target, reason in ((f"{tmp_path}/file", "Not a directory"),
                           (f"{tmp_path}/{LONG}", "File name too long"),
                           ("/dev/full", "Not a directory")):
        code = cli.main(["data", "download", "mnist", "--data-dir", target])
        assert one_line(capsys, code) == (f"benchsuite: error: cannot write to "
                                          f"{target}/mnist: {reason}")
    read_only(monkeypatch)
    code = cli.main(["data", "download", "mnist", "--data-dir", str(tmp_path / "d")])
    assert one_line(capsys, code) == (f"benchsuite: error: cannot write to "
                                      f"{tmp_path / 'd' / 'mnist'}: Read-only file system")


def test_a_sha256sums_that_is_a_folder(tmp_path, monkeypatch, capsys):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "a.bin").write_bytes(b"payload")
    digest = hashlib.sha256(b"payload").hexdigest()
    fake = datafiles.Source("mnist", "idx", {"a.bin": digest}, (mirror.as_uri(),), "")
    monkeypatch.setattr(download, "source", lambda name: fake)
    folder = tmp_path / "data" / "mnist"
    (folder / datafiles.MANIFEST).mkdir(parents=True)
    code = cli.main(["data", "download", "mnist", "--data-dir", str(tmp_path / "data")])
    assert one_line(capsys, code) == (f"benchsuite: error: cannot write "
                                      f"{folder / datafiles.MANIFEST}: Is a directory")
    assert (folder / "a.bin").read_bytes() == b"payload"  # what was fetched is kept
    with pytest.raises(DataError, match=r"SHA256SUMS: cannot read \(not a regular file but "
                                        r"a folder\)$"):
        datafiles.read_manifest(folder)


def test_new_backend_in_an_unwritable_place(tmp_path, capsys, monkeypatch):
    (tmp_path / "file").write_text("")
    code = cli.main(["new-backend", "a" * 300, "-o", str(tmp_path)])
    assert one_line(capsys, code) == ("benchsuite: error: backend name is 300 characters long; "
                                      "at most 64 (it becomes a folder, a package and a "
                                      "distribution name)")
    for target, reason in (("/dev/full", "not a folder but a character device"),
                           (f"{tmp_path}/{LONG}", "File name too long"),
                           (f"{tmp_path}/file/sub", "Not a directory")):
        code = cli.main(["new-backend", "mlx", "-o", target])
        assert one_line(capsys, code) == (f"benchsuite: error: cannot write "
                                          f"{target}/benchsuite-mlx: {reason}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_new_backend_failing_midway_leaves_no_half_skeleton(tmp_path, capsys, monkeypatch):
    real, calls = Path.write_text, []

    def disk_fills(self, *args, **kwargs):
        calls.append(self)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, *args, **kwargs)
    monkeypatch.setattr(Path, "write_text", disk_fills)
    code = cli.main(["new-backend", "mlx", "-o", str(tmp_path)])
    assert one_line(capsys, code) == (f"benchsuite: error: cannot write "
                                      f"{tmp_path}/benchsuite-mlx: No space left on device")
    assert not list(tmp_path.iterdir())
    monkeypatch.undo()
    assert cli.main(["new-backend", "mlx", "-o", str(tmp_path)]) == 0  # nothing in the way
    assert (tmp_path / "benchsuite-mlx" / "pyproject.toml").stat().st_mode & 0o777 == \
        0o666 & ~fileio.umask()


# -- item 16: CSV formula injection ----------------------------------------------------------

FORMULAS = ["=HYPERLINK(\"http://x\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx",
            "\r=1"]


def test_csv_cells_that_are_formulas_are_neutralised_numbers_are_not():
    df = pd.DataFrame({"text": [*FORMULAS, "-3.5%", "plain"],
                       "number": [-1.5, -2, 3, 4, 5, 6, 7, 8],
                       "=name": ["a"] * 8})
    head, *rows = csv.reader(io.StringIO(results.to_csv(df), newline=""))
    assert head == ["text", "number", "'=name"]
    assert [r[0] for r in rows] == [*("'" + f.replace("\r", "\n") for f in FORMULAS),
                                    "-3.5%", "plain"]
    assert [r[1] for r in rows] == ["-1.5", "-2.0", "3.0", "4.0", "5.0", "6.0", "7.0", "8.0"]


def test_export_and_report_csvs_are_neutralised(tmp_path, capsys):
    run = write(make_run([{"backend": "=cmd|' /C calc'!A0", "samples": [1.0, 2.0, 3.0]},
                          {"backend": "numpy", "status": "failed", "error": "@SUM(1)"}]),
                tmp_path / "run.json")
    assert cli.main(["export", str(run)]) == 0
    text = capsys.readouterr().out
    assert "'=cmd" in text and "'@SUM(1)" in text
    assert ",=" not in text and ",@" not in text
    out = tmp_path / "rep"
    assert cli.main(["report", str(run), "-o", str(out)]) == 0
    for table in [out / "results.csv", *(out / "tables").iterdir()]:
        body = table.read_text()
        assert ",=" not in body and not body.startswith("=") and "\n=" not in body, table
    assert "'=cmd" in (out / "results.csv").read_text()
