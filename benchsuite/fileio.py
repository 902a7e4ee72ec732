"""Files as benchsuite writes and reads them: values made JSON-safe, atomic writes that keep a
file's mode and write through a symbolic link, output folders written in full or not at all,
and regular-file checks before anything is read.

A leaf, like :mod:`benchsuite.errors`: every layer that writes a file a user sees uses it, so
there is one way to write one. Failures here are plain :class:`OSError`; each caller turns
them into its one-line :class:`~benchsuite.errors.BenchsuiteError` with :func:`reason`.
"""

from __future__ import annotations

import contextlib
import errno
import math
import numbers
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

#: Deeper than this, a value is written as a placeholder (results documents nest about 6 deep).
MAX_DEPTH = 100
#: The longest ``repr`` written for a value JSON cannot hold.
MAX_REPR = 300
_KINDS = ((stat.S_ISREG, "a regular file"), (stat.S_ISDIR, "a folder"),
          (stat.S_ISFIFO, "a named pipe (FIFO)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def json_safe(value: Any, _depth: int = 0, _path: frozenset[int] = frozenset()) -> Any:
    """``value`` as JSON can hold it: NaN and ±inf become None, sets sorted lists, tuples
    lists, other numbers (NumPy's) int or float, keys strings; anything else (bytes, objects,
    a cycle, nesting deeper than :data:`MAX_DEPTH`) becomes a short ``repr``. Never raises."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, int):
        bits = int.bit_length(value)  # past ~4300 digits, not even repr() can write it
        return value if bits <= 1000 else f"<integer of {bits} bits>"
    if _depth >= MAX_DEPTH:
        return f"<nested deeper than {MAX_DEPTH} levels>"
    if id(value) in _path:
        return "<cycle>"
    inner = _path | {id(value)}
    try:
        if isinstance(value, Mapping):
            items = dict.items(value) if isinstance(value, dict) else value.items()
            return {_key(k): json_safe(v, _depth + 1, inner) for k, v in items}
        if isinstance(value, (list, tuple)):
            return [json_safe(v, _depth + 1, inner) for v in value]
        if isinstance(value, (set, frozenset)):
            return _sorted([json_safe(v, _depth + 1, inner) for v in value])
        if isinstance(value, numbers.Integral):
            return json_safe(int(value), _depth)
        if isinstance(value, numbers.Real):
            return json_safe(float(value), _depth)
    except Exception:  # a container or number whose own methods raise
        pass
    return _text(value)


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, bool):
        return {None: "null", True: "true", False: "false"}[key]
    return str(key) if isinstance(key, (int, float)) else _text(key)


def _sorted(items: list[Any]) -> list[Any]:
    try:
        return sorted(items)
    except TypeError:  # mixed types: a stable order all the same
        return sorted(items, key=lambda v: (type(v).__name__, repr(v)))


def _text(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__} object>"
    return text if len(text) <= MAX_REPR else text[:MAX_REPR - 1] + "…"


def reason(exc: OSError) -> str:
    """Why an OS call failed, in words ("No space left on device")."""
    return exc.strerror or str(exc)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "a file")


def _not_regular(path: str | Path, mode: int) -> OSError:
    return OSError(0, f"not a regular file but {_kind(mode)}", str(path))


def make_folder(path: str | Path) -> bool:
    """Create folder ``path`` and its parents; True if it was missing. Something else of
    that name (a file, ``/dev/full``) is an :class:`OSError` "not a folder but …"."""
    path = Path(path)
    try:
        path.mkdir(parents=True)
        return True
    except FileExistsError:
        mode = os.stat(path).st_mode
        if not stat.S_ISDIR(mode):
            raise OSError(errno.ENOTDIR, f"not a folder but {_kind(mode)}", str(path)) from None
        return False


def read_regular(path: str | Path) -> bytes:
    """The bytes of ``path``, which must be a regular file: a FIFO would block, /dev/zero
    never ends; they are refused before they are opened (:class:`OSError`)."""
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise _not_regular(path, mode)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as fh:
        mode = os.fstat(fd).st_mode  # swapped for something else since the stat?
        if not stat.S_ISREG(mode):
            raise _not_regular(path, mode)
        return fh.read()


def real_target(path: str | Path) -> Path:
    """Where writing ``path`` lands: symbolic links followed (a loop is an :class:`OSError`
    "Too many levels of symbolic links"; a missing file is fine)."""
    with contextlib.suppress(FileNotFoundError):
        os.stat(path)
    return Path(os.path.realpath(path))


def umask() -> int:
    """This process's umask, read without changing it where Linux allows."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    """Replace the contents of ``path`` with ``data`` at once: a temporary file beside it,
    flushed to disk, renamed over it, so a reader sees the old file or the new one, never
    half of one. A symbolic link is written through (its target replaced, the link kept); an
    existing file keeps its permissions, a new one gets the umask's; a FIFO or a device
    (``/dev/stdout``) is written to directly. Returns ``path``."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    target = real_target(path)
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = stat.S_IFREG | (0o666 & ~umask())
    if not stat.S_ISREG(mode):
        with open(target, "wb") as fh:  # a folder raises IsADirectoryError here
            fh.write(raw)
        return Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name[:80]}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, stat.S_IMODE(mode))
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(path)


@contextlib.contextmanager
def staged_folder(folder: str | Path) -> Iterator[Path]:
    """A temporary folder inside ``folder`` (created if missing) to write an output set into.
    When the block ends normally each of its entries replaces ``folder``'s of the same name
    (a file renamed over, a sub-folder swapped whole); when it raises, it is removed and
    ``folder`` is left as it was. Inside, not beside: a rename never crosses a mount point,
    and ``folder`` itself (the current one, a mount point) is never moved."""
    folder = real_target(folder)
    created = make_folder(folder)
    stage = None
    try:
        stage = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder))
        yield stage
        _publish(stage, folder)
    except BaseException:
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    shutil.rmtree(stage, ignore_errors=True)


def _publish(stage: Path, folder: Path) -> None:
    for entry in sorted(stage.iterdir()):
        dest = folder / entry.name
        if entry.is_dir() and dest.is_dir() and not dest.is_symlink():
            trash = Path(tempfile.mkdtemp(prefix=".replaced-", dir=folder))
            os.rename(dest, trash / entry.name)
            os.rename(entry, dest)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(entry, dest)
