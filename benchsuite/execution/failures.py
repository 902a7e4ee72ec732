"""What a worker's failure becomes in a row: its status (``oom`` or ``failed``), its error on
one line, its traceback's tail, how the process ended and the tail of its log."""

from __future__ import annotations

import signal
from pathlib import Path

LOG_TAIL_LINES = 6
TRACEBACK_LINES = 20

OOM_PATTERNS = ("out of memory", "resourceexhausted", "can't allocate memory",
                "cannot allocate memory", "failed to allocate",
                "failed to map segment")  # a shared library under RLIMIT_DATA


def classify(exc: BaseException) -> str:
    """``oom`` for allocation failures (Python, torch, TensorFlow, CUDA; a worker's start
    under a tight --memory-limit, however the import that ran out says it), else
    ``failed``."""
    text = f"{type(exc).__name__}: {exc}".lower()
    if isinstance(exc, MemoryError) or any(p in text for p in OOM_PATTERNS):
        return "oom"
    return "failed"


def error_text(exc: BaseException) -> str:
    """``Type: message``, or the type alone when the message is empty (a bare MemoryError)."""
    message = str(exc).strip()
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def one_line(exc: BaseException, limit: int = 400) -> str:
    """:func:`error_text` on one line (white space folded), cut at ``limit`` characters: what
    a results row or a table cell can hold."""
    text = " ".join(error_text(exc).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def traceback_tail(exc: BaseException, lines: int = TRACEBACK_LINES) -> str:
    """The last ``lines`` lines of ``exc``'s traceback: where in the backend a failed row
    failed (the row's ``traceback``, shown by ``--debug``)."""
    import traceback

    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return "\n".join(text.rstrip().splitlines()[-lines:])


def with_log_tail(message: str, log_path: Path | str, lines: int = LOG_TAIL_LINES) -> str:
    """``message`` followed by the last non-empty lines of a worker's log, if any."""
    try:
        text = Path(log_path).read_text(errors="replace")
    except OSError:
        text = ""
    tail = " | ".join([line.strip() for line in text.splitlines() if line.strip()][-lines:])
    return f"{message}; log: {tail}" if tail else message


def describe_exit(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"worker killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"worker killed by signal {-code}"
    return f"worker exited with code {code}"
