"""Results documents as a run writes them: a new document, a fresh file for it, the loop that
appends each record as its job finishes and saves atomically, and reopening an interrupted
file for ``--resume``. The same for ``benchsuite run`` (records under ``cases``) and
``benchsuite train`` (under ``learning``), whatever executor produced the records.

A run owns its file from the moment it creates or reopens it until it ends: :func:`claim`
holds an exclusive ``flock`` on ``FILE.lock`` beside it, so that a second writer (another
``--resume`` of the same file) is refused instead of measuring the same cases and overwriting
the first one's. The kernel drops the lock when the process dies, however it dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from benchsuite import __version__, results
from benchsuite.backend import Backend
from benchsuite.environment import fingerprint
from benchsuite.errors import SaveError, UsageError
from benchsuite.execution import Executor
from benchsuite.records import new_document as new_record_document
from benchsuite.records import now


def new_document(settings: dict[str, Any], kind: str | None = None,
                 dataset: dict[str, Any] | None = None, backends: Iterable[Backend] = ()
                 ) -> dict[str, Any]:
    """A results document in state ``running``, with this machine's fingerprint (and the
    versions of the framework packages of ``backends``): speed cases, or training runs
    (``kind`` "learning", records under ``learning``)."""
    packages = [p for b in backends for p in b.packages]
    return dict(new_record_document(settings, fingerprint(packages), __version__, kind=kind,
                                     dataset=dataset))


def output_path(folder: Path, doc: dict[str, Any]) -> Path:
    """A fresh file name in ``folder``, which is created and checked for writing now."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{doc['run_id']}"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"cannot write results to {folder}: {exc.strerror or exc}") from None
    return folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{doc['run_id']}.json"


@contextlib.contextmanager
def claim(path: Path) -> Iterator[None]:
    """Own results file ``path`` while the block runs, or raise a one-line UsageError when
    another process owns it. The lock file is removed on the way out, while still locked;
    a lock taken on a file that was removed meanwhile is taken again on the new one."""
    lock = Path(f"{path}.lock")
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise UsageError(f"cannot lock {path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise UsageError(f"{path} is being written by another benchsuite process "
                             f"(pid {owner}); wait for it to finish") from None
        with contextlib.suppress(OSError):
            if os.fstat(fd).st_ino == os.stat(lock).st_ino:
                break
        os.close(fd)  # the owner before us removed it between our open and our lock
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        with contextlib.suppress(OSError):
            lock.unlink()
        os.close(fd)


def execute(executor: Executor, jobs: list[Any], doc: dict[str, Any], path: Path,
            records: str = "cases", on_start: Callable[[int, Any], None] | None = None,
            on_done: Callable[[int, Any, Any], None] | None = None) -> dict[str, Any]:
    """Run ``jobs`` on ``executor``, appending each record to ``doc[records]`` and saving
    ``doc`` to ``path`` after every one; Ctrl-C (or SIGTERM made one) leaves the document
    ``interrupted`` with everything finished kept. A save that fails (a full disk) stops the
    run with a :class:`SaveError` saying the file is intact and how to resume it. The executor
    is closed at the end."""
    doc["status"] = "running"
    _save(doc, path)
    stopped = False
    try:
        for i, (job, record) in enumerate(executor.stream(jobs, on_start)):
            doc[records].append(record)
            _save(doc, path)
            if on_done:
                on_done(i, job, record)
        doc["status"] = "complete"
    except KeyboardInterrupt:
        doc["status"] = "interrupted"
        raise
    except SaveError:
        stopped = True
        raise
    finally:
        executor.close()
        doc["finished"] = now()
        try:
            _save(doc, path)
        except SaveError:
            if not stopped:  # else the first failure, already on its way, says it all
                raise
    return doc


def _command(doc: dict[str, Any]) -> str:
    """The command that writes (and resumes) a document like ``doc``."""
    return "benchsuite train" if doc.get("kind") == "learning" else "benchsuite run"


def _save(doc: dict[str, Any], path: Path) -> None:
    """``results.save``; a failure says what is on disk and what to do about it."""
    try:
        results.save(doc, path)
    except SaveError as exc:
        if not path.exists():
            raise SaveError(f"{exc}; nothing has run yet: free some space (or choose another "
                            "--output folder) and run again") from None
        raise SaveError(f"{exc}; the file there is intact (its last complete save): free "
                        f"some space, then complete it with: {_command(doc)} --resume {path}"
                        ) from None


def reopen(path: Path, kind: str | None = None) -> dict[str, Any]:
    """An interrupted results file of ``kind`` (None: ``benchsuite run``'s; "learning":
    ``benchsuite train``'s), with this resumption's time added."""
    doc = results.read(path)
    if doc.get("kind") != kind:
        command = _command(doc)
        raise UsageError(f"{path}: a {command} results file; resume it with {command}")
    if doc.get("status") == "complete":
        raise UsageError(f"{path}: this run is complete; nothing to resume")
    doc.setdefault("resumed", []).append(now())
    return doc


def settings_of(doc: dict[str, Any], path: Path, settings_type: Any) -> Any:
    """The settings object a results document was written with, or a one-line UsageError."""
    try:
        return settings_type.from_dict(doc["settings"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read its settings ({exc})") from None
