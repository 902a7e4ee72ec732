"""``benchsuite data download``: a data set's published files, fetched and checked against their
SHA-256 before they are kept (see :mod:`benchsuite.datafiles` for where they live and how
they are read)."""

from __future__ import annotations

import os
import tempfile
import urllib.request
from collections.abc import Callable
from pathlib import Path

from benchsuite.datafiles import MANIFEST, data_dir, sha256_of, source
from benchsuite.errors import DataError
from benchsuite.fileio import make_folder, reason, write_atomic


def download(name: str, root: str | Path | None = None, mirror: str | None = None,
             log: Callable[[str], None] = print) -> Path:
    """Fetch the published files of ``name`` into ``root/name/``, verify each, write
    SHA256SUMS. Files already present with the right digest are kept. A folder that cannot
    be written is a one-line :class:`DataError` before anything is fetched."""
    src = source(name)
    folder = data_dir(root) / name
    try:
        make_folder(folder)
        with tempfile.TemporaryFile(dir=folder):
            pass  # can a file be created there?
    except OSError as exc:
        raise DataError(f"cannot write to {folder}: {reason(exc)}") from None
    for file, digest in src.sha256.items():
        target = folder / file
        if target.is_file() and sha256_of(target) == digest:
            log(f"{target}: present, SHA-256 ok")
            continue
        _fetch(file, digest, (mirror,) if mirror else src.mirrors, target, log)
    lines = "".join(f"{d}  {f}\n" for f, d in src.sha256.items())
    try:
        write_atomic(folder / MANIFEST, lines)
    except OSError as exc:
        raise DataError(f"cannot write {folder / MANIFEST}: {reason(exc)}") from None
    return folder


def _fetch(file: str, digest: str, mirrors: tuple[str, ...], target: Path,
           log: Callable[[str], None]) -> None:
    errors = []
    for base in mirrors:
        url = base.rstrip("/") + "/" + file
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{file}.", dir=target.parent)
        except OSError as exc:
            raise DataError(f"cannot write {target}: {reason(exc)}") from None
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as resp:
                _copy(resp, out, target)
            actual = sha256_of(Path(tmp))
            if actual != digest:
                errors.append(f"{url}: SHA-256 {actual[:16]}... != {digest[:16]}...")
                continue
            os.replace(tmp, target)
            log(f"{target}: downloaded from {url}, SHA-256 ok")
            return
        except (OSError, ValueError) as exc:
            errors.append(f"{url}: {exc}")
        finally:
            Path(tmp).unlink(missing_ok=True)
    raise DataError(f"{file}: could not download ({'; '.join(errors)})")


def _copy(resp, out, target: Path) -> None:
    """The response into ``out``: a failed read is the mirror's fault (try the next one), a
    failed write is this machine's (a full disk: no mirror can help)."""
    while chunk := resp.read(1 << 20):
        try:
            out.write(chunk)
            out.flush()
        except OSError as exc:
            raise DataError(f"cannot write {target}: {reason(exc)}") from None
